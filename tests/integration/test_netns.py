#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors.
"""hopsocks on real networks: every host of a test (client, proxy, target,
a NAT router, another host) is a network namespace of its own, joined to
the others by veth pairs, with addresses from the documentation ranges
(198.51.100.0/24, 203.0.113.0/24, 192.0.2.0/24, 2001:db8::/32) and a
private 192.168.77.0/24 behind the NAT -- all inside the namespaces, so
nothing here can reach or be reached from any real network.

A namespace is held by a `unshare --net sleep` process (not `ip netns
add`, which needs /run/netns mount propagation that CI's chroot lacks);
the test enters one with setns() on its own thread (sockets it makes
there, and processes it starts, stay in it) and kills the sleepers at the
end, which removes the namespaces and their links.  Where namespaces
cannot be made (not root, no unshare) the tests skip and say why.

The file re-runs itself in a private namespace first (Suite.run(netns)),
so even the veth pairs are never made in the machine's own.
"""

import base64
import contextlib
import ctypes
import errno
import ipaddress
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (BOUND, Skip, Suite, TestFailure, check, check_eq, connect,  # noqa: E402
                     free_port, parse_access, read_socks5_reply, recv_exact, require_program,
                     socks5_auth, socks5_request, wait_until, write_users)
from servers import EchoServer, UdpEchoServer, echo_transfer, pattern, sha256  # noqa: E402

suite = Suite()

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)

# The client's network, the proxy's network toward its targets, and a
# third network for another host.
CLI_NET_PROXY, CLI_NET_CLIENT = "198.51.100.1", "198.51.100.2"
TGT_NET_PROXY, TGT_NET_TARGET = "203.0.113.1", "203.0.113.2"
OTHER_NET_PROXY, OTHER_HOST = "192.0.2.1", "192.0.2.2"
PRIVATE_ROUTER, PRIVATE_CLIENT = "192.168.77.1", "192.168.77.2"


def _netns_of(pid):
    try:
        return os.readlink("/proc/%d/ns/net" % pid)
    except OSError:
        return None


