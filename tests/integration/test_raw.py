#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors.
"""Raw-socket SOCKS4/5 conversations with exact bytes: replies and their
BND.ADDR/PORT, every malformed-input reply code, pipelined and byte-by-byte
handshakes, handshake/idle/connect deadlines, the access-log line, and that
malformed sessions leak no descriptor."""

import os
import resource
import socket
import struct
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (BOUND, SLOW, Skip, Suite, TestFailure, check, check_eq, connect,  # noqa: E402
                     echo_roundtrip, expect_closed, read_socks4_reply, read_socks5_reply,
                     read_to_close, recv_exact, socks4_request, socks5_open, socks5_request,
                     show, log_lines, wait_until)
from servers import Blackhole, EchoServer, GreeterServer, pattern  # noqa: E402

suite = Suite()


def closed_port(host="127.0.0.1"):
    """A port nothing listens on: bound then closed, so connect is refused."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def greet(sock, methods=b"\x00"):
    sock.sendall(b"\x05" + bytes([len(methods)]) + methods)
    return recv_exact(sock, 2, "method selection")


def v5_reply_bytes(host, port):
    """The exact success reply expected for an outbound socket host:port."""
    if ":" in host:
        return b"\x05\x00\x00\x04" + socket.inet_pton(socket.AF_INET6, host) + struct.pack(">H", port)
    return b"\x05\x00\x00\x01" + socket.inet_aton(host) + struct.pack(">H", port)


def request_reply(hs, request, methods=b"\x00"):
    """Open a session, negotiate no-auth, send request; (sock, REP, raw)."""
    sock = connect(hs.addr)
    check_eq(greet(sock, methods), b"\x05\x00", "method selection")
    sock.sendall(request)
    rep, _, _, raw = read_socks5_reply(sock)
    return sock, rep, raw


def expect_v5_error(hs, request, code, what):
    """The request gets REP=code with a well-formed reply, then a close."""
    sock, rep, raw = request_reply(hs, request)
    with sock:
        check(rep == code, "%s: reply %s, want REP %02x" % (what, show(raw), code))
        expect_closed(sock, what + " (after the reply)")


# ------------------------------------------------------------ SOCKS5 basics

@suite.test("SOCKS5 method selection without a user file: 00 chosen, 02-only refused with 05 FF")
def t_methods(ctx):
    hs = ctx.hopsocks()
    for offered, want in ((b"\x00", b"\x05\x00"), (b"\x02\x00", b"\x05\x00"),
                          (b"\x80\x01\x00\xfe", b"\x05\x00"), (b"\x02", b"\x05\xff"),
                          (b"", b"\x05\xff")):
        with connect(hs.addr) as sock:
            check_eq(greet(sock, offered), want, "selection for methods %s" % show(offered))
            if want == b"\x05\xff":
                expect_closed(sock, "after 05 FF")


@suite.test("SOCKS5 CONNECT 127.0.0.1: reply 05 00 00 01 7f000001 <port the target saw>, bytes echoed")
def t_connect_v4(ctx):
    echo = ctx.own(EchoServer())
    hs = ctx.hopsocks()
    sock, rep, raw = request_reply(hs, socks5_request("127.0.0.1", echo.port))
    with sock:
        peer = echo.wait_peers(1)[0]
        check_eq(raw, v5_reply_bytes("127.0.0.1", peer[1]), "CONNECT reply")
        echo_roundtrip(sock, b"\x00\xffbinary\r\n\x05\x00 bytes", "echo")


@suite.test("SOCKS5 CONNECT ::1: reply 05 00 00 04 ::1 <port the target saw>, bytes echoed")
def t_connect_v6(ctx):
    echo = ctx.own(EchoServer("::1"))
    hs = ctx.hopsocks()
    sock, rep, raw = request_reply(hs, socks5_request("::1", echo.port))
    with sock:
        peer = echo.wait_peers(1)[0]
        check_eq(raw, v5_reply_bytes("::1", peer[1]), "CONNECT reply")
        echo_roundtrip(sock, b"over ipv6", "echo")


@suite.test("a target that speaks first: its banner arrives right after the reply")
def t_target_speaks_first(ctx):
    srv = ctx.own(GreeterServer())
    hs = ctx.hopsocks()
    sock, _, _ = socks5_open(hs.addr, "127.0.0.1", srv.port)
    with sock:
        check_eq(recv_exact(sock, len(srv.BANNER), "banner"), srv.BANNER, "banner")
        echo_roundtrip(sock, b"after banner", "echo")


@suite.test("access line: client, user=-, proto, cmd, target, addr, result=ok, exact up/down")
def t_access_line(ctx):
    echo = ctx.own(EchoServer())
    hs = ctx.hopsocks()
    sock, _, _ = socks5_open(hs.addr, "127.0.0.1", echo.port)
    client = "127.0.0.1:%d" % sock.getsockname()[1]
    echo_roundtrip(sock, pattern(1000), "echo 1")
    echo_roundtrip(sock, pattern(234, seed=9), "echo 2")
    sock.close()
    rec = hs.wait_access(lambda r: r.get("client") == client)
    peer = echo.wait_peers(1)[0]
    want = {"client": client, "user": "-", "proto": "socks5", "cmd": "connect",
            "target": "127.0.0.1:%d" % echo.port, "addr": "127.0.0.1:%d" % echo.port,
            "result": "ok", "up": "1234", "down": "1234"}
    got = {k: rec.get(k) for k in want}
    check_eq(got, want, "access fields of %r" % rec["_line"])
    check_eq(rec["_level"], "info", "access line level")
    check(rec.get("ms", "").isdigit(), "ms= missing or not a number in %r" % rec["_line"])
    check(peer[1] != echo.port, "sanity: peer port")


@suite.test("CONNECT to a closed port: 05 05 (refused), close, access result=refused")
def t_refused(ctx):
    hs = ctx.hopsocks()
    port = closed_port()
    sock, rep, raw = request_reply(hs, socks5_request("127.0.0.1", port))
    client = "127.0.0.1:%d" % sock.getsockname()[1]
    with sock:
        check(rep == 5, "reply %s, want REP 05" % show(raw))
        expect_closed(sock, "after refusal")
    rec = hs.wait_access(lambda r: r.get("client") == client)
    check_eq(rec.get("result"), "refused", "access result of %r" % rec["_line"])
    check_eq(rec.get("target"), "127.0.0.1:%d" % port, "access target")


@suite.test("CONNECT to a closed port on ::1: 05 05")
def t_refused_v6(ctx):
    hs = ctx.hopsocks()
    expect_v5_error(hs, socks5_request("::1", closed_port("::1")), 5, "closed ::1 port")


@suite.test("connect timeout (timeout connect 1s, target never answers SYN): 05 06 in 1..BOUND s")
def t_connect_timeout(ctx):
    hole = ctx.own(Blackhole())
    if not hole.works:
        raise Skip("could not make a port whose handshake hangs (accept queue not fillable)")
    hs = ctx.hopsocks(config=["timeout connect 1s"])
    sock = connect(hs.addr)
    with sock:
        check_eq(greet(sock), b"\x05\x00", "method selection")
        started = time.monotonic()
        sock.sendall(socks5_request("127.0.0.1", hole.port))
        rep, _, _, raw = read_socks5_reply(sock)
        elapsed = time.monotonic() - started
        check(rep == 6, "reply %s, want REP 06 (TTL expired / timeout)" % show(raw))
        check(elapsed >= 0.8, "timed out after %.2fs, before the 1s deadline" % elapsed)
        expect_closed(sock, "after timeout reply")
    rec = hs.wait_access(lambda r: r.get("target") == "127.0.0.1:%d" % hole.port)
    check_eq(rec.get("result"), "timeout", "access result of %r" % rec["_line"])


@suite.test("unknown commands 00, 04 and 09 get 05 07 and a close")
def t_unsupported_commands(ctx):
    echo = ctx.own(EchoServer())
    hs = ctx.hopsocks()
    for cmd in (0, 4, 9):
        expect_v5_error(hs, socks5_request("127.0.0.1", echo.port, cmd=cmd), 7, "CMD %02x" % cmd)


@suite.test("unknown ATYP 05: 05 08 and a close")
def t_bad_atyp(ctx):
    hs = ctx.hopsocks()
    expect_v5_error(hs, b"\x05\x01\x00\x05\x7f\x00\x00\x01\x00\x50", 8, "ATYP 05")


@suite.test("zero-length domain: 05 01 and a close")
def t_empty_domain(ctx):
    hs = ctx.hopsocks()
    expect_v5_error(hs, b"\x05\x01\x00\x03\x00\x00\x50", 1, "empty domain")


@suite.test("wrong SOCKS version 06 in the greeting or 04 in the request: closed, no reply bytes")
def t_wrong_version(ctx):
    hs = ctx.hopsocks()
    with connect(hs.addr) as sock:
        sock.sendall(b"\x06\x01\x00")
        expect_closed(sock, "greeting version 06")
    with connect(hs.addr) as sock:
        check_eq(greet(sock), b"\x05\x00", "method selection")
        sock.sendall(b"\x06" + socks5_request("127.0.0.1", 80)[1:])
        data, how = read_to_close(sock)
        check(how in ("eof", "reset"), "request version 06: not closed (%s)" % how)
        check(data in (b"",) or data[:2] == b"\x05\x01",
              "request version 06: unexpected bytes %s" % show(data))


@suite.test("NMETHODS=0: 05 FF and a close")
def t_zero_methods(ctx):
    hs = ctx.hopsocks()
    with connect(hs.addr) as sock:
        sock.sendall(b"\x05\x00")
        check_eq(recv_exact(sock, 2, "method selection"), b"\x05\xff", "method selection")
        expect_closed(sock, "after 05 FF")


# ------------------------------------------------------------------ SOCKS4

@suite.test("SOCKS4 CONNECT: 00 5A <port> <ip> naming the outbound socket, bytes echoed, access proto=socks4")
def t_socks4_connect(ctx):
    echo = ctx.own(EchoServer())
    hs = ctx.hopsocks()
    sock = connect(hs.addr)
    client = "127.0.0.1:%d" % sock.getsockname()[1]
    with sock:
        sock.sendall(socks4_request("127.0.0.1", echo.port, userid=b"someone"))
        cd, port, ip, raw = read_socks4_reply(sock)
        peer = echo.wait_peers(1)[0]
        check_eq(raw, b"\x00\x5a" + struct.pack(">H", peer[1]) + socket.inet_aton(peer[0]),
                 "SOCKS4 reply (port/ip must be the outbound socket the target saw)")
        echo_roundtrip(sock, b"socks4 payload\x00\x04", "echo")
    rec = hs.wait_access(lambda r: r.get("client") == client)
    check_eq((rec.get("proto"), rec.get("cmd"), rec.get("result"), rec.get("up"), rec.get("down")),
             ("socks4", "connect", "ok", "16", "16"), "access fields of %r" % rec["_line"])


@suite.test("SOCKS4 refused target, unknown commands 03 and 00: 00 5B and a close")
def t_socks4_errors(ctx):
    echo = ctx.own(EchoServer())
    hs = ctx.hopsocks()
    for what, msg in (("refused", socks4_request("127.0.0.1", closed_port())),
                      ("command 00", socks4_request("127.0.0.1", echo.port, cmd=0)),
                      ("command 03", socks4_request("127.0.0.1", echo.port, cmd=3))):
        with connect(hs.addr) as sock:
            sock.sendall(msg)
            cd, _, _, raw = read_socks4_reply(sock)
            check(cd == 0x5B, "%s: reply %s, want 00 5B" % (what, show(raw)))
            expect_closed(sock, what + " (after the reply)")


@suite.test("SOCKS4 USERID longer than 255 bytes: 00 5B and a close")
def t_socks4_long_userid(ctx):
    echo = ctx.own(EchoServer())
    hs = ctx.hopsocks()
    with connect(hs.addr) as sock:
        sock.sendall(socks4_request("127.0.0.1", echo.port, userid=b"u" * 300))
        cd, _, _, raw = read_socks4_reply(sock)
        check(cd == 0x5B, "reply %s, want 00 5B" % show(raw))
        expect_closed(sock, "after the reply")
    check_eq(echo.peers, [], "connections the target saw")


@suite.test("an HTTP request instead of SOCKS is closed, and the server keeps serving")
def t_http_garbage(ctx):
    echo = ctx.own(EchoServer())
    hs = ctx.hopsocks()
    for garbage in (b"GET / HTTP/1.0\r\n\r\n", b"\x00\x00\x00\x00", b"\xff" * 100):
        with connect(hs.addr) as sock:
            sock.sendall(garbage)
            _, how = read_to_close(sock)
            check(how in ("eof", "reset"), "garbage %s: not closed (%s)" % (show(garbage[:8]), how))
    sock, _, _ = socks5_open(hs.addr, "127.0.0.1", echo.port)
    with sock:
        echo_roundtrip(sock, b"still alive", "echo after garbage")


# -------------------------------------------------------------- pipelining

@suite.test("pipelined: greeting + request + data in one send; data reaches the target and returns")
def t_pipelined_v5(ctx):
    echo = ctx.own(EchoServer())
    hs = ctx.hopsocks()
    data = b"first application bytes, sent before any reply"
    with connect(hs.addr) as sock:
        sock.sendall(b"\x05\x01\x00" + socks5_request("127.0.0.1", echo.port) + data)
        check_eq(recv_exact(sock, 2, "method selection"), b"\x05\x00", "method selection")
        rep, _, _, raw = read_socks5_reply(sock)
        check(rep == 0, "reply %s" % show(raw))
        check_eq(recv_exact(sock, len(data), "echo"), data, "pipelined data echoed")


@suite.test("pipelined: greeting + request + 256 KiB in one send; every byte echoed")
def t_pipelined_big(ctx):
    echo = ctx.own(EchoServer())
    hs = ctx.hopsocks()
    data = pattern(256 * 1024, seed=11)
    with connect(hs.addr) as sock:
        sock.sendall(b"\x05\x01\x00" + socks5_request("127.0.0.1", echo.port) + data[:65536])
        check_eq(recv_exact(sock, 2, "method selection"), b"\x05\x00", "method selection")
        rep, _, _, raw = read_socks5_reply(sock)
        check(rep == 0, "reply %s" % show(raw))
        got = bytearray()
        sock.sendall(data[65536:])
        got += recv_exact(sock, len(data), "echo")
        if bytes(got) != data:
            first = next(i for i in range(len(data)) if got[i] != data[i])
            raise TestFailure("echoed data differs from byte %d on" % first)


@suite.test("pipelined SOCKS4: request + data in one send")
def t_pipelined_v4(ctx):
    echo = ctx.own(EchoServer())
    hs = ctx.hopsocks()
    data = b"socks4 early data"
    with connect(hs.addr) as sock:
        sock.sendall(socks4_request("127.0.0.1", echo.port, b"u") + data)
        cd, _, _, raw = read_socks4_reply(sock)
        check(cd == 0x5A, "reply %s" % show(raw))
        check_eq(recv_exact(sock, len(data), "echo"), data, "pipelined data echoed")


@suite.test("the whole SOCKS5 and SOCKS4 handshakes one byte at a time (5 ms apart) work")
def t_byte_by_byte(ctx):
    echo = ctx.own(EchoServer())
    hs = ctx.hopsocks()
    with connect(hs.addr) as sock:
        for b in b"\x05\x02\x02\x00":
            sock.send(bytes([b]))
            time.sleep(0.005)
        check_eq(recv_exact(sock, 2, "method selection"), b"\x05\x00", "method selection")
        for b in socks5_request("127.0.0.1", echo.port):
            sock.send(bytes([b]))
            time.sleep(0.005)
        rep, _, _, raw = read_socks5_reply(sock)
        check(rep == 0, "SOCKS5 reply %s" % show(raw))
        echo_roundtrip(sock, b"slowly", "echo")
    with connect(hs.addr) as sock:
        for b in socks4_request("127.0.0.1", echo.port, b"user"):
            sock.send(bytes([b]))
            time.sleep(0.005)
        cd, _, _, raw = read_socks4_reply(sock)
        check(cd == 0x5A, "SOCKS4 reply %s" % show(raw))
        echo_roundtrip(sock, b"slowly 4", "echo")


# --------------------------------------------------------------- deadlines

@suite.test("timeout handshake 1s: silent and half-greeting clients are closed, access result=handshake-timeout")
def t_handshake_timeout(ctx):
    hs = ctx.hopsocks(config=["timeout handshake 1s"])
    started = time.monotonic()  # before connect: the server's clock starts at accept
    silent, partial = connect(hs.addr), connect(hs.addr)
    ports = ["127.0.0.1:%d" % s.getsockname()[1] for s in (silent, partial)]
    partial.sendall(b"\x05\x02")
    for name, sock in (("silent", silent), ("partial", partial)):
        with sock:
            expect_closed(sock, name + " client", timeout=BOUND)
    elapsed = time.monotonic() - started
    check(elapsed >= 0.9, "closed after %.2fs, before the 1s deadline" % elapsed)
    for client in ports:
        rec = hs.wait_access(lambda r: r.get("client") == client)
        check_eq(rec.get("result"), "handshake-timeout", "access result of %r" % rec["_line"])


@suite.test("timeout idle 1s: an idle relay is closed (result=idle-timeout), a busy one is not")
def t_idle_timeout(ctx):
    echo = ctx.own(EchoServer())
    hs = ctx.hopsocks(config=["timeout idle 1s"])
    idle, _, _ = socks5_open(hs.addr, "127.0.0.1", echo.port)
    busy, _, _ = socks5_open(hs.addr, "127.0.0.1", echo.port)
    idle_client = "127.0.0.1:%d" % idle.getsockname()[1]
    started = time.monotonic()
    for i in range(15):  # 3 s of traffic every 0.2 s
        echo_roundtrip(busy, b"tick %d" % i, "busy session echo")
        time.sleep(0.2)
    with idle:
        expect_closed(idle, "idle session", timeout=BOUND)
    with busy:
        echo_roundtrip(busy, b"still open", "busy session after %.1fs" % (time.monotonic() - started))
    rec = hs.wait_access(lambda r: r.get("client") == idle_client)
    check_eq(rec.get("result"), "idle-timeout", "access result of %r" % rec["_line"])


@suite.test("50 stalled handshakes do not delay a normal session")
def t_stalled_do_not_block(ctx):
    echo = ctx.own(EchoServer())
    hs = ctx.hopsocks(workers=1)
    stalled = [connect(hs.addr) for _ in range(50)]
    try:
        for i, s in enumerate(stalled):
            s.sendall(b"\x05\x02\x00\x02"[: 1 + i % 3])
        started = time.monotonic()
        sock, _, _ = socks5_open(hs.addr, "127.0.0.1", echo.port)
        with sock:
            echo_roundtrip(sock, b"not blocked", "echo")
        elapsed = time.monotonic() - started
        check(elapsed < 5 * SLOW, "normal session took %.2fs next to stalled ones" % elapsed)
    finally:
        for s in stalled:
            s.close()


# ----------------------------------------------------------------- limits

def open_relay(hs, echo, bound=BOUND):
    """A relaying session, retrying while the server may still count a
    connection we already closed (closes are noticed asynchronously)."""
    deadline = time.monotonic() + bound
    while True:
        try:
            sock, _, _ = socks5_open(hs.addr, "127.0.0.1", echo.port)
            echo_roundtrip(sock, b"open", "echo")
            return sock
        except (TestFailure, OSError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@suite.test("max-connections 2: a third client is closed without a reply; after one ends, a new one "
            "works; 40 refusals log one line a second per worker, not one each")
def t_max_connections(ctx):
    echo = ctx.own(EchoServer())
    hs = ctx.hopsocks(config=["max-connections 2"])
    held = [open_relay(hs, echo), open_relay(hs, echo)]
    try:
        with connect(hs.addr) as third:
            third.sendall(b"\x05\x01\x00")
            expect_closed(third, "third connection over max-connections 2")
        started = time.monotonic()
        for i in range(40):
            with connect(hs.addr) as extra:
                expect_closed(extra, "connection %d over max-connections 2" % (i + 1))
        took = time.monotonic() - started
        needle = "refused, max-connections (2) reached"
        lines = log_lines(hs, needle)
        # Each worker's first refusal is logged at once with nothing skipped.
        check(lines and "(0 more refused since the last line)" in lines[0],
              "the first refusal line: %r" % lines[:1])
        check(len(lines) <= 2 * (2 + int(took)),
              "%d lines for 41 refusals in %.1f s from 2 workers:\n%s"
              % (len(lines), took, "\n".join(lines)))
        held.pop().close()
        sock = open_relay(hs, echo)
        sock.close()
        echo_roundtrip(held[0], b"first still relays", "first session")
    finally:
        for s in held:
            s.close()


def cpu_seconds(pid):
    """User + system CPU time of a process so far."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@suite.test("out of descriptors (EMFILE): no busy accept loop (<0.5 s CPU in 1.5 s); serves again after")
