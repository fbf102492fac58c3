#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors.
"""proxy-protocol: hopsocks behind a load balancer that names the client
in a PROXY protocol header (v1 text, v2 binary).

With raw sockets sending handcrafted headers from loopback addresses of
their own: the header's source is the client for the access rules, the
per-client limit, the auth throttle, UDP source filtering and the access
line; bytes pipelined behind the header
are served; LOCAL/UNKNOWN keep the balancer's address; a connection from
an address not listed, one without a header, a malformed header and a
header of the other version are closed without a byte, logged and counted
(hopsocks_proxy_refused_total); a listed balancer may name any client
(the list is the trust boundary). A hop with proxy-protocol v2 (or v1)
sends the header to another hopsocks, which then names the first one's
client.

With the real HAProxy (Debian haproxy) in TCP mode, round-robin, health
checks with check-send-proxy, in front of two hopsocks, for send-proxy-v2
and send-proxy: both instances serve, a rule keyed on the true client
admits 127.0.0.2 and refuses 127.0.0.3 (SOCKS5 05 FF), access lines name
the clients' own address and port, the health checks keep both servers
UP and are never refused, and SIGTERM on one instance drains the session
HAProxy had routed to it (SHA-256 of the transfer) while new connections
go to the other. The sample contrib/haproxy/hopsocks.cfg passes
`haproxy -c` and its hopsocks side `hopsocks -t`.
"""

import hashlib
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (BOUND, HOPSOCKS_BIN, Suite, socks5_auth, write_users, chain_block, check, check_eq, connect,  # noqa: E402
                     echo_roundtrip, expect_closed, free_port, hop_url, log_lines, missing,
                     read_socks5_reply, recv_exact, show, socks5_request, wait_until)
from harness import encode_addr5  # noqa: E402
from servers import EchoServer, Haproxy, SinkServer, UdpEchoServer  # noqa: E402

suite = Suite()

V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"
GREETING = b"\x05\x01\x00"


def pp_v2(src, sport, dst="127.0.0.1", dport=1080, tlvs=b""):
    """A v2 PROXY header for TCP over IPv4 (with optional raw TLV bytes)."""
    block = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack(">HH", sport, dport)
    block += tlvs
    return V2_SIG + b"\x21\x11" + struct.pack(">H", len(block)) + block


def pp_v2_local():
    return V2_SIG + b"\x20\x00\x00\x00"


def pp_v1(src, sport, dst="127.0.0.1", dport=1080):
    return ("PROXY TCP4 %s %s %d %d\r\n" % (src, dst, sport, dport)).encode()


def balanced(ctx, version="v2", config=(), trusted="127.0.0.1"):
    """A hopsocks that wants version's header from trusted."""
    return ctx.hopsocks(config=["proxy-protocol %s from %s" % (version, trusted)] + list(config))


def socks5_through(sock, target):
    """Greeting and CONNECT on an open socket (the header already sent)."""
    sock.sendall(GREETING)
    check_eq(recv_exact(sock, 2, "method selection"), b"\x05\x00", "method selection")
    sock.sendall(socks5_request(*target))
    rep, _h, _p, raw = read_socks5_reply(sock)
    check_eq(rep, 0, "CONNECT reply %s" % show(raw))


def refused_lines(hs):
    return log_lines(hs, "refused by proxy-protocol")


# ------------------------------------------------- handcrafted headers


@suite.test("v2 header, greeting and CONNECT in one segment: the header's source is the "
            "client (access line, rule), pipelined bytes are served")
def t_v2_pipelined(ctx):
    echo = ctx.own(EchoServer())
    hs = balanced(ctx, config=["allow from 127.0.0.7", "deny *"])
    sock = connect(hs.addr)
    # Everything at once: header, greeting, request, first payload bytes.
    sock.sendall(pp_v2("127.0.0.7", 40007, dport=hs.port) + GREETING +
                 socks5_request(*echo.addr) + b"early")
    check_eq(recv_exact(sock, 2, "method selection"), b"\x05\x00", "method selection")
    rep, _h, _p, raw = read_socks5_reply(sock)
    check_eq(rep, 0, "CONNECT reply %s" % show(raw))
    check_eq(recv_exact(sock, 5, "pipelined bytes echoed"), b"early", "pipelined bytes")
    echo_roundtrip(sock, b"x" * 1000)
    sock.close()
    rec = hs.wait_access(lambda r: r.get("cmd") == "connect")
    check_eq(rec.get("client"), "127.0.0.7:40007", "access line client")
    check_eq(rec.get("result"), "ok", "access line result")