class Hosts:
    """Network namespaces named by host: each held by a sleeping process.
    stop() kills the sleepers, which removes the namespaces (and the veth
    pairs in them) once the test's own sockets and processes are gone."""

    LIFETIME = "600"  # a sleeper outlives no test by much, even if left behind

    def __init__(self, names):
        if os.getuid() != 0:
            raise Skip("making network namespaces needs root")
        self.unshare = shutil.which("unshare")
        if self.unshare is None:
            raise Skip("no unshare (util-linux) to make network namespaces with")
        self.ip = require_program("ip", "iproute2")
        self.procs = {}
        home = _netns_of(os.getpid())
        try:
            for name in names:
                p = subprocess.Popen([self.unshare, "--net", "--", "sleep", self.LIFETIME],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
                self.procs[name] = p
                wait_until(lambda: p.poll() is not None or _netns_of(p.pid) not in (None, home))
                if p.poll() is not None or _netns_of(p.pid) in (None, home):
                    why = p.stderr.read().decode(errors="replace").strip() if p.poll() else ""
                    raise Skip("cannot make a network namespace here (unshare --net: %s)"
                               % (why or "no new namespace"))
            for name in names:
                try:
                    with self.inside(name):
                        pass
                except OSError as e:
                    raise Skip("cannot enter a network namespace here: %s" % e)
                self.run(name, "link", "set", "lo", "up")
        except BaseException:
            self.stop()
            raise

    @contextlib.contextmanager
    def inside(self, name):
        """Run the body (this thread only) in host name's namespace: the
        sockets it makes, and the processes it starts, belong there."""
        home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        try:
            there = os.open("/proc/%d/ns/net" % self.procs[name].pid, os.O_RDONLY)
        except OSError:
            os.close(home)
            raise
        try:
            if _libc.setns(there, CLONE_NEWNET) != 0:
                e = ctypes.get_errno()
                raise OSError(e, "setns %s: %s" % (name, os.strerror(e)))
            try:
                yield
            finally:
                if _libc.setns(home, CLONE_NEWNET) != 0:  # never stay elsewhere
                    os._exit(70)
        finally:
            os.close(there)
            os.close(home)

    def run(self, name, *args):
        """`ip ARGS` in host name's namespace; fails the test on an error."""
        with self.inside(name):
            r = subprocess.run([self.ip] + list(args), capture_output=True, timeout=BOUND)
        check(r.returncode == 0, "%s: ip %s: %s" % (name, " ".join(args),
                                                     r.stderr.decode(errors="replace").strip()))

    def link(self, a, dev_a, b, dev_b):
        """A veth pair, dev_a in a and dev_b in b, both up. Made inside a,
        its peer sent straight to b: never in the namespace we run in."""
        self.run(a, "link", "add", dev_a, "type", "veth", "peer", "name", dev_b, "netns",
                 str(self.procs[b].pid))
        self.run(a, "link", "set", dev_a, "up")
        self.run(b, "link", "set", dev_b, "up")

    def addr(self, name, dev, cidr):
        # nodad: an IPv6 address is usable at once, not after duplicate
        # address detection (which nobody else on these links could fail).
        extra = ["nodad"] if ":" in cidr else []
        self.run(name, "addr", "add", cidr, "dev", dev, *extra)

    def sysctl(self, name, key, value):
        """Write /proc/sys/KEY as seen from host name's namespace."""
        with self.inside(name):
            with open("/proc/sys/" + key.replace(".", "/"), "w") as f:
                f.write(value)

    def stop(self):
        for p in self.procs.values():
            if p.poll() is None:
                p.kill()
            p.wait(BOUND)
            p.stderr.close()
        self.procs = {}


# ------------------------------------------------------------------ helpers

def hostport(host, port):
    return "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)


def v5_reply(host, port, rep=0):
    if ":" in host:
        return (b"\x05" + bytes([rep]) + b"\x00\x04" + socket.inet_pton(socket.AF_INET6, host)
                + struct.pack(">H", port))
    return b"\x05" + bytes([rep]) + b"\x00\x01" + socket.inet_aton(host) + struct.pack(">H", port)


def udp_header(host, port):
    fam, atyp = (socket.AF_INET6, 4) if ":" in host else (socket.AF_INET, 1)
    return b"\x00\x00\x00" + bytes([atyp]) + socket.inet_pton(fam, host) + struct.pack(">H", port)


def socks5_command(proxy, cmd, host, port, auth=None, source=None):
    """A control connection that sent a SOCKS5 request: (sock, raw reply)."""
    sock = connect(proxy, source=source)
    if auth:
        sock.sendall(b"\x05\x01\x02")
        check_eq(recv_exact(sock, 2, "method selection"), b"\x05\x02", "method selection")
        sock.sendall(socks5_auth(*auth))
        check_eq(recv_exact(sock, 2, "RFC 1929 reply"), b"\x01\x00", "RFC 1929 reply")
    else:
        sock.sendall(b"\x05\x01\x00")
        check_eq(recv_exact(sock, 2, "method selection"), b"\x05\x00", "method selection")
    sock.sendall(socks5_request(host, port, cmd=cmd))
    return sock, read_socks5_reply(sock)[3]


def access_of(hs, client):
    return hs.wait_access(lambda r: r.get("client") == client, what="access line of " + client)


def check_fields(rec, want):
    check_eq({k: rec.get(k) for k in want}, want, "access fields of %r" % rec["_line"])


UDP_ZERO_DROPS = {"drop_foreign": "0", "drop_malformed": "0", "drop_frag": "0",
                  "drop_queue": "0", "drop_dns": "0", "drop_uncontacted": "0",
                  "drop_send": "0"}


def udp_roundtrips(sock, relay, target, count, what):
    """count datagrams to target through relay, each echoed back exactly,
    with a header naming target."""
    for i in range(count):
        payload = b"%s %d " % (what.encode(), i) + pattern(600 + i, seed=i)
        sock.sendto(udp_header(*target) + payload, relay)
        try:
            data, src = sock.recvfrom(65536)
        except socket.timeout:
            raise TestFailure("%s: no reply to datagram %d within %.0fs" % (what, i, BOUND))
        check_eq(src[:2], relay, "%s: the reply's source" % what)
        check_eq(data, udp_header(*target) + payload, "%s: reply %d" % (what, i))


def metric(hosts, host, admin_port, name):
    """The value of one /metrics line, read from inside host."""
    with hosts.inside(host):
        with connect(("127.0.0.1", admin_port)) as s:
            s.sendall(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1:%d\r\n\r\n" % admin_port)
            body = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                body += chunk
    for line in body.decode(errors="replace").splitlines():
        if line.startswith(name + " "):
            return line.split()[1]
    raise TestFailure("no %s in /metrics" % name)


def three_hosts(ctx, extra_proxy=(), extra_target=()):
    """client --198.51.100.0/24-- proxy --203.0.113.0/24-- target; the
    proxy does not forward, and the client has no route to the target."""
    net = ctx.own(Hosts(["cli", "prx", "tgt"]))
    net.link("cli", "c0", "prx", "p0")
    net.link("prx", "p1", "tgt", "t0")
    net.addr("cli", "c0", CLI_NET_CLIENT + "/24")
    net.addr("prx", "p0", CLI_NET_PROXY + "/24")
    net.addr("prx", "p1", TGT_NET_PROXY + "/24")
    net.addr("tgt", "t0", TGT_NET_TARGET + "/24")
    for cidr in extra_proxy:
        net.addr("prx", "p1", cidr)
    for cidr in extra_target:
        net.addr("tgt", "t0", cidr)
    return net


# ------------------------------------------------------------- three hosts

@suite.test("three hosts (client, proxy with %s toward the client and %s toward the target, "
            "target): the client cannot reach the target (ENETUNREACH) but CONNECT can: "
            "reply 05 00 naming %s and the port the target saw, 1 MiB echoed (sha256); BIND: "
            "first reply names %s (where the target can reach it), the target connects, the "
            "second reply names it, 256 KiB each way; UDP ASSOCIATE: reply names %s (where "
            "the client can reach it), 3 datagrams echoed exactly, the target saw %s; "
            "access lines exact"
            % (CLI_NET_PROXY, TGT_NET_PROXY, TGT_NET_PROXY, TGT_NET_PROXY, CLI_NET_PROXY,
               TGT_NET_PROXY))
def t_three_hosts(ctx):
    net = three_hosts(ctx)
    with net.inside("tgt"):
        echo = ctx.own(EchoServer(TGT_NET_TARGET))
        uecho = ctx.own(UdpEchoServer(TGT_NET_TARGET))
    with net.inside("prx"):
        hs = ctx.hopsocks(listen=(CLI_NET_PROXY,),
                          config=["allow from %s/32" % CLI_NET_CLIENT])
    with net.inside("cli"):
        direct = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        with direct:
            direct.settimeout(BOUND)
            err = direct.connect_ex((TGT_NET_TARGET, echo.port))
        check_eq(errno.errorcode.get(err, err), "ENETUNREACH",
                 "a direct connect from the client to the target")

        # CONNECT
        sock, raw = socks5_command(hs.addr, 1, TGT_NET_TARGET, echo.port)
    with sock:
        peer = echo.wait_peers(1)[0]
        check_eq(peer[0], TGT_NET_PROXY, "the source the target saw")
        check_eq(raw, v5_reply(TGT_NET_PROXY, peer[1]), "CONNECT reply")
        echo_transfer(sock, 1 << 20, seed=11)
        cli = hostport(*sock.getsockname()[:2])
    check_fields(access_of(hs, cli), {"cmd": "connect", "result": "ok", "up": str(1 << 20),
                                      "down": str(1 << 20),
                                      "target": hostport(TGT_NET_TARGET, echo.port)})

    # BIND: the target (an FTP server in active mode, say) is to connect back.
    with net.inside("cli"):
        ctl, raw = socks5_command(hs.addr, 2, TGT_NET_TARGET, 21)
    with ctl:
        check_eq(raw[:8], v5_reply(TGT_NET_PROXY, 0)[:8], "BIND first reply (address)")
        lport = struct.unpack(">H", raw[8:10])[0]
        check(lport not in (0, hs.port), "BIND first reply port %d" % lport)
        with net.inside("tgt"):
            back = connect((TGT_NET_PROXY, lport))
        with back:
            check_eq(recv_exact(ctl, 10, "BIND second reply"),
                     v5_reply(TGT_NET_TARGET, back.getsockname()[1]), "BIND second reply")
            up, down = pattern(256 << 10, seed=12), pattern(256 << 10, seed=13)
            ctl.sendall(up)
            check_eq(sha256(recv_exact(back, len(up), "bytes at the target")), sha256(up),
                     "sha256 of the client's bytes at the target")
            back.sendall(down)
            check_eq(sha256(recv_exact(ctl, len(down), "bytes at the client")), sha256(down),
                     "sha256 of the target's bytes at the client")
        cli = hostport(*ctl.getsockname()[:2])
    check_fields(access_of(hs, cli), {"cmd": "bind", "result": "ok", "up": str(len(up)),
                                      "down": str(len(down))})

    # UDP ASSOCIATE, naming the client's own address and port.
    with net.inside("cli"):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind((CLI_NET_CLIENT, 0))
        u.settimeout(BOUND)
        ctl, raw = socks5_command(hs.addr, 3, CLI_NET_CLIENT, u.getsockname()[1])
    with ctl, u:
        check_eq(raw[:8], v5_reply(CLI_NET_PROXY, 0)[:8], "UDP ASSOCIATE reply (address)")
        relay = (CLI_NET_PROXY, struct.unpack(">H", raw[8:10])[0])
        udp_roundtrips(u, relay, (TGT_NET_TARGET, uecho.port), 3, "three hosts")
        check_eq(sorted({src[0] for src, _ in uecho.received}), [TGT_NET_PROXY],
                 "the sources the UDP target saw")
        cli = hostport(*ctl.getsockname()[:2])
    rec = access_of(hs, cli)
    check_fields(rec, dict(UDP_ZERO_DROPS, cmd="udp", result="ok", pkts_up="3", pkts_down="3"))


V6_CLI_PROXY, V6_CLI_CLIENT = "2001:db8:c::1", "2001:db8:c::2"


@suite.test("a proxy listening on 0.0.0.0 and [::] of the three hosts: UDP ASSOCIATE "
            "(DST 0.0.0.0:0) over IPv4 names %s, over IPv6 names %s (the address the "
            "client connected to, never the wildcard), datagrams echoed through both; BIND "
            "asked over IPv6 for an IPv4 target names %s (ATYP 01), where the target can "
            "reach it" % (CLI_NET_PROXY, V6_CLI_PROXY, TGT_NET_PROXY))
def t_wildcard_listener(ctx):
    net = three_hosts(ctx)
    net.addr("cli", "c0", V6_CLI_CLIENT + "/64")
    net.addr("prx", "p0", V6_CLI_PROXY + "/64")
    with net.inside("tgt"):
        echo = ctx.own(EchoServer(TGT_NET_TARGET))
        uecho = ctx.own(UdpEchoServer(TGT_NET_TARGET))
    with net.inside("prx"):
        hs = ctx.hopsocks(listen=("0.0.0.0", "::"),
                          config=["allow from %s/32" % CLI_NET_CLIENT,
                                  "allow from %s/128" % V6_CLI_CLIENT])
    for n, (fam, cli_ip, prx_ip, listen) in enumerate([
            (socket.AF_INET, CLI_NET_CLIENT, CLI_NET_PROXY, "0.0.0.0"),
            (socket.AF_INET6, V6_CLI_CLIENT, V6_CLI_PROXY, "::")]):
        with net.inside("cli"):
            u = socket.socket(fam, socket.SOCK_DGRAM)
            u.bind((cli_ip, 0))
            u.settimeout(BOUND)
            ctl, raw = socks5_command((prx_ip, hs.addr_of(listen)[1]), 3, "0.0.0.0", 0)
        with ctl, u:
            reply_len = 10 if fam == socket.AF_INET else 22
            check_eq(raw[:reply_len - 2], v5_reply(prx_ip, 0)[:reply_len - 2],
                     "UDP ASSOCIATE reply over %s (address)" % listen)
            relay = (prx_ip, struct.unpack(">H", raw[reply_len - 2:])[0])
            udp_roundtrips(u, relay, (TGT_NET_TARGET, uecho.port), 2, "over " + listen)
    check_eq(len(uecho.received), 4, "datagrams the UDP target got")

    with net.inside("cli"):
        ctl, raw = socks5_command((V6_CLI_PROXY, hs.addr_of("::")[1]), 2, TGT_NET_TARGET,
                                  echo.port)
    with ctl:
        check_eq(raw[:8], v5_reply(TGT_NET_PROXY, 0)[:8], "BIND first reply (address)")
        lport = struct.unpack(">H", raw[8:10])[0]
        with net.inside("tgt"):
            back = connect((TGT_NET_PROXY, lport))
        with back:
            check_eq(recv_exact(ctl, 10, "BIND second reply"),
                     v5_reply(TGT_NET_TARGET, back.getsockname()[1]), "BIND second reply")
            back.sendall(b"from the target")
            check_eq(recv_exact(ctl, 15, "bytes at the client"), b"from the target",
                     "bytes at the client")


# ---------------------------------------------------------- behind NAT

NFT_MASQUERADE = """
table ip hopsocks_test_nat {
    chain post {
        type nat hook postrouting priority srcnat; policy accept;
        oifname "r1" masquerade random
    }
}
"""


def nat_hosts(ctx):
    """client (192.168.77.2) -- router (NAT to 198.51.100.2) -- proxy --
    target, and another host on a third network of the proxy."""
    nft = require_program("nft", "nftables")
    net = ctx.own(Hosts(["cli", "rtr", "prx", "tgt", "oth"]))
    net.link("cli", "c0", "rtr", "r0")
    net.link("rtr", "r1", "prx", "p0")
    net.link("prx", "p1", "tgt", "t0")
    net.link("oth", "o0", "prx", "p2")
    net.addr("cli", "c0", PRIVATE_CLIENT + "/24")
    net.addr("rtr", "r0", PRIVATE_ROUTER + "/24")
    net.addr("rtr", "r1", CLI_NET_CLIENT + "/24")
    net.addr("prx", "p0", CLI_NET_PROXY + "/24")
    net.addr("prx", "p1", TGT_NET_PROXY + "/24")
    net.addr("tgt", "t0", TGT_NET_TARGET + "/24")
    net.addr("prx", "p2", OTHER_NET_PROXY + "/24")
    net.addr("oth", "o0", OTHER_HOST + "/24")
    net.run("cli", "route", "add", "default", "via", PRIVATE_ROUTER)
    net.run("oth", "route", "add", CLI_NET_PROXY + "/32", "via", OTHER_NET_PROXY)
    net.sysctl("rtr", "net.ipv4.ip_forward", "1")
    with net.inside("rtr"):
        r = subprocess.run([nft, "-f", "-"], input=NFT_MASQUERADE.encode(),
                           capture_output=True, timeout=BOUND)
    if r.returncode != 0:
        raise Skip("nftables NAT is not available here (nft: %s)"
                   % r.stderr.decode(errors="replace").strip())
    return net


def nth_udp_access(hs, n):
    """The access line of the n-th UDP association (0 = the first)."""
    def lines():
        return [r for r in hs.access() if r.get("cmd") == "udp"]
    if not wait_until(lambda: len(lines()) > n):
        raise TestFailure("no access line for UDP association %d" % n)
    return lines()[n]


def nat_assoc(net, hs, dst):
    """From the client behind the NAT: a UDP socket and an association
    whose request names dst (None: the socket's own private address)."""
    with net.inside("cli"):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind((PRIVATE_CLIENT, 0))
        u.settimeout(BOUND)
        if dst is None:
            dst = (PRIVATE_CLIENT, u.getsockname()[1])
        ctl, raw = socks5_command(hs.addr, 3, *dst)
    check_eq(raw[:8], v5_reply(CLI_NET_PROXY, 0)[:8], "UDP ASSOCIATE reply (address)")
    return u, ctl, (CLI_NET_PROXY, struct.unpack(">H", raw[8:10])[0])


@suite.test("a client behind a NAT router (nftables masquerade random): UDP ASSOCIATE with "
            "DST 0.0.0.0:0 and with its private address %s:PORT: reply 05 00 naming %s, "
            "datagrams both ways through the NAT (exact bytes); the association latched the "
            "NAT'd source: a datagram from another host (%s) and one from the router's "
            "address on another port are dropped, never reach the target, and are counted "
            "(drop_foreign=2 in the access line, hopsocks_udp_dropped_total 2 in /metrics)"
            % (PRIVATE_CLIENT, CLI_NET_PROXY, OTHER_HOST))
def t_nat_udp(ctx):
    net = nat_hosts(ctx)
    with net.inside("tgt"):
        uecho = ctx.own(UdpEchoServer(TGT_NET_TARGET))
    with net.inside("prx"):
        admin = free_port("127.0.0.1")
        hs = ctx.hopsocks(listen=(CLI_NET_PROXY,),
                          config=["allow from %s/32" % CLI_NET_CLIENT,
                                  "admin 127.0.0.1:%d" % admin])
    target = (TGT_NET_TARGET, uecho.port)

    for n, dst in enumerate([("0.0.0.0", 0), None]):
        u, ctl, relay = nat_assoc(net, hs, dst)
        with ctl, u:
            udp_roundtrips(u, relay, target, 3, "association %d" % n)
            if n == 0:
                # Another host, and the NAT'd address from another port.
                with net.inside("oth"):
                    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as o:
                        o.sendto(udp_header(*target) + b"foreign host", relay)
                # A port below 1024: the NAT maps the client's ephemeral
                # port to one of 1024 and up, so this is never the latched one.
                with net.inside("rtr"):
                    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as o:
                        o.bind((CLI_NET_CLIENT, 1000))
                        o.sendto(udp_header(*target) + b"router, other port", relay)
                check(wait_until(lambda: metric(net, "prx", admin,
                                                "hopsocks_udp_dropped_total") == "2"),
                      "hopsocks_udp_dropped_total did not reach 2")
                # The association still works after the drops.
                udp_roundtrips(u, relay, target, 1, "after the foreign datagrams")
        rec = nth_udp_access(hs, n)
        # The proxy saw the router's address: the control connection is NAT'd.
        check(rec["client"].startswith(CLI_NET_CLIENT + ":"),
              "association %d: client %s is not the NAT'd address" % (n, rec["client"]))
        want = dict(UDP_ZERO_DROPS, cmd="udp", result="ok", pkts_up="4" if n == 0 else "3",
                    pkts_down="4" if n == 0 else "3", drop_foreign="2" if n == 0 else "0")
        check_fields(rec, want)
    payloads = [p for _, p in uecho.received]
    check(not any(p.startswith(b"foreign") or p.startswith(b"router") for p in payloads),
          "a dropped datagram reached the target")
    check_eq(len(payloads), 7, "datagrams the target got")
    check_eq(metric(net, "prx", admin, "hopsocks_udp_dropped_total"), "2",
             "hopsocks_udp_dropped_total at the end")


# ------------------------------------------------------- outgoing address

OUT_GLOBAL, OUT_ROUTE, OUT_USER = "203.0.113.12", "203.0.113.10", "203.0.113.11"
V6_PROXY, V6_TARGET, V6_RANDOM = "2001:db8:ff::1", "2001:db8:ff::2", "2001:db8:1::/64"


def outgoing_hosts(ctx):
    """The three hosts; the proxy has three more IPv4 addresses toward the
    target and an IPv6 link to it, and the random prefix is local to the
    proxy (AnyIP) and routed to it by the target."""
    net = three_hosts(ctx, extra_proxy=[a + "/24" for a in (OUT_ROUTE, OUT_USER, OUT_GLOBAL)]
                      + [V6_PROXY + "/64"], extra_target=[V6_TARGET + "/64"])
    net.run("prx", "-6", "route", "add", "local", V6_RANDOM, "dev", "lo")
    net.run("tgt", "-6", "route", "add", V6_RANDOM, "via", V6_PROXY)
    return net


def auth_of(user):
    return (user, user + "-pw")


@suite.test("outgoing address selection on real links: global %s, `route ... outgoing %s` "
            "for one target port (direct, and via a chain: the first hop sees it), "
            "`outgoing %s user alice` (user beats route): the target sees exactly that "
            "source and the CONNECT reply names it (HTTP CONNECT with Basic too); BIND listens on the user's or the global "
            "address; `outgoing %s random` (IPV6_FREEBIND, a local route for the prefix on "
            "the proxy): 20 connections come from 20 different addresses inside the prefix, "
            "each the reply's BND.ADDR, and a UDP association sends all its datagrams from "
            "one address inside it" % (OUT_GLOBAL, OUT_ROUTE, OUT_USER, V6_RANDOM))
def t_outgoing(ctx):
    net = outgoing_hosts(ctx)
    with net.inside("tgt"):
        plain, routed = ctx.own(EchoServer(TGT_NET_TARGET)), ctx.own(EchoServer(TGT_NET_TARGET))
        chained = ctx.own(EchoServer(TGT_NET_TARGET))
        echo6, uecho6 = ctx.own(EchoServer(V6_TARGET)), ctx.own(UdpEchoServer(V6_TARGET))
        upstream = ctx.hopsocks(listen=(TGT_NET_TARGET,),
                                config=["allow from 203.0.113.0/24"])
    users = write_users(ctx, {"alice": "alice-pw", "bob": "bob-pw"})
    with net.inside("prx"):
        hs = ctx.hopsocks(listen=(CLI_NET_PROXY,), config=[
            "users " + users,
            "allow from %s/32" % CLI_NET_CLIENT,
            "outgoing " + OUT_GLOBAL,
            "outgoing %s random" % V6_RANDOM,
            "outgoing %s user alice" % OUT_USER,
            "chain up {", "hop socks5://%s" % hostport(*upstream.addr), "}",
            "route %s port %d direct outgoing %s" % (TGT_NET_TARGET, routed.port, OUT_ROUTE),
            "route %s port %d via up outgoing %s" % (TGT_NET_TARGET, chained.port, OUT_ROUTE),
        ])
    cases = [("bob", plain, OUT_GLOBAL), ("bob", routed, OUT_ROUTE),
             ("alice", routed, OUT_USER), ("alice", plain, OUT_USER)]
    for user, server, want in cases:
        before = len(server.peers)
        with net.inside("cli"):
            sock, raw = socks5_command(hs.addr, 1, TGT_NET_TARGET, server.port,
                                       auth=auth_of(user))
        with sock:
            peer = server.wait_peers(before + 1)[before]
            what = "%s to port %d" % (user, server.port)
            check_eq(peer[0], want, "%s: the source the target saw" % what)
            check_eq(raw, v5_reply(want, peer[1]), "%s: CONNECT reply" % what)
            echo_transfer(sock, 64 << 10, seed=3, what=what)

    # HTTP CONNECT with Basic credentials: the same user, the same source.
    before = len(plain.peers)
    with net.inside("cli"):
        sock = connect(hs.addr)
    with sock:
        sock.sendall(b"CONNECT %s:%d HTTP/1.1\r\nHost: %s:%d\r\nProxy-Authorization: Basic "
                     b"%s\r\n\r\n" % (TGT_NET_TARGET.encode(), plain.port,
                                        TGT_NET_TARGET.encode(), plain.port,
                                        base64.b64encode(b"alice:alice-pw")))
        ok = b"HTTP/1.1 200 Connection established\r\n\r\n"
        check_eq(recv_exact(sock, len(ok), "HTTP CONNECT answer"), ok, "HTTP CONNECT answer")
        check_eq(plain.wait_peers(before + 1)[before][0], OUT_USER,
                 "alice over HTTP CONNECT: the source the target saw")
        echo_transfer(sock, 16 << 10, seed=5, what="alice over HTTP CONNECT")

    # Through the chain: the first hop sees the route's (or alice's) source.
    for n, (user, want) in enumerate([("bob", OUT_ROUTE), ("alice", OUT_USER)]):
        with net.inside("cli"):
            sock, raw = socks5_command(hs.addr, 1, TGT_NET_TARGET, chained.port,
                                       auth=auth_of(user))
        with sock:
            check_eq(raw[:2], b"\x05\x00", "%s via the chain: reply" % user)
            echo_transfer(sock, 16 << 10, seed=4, what="%s via the chain" % user)
        rec = hs.wait_access(lambda r: r.get("user") == user and r.get("route") == "up",
                             what="access line of %s via the chain" % user)
        check_eq(rec["result"], "ok", "%s via the chain: result" % user)
        check(wait_until(lambda: len([r for r in upstream.access()
                                      if r.get("cmd") == "connect"]) > n),
              "no access line at the first hop for %s" % user)
        ups = [r for r in upstream.access() if r.get("cmd") == "connect"]
        check_eq(ups[n]["client"].rsplit(":", 1)[0], want,
                 "the address the first hop saw %s come from" % user)

    # BIND listens where the target sees this user's connections come from.
    for user, want in [("alice", OUT_USER), ("bob", OUT_GLOBAL)]:
        with net.inside("cli"):
            ctl, raw = socks5_command(hs.addr, 2, TGT_NET_TARGET, 21, auth=auth_of(user))
        with ctl:
            check_eq(raw[:8], v5_reply(want, 0)[:8], "%s: BIND first reply (address)" % user)
            with net.inside("tgt"):
                back = connect((want, struct.unpack(">H", raw[8:10])[0]))
            with back:
                check_eq(recv_exact(ctl, 10, "BIND second reply"),
                         v5_reply(TGT_NET_TARGET, back.getsockname()[1]),
                         "%s: BIND second reply" % user)

    prefix = ipaddress.ip_network(V6_RANDOM)
    seen = []
    for i in range(20):
        with net.inside("cli"):
            sock, raw = socks5_command(hs.addr, 1, V6_TARGET, echo6.port, auth=auth_of("bob"))
        with sock:
            peer = echo6.wait_peers(i + 1)[i]
            check(ipaddress.ip_address(peer[0]) in prefix,
                  "connection %d came from %s, outside %s" % (i, peer[0], V6_RANDOM))
            check_eq(raw, v5_reply(peer[0], peer[1]), "random source %d: CONNECT reply" % i)
            echo_transfer(sock, 4096, seed=i, what="random source %d" % i)
        seen.append(peer[0])
    check_eq(len(set(seen)), 20, "different source addresses among 20 connections")

    # UDP: one random source per association.
    udp_sources = []
    for n in range(2):
        with net.inside("cli"):
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            u.bind((CLI_NET_CLIENT, 0))
            u.settimeout(BOUND)
            ctl, raw = socks5_command(hs.addr, 3, "0.0.0.0", 0, auth=auth_of("bob"))
        with ctl, u:
            relay = (CLI_NET_PROXY, struct.unpack(">H", raw[8:10])[0])
            before = len(uecho6.received)
            udp_roundtrips(u, relay, (V6_TARGET, uecho6.port), 3, "random UDP %d" % n)
            srcs = {src[0] for src, _ in uecho6.received[before:]}
        check_eq(len(srcs), 1, "association %d: source addresses its datagrams came from" % n)
        src = srcs.pop()
        check(ipaddress.ip_address(src) in prefix,
              "association %d came from %s, outside %s" % (n, src, V6_RANDOM))
        udp_sources.append(src)
    check(udp_sources[0] != udp_sources[1], "two associations came from the same address %s"
          % udp_sources[0])


@suite.test("a reload (SIGHUP) changes the sources of new connections: alice's %s becomes "
            "%s, the global %s is dropped (the kernel's choice, %s, is used)"
            % (OUT_USER, OUT_ROUTE, OUT_GLOBAL, TGT_NET_PROXY))
def t_outgoing_reload(ctx):
    net = outgoing_hosts(ctx)
    with net.inside("tgt"):
        echo = ctx.own(EchoServer(TGT_NET_TARGET))
    users = write_users(ctx, {"alice": "alice-pw", "bob": "bob-pw"})
    base = ["users " + users, "allow from %s/32" % CLI_NET_CLIENT]
    with net.inside("prx"):
        hs = ctx.hopsocks(listen=(CLI_NET_PROXY,), config=base + [
            "outgoing " + OUT_GLOBAL, "outgoing %s user alice" % OUT_USER])

    def source_of(user):
        before = len(echo.peers)
        with net.inside("cli"):
            sock, raw = socks5_command(hs.addr, 1, TGT_NET_TARGET, echo.port,
                                       auth=auth_of(user))
        with sock:
            peer = echo.wait_peers(before + 1)[before]
            check_eq(raw, v5_reply(peer[0], peer[1]), "%s: CONNECT reply" % user)
        return peer[0]

    check_eq((source_of("alice"), source_of("bob")), (OUT_USER, OUT_GLOBAL), "sources before")
    hs.config_lines = base + ["outgoing %s user alice" % OUT_ROUTE]
    hs._write_config()
    os.kill(hs.pid, signal.SIGHUP)
    check(wait_until(lambda: "configuration reloaded (generation 2)" in hs.stderr_text()),
          "no reload within %.0fs" % BOUND)
    check_eq((source_of("alice"), source_of("bob")), (OUT_ROUTE, TGT_NET_PROXY),
             "sources after the reload")


@suite.test("`outgoing %s random` without the local route for the prefix on the proxy: "
            "the SYN leaves from the random address but the answer is not taken in, so the "
            "connect times out (05 06, result=timeout); with the route added it connects"
            % V6_RANDOM)
def t_random_needs_local_route(ctx):
    net = three_hosts(ctx, extra_proxy=[V6_PROXY + "/64"], extra_target=[V6_TARGET + "/64"])
    net.run("tgt", "-6", "route", "add", V6_RANDOM, "via", V6_PROXY)
    with net.inside("tgt"):
        echo6 = ctx.own(EchoServer(V6_TARGET))
    with net.inside("prx"):
        hs = ctx.hopsocks(listen=(CLI_NET_PROXY,), config=[
            "allow from %s/32" % CLI_NET_CLIENT, "outgoing %s random" % V6_RANDOM])
    with net.inside("cli"):
        sock, raw = socks5_command(hs.addr, 1, V6_TARGET, echo6.port)
    with sock:
        check_eq(raw, v5_reply("0.0.0.0", 0, rep=6), "reply without the local route")
        cli = hostport(*sock.getsockname()[:2])
    check_fields(access_of(hs, cli), {"cmd": "connect", "result": "timeout"})
    check_eq(len(echo6.peers), 0, "connections the target accepted")

    net.run("prx", "-6", "route", "add", "local", V6_RANDOM, "dev", "lo")
    with net.inside("cli"):
        sock, raw = socks5_command(hs.addr, 1, V6_TARGET, echo6.port)
    with sock:
        peer = echo6.wait_peers(1)[0]
        check_eq(raw, v5_reply(peer[0], peer[1]), "reply with the local route")
        echo_transfer(sock, 4096, seed=9, what="with the local route")


if __name__ == "__main__":
    suite.run(netns=[])
