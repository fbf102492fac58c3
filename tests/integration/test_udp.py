#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors.
"""SOCKS5 UDP ASSOCIATE through hopsocks.

Real clients: PySocks (Debian's python3-socks) UDP sockets, and unmodified
UDP programs (a small python3 client, socat) run under dante's socksify
(Debian's dante-client), against UDP echo targets on 127.0.0.1 and ::1.

A raw client covers the rest with exact bytes: the reply's BND.ADDR/PORT
(udp-advertise, udp-ports), the SOCKS5 UDP header of every reply, IPv4 and
IPv6 associations and targets, domain targets resolved by hopsocks through
the loopback DNS server (and the bounded queue while a name resolves),
60,000- and 65,507-byte datagrams (SHA-256), FRAG != 0 and malformed
datagrams dropped while the association keeps working, foreign sources,
replies from hosts the client never contacted (and `udp-replies any`), one
stable outbound port, the end of relaying when the control connection
closes, `timeout udp-idle`, and 1,000 associations leaving no descriptor
behind.  Every drop is checked by its counter in the access-log line.

Bursts exercise the batched receive and send (recvmmsg/sendmmsg): hopsocks
is stopped (SIGSTOP) while a burst is sent, so the whole burst waits in its
socket and is read in full batches; every datagram must come out once, in
order per target, and bad ones in the middle of a batch must cost only
themselves.
"""

import os
import sys

try:
    import socks
except ImportError:
    # PySocks comes from Debian's python3-socks; automake runs us with
    # /usr/bin/python3, but someone running by hand may have another python.
    if os.path.exists("/usr/bin/python3") and sys.executable != "/usr/bin/python3":
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    socks = None

import contextlib  # noqa: E402
import random  # noqa: E402
import select  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import struct  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (BOUND, SOCKSIFY, Skip, Suite, TestFailure, check, check_eq,  # noqa: E402
                     connect, encode_addr5, expect_closed, read_socks5_reply, recv_exact,
                     show, socks5_request, socksify_env, wait_until)
from harness import missing, require_program  # noqa: E402
from dnsserver import DnsServer  # noqa: E402
from servers import UdpEchoServer, pattern, sha256  # noqa: E402

suite = Suite()

DROPS = ("drop_foreign", "drop_malformed", "drop_frag", "drop_queue", "drop_dns",
         "drop_uncontacted", "drop_send")

# Largest UDP payloads: IPv4 65535 - 20 - 8; IPv6 (no jumbograms) 65535 - 8.
MAX_V4 = 65507
MAX_V6 = 65527


# ------------------------------------------------------------------ helpers