@suite.test("v2 header with TLVs, sent one byte at a time: accepted; the rule refuses the "
            "client it names (05 FF), not the balancer")
def t_v2_bytewise_tlvs_rule(ctx):
    echo = ctx.own(EchoServer())
    hs = balanced(ctx, config=["allow from 127.0.0.2", "deny *"])
    tlvs = b"\x01\x00\x02h2" + b"\x04\x00\x00" + b"\x02\x00\x0bexample.com"
    for client, admitted in (("127.0.0.2", True), ("127.0.0.3", False)):
        sock = connect(hs.addr)
        for b in pp_v2(client, 5555, dport=hs.port, tlvs=tlvs):
            sock.sendall(bytes([b]))
            time.sleep(0.001)
        if admitted:
            socks5_through(sock, echo.addr)
            echo_roundtrip(sock, b"hello")
            sock.close()
        else:
            sock.sendall(GREETING)
            check_eq(recv_exact(sock, 2, "refusal"), b"\x05\xff", "refusal of 127.0.0.3")
            expect_closed(sock, "refused client")
    recs = [hs.wait_access(lambda r, c=c: r.get("client") == c + ":5555", what=c)
            for c in ("127.0.0.2", "127.0.0.3")]
    check_eq(recs[0].get("result"), "ok", "127.0.0.2 result")
    check_eq(recs[1].get("result"), "denied", "127.0.0.3 result")


@suite.test("v1 header: the client it names; v1 UNKNOWN and v2 LOCAL keep the balancer's "
            "address; 'any' takes both versions")
def t_v1_and_local(ctx):
    echo = ctx.own(EchoServer())
    hs = balanced(ctx, version="any")
    cases = [(pp_v1("127.0.0.5", 1234, dport=hs.port), "127.0.0.5:1234"),
             (pp_v2("127.0.0.6", 4321, dport=hs.port), "127.0.0.6:4321"),
             (b"PROXY UNKNOWN\r\n", None), (pp_v2_local(), None)]
    for header, want in cases:
        sock = connect(hs.addr)
        sock.sendall(header)
        socks5_through(sock, echo.addr)
        echo_roundtrip(sock, b"ping")
        local_port = sock.getsockname()[1]
        sock.close()
        want = want or "127.0.0.1:%d" % local_port
        rec = hs.wait_access(lambda r, w=want: r.get("client") == w, what=want)
        check_eq(rec.get("result"), "ok", "result for %s" % want)
    check_eq(refused_lines(hs), [], "refusals")


@suite.test("refused without a reply byte, logged (escaped) and counted: no header, a "
            "malformed one, the other version, and a connection from an address not listed "
            "(even with a valid header)")
def t_refusals(ctx):
    admin = free_port()
    hs = balanced(ctx, version="v2", config=["admin 127.0.0.1:%d" % admin])
    cases = [
        ("127.0.0.1", GREETING, "no valid PROXY protocol header (wrong protocol version) "
         "(first bytes \"\\x05\\x01\\x00\")"),
        ("127.0.0.1", b"CONNECT example.com:443 HTTP/1.1\r\n\r\n",
         "no valid PROXY protocol header (wrong protocol version) (first bytes "
         "\"CONNECT\\x20example.com:443\\x20...\")"),
        ("127.0.0.1", V2_SIG + b"\x21\x11\x00\x05" + b"\x7f\x00\x00\x02\x7f",
         "no valid PROXY protocol header (malformed message)"),
        ("127.0.0.1", pp_v1("127.0.0.7", 1, dport=hs.port),
         "a PROXY protocol v1 header, and only v2 is accepted"),
        ("127.0.0.9", pp_v2("127.0.0.7", 1, dport=hs.port),
         "not a listed load balancer (proxy-protocol ... from)"),
        ("127.0.0.9", GREETING, "not a listed load balancer (proxy-protocol ... from)"),
    ]
    for i, (source, data, why) in enumerate(cases):
        sock = connect(hs.addr, source=source)
        try:
            sock.sendall(data)
        except OSError:
            pass  # the unlisted peer may be closed before it writes
        expect_closed(sock, "case %d" % i)
        sock.close()
        check(wait_until(lambda: len(refused_lines(hs)) > i),
              "case %d: no log line; log tail:\n%s" % (i, "\n".join(hs.stderr_tail())))
        line = refused_lines(hs)[i]
        check("refused by proxy-protocol: " + why in line,
              "case %d: log line %r, want it to say %r" % (i, line, why))
        check(" client %s:" % source in line, "case %d: client in %r" % (i, line))
    recs = [r for r in hs.access() if r.get("result") == "proxy-refused"]
    check_eq(len(recs), len(cases), "proxy-refused access lines")
    status, body = http_get(admin, "/metrics")
    check_eq(status, 200, "/metrics status")
    check("\nhopsocks_proxy_refused_total %d\n" % len(cases) in body,
          "hopsocks_proxy_refused_total in /metrics:\n%s" % body)