def t_emfile(ctx):
    echo = ctx.own(EchoServer())
    hs = ctx.hopsocks(workers=1)
    limit = hs.stable_fd_count() + 8
    resource.prlimit(hs.pid, resource.RLIMIT_NOFILE, (limit, limit))
    clients = [connect(hs.addr) for _ in range(30)]  # more than the server can accept
    try:
        # The server must have run into the limit, or this test proves nothing.
        check(wait_until(lambda: hs.fd_count() >= limit - 1, BOUND),
              "hopsocks never reached its descriptor limit %d (has %d)" % (limit, hs.fd_count()))
        time.sleep(0.2)
        before = cpu_seconds(hs.pid)
        time.sleep(1.5)
        spent = cpu_seconds(hs.pid) - before
        check(spent < 0.5, "hopsocks used %.2fs CPU in 1.5s while out of descriptors" % spent)
    finally:
        for c in clients:
            c.close()
    sock = open_relay(hs, echo)
    with sock:
        echo_roundtrip(sock, b"serving again", "echo after EMFILE")
    check(hs.alive(), "hopsocks died")


@suite.test("outgoing 127.0.0.2: the target sees 127.0.0.2, and BND.ADDR/PORT in SOCKS5 and SOCKS4 say so")
def t_outgoing(ctx):
    echo = ctx.own(EchoServer())
    hs = ctx.hopsocks(config=["outgoing 127.0.0.2"])
    sock, rep, raw = request_reply(hs, socks5_request("127.0.0.1", echo.port))
    with sock:
        peer = echo.wait_peers(1)[0]
        check_eq(peer[0], "127.0.0.2", "source address the target saw")
        check_eq(raw, v5_reply_bytes("127.0.0.2", peer[1]), "SOCKS5 reply")
        echo_roundtrip(sock, b"from .2", "echo")
    with connect(hs.addr) as sock:
        sock.sendall(socks4_request("127.0.0.1", echo.port, b"u"))
        cd, port, ip, raw = read_socks4_reply(sock)
        peer = echo.wait_peers(2)[1]
        check_eq(raw, b"\x00\x5a" + struct.pack(">H", peer[1]) + socket.inet_aton("127.0.0.2"),
                 "SOCKS4 reply")


