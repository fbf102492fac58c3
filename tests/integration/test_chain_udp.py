#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors.
"""UDP ASSOCIATE through an upstream chain whose last hop speaks SOCKS5:
hopsocks opens an association with that hop (through the other hops, if
any) and relays the client's datagrams through the hop's relay, headers
unchanged, so names travel to the upstream and are resolved there.

Upstreams: dante (danted, with another 127.x external address so a target
can tell where a datagram came from) and other hopsocks instances (their
access lines count the datagrams).  Clients: PySocks UDP sockets and a raw
client for exact headers and names.  Also: a last hop that is not SOCKS5
(REP 07), a dead first hop in a dynamic chain, hop credentials, the end of
the association when the upstream closes its control connection, and a
scripted hop for exact bytes: the request hopsocks sends it, its BND
0.0.0.0 reply, datagrams passed through unchanged both ways.
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

import socket  # noqa: E402
import struct  # noqa: E402
import threading  # noqa: E402

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (BOUND, Suite, TestFailure, chain_block, check, check_eq,  # noqa: E402
                     closed_port, connect, encode_addr5, eventually_eq, expect_closed, fmt_addr,
                     hop_url, log_lines, read_socks5_reply, recv_exact, socks5_auth, socks5_request,
                     write_users)
from harness import missing  # noqa: E402
from dnsserver import DnsServer  # noqa: E402
from servers import Danted, TcpServer, UdpEchoServer, pattern, sha256  # noqa: E402

suite = Suite()


# ------------------------------------------------------------------ helpers

def front(ctx, hops, mode=None, name="up", config=(), **options):
    return ctx.hopsocks(config=chain_block(name, hops, mode, **options)
                        + ["route * via %s" % name] + list(config))


def dante(ctx, external="127.0.0.5"):
    if not Danted.available():
        raise missing(Danted.PROGRAM, Danted.PACKAGE)
    return ctx.own(Danted(ctx, external=external).start())


def pysocks_udp(hs):
    if socks is None:
        raise missing("PySocks (import socks)", "python3-socks")
    s = socks.socksocket(socket.AF_INET, socket.SOCK_DGRAM)
    s.set_proxy(socks.SOCKS5, hs.addr[0], hs.port)
    s.settimeout(BOUND)
    s.bind(("127.0.0.1", 0))  # explicit: PySocks would otherwise bind the wildcard
    return s


def pysocks_echo(s, payloads, target):
    """Each payload to the echo target and back: recvfrom must name the
    target and return the same bytes (SHA-256)."""
    for payload in payloads:
        s.sendto(payload, target)
        try:
            got, src = s.recvfrom(65536)
        except socket.timeout:
            raise TestFailure("no echo of %d bytes from %s within %.0fs"
                              % (len(payload), fmt_addr(*target), BOUND))
        check_eq(tuple(src[:2]), tuple(target), "recvfrom source")
        check(sha256(got) == sha256(payload), "payload of %d bytes came back as %d bytes "
              "(sha256 %s, want %s)" % (len(payload), len(got), sha256(got)[:16],
                                         sha256(payload)[:16]))


class RawAssoc:
    """A raw SOCKS5 UDP association through hs: control connection, reply,
    and a client UDP socket on 127.0.0.1."""

    def __init__(self, hs, auth=None):
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.udp.settimeout(BOUND)
        self.ctl = connect(hs.addr)
        if auth:
            self.ctl.sendall(b"\x05\x01\x02")
            check_eq(recv_exact(self.ctl, 2, "method selection"), b"\x05\x02", "method")
            self.ctl.sendall(socks5_auth(*auth))
            check_eq(recv_exact(self.ctl, 2, "RFC 1929 reply"), b"\x01\x00", "RFC 1929 reply")
        else:
            self.ctl.sendall(b"\x05\x01\x00")
            check_eq(recv_exact(self.ctl, 2, "method selection"), b"\x05\x00", "method")
        self.ctl.sendall(socks5_request("0.0.0.0", 0, cmd=3))
        self.rep, host, port, self.reply = read_socks5_reply(self.ctl)
        self.relay = (host, port)

    def send(self, payload, target):
        header = b"\x00\x00\x00" + encode_addr5(target[0]) + struct.pack(">H", target[1])
        self.udp.sendto(header + payload, self.relay)

    def recv(self, what="datagram from the relay"):
        """(header bytes up to the payload, payload) of the next datagram."""
        try:
            data, src = self.udp.recvfrom(70000)
        except socket.timeout:
            raise TestFailure("%s: nothing within %.0fs" % (what, BOUND))
        check_eq(src[:2], self.relay, "%s: sender" % what)
        check(len(data) >= 10 and data[3] == 1, "%s: not an IPv4 SOCKS5 UDP header: %s"
              % (what, data[:16].hex(" ")))
        return data[:10], data[10:]

    def close(self):
        self.ctl.close()
        self.udp.close()


def udp_header4(host, port):
    return b"\x00\x00\x00\x01" + socket.inet_aton(host) + struct.pack(">H", port)


def udp_access(hs, what="cmd=udp access line"):
    return hs.wait_access(lambda r: r.get("cmd") == "udp", what=what)


# ------------------------------------------------------------------- tests

@suite.test("PySocks UDP through --chain socks5://<dante>: 3 datagrams (up to 30,000 bytes) "
            "echoed, recvfrom names the target, the target saw only dante's 127.0.0.5, dante "
            "logged one association; access cmd=udp route=cli addr=<dante> pkts 3/3")
def t_pysocks_dante(ctx):
    echo = ctx.own(UdpEchoServer())
    d = dante(ctx)
    hs = ctx.hopsocks(args=["--chain", hop_url("socks5", d.addr)])
    payloads = [b"through dante 1", b"through dante 2", pattern(30000, seed=31)]
    with pysocks_udp(hs) as s:
        pysocks_echo(s, payloads, echo.addr)
    check_eq([p for _, p in echo.received], payloads, "datagrams the target got")
    check_eq(sorted({peer[0] for peer, _ in echo.received}), ["127.0.0.5"],
             "source addresses the target saw")
    check_eq(d.udp_associations(), 1, "UDP associations dante logged")
    rec = udp_access(hs)
    n = sum(len(p) for p in payloads)
    check_eq({k: rec.get(k) for k in ("route", "addr", "result", "pkts_up", "pkts_down", "up",
                                      "down")},
             {"route": "cli", "addr": fmt_addr(*d.addr), "result": "ok", "pkts_up": "3",
              "pkts_down": "3", "up": str(n), "down": str(n)}, "access fields")


@suite.test("raw client through dante: the reply header dante wrote (ATYP 1, the target's "
            "address and port) reaches the client unchanged; 60,000 bytes intact")
def t_raw_dante(ctx):
    echo = ctx.own(UdpEchoServer())
    d = dante(ctx)
    hs = ctx.hopsocks(args=["--chain", hop_url("socks5", d.addr)])
    a = RawAssoc(hs)
    check_eq(a.rep, 0, "REP of UDP ASSOCIATE")
    check_eq(a.relay[0], "127.0.0.1", "BND.ADDR (hopsocks' own relay)")
    big = pattern(60000, seed=32)
    a.send(big, echo.addr)
    header, got = a.recv()
    check_eq(header, udp_header4(*echo.addr), "header of the reply")
    check(got == big, "60,000-byte payload: %d bytes back, sha256 %s want %s"
          % (len(got), sha256(got)[:16], sha256(big)[:16]))
    a.close()


@suite.test("PySocks UDP through a hopsocks upstream (chain block, route *): 3 datagrams "
            "echoed; the upstream's access line counts them (pkts 3/3); the target saw the "
            "upstream's outgoing 127.0.0.2")
def t_pysocks_hopsocks(ctx):
    echo = ctx.own(UdpEchoServer())
    up = ctx.hopsocks(config=["outgoing 127.0.0.2"])
    hs = front(ctx, [hop_url("socks5", up.addr)])
    payloads = [b"one", b"two" * 100, pattern(20000, seed=33)]
    with pysocks_udp(hs) as s:
        pysocks_echo(s, payloads, echo.addr)
    check_eq(sorted({peer[0] for peer, _ in echo.received}), ["127.0.0.2"],
             "source addresses the target saw")
    n = sum(len(p) for p in payloads)
    for who, rec in (("front", udp_access(hs)), ("upstream", udp_access(up))):
        check_eq({k: rec.get(k) for k in ("result", "pkts_up", "pkts_down", "up", "down")},
                 {"result": "ok", "pkts_up": "3", "pkts_down": "3", "up": str(n),
                  "down": str(n)}, "%s access fields" % who)
    check_eq(udp_access(hs).get("route"), "up", "front route=")
    check_eq(udp_access(hs).get("addr"), fmt_addr(*up.addr), "front addr=")


@suite.test("a name in the datagram header travels to the upstream: udp.test is resolved by "
            "the upstream's DNS only (the front's DNS gets 0 questions), the reply names the "
            "target's address")
def t_name_remote(ctx):
    echo = ctx.own(UdpEchoServer())
    dns_up = ctx.own(DnsServer({"udp.test": ["127.0.0.1"]}))
    dns_front = ctx.own(DnsServer({"udp.test": ["127.0.0.1"]}))
    up = ctx.hopsocks(config=["resolver " + dns_up.resolver])
    hs = front(ctx, [hop_url("socks5", up.addr)], config=["resolver " + dns_front.resolver])
    a = RawAssoc(hs)
    check_eq(a.rep, 0, "REP of UDP ASSOCIATE")
    for i in range(3):
        a.send(b"named %d" % i, ("udp.test", echo.port))
        header, got = a.recv("reply %d" % i)
        check_eq(header, udp_header4(*echo.addr), "header of reply %d" % i)
        check_eq(got, b"named %d" % i, "payload of reply %d" % i)
    a.close()
    check_eq(dns_front.count("udp.test"), 0, "questions for udp.test at the front's DNS")
    check(dns_up.count("udp.test") >= 1, "the upstream's DNS was never asked for udp.test")


@suite.test("2 hops dante (TCP only) -> hopsocks: the association is made with the last hop "
            "through dante; datagrams go to its relay and come back")
def t_two_hops(ctx):
    # dante's external address must be hopsocks' own (127.0.0.1): the last
    # hop sees the control connection come from dante and, like any RFC
    # 1928 server, accepts datagrams from that IP only, while they come
    # straight from hopsocks.  A chain across hosts has the same limit.
    echo = ctx.own(UdpEchoServer())
    d = dante(ctx, external="127.0.0.1")
    up = ctx.hopsocks(config=["outgoing 127.0.0.2"])
    hs = front(ctx, [hop_url("socks5", d.addr), hop_url("socks5", up.addr)])
    with pysocks_udp(hs) as s:
        pysocks_echo(s, [b"two hops", pattern(10000, seed=34)], echo.addr)
    eventually_eq(lambda: d.connects(), [up.addr], "TCP connects dante made (to the last hop)")
    check_eq(sorted({peer[0] for peer, _ in echo.received}), ["127.0.0.2"],
             "source addresses the target saw")
    check_eq(udp_access(up).get("pkts_up"), "2", "datagrams the last hop relayed")
    check_eq(udp_access(hs).get("addr"), fmt_addr(*d.addr), "front addr= (first hop)")


@suite.test("hop credentials: UDP through socks5://alice:...@<hopsocks with a user file>; the "
            "upstream's access line says user=alice cmd=udp")
def t_hop_auth(ctx):
    echo = ctx.own(UdpEchoServer())
    up = ctx.hopsocks(config=["users " + write_users(ctx, {"alice": "s3cret-a"})])
    hs = front(ctx, [hop_url("socks5", up.addr, "alice:s3cret-a")])
    with pysocks_udp(hs) as s:
        pysocks_echo(s, [b"with credentials"], echo.addr)
    rec = udp_access(up)
    check_eq((rec.get("user"), rec.get("pkts_up"), rec.get("pkts_down")), ("alice", "1", "1"),
             "upstream user=, pkts_up=, pkts_down=")


@suite.test("dynamic [closed port, hopsocks]: the dead hop is marked down and the association "
            "made through the other")
def t_dynamic(ctx):
    echo = ctx.own(UdpEchoServer())
    up = ctx.hopsocks()
    dead = closed_port()
    hs = front(ctx, ["socks5://127.0.0.1:%d" % dead, hop_url("socks5", up.addr)], "dynamic",
               name="dyn")
    with pysocks_udp(hs) as s:
        pysocks_echo(s, [b"dynamic udp"], echo.addr)
    check(log_lines(hs, "chain dyn: hop socks5://127.0.0.1:%d marked down" % dead),
          "no 'marked down' line for the dead hop")
    check_eq(udp_access(hs).get("addr"), fmt_addr(*up.addr), "front addr=")


@suite.test("a last hop that is not SOCKS5 (http, socks4): UDP ASSOCIATE gets 05 07 and the "
            "log says 'UDP needs a SOCKS5 last hop'")
def t_not_socks5(ctx):
    up = ctx.hopsocks()
    for scheme in ("http", "socks4"):
        hs = front(ctx, [hop_url(scheme, up.addr)], name=scheme)
        a = RawAssoc(hs)
        check_eq(a.reply[:2], b"\x05\x07", "VER REP via a %s last hop" % scheme)
        expect_closed(a.ctl, "control connection after 05 07")
        a.close()
        want = ("UDP through chain %s failed: UDP needs a SOCKS5 last hop, %s is not one"
                % (scheme, hop_url(scheme, up.addr)))
        check(log_lines(hs, want), "no line %r" % want)


@suite.test("the upstream ends its association (dante stopped): hopsocks closes the client's "
            "control connection, result=upstream-closed")
def t_upstream_closes(ctx):
    echo = ctx.own(UdpEchoServer())
    d = dante(ctx)
    hs = front(ctx, [hop_url("socks5", d.addr)])
    a = RawAssoc(hs)
    a.send(b"before", echo.addr)
    check_eq(a.recv()[1], b"before", "echo before the upstream stops")
    d.stop()
    expect_closed(a.ctl, "control connection once the upstream is gone")
    rec = udp_access(hs)
    check_eq(rec.get("result"), "upstream-closed", "front result=")
    a.close()


class UdpHop(TcpServer):
    """A scripted SOCKS5 hop for UDP: answers UDP ASSOCIATE with BND
    0.0.0.0:P ("the address you reached me at") and its relay on P sends
    every datagram back to its sender unchanged, header and all.  Keeps
    the request (.requests) and the datagrams (.datagrams)."""

    def __init__(self):
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.udp.settimeout(0.1)
        self.requests, self.datagrams = [], []
        self._done = False
        self._relay = threading.Thread(target=self._loop, daemon=True)
        self._relay.start()
        super().__init__()

    def _loop(self):
        while not self._done:
            try:
                data, peer = self.udp.recvfrom(70000)
            except socket.timeout:
                continue
            except OSError:
                return
            self.datagrams.append((peer, data))
            self.udp.sendto(data, peer)

    def handle(self, conn):
        recv_exact(conn, 3, "greeting")
        conn.sendall(b"\x05\x00")
        self.requests.append(recv_exact(conn, 10, "UDP ASSOCIATE request"))
        port = self.udp.getsockname()[1]
        conn.sendall(b"\x05\x00\x00\x01\x00\x00\x00\x00" + struct.pack(">H", port))
        while conn.recv(4096):
            pass

    def stop(self):
        self._done = True
        super().stop()
        self._relay.join(BOUND)
        self.udp.close()


@suite.test("scripted SOCKS5 hop: hopsocks asks it for UDP ASSOCIATE with exactly 05 03 00 01 "
            "0.0.0.0:0; its reply BND 0.0.0.0:P means the address hopsocks dialed; datagrams "
            "(one with a name header) reach its relay byte for byte and come back unchanged")
def t_scripted_relay(ctx):
    hop = ctx.own(UdpHop())
    hs = front(ctx, [hop_url("socks5", hop.addr)])
    a = RawAssoc(hs)
    check_eq(a.rep, 0, "REP of UDP ASSOCIATE")
    sent = [b"\x00\x00\x00\x03\x08name.tst\x00\x50" + b"to a name",
            udp_header4("192.0.2.7", 9) + pattern(5000, seed=35)]
    for i, datagram in enumerate(sent):
        a.udp.sendto(datagram, a.relay)
        try:
            data, src = a.udp.recvfrom(70000)
        except socket.timeout:
            raise TestFailure("datagram %d: nothing back within %.0fs" % (i, BOUND))
        check_eq(src[:2], a.relay, "datagram %d: sender" % i)
        check_eq(data, datagram, "datagram %d as the client got it back" % i)
    a.close()
    check_eq(hop.requests, [b"\x05\x03\x00\x01\x00\x00\x00\x00\x00\x00"],
             "the request the hop got")
    check_eq([d for _, d in hop.datagrams], sent, "datagrams the hop's relay got")

if __name__ == "__main__":
    suite.run()