@suite.test("a listed balancer may name any client, even a forged one (the list is the "
            "trust boundary); the header has the handshake deadline")
def t_forged_and_deadline(ctx):
    echo = ctx.own(EchoServer())
    hs = balanced(ctx, config=["timeout handshake 1s", "allow from 203.0.113.0/24",
                               "deny *"])
    sock = connect(hs.addr)
    sock.sendall(pp_v2("203.0.113.9", 666, dst="198.51.100.1", dport=1080))
    socks5_through(sock, echo.addr)
    echo_roundtrip(sock, b"forged")
    sock.close()
    hs.wait_access(lambda r: r.get("client") == "203.0.113.9:666" and r.get("result") == "ok",
                   what="forged client's access line")
    # Half a header, then nothing: closed at the handshake deadline.
    sock = connect(hs.addr)
    sock.sendall(V2_SIG[:7])
    expect_closed(sock, "half a header")
    check(wait_until(lambda: log_lines(hs, "handshake timed out (proxy-header)")),
          "no timeout line:\n%s" % "\n".join(hs.stderr_tail()))


@suite.test("max-connections-per-client counts the client the header names, not the "
            "balancer")
def t_per_client_limit(ctx):
    echo = ctx.own(EchoServer())
    hs = balanced(ctx, config=["max-connections-per-client 1"])
    first = connect(hs.addr)
    first.sendall(pp_v2("127.0.0.7", 1000, dport=hs.port))
    socks5_through(first, echo.addr)
    # The same true client again: refused; another one: served, though
    # both come from the one balancer address.
    second = connect(hs.addr)
    second.sendall(pp_v2("127.0.0.7", 1001, dport=hs.port) + GREETING)
    expect_closed(second, "second session of 127.0.0.7")
    third = connect(hs.addr)
    third.sendall(pp_v2("127.0.0.8", 1002, dport=hs.port))
    socks5_through(third, echo.addr)
    echo_roundtrip(third, b"third")
    echo_roundtrip(first, b"first")
    for s in (first, second, third):
        s.close()
    rec = hs.wait_access(lambda r: r.get("client") == "127.0.0.7:1001", what="refused session")
    check_eq(rec.get("result"), "busy", "refused session's result")
    check(log_lines(hs, "max-connections-per-client (1) reached"), "no limit log line")


@suite.test("UDP ASSOCIATE behind a TCP balancer: datagrams are taken from the client the "
            "header names (they come straight from it), not from the balancer")
def t_udp_source(ctx):
    echo = ctx.own(UdpEchoServer())
    hs = balanced(ctx)
    ctl = connect(hs.addr)
    ctl.sendall(pp_v2("127.0.0.7", 40000, dport=hs.port) + GREETING)
    check_eq(recv_exact(ctl, 2, "method selection"), b"\x05\x00", "method selection")
    ctl.sendall(socks5_request("0.0.0.0", 0, cmd=3))
    rep, bhost, bport, raw = read_socks5_reply(ctl)
    check_eq(rep, 0, "UDP ASSOCIATE reply %s" % show(raw))
    header = b"\x00\x00\x00" + encode_addr5(echo.addr[0]) + struct.pack(">H", echo.addr[1])
    balancer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        balancer.bind(("127.0.0.1", 0))
        client.bind(("127.0.0.7", 0))
        client.settimeout(BOUND)
        balancer.sendto(header + b"from the balancer", (bhost, bport))
        client.sendto(header + b"from the client", (bhost, bport))
        data = client.recv(65536)
        check_eq(data[10:], b"from the client", "echoed datagram")
    finally:
        balancer.close()
        client.close()
    ctl.close()
    rec = hs.wait_access(lambda r: r.get("cmd") == "udp", what="UDP access line")
    got = {k: rec.get(k) for k in ("client", "pkts_up", "pkts_down", "drop_foreign")}
    check_eq(got, {"client": "127.0.0.7:40000", "pkts_up": "1", "pkts_down": "1",
                   "drop_foreign": "1"}, "UDP access fields")
    check_eq([p for _, p in echo.received], [b"from the client"], "what the target got")