def family_of(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def hostport(host, port):
    return "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)


def udp_header(host, port, frag=0):
    """RSV RSV FRAG ATYP DST.ADDR DST.PORT (RFC 1928 section 7)."""
    return b"\x00\x00" + bytes([frag]) + encode_addr5(host) + struct.pack(">H", port)


def parse_udp_reply(data):
    """(host, port, payload) of a datagram from the relay; its header must
    be RSV 00 00, FRAG 00 and an IP ATYP (hopsocks never names the source
    with a domain)."""
    check(len(data) >= 10, "datagram from the relay too short: %s" % show(data))
    check_eq(data[:3], b"\x00\x00\x00", "RSV RSV FRAG of a datagram from the relay")
    if data[3] == 1:
        return socket.inet_ntop(socket.AF_INET, data[4:8]), struct.unpack(">H", data[8:10])[0], data[10:]
    if data[3] == 4:
        check(len(data) >= 22, "IPv6 datagram from the relay too short: %s" % show(data))
        return (socket.inet_ntop(socket.AF_INET6, data[4:20]),
                struct.unpack(">H", data[20:22])[0], data[22:])
    raise TestFailure("datagram from the relay with ATYP %d (want 01 or 04): %s"
                      % (data[3], show(data[:32])))


def udp_socket(host, port=0):
    s = socket.socket(family_of(host), socket.SOCK_DGRAM)
    s.bind((host, port))
    s.settimeout(BOUND)
    return s


class _Closer:
    def __init__(self, sock):
        self.sock = sock

    def stop(self):
        self.sock.close()


def own_udp(ctx, host):
    """A UDP socket on host:0 that the test's cleanup closes."""
    s = udp_socket(host)
    ctx.own(_Closer(s))
    return s


def dns_settled(dns, quiet=0.3):
    """Wait (bounded) until the DNS server has had no new question for
    `quiet` seconds: hopsocks has then had every answer it asked for."""
    state = {"n": -1, "since": time.monotonic()}

    def quiet_enough():
        n = len(dns.queries)
        if n != state["n"]:
            state["n"], state["since"] = n, time.monotonic()
        return time.monotonic() - state["since"] >= quiet
    wait_until(quiet_enough)


class Assoc:
    """One raw UDP association: the control connection (to hopsocks on
    `via`), the reply, and a client UDP socket bound to `via` as well (so the
    source IP is the control connection's).  dst is DST.ADDR/DST.PORT of the
    request; port=None means "the client socket's own port"."""

    def __init__(self, hs, via="127.0.0.1", dst=("0.0.0.0", 0), relay=None):
        self.udp = udp_socket(via)
        if dst[1] is None:
            dst = (dst[0], self.udp.getsockname()[1])
        self.ctl = connect(hs.addr_of(via))
        self.ctl.sendall(b"\x05\x01\x00")
        check_eq(recv_exact(self.ctl, 2, "method selection"), b"\x05\x00", "method selection")
        self.ctl.sendall(socks5_request(dst[0], dst[1], cmd=3))
        rep, self.bnd_host, self.bnd_port, self.reply = read_socks5_reply(self.ctl)
        check(rep == 0, "UDP ASSOCIATE: reply %s, want success" % show(self.reply))
        # Where to send: the advertised address, unless the test says the
        # relay is really somewhere else (udp-advertise names a fake one).
        self.relay = relay or (self.bnd_host, self.bnd_port)
        if relay and relay[1] is None:
            self.relay = (relay[0], self.bnd_port)
        local = self.ctl.getsockname()
        self.client = hostport(local[0], local[1])

    def send(self, payload, target, frag=0, sock=None):
        (sock or self.udp).sendto(udp_header(target[0], target[1], frag) + payload, self.relay)

    def recv(self, what="datagram from the relay", timeout=BOUND):
        """(source host, source port, payload) of the next datagram; it must
        come from the relay address."""
        self.udp.settimeout(timeout)
        try:
            data, src = self.udp.recvfrom(70000)
        except socket.timeout:
            raise TestFailure("%s: nothing within %.1fs" % (what, timeout))
        check_eq(src[:2], self.relay, "%s: sender" % what)
        return parse_udp_reply(data)

    def roundtrip(self, payload, target, what="echo"):
        """Send payload to an echo target and check the reply names the
        target and carries the same bytes."""
        self.send(payload, target)
        host, port, got = self.recv(what)
        check_eq((host, port), tuple(target), "%s: source named in the reply header" % what)
        check(got == payload, "%s: payload of %d bytes came back as %d bytes (sha256 %s, want %s)"
              % (what, len(payload), len(got), sha256(got)[:16], sha256(payload)[:16]))

    def expect_nothing(self, quiet=0.3, what="relay"):
        self.udp.settimeout(quiet)
        try:
            data, src = self.udp.recvfrom(70000)
        except socket.timeout:
            return
        raise TestFailure("%s: unexpected datagram from %s: %s" % (what, src, show(data)))

    def close(self):
        self.ctl.close()
        self.udp.close()


def access_of(hs, client, what="access line"):
    return hs.wait_access(lambda r: r.get("client") == client, what=what)


def check_fields(rec, want):
    got = {k: rec.get(k) for k in want}
    check_eq(got, want, "access fields of %r" % rec["_line"])


def udp_fields(pkts_up, pkts_down, up, down, **drops):
    want = {"cmd": "udp", "result": "ok", "pkts_up": str(pkts_up), "pkts_down": str(pkts_down),
            "up": str(up), "down": str(down)}
    for name in DROPS:
        want[name] = str(drops.get(name, 0))
    return want


def sources(server):
    return sorted(set(peer for peer, _ in server.received))


# ------------------------------------------------------------------ PySocks

def pysocks_udp(hs, family=socket.AF_INET, bind_host="127.0.0.1"):
    if socks is None:
        raise missing("PySocks (import socks)", "python3-socks")
    s = socks.socksocket(family, socket.SOCK_DGRAM)
    s.set_proxy(socks.SOCKS5, hs.listen_hosts[0], hs.port)
    s.settimeout(BOUND)
    s.bind((bind_host, 0))  # explicit: PySocks would otherwise bind the wildcard
    return s


@suite.test("PySocks UDP socket: echo via 127.0.0.1 and ::1 targets, recvfrom names each target, "
            "targets see hopsocks' port, access line exact")
def t_pysocks(ctx):
    dns = ctx.own(DnsServer({}))
    echo4, echo6 = ctx.own(UdpEchoServer()), ctx.own(UdpEchoServer("::1"))
    hs = ctx.hopsocks(config=["resolver " + dns.resolver])
    s = pysocks_udp(hs)
    own_port = s.getsockname()[1]
    big = pattern(30000, seed=21)
    with s:
        for payload, target in ((b"pysocks udp four", echo4.addr), (b"pysocks udp six", echo6.addr),
                                (big, echo4.addr)):
            s.sendto(payload, target)
            got, src = s.recvfrom(65536)
            check_eq(tuple(src[:2]), target, "recvfrom source for %s" % show(payload[:16]))
            check(got == payload, "payload to %s: %d bytes back (sha256 %s), want %d (%s)"
                  % (target, len(got), sha256(got)[:16], len(payload), sha256(payload)[:16]))
    check_eq([p for _, p in echo4.received], [b"pysocks udp four", big], "what the IPv4 target got")
    check_eq([p for _, p in echo6.received], [b"pysocks udp six"], "what the IPv6 target got")
    src4, src6 = sources(echo4), sources(echo6)
    check(len(src4) == 1 and src4[0][0] == "127.0.0.1" and src4[0][1] != own_port,
          "IPv4 target saw %s; want one hopsocks source on 127.0.0.1, not the client's port %d"
          % (src4, own_port))
    check(len(src6) == 1 and src6[0][0] == "::1", "IPv6 target saw %s" % src6)
    rec = hs.wait_access(lambda r: r.get("cmd") == "udp", what="cmd=udp access line")
    n = 16 + 15 + len(big)
    want = udp_fields(3, 3, n, n)
    # PySocks asks with DST.ADDR "0" (a name) and its own port, which pins it.
    want.update(proto="socks5", user="-", addr="-", target="0:%d" % own_port)
    check_fields(rec, want)
    check_eq(dns.queries, [], "DNS questions (the request's DST.ADDR is not resolved)")


@suite.test("PySocks UDP socket in connect() mode: send/recv to one target, replies filtered to it")
def t_pysocks_connected(ctx):
    echo = ctx.own(UdpEchoServer())
    hs = ctx.hopsocks()
    s = pysocks_udp(hs)
    with s:
        s.connect(echo.addr)
        for i in range(3):
            msg = b"connected datagram %d" % i
            s.send(msg)
            check_eq(s.recv(100), msg, "reply %d" % i)
    check_eq([p for _, p in echo.received], [b"connected datagram %d" % i for i in range(3)],
             "what the target got")
    check_eq(len(sources(echo)), 1, "distinct sources the target saw")


@suite.test("PySocks AF_INET6 UDP socket through hopsocks on ::1")
def t_pysocks_v6(ctx):
    echo = ctx.own(UdpEchoServer("::1"))
    hs = ctx.hopsocks(listen=("::1",))
    try:
        s = pysocks_udp(hs, socket.AF_INET6, "::1")
    except ValueError as e:
        # socks.py 1.7.1, socksocket.bind(): `_, port = self.getsockname()`
        # cannot unpack an AF_INET6 4-tuple; and its control connection is
        # `_orig_socket()`, always AF_INET.  Nothing reaches hopsocks.
        raise Skip("PySocks %s cannot do UDP on AF_INET6 sockets: socksocket.bind() unpacks "
                   "getsockname() as (host, port) and fails on the IPv6 4-tuple (%s); IPv6 "
                   "targets are covered through an AF_INET PySocks socket and the raw client"
                   % (getattr(socks, "__version__", "?"), e))
    with s:
        s.sendto(b"six", echo.addr)
        got, src = s.recvfrom(100)
        check_eq((got, tuple(src[:2])), (b"six", echo.addr), "echo through an IPv6 association")


# ----------------------------------------------------------------- socksify

UDP_CLIENT = r"""
import socket, sys
host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("::1" if ":" in host else "127.0.0.1", 0))
s.settimeout(%f)
for i in range(count):
    s.sendto(b"socksified datagram %%d" %% i, (host, port))
    data, src = s.recvfrom(1000)
    print(data.decode(), src[0], src[1], flush=True)
""" % BOUND


def run_socksified(env, cmd, what, input_bytes=None):
    try:
        return subprocess.run([SOCKSIFY] + cmd, input=input_bytes, capture_output=True,
                              timeout=BOUND, env=env)
    except subprocess.TimeoutExpired:
        raise TestFailure("%s did not finish within %.0fs" % (what, BOUND))


def dante_log(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


@suite.test("socksify (dante) around an unmodified python3 UDP client: 3 datagrams echoed, "
            "one hopsocks source port, access cmd=udp pkts_up=3")
def t_socksify_python(ctx):
    echo = ctx.own(UdpEchoServer())
    hs = ctx.hopsocks()
    env, log = socksify_env(ctx, hs.addr)
    run = run_socksified(env, ["/usr/bin/python3", "-c", UDP_CLIENT, "127.0.0.1", str(echo.port), "3"],
                         "socksified python3 client")
    want = "".join("socksified datagram %d 127.0.0.1 %d\n" % (i, echo.port) for i in range(3))
    check(run.returncode == 0 and run.stdout.decode() == want,
          "client exit %d, stdout %r (want %r), stderr %r; dante log tail: %s"
          % (run.returncode, run.stdout.decode(), want, run.stderr.decode()[-500:],
             dante_log(log)[-1500:]))
    check_eq([p for _, p in echo.received], [b"socksified datagram %d" % i for i in range(3)],
             "what the target got")
    srcs = sources(echo)
    check(len(srcs) == 1, "the target saw %s, want one source" % srcs)
    rec = hs.wait_access(lambda r: r.get("cmd") == "udp", what="cmd=udp access line")
    check_fields(rec, udp_fields(3, 3, 3 * 21, 3 * 21))


@suite.test("socksify (dante) around socat - UDP:127.0.0.1:PORT: a line round-trips, access cmd=udp "
            "pkts_up>=1")
def t_socksify_socat(ctx):
    require_program("socat", "socat")
    echo = ctx.own(UdpEchoServer())
    hs = ctx.hopsocks()
    env, log = socksify_env(ctx, hs.addr)
    line = b"a line for socat through hopsocks\n"
    proc = subprocess.Popen([SOCKSIFY, "socat", "-t", "0.5", "-", "UDP:127.0.0.1:%d,bind=127.0.0.1" % echo.port],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env)
    try:
        proc.stdin.write(line)
        proc.stdin.flush()
        got = b""
        deadline = time.monotonic() + BOUND
        while len(got) < len(line) and time.monotonic() < deadline:
            ready, _, _ = select.select([proc.stdout], [], [], 0.1)
            if ready:
                chunk = os.read(proc.stdout.fileno(), 4096)
                if not chunk:
                    break
                got += chunk
        proc.stdin.close()  # socat then exits within its -t 0.5
        rc = proc.wait(BOUND)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(BOUND)
    check(got == line, "socat printed %s, want %s (exit %s, stderr %r); dante log tail: %s"
          % (show(got), show(line), proc.returncode, proc.stderr.read().decode()[-300:],
             dante_log(log)[-1500:]))
    check_eq(rc, 0, "socat exit status")
    check_eq([p for _, p in echo.received], [line], "what the target got")
    rec = hs.wait_access(lambda r: r.get("cmd") == "udp", what="cmd=udp access line")
    check(int(rec.get("pkts_up", "0")) >= 1 and rec.get("pkts_down") == rec.get("pkts_up")
          and rec.get("result") == "ok", "access line %r" % rec["_line"])


@suite.test("socksify (dante) around an AF_INET6 UDP client to ::1")
def t_socksify_v6(ctx):
    echo = ctx.own(UdpEchoServer("::1"))
    hs = ctx.hopsocks()
    env, log = socksify_env(ctx, hs.addr)
    with open(env["SOCKS_CONF"], "a") as f:  # an IPv6 route as well
        f.write("route {\n  from: ::/0 to: ::/0 via: 127.0.0.1 port = %d\n"
                "  proxyprotocol: socks_v5\n  protocol: tcp udp\n  method: none\n}\n" % hs.port)
    run = run_socksified(env, ["/usr/bin/python3", "-c", UDP_CLIENT, "::1", str(echo.port), "1"],
                         "socksified python3 IPv6 client")
    check_eq(run.returncode, 0, "client exit status (stderr %r)" % run.stderr.decode()[-300:])
    text = dante_log(log)
    via_hopsocks = [r for r in hs.access() if r.get("cmd") == "udp"]
    if not via_hopsocks and "unsupported address family" in text:
        line = next(ln for ln in text.splitlines() if "unsupported address family" in ln)
        # Dante 1.4's NEWS: "IPv6 is now supported in the server"; its
        # client library still handles AF_INET sockets only.
        raise Skip("dante-client's socksify does not proxy AF_INET6 UDP sockets (IPv6 support in "
                   "Dante 1.4 is server-side only); it sent the datagram direct, its log says: %s"
                   % line.split(": ", 1)[-1].strip())
    check(via_hopsocks, "the datagram did not go through hopsocks; dante log tail: %s" % text[-1500:])
    check_fields(via_hopsocks[0], udp_fields(1, 1, 21, 21))


# --------------------------------------------------------------- raw client

@suite.test("raw IPv4: reply 05 00 00 01 7f000001 <relay port>; reply headers name each target "
            "(IPv4 and IPv6); empty payload passes; control bytes and a closed target port change "
            "nothing; access line exact")
def t_raw_v4(ctx):
    echo4, echo6 = ctx.own(UdpEchoServer()), ctx.own(UdpEchoServer("::1"))
    hs = ctx.hopsocks()
    a = Assoc(hs)
    check_eq(a.reply, b"\x05\x00\x00\x01\x7f\x00\x00\x01" + struct.pack(">H", a.bnd_port),
             "UDP ASSOCIATE reply")
    check(a.bnd_port not in (0, hs.port), "relay port %d" % a.bnd_port)
    a.roundtrip(b"raw datagram \x00\xff", echo4.addr, "echo via IPv4 target")
    a.ctl.sendall(b"bytes on the control connection mean nothing")
    a.roundtrip(b"", echo4.addr, "empty payload")
    a.roundtrip(b"to the IPv6 target", echo6.addr, "echo via IPv6 target")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as closed:
        closed.bind(("127.0.0.1", 0))
        closed_port = closed.getsockname()[1]
    a.send(b"nobody listens", ("127.0.0.1", closed_port))  # ICMP port unreachable
    a.roundtrip(b"after ICMP", echo4.addr, "echo after a datagram to a closed port")
    # The exact bytes of a reply datagram.
    a.send(b"exact", echo4.addr)
    data, _ = a.udp.recvfrom(100)
    check_eq(data, b"\x00\x00\x00\x01\x7f\x00\x00\x01" + struct.pack(">H", echo4.port) + b"exact",
             "datagram from the relay")
    own = a.udp.getsockname()[1]
    check(all(p[0] == "127.0.0.1" and p[1] != own for p in sources(echo4)),
          "IPv4 target saw %s (the client's own port is %d)" % (sources(echo4), own))
    a.close()
    rec = access_of(hs, a.client)
    want = udp_fields(6, 5, 15 + 0 + 18 + 14 + 10 + 5, 15 + 0 + 18 + 10 + 5)
    want.update(proto="socks5", user="-", target="0.0.0.0:0", addr="-")
    check_fields(rec, want)
    check(rec.get("ms", "").isdigit(), "ms= in %r" % rec["_line"])


@suite.test("raw IPv6: control on ::1 gets reply 05 00 00 04 ::1 <port>; IPv6 and IPv4 targets, "
            "headers ATYP 04 and 01")
def t_raw_v6(ctx):
    echo4, echo6 = ctx.own(UdpEchoServer()), ctx.own(UdpEchoServer("::1"))
    hs = ctx.hopsocks(listen=("::1",))
    a = Assoc(hs, via="::1")
    check_eq(a.reply, b"\x05\x00\x00\x04" + socket.inet_pton(socket.AF_INET6, "::1")
             + struct.pack(">H", a.bnd_port), "UDP ASSOCIATE reply")
    a.roundtrip(b"six to six", echo6.addr, "IPv6 target")
    a.roundtrip(b"six to four", echo4.addr, "IPv4 target")
    a.send(b"exact6", echo6.addr)
    data, _ = a.udp.recvfrom(100)
    check_eq(data, b"\x00\x00\x00\x04" + socket.inet_pton(socket.AF_INET6, "::1")
             + struct.pack(">H", echo6.port) + b"exact6", "datagram from the relay")
    a.close()
    check_fields(access_of(hs, a.client), udp_fields(3, 3, 10 + 11 + 6, 10 + 11 + 6))


@suite.test("domain target: resolved by hopsocks via the DNS server, datagrams sent while resolving "
            "all delivered in order, replies name the IP; NXDOMAIN counted drop_dns")
def t_domain(ctx):
    echo = ctx.own(UdpEchoServer())
    dns = ctx.own(DnsServer({"echo.udp.test": ["127.0.0.1"]}, delays={"echo.udp.test": 0.4}))
    hs = ctx.hopsocks(config=["resolver " + dns.resolver])
    a = Assoc(hs)
    msgs = [b"while resolving %d" % i for i in range(3)]
    for m in msgs:
        a.send(m, ("echo.udp.test", echo.port))
    for i, m in enumerate(msgs):
        host, port, got = a.recv("reply %d" % i)
        check_eq((host, port, got), ("127.0.0.1", echo.port, m), "reply %d (source as an IP)" % i)
    check_eq([p for _, p in echo.received], msgs, "what the target got, in order")
    check(dns.count("echo.udp.test") >= 1, "hopsocks never asked the DNS server")
    a.roundtrip(b"resolved now", ("127.0.0.1", echo.port))  # sanity
    a.send(b"named again", ("echo.udp.test", echo.port))
    check_eq(a.recv("reply after resolution"), ("127.0.0.1", echo.port, b"named again"),
             "reply after the name is known")
    a.send(b"nobody", ("nx.udp.test", echo.port))
    wait_until(lambda: dns.count("nx.udp.test") >= 1)
    dns_settled(dns)
    a.roundtrip(b"still works", ("127.0.0.1", echo.port))
    a.close()
    n = sum(map(len, msgs)) + 12 + 11 + 11
    check_fields(access_of(hs, a.client), udp_fields(6, 6, n, n, drop_dns=1))
    check_eq(len(echo.received), 6, "datagrams the target got")


@suite.test("the queue while a name resolves is bounded: 40 datagrams -> 32 sent, drop_queue=8; "
            "5 x 60,000 bytes -> 4 sent intact (256 KiB), drop_queue=1; a 5th name at once -> drop_queue=1")
def t_queue_bounds(ctx):
    echo = ctx.own(UdpEchoServer(echo=False))
    barrier = ctx.own(UdpEchoServer())
    names = ["count.udp.test", "bytes.udp.test"] + ["n%d.udp.test" % i for i in range(5)]
    dns = ctx.own(DnsServer({n: ["127.0.0.1"] for n in names}, delays={n: 1.0 for n in names}))
    hs = ctx.hopsocks(config=["resolver " + dns.resolver])
    by_count, by_bytes, by_names = Assoc(hs), Assoc(hs), Assoc(hs)
    small = [b"queued %02d" % i for i in range(40)]
    for m in small:
        by_count.send(m, ("count.udp.test", echo.port))
    big = [pattern(60000, seed=100 + i) for i in range(5)]
    for i, m in enumerate(big):
        by_bytes.send(m, ("bytes.udp.test", echo.port))
        # Five 60 KB datagrams at once could overflow the relay socket's
        # receive buffer (the kernel's drop, not hopsocks'): an echo from
        # an IP target proves hopsocks has read the datagram before it.
        by_bytes.roundtrip(b"barrier %d" % i, barrier.addr)
    for i in range(5):
        by_names.send(b"name %d" % i, ("n%d.udp.test" % i, echo.port))
    echo.wait_count(32 + 4 + 4)
    dns_settled(dns)
    time.sleep(0.2)  # anything more would be a bug; give it the chance to show
    check_eq([d for d in (p for _, p in echo.received) if d.startswith(b"queued")], small[:32],
             "the first 32 queued datagrams, in order")
    bigs = [d for _, d in echo.received if len(d) == 60000]
    check_eq([sha256(d) for d in bigs], [sha256(d) for d in big[:4]], "the 60,000-byte datagrams (sha256)")
    names_got = sorted(d for _, d in echo.received if d.startswith(b"name "))
    check_eq(len(names_got), 4, "datagrams for 5 names resolving at once (4 lookups at a time)")
    for a, want in ((by_count, udp_fields(32, 0, 32 * 9, 0, drop_queue=8)),
                    (by_bytes, udp_fields(4 + 5, 5, 240000 + 5 * 9, 5 * 9, drop_queue=1)),
                    (by_names, udp_fields(4, 0, 24, 0, drop_queue=1))):
        a.close()
        check_fields(access_of(hs, a.client), want)


@suite.test("60,000-byte datagrams both ways intact (sha256); the IPv4 maximum for an IPv4 client "
            "(65,497 + header); 65,507 bytes through an IPv6 association both ways")
def t_big(ctx):
    echo4 = ctx.own(UdpEchoServer())
    hs = ctx.hopsocks(listen=("127.0.0.1", "::1"))
    a = Assoc(hs)
    for size in (60000, MAX_V4 - 10):
        a.roundtrip(pattern(size, seed=size), echo4.addr, "%d-byte datagram" % size)
    a.close()
    n = 60000 + MAX_V4 - 10
    check_fields(access_of(hs, a.client), udp_fields(2, 2, n, n))
    b = Assoc(hs, via="::1")
    b.roundtrip(pattern(MAX_V4, seed=5), echo4.addr, "65,507 bytes via an IPv6 association")
    b.close()
    check_fields(access_of(hs, b.client), udp_fields(1, 1, MAX_V4, MAX_V4))
    got = [len(p) for _, p in echo4.received]
    check_eq(got, [60000, MAX_V4 - 10, MAX_V4], "sizes the target got")


@suite.test("a reply too big to wrap for an IPv4 client (65,507 bytes) is dropped (drop_send=1); "
            "65,497 bytes from the same target then arrive intact")
def t_reply_too_big(ctx):
    hs = ctx.hopsocks()
    target = own_udp(ctx, "127.0.0.1")
    a = Assoc(hs)
    a.send(b"hello", target.getsockname())
    data, outbound = target.recvfrom(100)
    check_eq(data, b"hello", "what the target got")
    target.sendto(pattern(MAX_V4, seed=8), outbound)
    target.sendto(pattern(MAX_V4 - 10, seed=9), outbound)
    host, port, got = a.recv("reply")
    check_eq((host, port), target.getsockname(), "reply source")
    check_eq(sha256(got), sha256(pattern(MAX_V4 - 10, seed=9)), "the 65,497-byte reply (sha256)")
    a.close()
    check_fields(access_of(hs, a.client), udp_fields(1, 1, 5, MAX_V4 - 10, drop_send=1))


@suite.test("FRAG != 0 and 8 malformed datagrams are dropped and counted (and DST.PORT 0 as "
            "drop_send); the association keeps relaying between them")
def t_garbage(ctx):
    echo = ctx.own(UdpEchoServer())
    hs = ctx.hopsocks()
    a = Assoc(hs)
    ip = socket.inet_aton("127.0.0.1")
    port = struct.pack(">H", echo.port)
    frags = [udp_header("127.0.0.1", echo.port, frag=1) + b"frag 1",
             udp_header("127.0.0.1", echo.port, frag=0x81) + b"frag 81"]
    malformed = [b"", b"\x00", b"\x00\x00\x00", b"\x00\x00\x00\x01" + ip[:3],
                 b"\x00\x00\x00\x01" + ip + port[:1], b"\x00\x00\x00\x05" + ip + port + b"atyp 5",
                 b"\x00\x00\x00\x03\x20short" + port, b"\x00\x00\x00\x04" + bytes(15)]
    good = []
    # Not malformed, but unsendable: DST.PORT 0 makes sendto() fail.
    a.send(b"to port 0", ("127.0.0.1", 0))
    for i, bad in enumerate(frags + malformed):
        a.udp.sendto(bad, a.relay)
        msg = b"good %d" % i
        good.append(msg)
        a.roundtrip(msg, echo.addr, "datagram after bad datagram %d %s" % (i, show(bad[:12])))
    a.close()
    check_eq([p for _, p in echo.received], good, "what the target got")
    n = sum(map(len, good))
    check_fields(access_of(hs, a.client), udp_fields(len(good), len(good), n, n, drop_frag=2,
                                                     drop_malformed=len(malformed), drop_send=1))


@suite.test("foreign sources dropped: 127.0.0.2 (before the latch), another port of 127.0.0.1 "
            "(after it); DST naming the client's own address and port pins that port; behind "
            "NAT (DST a private address and a port the datagrams do not come from) the first "
            "datagram's port is latched")
def t_foreign(ctx):
    echo = ctx.own(UdpEchoServer())
    hs = ctx.hopsocks()
    # DST 0.0.0.0:0 latches the port of the first datagram from 127.0.0.1.
    a = Assoc(hs)
    other_ip = own_udp(ctx, "127.0.0.2")
    other_port = own_udp(ctx, "127.0.0.1")
    a.send(b"from 127.0.0.2", echo.addr, sock=other_ip)
    a.roundtrip(b"latched", echo.addr)
    a.send(b"from another port", echo.addr, sock=other_port)
    a.roundtrip(b"still latched", echo.addr)
    for s in (other_ip, other_port):
        s.settimeout(0.3)
        try:
            data = s.recv(100)
            raise TestFailure("a foreign source got %s" % show(data))
        except socket.timeout:
            pass
    a.close()
    check_fields(access_of(hs, a.client), udp_fields(2, 2, 20, 20, drop_foreign=2))
    # DST 127.0.0.1:<client port>, the client's own address: the port pins.
    b = Assoc(hs, dst=("127.0.0.1", None))
    b.send(b"before the pinned port spoke", echo.addr, sock=other_port)
    b.roundtrip(b"pinned", echo.addr)
    b.close()
    check_fields(access_of(hs, b.client), udp_fields(1, 1, 6, 6, drop_foreign=1))
    # Behind NAT the client names its private address and port; its
    # datagrams come from another port (and the control connection's
    # address). The first one's port is latched, the rest must match it.
    c = Assoc(hs, dst=("192.168.1.50", 40000))
    c.roundtrip(b"through NAT", echo.addr)
    c.send(b"from another port", echo.addr, sock=other_port)
    c.roundtrip(b"still NAT", echo.addr)
    c.close()
    check_fields(access_of(hs, c.client), udp_fields(2, 2, 20, 20, drop_foreign=1))
    check_eq([p for _, p in echo.received],
             [b"latched", b"still latched", b"pinned", b"through NAT", b"still NAT"],
             "what the target got")


# ------------------------------------------------------------------ bursts

def thread_states(pid):
    """The scheduler state letter of every thread of pid ("T": stopped)."""
    states = []
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                states.append(f.read().rsplit(")", 1)[1].split()[0])
        except FileNotFoundError:
            pass  # a thread that just ended
    return states


@contextlib.contextmanager
def paused(hs):
    """hopsocks stopped (SIGSTOP, every thread) for the block, so what is
    sent meanwhile waits in its sockets' queues; SIGCONT on the way out,
    whatever happens in the block."""
    os.kill(hs.pid, signal.SIGSTOP)
    try:
        check(wait_until(lambda: set(thread_states(hs.pid)) == {"T"}),
              "hopsocks pid %d did not stop: thread states %s" % (hs.pid, thread_states(hs.pid)))
        yield
    finally:
        os.kill(hs.pid, signal.SIGCONT)


def roomy_udp(a):
    """The association's client socket with room for a whole burst of replies
    (200 small datagrams need ~160 KB; the default is about that)."""
    a.udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    return a


def collect(a, count, what):
    """count datagrams from the relay, grouped as {(host, port): [payload, ...]}
    in arrival order; then nothing more may come."""
    got = {}
    for i in range(count):
        host, port, payload = a.recv("%s %d of %d" % (what, i + 1, count))
        got.setdefault((host, port), []).append(payload)
    a.expect_nothing(0.3, "after %d %s" % (count, what))
    return got


@suite.test("a burst of 200 datagrams (hopsocks stopped while it is sent) to 4 echo targets "
            "(3 IPv4, 1 IPv6): every reply once, in order per target, its header naming the "
            "target; access line exact")
def t_burst(ctx):
    echoes = [ctx.own(UdpEchoServer()) for _ in range(3)] + [ctx.own(UdpEchoServer("::1"))]
    hs = ctx.hopsocks()
    a = roomy_udp(Assoc(hs))
    sent = {e.addr: [] for e in echoes}
    with paused(hs):
        for i in range(200):
            e = echoes[i % len(echoes)]
            # Distinct, numbered, and of varying length (0..49 bytes of padding).
            payload = b"burst %03d to %d " % (i, e.port) + bytes(range(i % 50))
            a.send(payload, e.addr)
            sent[e.addr].append(payload)
    got = collect(a, 200, "reply")
    check_eq(sorted(got), sorted(sent), "targets the replies' headers name")
    for target, payloads in sent.items():
        check_eq(got[target], payloads, "replies from %s, in order" % hostport(*target))
    for e in echoes:
        check_eq([p for _, p in e.received], sent[e.addr], "what %s got, in order"
                 % hostport(*e.addr))
    a.close()
    n = sum(len(p) for payloads in sent.values() for p in payloads)
    check_fields(access_of(hs, a.client), udp_fields(200, 200, n, n))


@suite.test("bad datagrams in the middle of bursts cost only themselves: up (port 0, FRAG 1, "
            "malformed, foreign source) and down (too big to wrap, uncontacted source) among "
            "60 good ones each way, every good one once and in order")
def t_burst_drops(ctx):
    t1, t2 = own_udp(ctx, "127.0.0.1"), own_udp(ctx, "127.0.0.1")
    foreign = own_udp(ctx, "127.0.0.1")
    stranger = own_udp(ctx, "127.0.0.2")
    for t in (t1, t2):
        t.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    hs = ctx.hopsocks()
    a = roomy_udp(Assoc(hs))
    targets = (t1.getsockname(), t2.getsockname())
    # Latch the client's port and contact both targets.
    sources_seen = set()
    for t, hello in zip((t1, t2), (b"hello one", b"hello two")):
        a.send(hello, t.getsockname())
        data, src = t.recvfrom(100)
        check_eq(data, hello, "what the target got")
        sources_seen.add(src)
    check_eq(len(sources_seen), 1, "hopsocks' outbound addresses %s: one socket" % sources_seen)
    outbound = sources_seen.pop()
    # Up: 60 good datagrams, 30 per target, with four bad ones among them.
    up = {t: [] for t in targets}
    with paused(hs):
        for i in range(60):
            if i == 15:
                a.send(b"to port 0", ("127.0.0.1", 0))  # sendto fails: drop_send
            if i == 25:
                a.send(b"fragment", targets[0], frag=1)
            if i == 35:
                a.udp.sendto(b"\x00\x00\x00\x09 bad ATYP", a.relay)
            if i == 45:
                a.send(b"foreign", targets[0], sock=foreign)
            payload = b"up %02d" % i
            a.send(payload, targets[i % 2])
            up[targets[i % 2]].append(payload)
    for t in (t1, t2):
        want, where = up[t.getsockname()], hostport(*t.getsockname())
        got = []
        for i in range(len(want)):
            try:
                data, src = t.recvfrom(100)
            except socket.timeout:
                raise TestFailure("%s got %d datagrams, want %d: %s" % (where, i, len(want),
                                                                       show(b" ".join(got))))
            check_eq(src, outbound, "source of datagram %d at %s" % (i, where))
            got.append(data)
        check_eq(got, want, "what %s got, in order" % where)
    # Down: 30 replies from each target, a reply too big to wrap for an
    # IPv4 client and one from a stranger among them.
    down = {t: [] for t in targets}
    with paused(hs):
        for i in range(60):
            t = (t1, t2)[i % 2]
            if i == 20:
                t1.sendto(pattern(MAX_V4, seed=3), outbound)  # + header > 65,507: drop_send
            if i == 40:
                stranger.sendto(b"unsolicited", outbound)
            payload = b"down %02d" % i
            t.sendto(payload, outbound)
            down[t.getsockname()].append(payload)
    got = collect(a, 60, "reply")
    check_eq(got, down, "replies by source, in order")
    a.close()
    n_up = len(b"hello one") + len(b"hello two") + sum(len(p) for v in up.values() for p in v)
    n_down = sum(len(p) for v in down.values() for p in v)
    check_fields(access_of(hs, a.client),
                 udp_fields(62, 60, n_up, n_down, drop_send=2, drop_frag=1, drop_malformed=1,
                            drop_foreign=1, drop_uncontacted=1))


@suite.test("replies from hosts the client never sent to are dropped (drop_uncontacted=2); "
            "with udp-replies any they arrive, naming their source")
def t_uncontacted(ctx):
    target = own_udp(ctx, "127.0.0.1")
    stranger_port = own_udp(ctx, "127.0.0.1")
    stranger_ip = own_udp(ctx, "127.0.0.2")
    for replies_any in (False, True):
        hs = ctx.hopsocks(config=["udp-replies any"] if replies_any else [])
        a = Assoc(hs)
        a.send(b"hello target", target.getsockname())
        data, outbound = target.recvfrom(100)
        check_eq(data, b"hello target", "what the target got")
        check_eq(outbound[0], "127.0.0.1", "hopsocks' outbound address")
        stranger_port.sendto(b"unsolicited 1", outbound)
        stranger_ip.sendto(b"unsolicited 2", outbound)
        if replies_any:
            got = sorted([a.recv("unsolicited %d" % i) for i in (1, 2)])
            want = sorted([stranger_port.getsockname() + (b"unsolicited 1",),
                           stranger_ip.getsockname() + (b"unsolicited 2",)])
            check_eq(got, want, "unsolicited datagrams with udp-replies any")
        else:
            a.expect_nothing(0.4, "unsolicited datagrams")
        target.sendto(b"solicited", outbound)
        check_eq(a.recv("reply of the contacted target"), target.getsockname() + (b"solicited",),
                 "reply of the contacted target")
        a.close()
        if replies_any:
            check_fields(access_of(hs, a.client), udp_fields(1, 3, 12, 35))
        else:
            check_fields(access_of(hs, a.client), udp_fields(1, 1, 12, 9, drop_uncontacted=2))


@suite.test("one stable outbound port per association and family: 2 IPv4 targets x 5 datagrams "
            "see one source; another association gets another port")
def t_stable_port(ctx):
    e1, e2, e6 = ctx.own(UdpEchoServer()), ctx.own(UdpEchoServer()), ctx.own(UdpEchoServer("::1"))
    hs = ctx.hopsocks()
    a = Assoc(hs)
    for i in range(5):
        for e in (e1, e2, e6):
            a.roundtrip(b"round %d" % i, e.addr)
    v4 = sorted(set(sources(e1) + sources(e2)))
    check_eq(len(v4), 1, "IPv4 sources the two targets saw (%s)" % v4)
    check_eq(len(sources(e6)), 1, "IPv6 sources (%s)" % sources(e6))
    b = Assoc(hs)
    b.roundtrip(b"second association", e1.addr)
    check_eq(len(sources(e1)), 2, "distinct sources a target saw after a second association "
             "(%s)" % sources(e1))
    a.close()
    b.close()


@suite.test("relaying stops when the control connection closes: access result=ok, then the relay "
            "port answers ICMP port unreachable and nothing reaches the target")
def t_control_close(ctx):
    echo = ctx.own(UdpEchoServer())
    hs = ctx.hopsocks()
    a = Assoc(hs)
    a.roundtrip(b"before close", echo.addr)
    a.ctl.close()
    rec = access_of(hs, a.client)
    check_fields(rec, udp_fields(1, 1, 12, 12))
    a.udp.connect(a.relay)
    refused = False
    deadline = time.monotonic() + BOUND
    while not refused and time.monotonic() < deadline:
        a.udp.send(udp_header("127.0.0.1", echo.port) + b"after close")
        a.udp.settimeout(0.2)
        try:
            data = a.udp.recv(100)
            raise TestFailure("a reply after the control connection closed: %s" % show(data))
        except ConnectionRefusedError:
            refused = True
        except socket.timeout:
            pass
    check(refused, "the relay port did not become unreachable within %.0fs" % BOUND)
    time.sleep(0.2)
    check_eq([p for _, p in echo.received], [b"before close"], "what the target got")
    a.udp.close()


@suite.test("timeout udp-idle 1s: an idle association is closed (result=idle-timeout, control EOF), "
            "a busy one survives")
def t_idle(ctx):
    echo = ctx.own(UdpEchoServer())
    hs = ctx.hopsocks(config=["timeout udp-idle 1s"])
    idle, busy = Assoc(hs), Assoc(hs)
    idle.roundtrip(b"once", echo.addr)
    last_activity = time.monotonic()
    closed_after = None
    for i in range(10):  # 2.5 s of traffic on the busy one
        busy.roundtrip(b"tick %d" % i, echo.addr)
        if closed_after is None and select.select([idle.ctl], [], [], 0.25)[0]:
            closed_after = time.monotonic() - last_activity
            expect_closed(idle.ctl, "idle association's control connection")
        elif closed_after is not None:
            time.sleep(0.25)
    if closed_after is None:
        expect_closed(idle.ctl, "idle association's control connection")
        closed_after = time.monotonic() - last_activity
    check(closed_after >= 0.9, "idle association closed %.2fs after its last datagram, before "
          "the 1 s deadline" % closed_after)
    rec = access_of(hs, idle.client)
    want = udp_fields(1, 1, 4, 4)
    want["result"] = "idle-timeout"
    check_fields(rec, want)
    busy.roundtrip(b"still open", echo.addr)
    check(not [r for r in hs.access() if r.get("client") == busy.client],
          "the busy association ended")
    idle.close()
    busy.close()


@suite.test("udp-advertise: its address (per family) with the relay's port in the reply; the relay "
            "itself stays on the control connection's address")
def t_advertise(ctx):
    echo = ctx.own(UdpEchoServer())
    for adv, fake in (("192.0.2.7", "127.0.0.1"), ("2001:db8::7", "::1")):
        hs = ctx.hopsocks(config=["udp-advertise " + adv], listen=("127.0.0.1", "::1"))
        a = Assoc(hs, via=fake, relay=(fake, None))
        other = Assoc(hs, via="::1" if fake == "127.0.0.1" else "127.0.0.1")
        check_eq(a.reply, b"\x05\x00\x00" + encode_addr5(adv) + struct.pack(">H", a.bnd_port),
                 "reply with udp-advertise %s" % adv)
        a.roundtrip(b"via the real relay address", echo.addr)
        want_other = other.ctl.getsockname()[0]
        check_eq(other.bnd_host, want_other, "the other family's reply address")
        other.roundtrip(b"other family", echo.addr)
        a.close()
        other.close()


def free_udp_range(count):
    """LOW such that LOW..LOW+count-1 are free UDP ports on 127.0.0.1,
    below the ephemeral range so other tests' sockets do not take them."""
    rng = random.Random()
    for _ in range(200):
        low = rng.randrange(20000, 32000)
        held = []
        try:
            for p in range(low, low + count):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                held.append(s)
                s.bind(("127.0.0.1", p))
            return low
        except OSError:
            continue
        finally:
            for s in held:
                s.close()
    raise Skip("no %d consecutive free UDP ports found" % count)


@suite.test("udp-ports LOW-HIGH (3 ports): three associations get three ports of the range; a "
            "fourth gets 05 01; after one ends its port serves again")
def t_udp_ports(ctx):
    echo = ctx.own(UdpEchoServer())
    low = free_udp_range(3)
    hs = ctx.hopsocks(config=["udp-ports %d-%d" % (low, low + 2)])
    held = [Assoc(hs) for _ in range(3)]
    check_eq(sorted(a.bnd_port for a in held), [low, low + 1, low + 2], "relay ports")
    for a in held:
        a.roundtrip(b"in range", echo.addr)
    with connect(hs.addr) as s:
        s.sendall(b"\x05\x01\x00" + socks5_request("0.0.0.0", 0, cmd=3))
        check_eq(recv_exact(s, 2, "method selection"), b"\x05\x00", "method selection")
        rep, _, _, raw = read_socks5_reply(s)
        check_eq(raw[:2], b"\x05\x01", "reply when the range is exhausted (%s)" % show(raw))
        expect_closed(s, "after 05 01")
    freed = held.pop(1)
    freed.close()
    access_of(hs, freed.client)
    again = Assoc(hs)
    check_eq(again.bnd_port, freed.bnd_port, "port of a new association")
    again.roundtrip(b"port reused", echo.addr)
    for a in held + [again]:
        a.close()


@suite.test("outgoing 127.0.0.2: UDP targets see 127.0.0.2, replies still come back")
def t_outgoing(ctx):
    echo = ctx.own(UdpEchoServer())
    hs = ctx.hopsocks(config=["outgoing 127.0.0.2"])
    a = Assoc(hs)
    a.roundtrip(b"from .2", echo.addr)
    check_eq([p[0] for p in sources(echo)], ["127.0.0.2"], "source address the target saw")
    a.close()


@suite.test("SIGTERM with associations open (idle, relaying, waiting for a name): exit 0, control "
            "connections closed, one access line each with result=shutdown")
def t_sigterm(ctx):
    echo = ctx.own(UdpEchoServer())
    dns = ctx.own(DnsServer({"late.udp.test": ["127.0.0.1"]}, delays={"late.udp.test": 5.0}))
    # drain 0: SIGTERM ends associations at once (test_reload covers the drain)
    hs = ctx.hopsocks(config=["resolver " + dns.resolver, "drain 0"])
    idle, busy, resolving = Assoc(hs), Assoc(hs), Assoc(hs, via="127.0.0.1")
    busy.roundtrip(b"relayed", echo.addr)
    resolving.send(b"waiting for a name", ("late.udp.test", echo.port))
    check(wait_until(lambda: dns.count("late.udp.test") >= 1), "hopsocks never asked for the name")
    hs.stop_expect_zero()
    for a, want in ((idle, udp_fields(0, 0, 0, 0)), (busy, udp_fields(1, 1, 7, 7)),
                    (resolving, udp_fields(0, 0, 0, 0))):
        want["result"] = "shutdown"
        check_fields(access_of(hs, a.client), want)
        expect_closed(a.ctl, "control connection after SIGTERM")
        a.close()
    check_eq([p for _, p in echo.received], [b"relayed"], "what the target got")


@suite.test("1,000 associations opened and closed (FIN or RST; with traffic to IPv4/IPv6 targets, "
            "some with a name still resolving) leave hopsocks' fd count at its baseline")
def t_fd_leak(ctx):
    echo4, echo6 = ctx.own(UdpEchoServer()), ctx.own(UdpEchoServer("::1"))
    dns = ctx.own(DnsServer({"slow.udp.test": ["127.0.0.1"]}, delays={"slow.udp.test": 1.5}))
    hs = ctx.hopsocks(config=["resolver " + dns.resolver, "dns-cache 0"])
    warm = Assoc(hs)
    warm.roundtrip(b"warm up 4", echo4.addr)
    warm.roundtrip(b"warm up 6", echo6.addr)
    warm.close()
    access_of(hs, warm.client)
    baseline = hs.stable_fd_count()
    request = b"\x05\x01\x00" + socks5_request("0.0.0.0", 0, cmd=3)
    total, batch = 1000, 50
    started = time.monotonic()
    for first in range(0, total, batch):
        ctls, udps = [], []
        for i in range(first, first + batch):
            c = connect(hs.addr)
            c.sendall(request)  # pipelined: greeting and request at once
            ctls.append(c)
        for i, c in enumerate(ctls, first):
            head = recv_exact(c, 12, "reply %d" % i)
            check_eq(head[:8], b"\x05\x00\x05\x00\x00\x01\x7f\x00", "method selection + reply "
                     "of association %d" % i)
            relay = (socket.inet_ntoa(head[6:10]), struct.unpack(">H", head[10:12])[0])
            if i % 4 == 0:
                u = udp_socket("127.0.0.1")
                udps.append(u)
                target = echo6.addr if i % 8 == 0 else echo4.addr
                u.sendto(udp_header(*target) + b"x", relay)
                check_eq(parse_udp_reply(u.recv(100)), target + (b"x",), "echo %d" % i)
            elif i % 50 == 1:
                u = udp_socket("127.0.0.1")
                udps.append(u)
                u.sendto(udp_header("slow.udp.test", echo4.port) + b"queued", relay)
        for i, c in enumerate(ctls):
            if i % 2:
                c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            c.close()
        for u in udps:
            u.close()
    elapsed = time.monotonic() - started
    ended = wait_until(lambda: sum(1 for r in hs.access() if r.get("cmd") == "udp") >= total + 1)
    check(ended, "access lines for %d associations, want %d"
          % (sum(1 for r in hs.access() if r.get("cmd") == "udp") - 1, total))
    wait_until(lambda: hs.fd_count() == baseline)
    now = hs.fd_count()
    fds = sorted(int(x) for x in os.listdir("/proc/%d/fd" % hs.pid))
    check(now == baseline, "%d descriptors after %d associations, baseline %d (fds %s)"
          % (now, total, baseline, fds))
    after = Assoc(hs)
    after.roundtrip(b"works afterwards", echo4.addr)
    after.close()
    print("# 1000 associations in %.1fs" % elapsed)


if __name__ == "__main__":
    suite.run()