# -------------------------------------------------------------- descriptors

def malformed_batch(hs, echo):
    """One of every bad or cut-short session, each ending its own way."""
    refused = closed_port()
    messages = [
        b"", b"\x05", b"\x05\x02\x00", b"\x05\x00", b"\x06\x01\x00", b"GET / HTTP/1.0\r\n\r\n",
        b"\x05\x01\x00\x05\x01\x00\x05\x7f\x00\x00\x01\x00\x50",
        b"\x05\x01\x00\x05\x01\x00\x03\x00\x00\x50",
        b"\x05\x01\x00" + socks5_request("127.0.0.1", echo.port, cmd=2),
        b"\x05\x01\x00" + socks5_request("127.0.0.1", echo.port, cmd=3),
        b"\x05\x01\x00" + socks5_request("127.0.0.1", refused),
        b"\x05\x01\x00" + socks5_request("127.0.0.1", echo.port)[:6],
        b"\x05\x01\x00" + socks5_request("127.0.0.1", echo.port),  # then abandoned
        socks4_request("127.0.0.1", refused),
        socks4_request("127.0.0.1", echo.port, userid=b"x" * 300),
        socks4_request("127.0.0.1", echo.port)[:5],
        socks4_request("127.0.0.1", echo.port, cmd=2),
        socks4_request("127.0.0.1", echo.port) + b"abandoned relay",
    ]
    for msg in messages:
        for reset in (False, True):
            sock = connect(hs.addr)
            if msg:
                sock.sendall(msg)
            if reset:  # RST instead of FIN
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            else:
                read_to_close(sock, timeout=0.2)
            sock.close()
    return 2 * len(messages)