@suite.test("a hop with proxy-protocol v2 (and v1): hopsocks A sends the header to hopsocks B, "
            "whose access line names A's client (127.0.0.7 with its own port) and applies "
            "its rules to it")
def t_hop_sends_header(ctx):
    echo = ctx.own(EchoServer())
    for version in ("v2", "v1"):
        b = balanced(ctx, version=version, config=["allow from 127.0.0.7", "deny *"])
        a = ctx.hopsocks(config=chain_block("lb", [hop_url("socks5", b.addr) + " proxy-protocol "
                                                   + version]) + ["route * via lb"])
        sock = connect(a.addr, source="127.0.0.7")
        socks5_through(sock, echo.addr)
        echo_roundtrip(sock, b"through A and B " + version.encode())
        port = sock.getsockname()[1]
        sock.close()
        want = "127.0.0.7:%d" % port
        rec = b.wait_access(lambda r, w=want: r.get("client") == w, what="B's line for " + want)
        check_eq((rec.get("cmd"), rec.get("result"), rec.get("target")),
                 ("connect", "ok", "%s:%d" % echo.addr), "B's access line " + version)
        rec = a.wait_access(lambda r, w=want: r.get("client") == w, what="A's line for " + want)
        check_eq((rec.get("route"), rec.get("result")), ("lb", "ok"), "A's access line")
        check_eq(refused_lines(b), [], "B's refusals")
    # A client B's rule refuses, through A.
    b = balanced(ctx, config=["allow from 127.0.0.7", "deny *"])
    a = ctx.hopsocks(config=chain_block("lb", [hop_url("socks5", b.addr) + " proxy-protocol v2"])
                     + ["route * via lb"])
    sock = connect(a.addr, source="127.0.0.8")
    sock.sendall(GREETING)
    check_eq(recv_exact(sock, 2, "method selection"), b"\x05\x00", "A's method selection")
    sock.sendall(socks5_request(*echo.addr))
    rep, _h, _p, raw = read_socks5_reply(sock)
    # B refuses the method (05 FF); A reports a hop protocol failure.
    check_eq(rep, 1, "127.0.0.8 through A to B: reply %s" % show(raw))
    sock.close()
    rec = b.wait_access(lambda r: r.get("client", "").startswith("127.0.0.8:"),
                        what="B's line for 127.0.0.8")
    check_eq(rec.get("result"), "denied", "B's result for 127.0.0.8")


@suite.test("auth-throttle counts the client the header names: three wrong passwords from "
            "127.0.0.7 block it, 127.0.0.8 through the same balancer still logs in")
def t_throttle_true_client(ctx):
    users = write_users(ctx, {"alice": "right-password"})
    hs = balanced(ctx, config=["users " + users, "auth-throttle 3 60s 60s"])

    def login(client, password):
        sock = connect(hs.addr)
        sock.sendall(pp_v2(client, 7000, dport=hs.port) + b"\x05\x01\x02")
        check_eq(recv_exact(sock, 2, "method selection"), b"\x05\x02", "method selection")
        sock.sendall(socks5_auth("alice", password))
        reply = recv_exact(sock, 2, "RFC 1929 reply")
        sock.close()
        return reply

    for i in range(3):
        check_eq(login("127.0.0.7", "wrong-%d" % i), b"\x01\x01", "wrong password %d" % i)
    check(wait_until(lambda: log_lines(hs, "too many failed authentications")),
          "no block line: %s" % hs.stderr_tail(8))
    blocked = log_lines(hs, "too many failed authentications")
    check(all("client 127.0.0.7:" in line for line in blocked), "block lines: %s" % blocked)
    check_eq(login("127.0.0.7", "right-password"), b"\x01\x01", "127.0.0.7 while blocked")
    check_eq(login("127.0.0.8", "right-password"), b"\x01\x00", "127.0.0.8")


@suite.test("UDP ASSOCIATE through a hop with proxy-protocol v2: the hop gets a LOCAL header "
            "(the association is A's own: A's datagrams pass B's source filter)")
def t_hop_udp_local(ctx):
    echo = ctx.own(UdpEchoServer())
    b = balanced(ctx, config=["log debug"])
    a = ctx.hopsocks(config=chain_block("lb", [hop_url("socks5", b.addr) + " proxy-protocol v2"])
                     + ["route * via lb"])
    ctl = connect(a.addr, source="127.0.0.7")
    ctl.sendall(GREETING)
    check_eq(recv_exact(ctl, 2, "method selection"), b"\x05\x00", "method selection")
    ctl.sendall(socks5_request("0.0.0.0", 0, cmd=3))
    rep, bhost, bport, raw = read_socks5_reply(ctl)
    check_eq(rep, 0, "UDP ASSOCIATE reply %s" % show(raw))
    header = b"\x00\x00\x00" + encode_addr5(echo.addr[0]) + struct.pack(">H", echo.addr[1])
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        client.bind(("127.0.0.7", 0))
        client.settimeout(BOUND)
        client.sendto(header + b"via A and B", (bhost, bport))
        data = client.recv(65536)
        check_eq(data[10:], b"via A and B", "echoed datagram")
    finally:
        client.close()
    ctl.close()
    rec = b.wait_access(lambda r: r.get("cmd") == "udp", what="B's UDP access line")
    check(rec.get("client", "").startswith("127.0.0.1:"), "B's UDP client: %s" % rec["_line"])
    check_eq((rec.get("pkts_up"), rec.get("drop_foreign")), ("1", "0"), "B's UDP counts")
    check(log_lines(b, "PROXY v2 LOCAL header"), "B saw no LOCAL header")


# ------------------------------------------------------- the real HAProxy


def behind_haproxy(ctx, send_proxy):
    """Two hopsocks (proxy-protocol from 127.0.0.1, a rule admitting only
    127.0.0.2, debug logs to see where a session went) behind one HAProxy
    with send_proxy, both servers UP."""
    if not Haproxy.available():
        raise missing(Haproxy.PROGRAM, Haproxy.PACKAGE)
    config = ["allow from 127.0.0.2", "deny *", "drain 30s", "log debug"]
    pair = [balanced(ctx, version=send_proxy, config=config) for _ in range(2)]
    hap = ctx.own(Haproxy(ctx, [h.addr for h in pair], send_proxy=send_proxy))
    hap.start()
    # Its frontend may accept before its admin socket exists (seen under
    # load): servers() would fail on the missing file.
    check(wait_until(lambda: os.path.exists(hap.sock)), "HAProxy made no admin socket")
    hap.wait_status({"s0": "UP", "s1": "UP"}, "after start")
    return pair, hap


def routed_to(pair, port):
    """Which instance read the header of the client at 127.0.0.2:port."""
    needle = "client 127.0.0.2:%d session " % port

    def find():
        return [i for i, h in enumerate(pair)
                if [ln for ln in log_lines(h, needle) if "PROXY v" in ln]]
    check(wait_until(find), "no instance read a header for 127.0.0.2:%d" % port)
    return find()[0]