@suite.test("no descriptor leak: fd count of hopsocks returns to its baseline after 36 malformed sessions")
def t_fd_leak(ctx):
    echo = ctx.own(EchoServer())
    hs = ctx.hopsocks(workers=2)
    sock, _, _ = socks5_open(hs.addr, "127.0.0.1", echo.port)
    with sock:
        echo_roundtrip(sock, b"warm up", "echo")
    baseline = hs.stable_fd_count()
    count = malformed_batch(hs, echo)
    deadline = time.monotonic() + BOUND
    now = hs.fd_count()
    while now != baseline and time.monotonic() < deadline:
        time.sleep(0.05)
        now = hs.fd_count()
    check(now == baseline, "%d descriptors after %d malformed sessions, baseline %d; /proc/%d/fd: %s"
          % (now, count, baseline, hs.pid, _fd_targets(hs.pid)))
    sock, _, _ = socks5_open(hs.addr, "127.0.0.1", echo.port)
    with sock:
        echo_roundtrip(sock, b"works afterwards", "echo after the batch")


def _fd_targets(pid):
    out = []
    for fd in sorted(os.listdir("/proc/%d/fd" % pid), key=int):
        try:
            out.append("%s->%s" % (fd, os.readlink("/proc/%d/fd/%s" % (pid, fd))))
        except OSError:
            pass
    return " ".join(out)


if __name__ == "__main__":
    suite.run()