def balancer_rounds(ctx, send_proxy):
    echo = ctx.own(EchoServer())
    sink = ctx.own(SinkServer())
    pair, hap = behind_haproxy(ctx, send_proxy)

    # Round robin: six clients from 127.0.0.2, each its own port; both
    # instances serve, and their access lines name exactly those clients.
    ports = []
    for i in range(6):
        sock = connect(hap.addr, source="127.0.0.2")
        socks5_through(sock, echo.addr)
        echo_roundtrip(sock, b"round %d" % i)
        ports.append(sock.getsockname()[1])
        sock.close()
    want = sorted("127.0.0.2:%d" % p for p in ports)

    def seen():
        return sorted(r["client"] for h in pair for r in h.access()
                      if r.get("cmd") == "connect")
    check(wait_until(lambda: seen() == want), "access lines name %s, want %s" % (seen(), want))
    for i, h in enumerate(pair):
        recs = [r for r in h.access() if r.get("cmd") == "connect"]
        check(len(recs) >= 2, "instance %d served %d of 6 sessions" % (i, len(recs)))
        check(all(r.get("result") == "ok" for r in recs), "instance %d results" % i)

    # The rule sees the true client: 127.0.0.3 is refused with 05 FF.
    sock = connect(hap.addr, source="127.0.0.3")
    sock.sendall(GREETING)
    check_eq(recv_exact(sock, 2, "refusal of 127.0.0.3"), b"\x05\xff", "refusal of 127.0.0.3")
    expect_closed(sock, "refused 127.0.0.3")
    port3 = sock.getsockname()[1]
    sock.close()
    check(wait_until(lambda: [r for h in pair for r in h.access()
                              if r.get("client") == "127.0.0.3:%d" % port3
                              and r.get("result") == "denied"]),
          "no denied access line for 127.0.0.3:%d" % port3)

    # The health checks (check-send-proxy: v2 LOCAL, or a v1 header naming
    # the check's own connection) are never refused; each is an access
    # line from the balancer's address, no protocol, reset or closed.
    for i, h in enumerate(pair):
        check_eq(refused_lines(h), [], "instance %d refusals" % i)
        checks = [r for r in h.access() if r.get("client", "").startswith("127.0.0.1:")]
        check(checks, "instance %d: no health-check lines" % i)
        bad = [r["_line"] for r in checks
               if r.get("proto") != "-" or r.get("result") not in ("reset", "closed")]
        check_eq(bad, [], "instance %d: health-check lines" % i)
    hap.wait_status({"s0": "UP", "s1": "UP"}, "after the sessions")

    # Drain: a transfer to the sink through the instance HAProxy picked;
    # SIGTERM it halfway; the rest still arrives, every byte.
    sock = connect(hap.addr, source="127.0.0.2")
    socks5_through(sock, sink.addr)
    k = routed_to(pair, sock.getsockname()[1])
    victim, other = pair[k], pair[1 - k]
    half = os.urandom(1 << 20)
    sock.sendall(half)
    os.kill(victim.pid, signal.SIGTERM)
    check(wait_until(lambda: log_lines(victim, "shutting down")), "no shutdown line")
    rest = os.urandom(1 << 20)
    sock.sendall(rest)
    sock.shutdown(socket.SHUT_WR)
    reply = b""
    while not reply.endswith(b"\n"):
        chunk = sock.recv(4096)
        if not chunk:
            break
        reply += chunk
    sock.close()
    digest = hashlib.sha256(half + rest).hexdigest()
    check_eq(reply.decode(), "%s %d\n" % (digest, 2 << 20), "the sink's SHA-256 and count")
    print("# drain: instance %d got SIGTERM halfway; the sink got %s" % (k, reply.decode().strip()))
    print("# drain: the client sent sha256 %s, %d bytes" % (digest, 2 << 20))
    check(wait_until(lambda: not victim.alive()), "the drained instance did not exit")
    check_eq(victim.stop(), 0, "the drained instance's exit status")
    hap.wait_status({"s%d" % k: "DOWN", "s%d" % (1 - k): "UP"}, "after the drain")

    # New connections all go to the other instance.
    before = len([r for r in other.access() if r.get("cmd") == "connect"])
    ports = []
    for i in range(4):
        sock = connect(hap.addr, source="127.0.0.2")
        socks5_through(sock, echo.addr)
        echo_roundtrip(sock, b"after %d" % i)
        ports.append(sock.getsockname()[1])
        sock.close()
    for p in ports:
        other.wait_access(lambda r, p=p: r.get("client") == "127.0.0.2:%d" % p,
                          what="the other instance's line for port %d" % p)
    check_eq(len([r for r in other.access() if r.get("cmd") == "connect"]), before + 4,
             "sessions on the remaining instance")
    # What the closing note shows.
    for h in pair:
        for r in h.access():
            if r.get("cmd") == "connect":
                print("# %s" % r["_line"])


@suite.test("HAProxy send-proxy-v2 in front of two hopsocks: round robin, the true client in "
            "rules and access lines, health checks UP and never refused, a drain loses no byte "
            "and new connections go to the other instance")
def t_haproxy_v2(ctx):
    balancer_rounds(ctx, "v2")


@suite.test("the same with HAProxy send-proxy (v1)")
def t_haproxy_v1(ctx):
    balancer_rounds(ctx, "v1")


CONTRIB = os.path.join(os.environ.get("HOPSOCKS_SRCDIR", "."), "contrib", "haproxy")


class SampleHaproxy(Haproxy):
    """HAProxy run from a given config text (the contrib sample)."""

    def __init__(self, ctx, text):
        super().__init__(ctx, [])
        self.text = text

    def write_config(self):
        self.conf = self.base + ".cfg"
        with open(self.conf, "w") as f:
            f.write(self.text.replace("@PORT@", str(self.port)))


@suite.test("contrib/haproxy: hopsocks.cfg passes haproxy -c and hopsocks.conf hopsocks -t as "
            "shipped; with loopback addresses they serve: clients named by their own address")
def t_contrib_sample(ctx):
    if not Haproxy.available():
        raise missing(Haproxy.PROGRAM, Haproxy.PACKAGE)
    with open(os.path.join(CONTRIB, "hopsocks.cfg")) as f:
        cfg = f.read()
    with open(os.path.join(CONTRIB, "hopsocks.conf")) as f:
        conf = f.read()
    run = subprocess.run(["/usr/sbin/haproxy", "-c", "-f", os.path.join(CONTRIB, "hopsocks.cfg")],
                         capture_output=True, timeout=BOUND)
    check_eq(run.returncode, 0, "haproxy -c of the sample: %s" % run.stdout.decode())
    run = subprocess.run([HOPSOCKS_BIN, "-t", "-c", os.path.join(CONTRIB, "hopsocks.conf")],
                         capture_output=True, timeout=BOUND)
    check_eq(run.returncode, 0, "hopsocks -t of the sample: %s" % run.stderr.decode())

    # The hopsocks side: the sample's lines but listen (the harness
    # writes it), the balancers and the client network on loopback.
    lines = [ln for ln in conf.splitlines() if not ln.startswith("listen ")]
    text = "\n".join(lines)
    text = re.sub(r"(?m)^proxy-protocol v2 from .*$", "proxy-protocol v2 from 127.0.0.1", text)
    text = re.sub(r"(?m)^allow from 192\.0\.2\.0/24$", "allow from 127.0.0.2", text)
    check("proxy-protocol v2 from 127.0.0.1" in text and "allow from 127.0.0.2" in text,
          "the sample's directives moved: %s" % text)
    pair = [ctx.hopsocks(config=text.splitlines()) for _ in range(2)]
    # The HAProxy side: the frontend on a free port, the servers on the
    # two instances, no syslog.
    cfg = cfg.replace("    log /dev/log local0\n", "")
    cfg = re.sub(r"(?m)^    bind :1080$", "    bind 127.0.0.1:@PORT@", cfg)
    cfg = cfg.replace("10.0.0.11:1080", "%s:%d" % pair[0].addr)
    cfg = cfg.replace("10.0.0.12:1080", "%s:%d" % pair[1].addr)
    check("@PORT@" in cfg and "10.0.0." not in cfg, "the sample's addresses moved: %s" % cfg)
    hap = ctx.own(SampleHaproxy(ctx, cfg))
    hap.start()
    echo = ctx.own(EchoServer())
    ports = []
    for i in range(4):
        sock = connect(hap.addr, source="127.0.0.2")
        socks5_through(sock, echo.addr)
        echo_roundtrip(sock, b"sample %d" % i)
        ports.append(sock.getsockname()[1])
        sock.close()
    for p in ports:
        check(wait_until(lambda p=p: [r for h in pair for r in h.access()
                                      if r.get("client") == "127.0.0.2:%d" % p]),
              "no access line names 127.0.0.2:%d" % p)
    for i, h in enumerate(pair):
        check([r for r in h.access() if r.get("cmd") == "connect"],
              "instance %d served nothing" % i)


def http_get(port, path):
    """(status, body) of a plain HTTP/1.0 GET to 127.0.0.1:port."""
    sock = connect(("127.0.0.1", port))
    sock.sendall(("GET %s HTTP/1.0\r\nHost: 127.0.0.1:%d\r\n\r\n" % (path, port)).encode())
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    sock.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body.decode()


if __name__ == "__main__":
    suite.run()
