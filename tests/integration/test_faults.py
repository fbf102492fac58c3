#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors.
"""Fault injection (issue 12): what hopsocks does when the world around it
misbehaves.  A target that resets or closes mid-stream, an upstream hop
killed mid-stream, a client that vanishes without a FIN (its network
namespace's link taken down), a DNS server that is down, late, or answers
garbage or truncated packets, descriptor exhaustion (a low RLIMIT_NOFILE),
memory pressure (a low RLIMIT_AS), an exhausted per-user pipe quota, and
2,000 slow clients.  Each test asserts exact outcomes -- reply codes, access
lines, relayed bytes, descriptor counts back to their baseline -- and that
the sessions the fault does not concern go on untouched."""

import contextlib
import ctypes
import os
import pwd
import re
import resource
import selectors
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (BOUND, HOPSOCKS_BIN, Skip, Suite, TestFailure, check,  # noqa: E402
                     check_eq, chain_block, connect, echo_roundtrip, hop_url,
                     log_lines, read_socks5_reply, read_to_close, recv_exact, require_program,
                     show, socks5_open, socks5_request, wait_until)
from harness import WRAPPER  # noqa: E402
from dnsserver import QTYPE_A, DnsServer  # noqa: E402
from servers import (EchoServer, Microsocks, SinkServer, SourceServer, TcpServer,  # noqa: E402
                     pattern, sha256)

suite = Suite()

_ASAN = None


def asan_build():
    """True when the hopsocks under test is the ASan build: its shadow
    memory makes RLIMIT_AS meaningless, and it runs several times slower."""
    global _ASAN
    if _ASAN is None:
        with open(HOPSOCKS_BIN, "rb") as f:
            _ASAN = b"__asan_init" in f.read()
    return _ASAN


def scaled(n, asan_n):
    """A load count, smaller under the (much slower) ASan build."""
    return asan_n if asan_build() else n


# ------------------------------------------------------------- helpers

def client_of(sock):
    return "127.0.0.1:%d" % sock.getsockname()[1]


def warm_baseline(hs, echo, size=16):
    """One finished session (so every pool and lazily made object exists),
    then the descriptor count once it is stable."""
    sock, _, _ = socks5_open(hs.addr, "127.0.0.1", echo.port)
    client = client_of(sock)
    with sock:
        transfer(sock, pattern(size, 99), "warm-up")
    hs.wait_access(lambda r: r.get("client") == client, what="warm-up access line")
    return hs.stable_fd_count()


def transfer(sock, data, what):
    """Send data (from a thread, so a large echo cannot deadlock on full
    buffers) and check that exactly the same bytes come back."""
    failure = []

    def send():
        try:
            sock.sendall(data)
        except OSError as e:
            failure.append(e)

    t = threading.Thread(target=send, daemon=True)
    t.start()
    got = recv_exact(sock, len(data), what)
    t.join(BOUND)
    check(not failure, "%s: send failed: %s" % (what, failure))
    check_eq(sha256(got), sha256(data), "%s: SHA-256 of %d echoed bytes" % (what, len(data)))


def fds_back(hs, baseline, what):
    """Fail unless hs's descriptor count returns to baseline."""
    wait_until(lambda: hs.fd_count() == baseline)
    check_eq(hs.stable_fd_count(), baseline, "%s: hopsocks descriptors (baseline)" % what)


def one_access(hs, client, what):
    """The access record of the session from client, waiting for it."""
    return hs.wait_access(lambda r: r.get("client") == client, what="%s access line" % what)


def check_access(rec, want, what):
    got = {k: rec.get(k) for k in want}
    check_eq(got, want, "%s: access fields of %r" % (what, rec["_line"]))


class Bystander:
    """An echo session opened before a fault and checked again after it:
    proof that the fault ended only its own session."""

    def __init__(self, hs, echo, size=1 << 20, seed=11):
        self.data = pattern(size, seed)
        self.sock, _, _ = socks5_open(hs.addr, "127.0.0.1", echo.port)
        self.client = client_of(self.sock)
        transfer(self.sock, self.data, "bystander before the fault")

    def check_after(self, hs):
        transfer(self.sock, self.data, "bystander after the fault")
        self.sock.close()
        rec = one_access(hs, self.client, "bystander")
        check_access(rec, {"result": "ok", "up": str(2 * len(self.data)),
                           "down": str(2 * len(self.data))}, "bystander")


# ------------------------------------------------ a. targets and hops that fail

class ScriptedTarget(TcpServer):
    """Reads b"ping", answers b"pong", waits for b"go" and then ends the
    connection the way `how` says: "reset" (SO_LINGER 0: an RST) or
    "close" (an ordinary FIN)."""

    def __init__(self, how):
        self.how = how
        self.ended = threading.Event()
        super().__init__()

    def handle(self, conn):
        check_eq(recv_exact(conn, 4, "target: ping"), b"ping", "target: ping")
        conn.sendall(b"pong")
        check_eq(recv_exact(conn, 2, "target: go"), b"go", "target: go")
        if self.how == "reset":
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()
        self.ended.set()


def scripted_session(ctx, how):
    echo = ctx.own(EchoServer())
    target = ctx.own(ScriptedTarget(how))
    hs = ctx.hopsocks(workers=1)
    baseline = warm_baseline(hs, echo, 1 << 20)
    bystander = Bystander(hs, echo)
    sock, _, _ = socks5_open(hs.addr, "127.0.0.1", target.port)
    client = client_of(sock)
    with sock:
        sock.sendall(b"ping")
        check_eq(recv_exact(sock, 4, "pong"), b"pong", "target's answer")
        sock.sendall(b"go")
        check(target.ended.wait(BOUND), "the target did not end its connection")
        data, end = read_to_close(sock)
        check_eq((data, end), (b"", "eof"), "what the client got after the target's %s" % how)
    return hs, bystander, client, baseline


@suite.test("a target that resets (SO_LINGER 0) mid-stream: the client gets every byte sent "
            "before it, then EOF; access result=reset up=6 down=4; another session's 1 MiB "
            "echo is intact; descriptors back to baseline")
def t_target_reset(ctx):
    hs, bystander, client, baseline = scripted_session(ctx, "reset")
    rec = one_access(hs, client, "reset session")
    check_access(rec, {"result": "reset", "up": "6", "down": "4"}, "reset session")
    bystander.check_after(hs)
    fds_back(hs, baseline, "after a target reset")


@suite.test("a target that closes (FIN) mid-stream: the client gets its bytes, then EOF; "
            "access result=ok up=6 down=4; another session unaffected; descriptors back "
            "to baseline")
def t_target_close(ctx):
    hs, bystander, client, baseline = scripted_session(ctx, "close")
    rec = one_access(hs, client, "closed session")
    check_access(rec, {"result": "ok", "up": "6", "down": "4"}, "closed session")
    bystander.check_after(hs)
    fds_back(hs, baseline, "after a target close")


@suite.test("an upstream hop (microsocks) killed mid-stream: the client's session ends "
            "(EOF or RST), access result=reset route=up down=4096; a direct session "
            "unaffected; descriptors back to baseline")
def t_hop_killed(ctx):
    echo = ctx.own(EchoServer())
    direct = ctx.own(EchoServer())
    hop = ctx.own(Microsocks(ctx).start())
    hs = ctx.hopsocks(config=chain_block("up", [hop_url("socks5", hop.addr)])
                      + ["route 127.0.0.1 port %d via up" % echo.port, "route * direct"],
                      workers=1)
    baseline = warm_baseline(hs, direct, 1 << 20)
    bystander = Bystander(hs, direct)
    sock, _, _ = socks5_open(hs.addr, "127.0.0.1", echo.port)
    client = client_of(sock)
    with sock:
        transfer(sock, pattern(4096, 3), "through the hop")
        os.killpg(hop.proc.pid, signal.SIGKILL)
        hop.proc.wait(BOUND)
        # The client keeps sending: those bytes meet the dead hop's RST.
        try:
            for _ in range(50):
                sock.sendall(b"x" * 1000)
                time.sleep(0.01)
        except OSError:
            pass
        data, end = read_to_close(sock)
        check(end in ("eof", "reset"), "after the hop died: %s, %s" % (end, show(data)))
        check_eq(data, b"", "bytes the client got after the hop died")
    rec = one_access(hs, client, "session through the killed hop")
    check_access(rec, {"result": "reset", "route": "up", "down": "4096"},
                 "session through the killed hop")
    bystander.check_after(hs)
    fds_back(hs, baseline, "after the hop was killed")


# ---------------------------------------------------------------- c. DNS faults

DNS_DEADLINE_S = 2  # `timeout connect`, which bounds the lookup as well


class FaultyDns(DnsServer):
    """A DnsServer whose answers are broken the way `fault` says:
    "garbage": the right ID and question, then an answer record whose
    length runs past the packet's end; "truncated": the TC bit and no
    answer (c-ares then asks over TCP, where nothing listens); "cut": the
    A answer cut off in the middle of its record."""

    def __init__(self, records, fault, **kw):
        self.fault = fault
        super().__init__(records, **kw)

    def answer(self, qid, flags, name, qtype, question):
        good = super().answer(qid, flags, name, qtype, question)
        if self.fault == "garbage":
            head = struct.pack(">HHHHHH", qid, 0x8180, 1, 1, 0, 0) + question
            return head + b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x01\x00\xff\xf0" + os.urandom(7)
        if self.fault == "truncated":
            return struct.pack(">HHHHHH", qid, 0x8380, 1, 0, 0, 0) + question
        if self.fault == "cut" and qtype == QTYPE_A:
            return good[:len(good) - 3]
        return good


def dns_fault_case(ctx, resolver, name, want_log, server=None, result="dns-failed"):
    # want_log: the reasons the log line may give, ("timed out",) when the
    # deadline ended the lookup, ("resolver failure",) when c-ares did.
    """CONNECT to name through a hopsocks whose only resolver is broken:
    exactly 05 04 00 01 0.0.0.0:0 within the deadline (plus slack, far
    below c-ares' own 2+4+8 s of retries), result=dns-failed and the log
    line saying why; meanwhile an IP-literal session works, and afterwards
    descriptors are back to their baseline."""
    echo = ctx.own(EchoServer())
    hs = ctx.hopsocks(config=["resolver " + resolver, "timeout connect %ds" % DNS_DEADLINE_S],
                      workers=1)
    # The warm-up moves as many bytes as the session below, so that the
    # splice pipe that one fills is already in the worker's pool.
    baseline = warm_baseline(hs, echo, 65536)
    sock = connect(hs.addr)
    client = client_of(sock)
    with sock:
        sock.sendall(b"\x05\x01\x00")
        check_eq(recv_exact(sock, 2, "selection"), b"\x05\x00", "selection")
        started = time.monotonic()
        sock.sendall(socks5_request(name, echo.port))
        # While the name is pending, another session is served at once.
        other, _, _ = socks5_open(hs.addr, "127.0.0.1", echo.port)
        with other:
            transfer(other, pattern(65536, 5), "IP-literal session during the lookup")
        rep, _, _, raw = read_socks5_reply(sock)
        elapsed = time.monotonic() - started
        check_eq(raw, b"\x05\x04\x00\x01\x00\x00\x00\x00\x00\x00", "reply to CONNECT %s" % name)
        check(elapsed < DNS_DEADLINE_S + 8, "the 05 04 came after %.1fs (deadline %ds)"
              % (elapsed, DNS_DEADLINE_S))
        data, end = read_to_close(sock)
        check_eq((data, end), (b"", "eof"), "after the 05 04")
    rec = one_access(hs, client, "failed lookup")
    check_access(rec, {"result": result, "target": "%s:%d" % (name, echo.port)},
                 "failed lookup")
    wants = ["cannot resolve %s:%d: %s" % (name, echo.port, why) for why in want_log]
    check(any(log_lines(hs, want) for want in wants),
          "no log line %s: %s" % (" or ".join(map(repr, wants)), hs.stderr_tail(5)))
    if server is not None:
        check(server.count(name) >= 1, "the DNS server was never asked for %s" % name)
    return hs, echo, baseline


@suite.test("DNS server down (nothing on its port): 05 04 within the deadline, "
            "result=dns-failed; other sessions served; descriptors back to baseline")
def t_dns_down(ctx):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        dead = "127.0.0.1:%d" % s.getsockname()[1]
    # c-ares 1.18 keeps retrying after the ICMP refusals until the deadline
    # ends the lookup; a newer one may give up first.  Either is right.
    hs, echo, baseline = dns_fault_case(ctx, dead, "down.test",
                                        ("timed out", "resolver failure"))
    fds_back(hs, baseline, "after the lookup failed")


@suite.test("DNS answer after the deadline (3.5 s, deadline 2 s): 05 04 at the deadline, "
            "result=dns-failed, 'timed out'; the late answer changes nothing; the name "
            "works afterwards; descriptors back to baseline")
def t_dns_late(ctx):
    d = ctx.own(DnsServer({"late.test": ["127.0.0.1"]}, delays={"late.test": 3.5}))
    hs, echo, baseline = dns_fault_case(ctx, d.resolver, "late.test", ("timed out",), d)
    time.sleep(2)  # the late answers arrive now, for a session that is gone
    fds_back(hs, baseline, "after the late answer")
    d.delays.clear()
    sock, _, _ = socks5_open(hs.addr, "late.test", echo.port)
    with sock:
        transfer(sock, b"late but there", "echo via late.test afterwards")
    check(hs.alive(), "hopsocks died")


@suite.test("DNS answer with a record running past the packet (garbage): 05 04 within the "
            "deadline, result=dns-failed; other sessions served; descriptors back to baseline")
def t_dns_garbage(ctx):
    d = ctx.own(FaultyDns({"junk.test": ["127.0.0.1"]}, "garbage"))
    hs, echo, baseline = dns_fault_case(ctx, d.resolver, "junk.test", ("resolver failure",), d)
    fds_back(hs, baseline, "after a garbage answer")


@suite.test("DNS answer with TC set and no TCP server (truncated): 05 04 within the deadline, "
            "result=dns-failed; descriptors back to baseline")
def t_dns_truncated(ctx):
    d = ctx.own(FaultyDns({"tc.test": ["127.0.0.1"]}, "truncated"))
    hs, echo, baseline = dns_fault_case(ctx, d.resolver, "tc.test", ("resolver failure",), d)
    fds_back(hs, baseline, "after a truncated answer")


@suite.test("DNS A answer cut off inside its record (the empty AAAA answer good): 05 04 "
            "within the deadline; c-ares calls that not found: result=not-found; descriptors "
            "back to baseline")
def t_dns_cut(ctx):
    d = ctx.own(FaultyDns({"cut.test": ["127.0.0.1"]}, "cut"))
    hs, echo, baseline = dns_fault_case(ctx, d.resolver, "cut.test", ("name not found",), d,
                                        result="not-found")
    fds_back(hs, baseline, "after a cut answer")

# ------------------------------------------------------ d. descriptor exhaustion

def cpu_seconds(pid):
    """utime + stime of a process so far, in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_share(pid, seconds=2.0):
    """The share of one core pid used over the next `seconds`."""
    before, started = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return (cpu_seconds(pid) - before) / (time.monotonic() - started)


def socks5_attempt(addr, port):
    """Open a connection and send a whole SOCKS5 CONNECT to 127.0.0.1:port
    at once, without waiting for an answer."""
    sock = connect(addr)
    sock.sendall(b"\x05\x01\x00" + socks5_request("127.0.0.1", port))
    return sock


ACCEPTED_WAITING = b""  # socks5_answer: accepted, but no reply in time


def socks5_answer(sock, wait):
    """The raw CONNECT reply to socks5_attempt; None when nothing came
    within `wait` seconds (still in the accept queue); ACCEPTED_WAITING when
    the method selection came but no reply did (accepted, its target
    waiting for a descriptor)."""
    sock.settimeout(wait)
    try:
        head = sock.recv(1)
    except socket.timeout:
        return None
    sock.settimeout(BOUND)
    check_eq(head + recv_exact(sock, 1, "method selection"), b"\x05\x00", "method selection")
    sock.settimeout(wait)
    try:
        first = sock.recv(1, socket.MSG_PEEK)
    except socket.timeout:
        return ACCEPTED_WAITING
    sock.settimeout(BOUND)
    check(first == b"\x05", "reply VER: %s" % show(first))
    return read_socks5_reply(sock)[3]


EMFILE_LINE = "accept: Too many open files; pausing new connections for 100 ms"


@suite.test("descriptor exhaustion (RLIMIT_NOFILE = baseline + 24): sessions up to the limit "
            "work, the next waits in the accept queue (or, accepted with the last descriptor, "
            "for one for its target); hopsocks logs the EMFILE and does not "
            "spin (< 30% of a core over 2 s); once clients leave it serves the waiting one "
            "(exact echo) and descriptors return to baseline")
def t_fd_exhaustion(ctx):
    echo = ctx.own(EchoServer())
    hs = ctx.hopsocks(workers=1)
    baseline = warm_baseline(hs, echo, 100000)  # as much as the echo after recovery
    limit = baseline + 24
    resource.prlimit(hs.pid, resource.RLIMIT_NOFILE, (limit, limit))
    held, replies, waiting, accepted = [], {}, None, False
    try:
        for _ in range(limit):  # each session takes two descriptors: bounded
            sock = socks5_attempt(hs.addr, echo.port)
            raw = socks5_answer(sock, 1.0)
            if raw == ACCEPTED_WAITING:
                # Accepted with the last descriptor: its target waits for
                # one (where the limit's parity falls so, e.g. valgrind's
                # own descriptors counted in the baseline).
                waiting, accepted = sock, True
                break
            if raw is None:
                # No answer yet: waiting in the accept queue once hopsocks
                # says it is out of descriptors, else only slow.
                if wait_until(lambda: log_lines(hs, EMFILE_LINE), 2.0):
                    waiting = sock
                    break
                raw = socks5_answer(sock, BOUND)
                check(raw not in (None, ACCEPTED_WAITING),
                      "no answer within %.0fs, and no EMFILE" % BOUND)
            held.append(sock)
            replies[raw[:2]] = replies.get(raw[:2], 0) + 1
        check(waiting is not None, "every one of %d connections was answered at a limit of %d "
              "descriptors" % (len(held), limit))
        check(replies.get(b"\x05\x00", 0) >= 10, "successful sessions before exhaustion: %r"
              % replies)
        check(set(replies) <= {b"\x05\x00", b"\x05\x01"},
              "replies before exhaustion (want 05 00, or 05 01 when the target socket "
              "could not be made): %r" % replies)
        for sock in held[:3]:  # the sessions already made still relay
            echo_roundtrip(sock, b"still here", "echo while exhausted")
        share = cpu_share(hs.pid)
        check(share < 0.30, "hopsocks used %.0f%% of a core while out of descriptors"
              % (share * 100))
        for sock in held:
            sock.close()
        held = []
        waiting.settimeout(BOUND)
        if not accepted:
            check_eq(recv_exact(waiting, 2, "method selection after recovery"), b"\x05\x00",
                     "method selection after recovery")
        rep, _, _, raw = read_socks5_reply(waiting)
        check_eq(rep, 0, "REP for the connection that waited (%s)" % show(raw))
        transfer(waiting, pattern(100000, 4), "echo after recovery")
        waiting.close()
        waiting = None
        fds_back(hs, baseline, "after exhaustion")
    finally:
        for sock in held + [waiting]:
            if sock is not None:
                sock.close()


@suite.test("one descriptor short (RLIMIT_NOFILE = baseline + 2 * 5 + 1): five sessions "
            "work; a sixth client is accepted with the last descriptor and its target cannot "
            "have one: it waits (its method selection, then no reply) instead of getting "
            "05 01, and as soon as one session ends it gets 05 00 and an exact echo")
def t_fd_wait_for_target(ctx):
    if WRAPPER:
        raise Skip("under %s the wrapper's own descriptors sit at high numbers, so a limit "
                   "counted from hopsocks' descriptors does not bite where this test needs "
                   "it" % os.path.basename(WRAPPER[0]))
    echo = ctx.own(EchoServer())
    hs = ctx.hopsocks(workers=1)
    baseline = warm_baseline(hs, echo, 100000)
    held, waiting = [], None
    resource.prlimit(hs.pid, resource.RLIMIT_NOFILE, (baseline + 11, baseline + 11))
    try:
        for i in range(5):
            sock = socks5_attempt(hs.addr, echo.port)
            raw = socks5_answer(sock, BOUND)
            check(raw is not None and raw[:2] == b"\x05\x00", "session %d: %s"
                  % (i + 1, show(raw or b"")))
            held.append(sock)
        waiting = socks5_attempt(hs.addr, echo.port)
        waiting.settimeout(BOUND)
        check_eq(recv_exact(waiting, 2, "method selection"), b"\x05\x00",
                 "method selection of the sixth client (accepted)")
        waiting.settimeout(1.0)
        try:
            early = waiting.recv(10)
        except socket.timeout:
            early = None
        check(early is None, "the sixth client got %s at once, want to wait for a "
              "descriptor" % show(early or b"EOF"))
        held.pop(0).close()
        waiting.settimeout(BOUND)
        rep, _, _, raw = read_socks5_reply(waiting)
        check_eq(rep, 0, "REP once a session ended (%s)" % show(raw))
        transfer(waiting, pattern(100000, 5), "echo of the client that waited")
    finally:
        for sock in held + [waiting]:
            if sock is not None:
                sock.close()
    fds_back(hs, baseline, "after the wait")


# ------------------------------------------------------------ g. slow clients

def raise_nofile(want):
    """Raise this process's soft descriptor limit towards want (the hard
    limit caps it); hopsocks, started after, inherits it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# Ten bytes at one a second: nine seconds to send, far beyond the 2 s
# deadline even when a loaded machine runs hopsocks' timers late.
SLOW_GREETING = b"\x05\x08" + bytes(range(8))


class SlowClients:
    """n connections that send SLOW_GREETING one byte a second, from one
    thread; each records when the server ended it and what it received."""

    def __init__(self, addr, n):
        self.socks, self.sent, self.ended, self.got = [], {}, {}, {}
        self.sel = selectors.DefaultSelector()
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.connect_ex(addr)
            self.socks.append(s)
            self.sent[s] = 0
            self.got[s] = b""
            self.sel.register(s, selectors.EVENT_READ)
        self.clients = set()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        next_byte = time.monotonic()
        deadline = time.monotonic() + BOUND * 2
        while not self.stop.is_set() and len(self.ended) < len(self.socks):
            now = time.monotonic()
            if now > deadline:
                return
            if now >= next_byte:
                for s in self.socks:
                    if s in self.ended or self.sent[s] >= len(SLOW_GREETING):
                        continue
                    try:
                        if self.sent[s] == 0:
                            self.clients.add("127.0.0.1:%d" % s.getsockname()[1])
                        self.sent[s] += s.send(SLOW_GREETING[self.sent[s]:self.sent[s] + 1])
                    except (BlockingIOError, InterruptedError):
                        pass
                    except OSError:
                        self._end(s)
                next_byte = now + 1.0
            for key, _ in self.sel.select(timeout=max(0.0, min(0.2, next_byte - now))):
                s = key.fileobj
                try:
                    data = s.recv(4096)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    data = b""
                if data:
                    self.got[s] += data
                else:
                    self._end(s)

    def _end(self, s):
        if s not in self.ended:
            self.ended[s] = time.monotonic()
            self.sel.unregister(s)

    def close(self):
        self.stop.set()
        self.thread.join(BOUND)
        for s in self.socks:
            s.close()


@suite.test("2,000 slow clients (one byte a second; 500 under ASan) are all closed by the "
            "2 s handshake deadline without a byte, each logged result=handshake-timeout, "
            "while normal clients complete exact 32 KiB echoes; descriptors back to baseline")
def t_slow_clients(ctx):
    n = scaled(2000, 500)
    if raise_nofile(n * 2 + 200) < n * 2 + 200:
        raise Skip("descriptor limit below %d" % (n * 2 + 200))
    echo = ctx.own(EchoServer())
    hs = ctx.hopsocks(config=["timeout handshake 2s"], workers=2)
    # 32 KiB never fills a 64 KiB read, so no splice pipe joins a
    # worker's pool (two workers: which one serves a session is the
    # kernel's choice) and the descriptor count stays comparable.
    baseline = warm_baseline(hs, echo, 32768)
    slow = SlowClients(hs.addr, n)
    normal = {"done": 0, "errors": []}

    def normal_clients():
        data = pattern(32768, 8)
        while not slow.stop.is_set() and len(slow.ended) < n and normal["done"] < 300:
            try:
                sock, _, _ = socks5_open(hs.addr, "127.0.0.1", echo.port)
                with sock:
                    transfer(sock, data, "normal client %d" % normal["done"])
                normal["done"] += 1
                time.sleep(0.01)
            except Exception as e:  # reported below
                normal["errors"].append(e)
                return

    t = threading.Thread(target=normal_clients, daemon=True)
    t.start()
    try:
        check(wait_until(lambda: len(slow.ended) == n, BOUND * 2, 0.2),
              "%d of %d slow clients were closed by the server" % (len(slow.ended), n))
        t.join(BOUND)
        check(not normal["errors"], "a normal client failed: %s" % normal["errors"])
        check(normal["done"] >= 1, "no normal session completed meanwhile")
        talked = [g for g in slow.got.values() if g]
        check_eq(len(talked), 0, "slow clients that received bytes (first: %s)"
                 % show(talked[0] if talked else b""))
        unfinished = sum(1 for s in slow.socks if slow.sent[s] >= len(SLOW_GREETING))
        check_eq(unfinished, 0, "slow clients that got to send their whole greeting")
    finally:
        slow.close()
    timed_out = {r["client"] for r in hs.access() if r.get("result") == "handshake-timeout"}
    check_eq(len(slow.clients - timed_out), 0,
             "slow clients without a result=handshake-timeout access line (of %d)" % n)
    fds_back(hs, baseline, "after the slow clients")


# --------------------------------------- b. a client that vanishes without a FIN

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


class NetnsPair:
    """Two network namespaces of this test, "srv" and "cli", joined by a
    veth pair with private addresses that exist inside them only
    (SRV_IP/30 and CLI_IP/30).  Skips where namespaces cannot be made
    (CI runs in a chroot)."""

    SRV_IP, CLI_IP = "10.213.0.1", "10.213.0.2"

    def __init__(self, ctx):
        self.ip = require_program("ip", "iproute2")
        tag = "hsf%d%d" % (os.getpid() % 100000, ctx.next_index())
        self.srv, self.cli = tag + "s", tag + "c"
        self.made = []
        run = subprocess.run([self.ip, "netns", "add", self.srv], capture_output=True,
                             timeout=BOUND)
        if run.returncode != 0:
            raise Skip("cannot create a network namespace here (ip netns add: %s)"
                       % run.stderr.decode(errors="replace").strip())
        self.made.append(self.srv)
        # `ip -n` enters the namespace with a mount namespace of its own,
        # which a chroot (CI's) refuses ("mount --make-rslave /" failed):
        # the namespace exists but cannot be worked in.
        run = subprocess.run([self.ip, "-n", self.srv, "link", "set", "lo", "up"],
                             capture_output=True, timeout=BOUND)
        if run.returncode != 0:
            self.stop()
            raise Skip("cannot work in a network namespace here (ip -n: %s)"
                       % run.stderr.decode(errors="replace").strip())
        try:  # not owned by the test yet: remove what was made on any failure
            self._ip("netns", "add", self.cli)
            self.made.append(self.cli)
            self._ip("-n", self.srv, "link", "add", self.srv, "type", "veth", "peer", "name",
                     self.cli, "netns", self.cli)
            self._ip("-n", self.srv, "addr", "add", self.SRV_IP + "/30", "dev", self.srv)
            self._ip("-n", self.cli, "addr", "add", self.CLI_IP + "/30", "dev", self.cli)
            for ns in (self.srv, self.cli):
                self._ip("-n", ns, "link", "set", "lo", "up")
                self._ip("-n", ns, "link", "set", ns, "up")
            try:
                with self.inside(self.srv):
                    pass
            except OSError as e:
                raise Skip("cannot enter a network namespace here: %s" % e)
        except BaseException:
            self.stop()
            raise

    def _ip(self, *args):
        run = subprocess.run([self.ip] + list(args), capture_output=True, timeout=BOUND)
        check(run.returncode == 0, "ip %s: %s" % (" ".join(args),
                                                   run.stderr.decode(errors="replace")))

    @contextlib.contextmanager
    def inside(self, ns):
        """Run the body (this thread only) in namespace ns: the sockets it
        makes, and the processes it starts, belong there for good."""
        home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        there = os.open("/run/netns/" + ns, os.O_RDONLY)
        try:
            if _libc.setns(there, CLONE_NEWNET) != 0:
                e = ctypes.get_errno()
                raise OSError(e, "setns %s: %s" % (ns, os.strerror(e)))
            try:
                yield
            finally:
                if _libc.setns(home, CLONE_NEWNET) != 0:  # never stay elsewhere
                    os._exit(70)
        finally:
            os.close(there)
            os.close(home)

    def link_down(self):
        """Take the client's end of the link down: nothing it sends
        arrives any more, not even a FIN or an RST."""
        self._ip("-n", self.cli, "link", "set", self.cli, "down")

    def stop(self):
        for ns in reversed(self.made):
            subprocess.run([self.ip, "netns", "del", ns], capture_output=True, timeout=BOUND)
        self.made = []


@suite.test("a client that vanishes without a FIN (its namespace's link taken down): reaped "
            "by the 2 s idle timeout with its log line and result=idle-timeout; a session "
            "from elsewhere keeps working; descriptors back to baseline")
def t_client_vanishes(ctx):
    net = ctx.own(NetnsPair(ctx))
    with net.inside(net.srv):
        echo = ctx.own(EchoServer())
        hs = ctx.hopsocks(listen=("127.0.0.1", net.SRV_IP),
                          config=["timeout idle 2s", "allow from 127.0.0.0/8",
                                  "allow from %s/32" % net.CLI_IP], workers=1)
        warm_baseline(hs, echo)
        bystander = Bystander(hs, echo, size=4096)
    baseline = hs.stable_fd_count()
    with net.inside(net.cli):
        sock, _, _ = socks5_open(hs.addr_of(net.SRV_IP), "127.0.0.1", echo.port)
    client = "%s:%d" % (net.CLI_IP, sock.getsockname()[1])
    try:
        transfer(sock, pattern(4096, 6), "the client before it vanishes")
        net.link_down()
        # Meanwhile the bystander stays busy, so its idle timer never fires.
        rec = None
        deadline = time.monotonic() + BOUND
        while rec is None and time.monotonic() < deadline:
            transfer(bystander.sock, b"busy", "bystander while waiting")
            time.sleep(0.3)
            found = [r for r in hs.access() if r.get("client") == client]
            rec = found[0] if found else None
        check(rec is not None, "the vanished client's session was not ended within %.0fs"
              % BOUND)
        check_access(rec, {"result": "idle-timeout", "up": "4096", "down": "4096"},
                     "vanished client")
        want = "client %s session %s: idle for 2000 ms, closing" % (client, rec.get("session"))
        check(log_lines(hs, want), "no log line %r: %s" % (want, hs.stderr_tail(5)))
        fds_back(hs, baseline, "after the vanished client was reaped")
        transfer(bystander.sock, b"after", "bystander after the reaping")
        bystander.sock.close()
        rec = one_access(hs, bystander.client, "bystander")
        check_eq(rec.get("result"), "ok", "bystander result in %r" % rec["_line"])
    finally:
        sock.close()


# ------------------------------------------------------------ f. pipe quota

PIPE_UID = 64123  # numeric: needs no entry in the user database
F_SETPIPE_SZ = 1031

PIPE_HOLDER = """
import fcntl, os, sys
pipes = []
for _ in range(int(sys.argv[1])):
    pipes.append(os.pipe())
    try:
        fcntl.fcntl(pipes[-1][1], %d, 1 << 20)
    except OSError:
        print("full %%d" %% len(pipes), flush=True)
        break
else:
    print("never full", flush=True)
sys.stdin.read()
""" % F_SETPIPE_SZ


class PipeHolder:
    """A process of user PIPE_UID holding 1 MiB pipes until the kernel
    refuses it another: that user's pipe quota is then used up."""

    def __init__(self, max_pipes):
        def become_user():
            os.setgroups([])
            os.setgid(PIPE_UID)
            os.setuid(PIPE_UID)

        # Debian's python3: the user may not reach an interpreter under
        # root's home that runs this test.
        python = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else sys.executable
        self.proc = subprocess.Popen([python, "-c", PIPE_HOLDER, str(max_pipes)], cwd="/",
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     preexec_fn=become_user, close_fds=True)
        self.line = self.proc.stdout.readline().decode().strip()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(BOUND)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(BOUND)


def spliced_at_exit(hs):
    """Stop hs (it must exit 0) and return bytes_spliced from its exit
    stats line."""
    hs.stop_expect_zero()
    lines = log_lines(hs, "bytes_spliced=")
    check(lines, "no stats line with bytes_spliced= at exit: %s" % hs.stderr_tail(5))
    return int(re.search(r"bytes_spliced=(\d+)", lines[-1]).group(1))


def bulk_both_ways(hs, size):
    """size bytes down from a SourceServer and up to a SinkServer through
    hs; fails unless both SHA-256s match."""
    source = SourceServer(size, seed=21)
    sink = SinkServer()
    try:
        sock, _, _ = socks5_open(hs.addr, "127.0.0.1", source.port)
        with sock:
            data, end = read_to_close(sock, limit=size + 1)
        check_eq((len(data), end), (size, "eof"), "download length and end")
        check_eq(sha256(data), sha256(pattern(size, 21)), "download SHA-256")
        up = pattern(size, 22)
        sock, _, _ = socks5_open(hs.addr, "127.0.0.1", sink.port)
        with sock:
            sock.sendall(up)
            sock.shutdown(socket.SHUT_WR)
            answer, _ = read_to_close(sock)
        check_eq(answer, ("%s %d\n" % (sha256(up), size)).encode(), "the sink's SHA-256 line")
    finally:
        source.stop()
        sink.stop()


@suite.test("pipe quota used up (hopsocks runs as uid %d, whose other process holds 1 MiB "
            "pipes until refused): 8 MiB down and up relayed by read/write, SHA-256 exact, "
            "bytes_spliced=0; the same uid without the holder does splice" % PIPE_UID)
def t_pipe_quota(ctx):
    if os.geteuid() != 0:
        raise Skip("needs root to run hopsocks and a pipe holder as another user")
    try:
        pwd.getpwuid(PIPE_UID)
        raise Skip("uid %d is a real user here; the test needs it unused" % PIPE_UID)
    except KeyError:
        pass
    with open("/proc/sys/fs/pipe-user-pages-soft") as f:
        soft_pages = int(f.read())
    if soft_pages == 0:
        raise Skip("fs.pipe-user-pages-soft is 0: no per-user pipe quota to use up")
    size = 8 << 20
    hs = ctx.hopsocks(config=["relay splice", "user %d" % PIPE_UID, "group %d" % PIPE_UID],
                      workers=1)
    bulk_both_ways(hs, size)
    control = spliced_at_exit(hs)
    check(control >= size, "without the holder, bytes_spliced=%d: this uid should splice "
          "(the test would prove nothing)" % control)
    holder = ctx.own(PipeHolder(soft_pages // 256 + 16))
    check(holder.line.startswith("full "), "the pipe holder: %r" % holder.line)
    hs = ctx.hopsocks(config=["relay splice", "user %d" % PIPE_UID, "group %d" % PIPE_UID],
                      workers=1)
    bulk_both_ways(hs, size)
    check_eq(spliced_at_exit(hs), 0, "bytes_spliced with the quota used up")


# ---------------------------------------------------------- e. memory pressure

def vm_size(pid):
    """The address space of pid, in bytes (VmSize)."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise TestFailure("no VmSize for pid %d" % pid)


def finish_handshake(sock, port, payload):
    """Send the rest of a SOCKS5 CONNECT whose first byte (05) is already
    sent, then payload; ("ok", echoed bytes, how it ended) when CONNECT
    succeeded, ("refused", bytes, how) when hopsocks answered with a
    failure reply or closed first -- after nothing, or after a selection,
    never garbage."""
    sock.settimeout(BOUND)
    try:
        sock.sendall(b"\x01\x00" + socks5_request("127.0.0.1", port))
    except OSError:
        return "refused", b"", "send failed"
    data, end = b"", None
    while len(data) < 12 and end is None:
        try:
            chunk = sock.recv(12 - len(data))
            data += chunk
            end = None if chunk else "eof"
        except ConnectionResetError:
            end = "reset"
    if end is not None:
        check(b"\x05\x00\x05".startswith(data[:3]) and (len(data) < 4 or data[3] != 0),
              "bytes before the close under memory pressure: %s" % show(data))
        return "refused", data, end
    check_eq((data[:3], data[4:5]), (b"\x05\x00\x05", b"\x00"),
             "selection and CONNECT reply under pressure: %s" % show(data))
    if data[3] != 0:  # a failure reply (05 01 when the dial could not be allocated)
        rest, end = read_to_close(sock)
        check_eq((rest, end in ("eof", "reset")), (b"", True),
                 "after a failure reply under pressure (%s)" % end)
        return "refused", data, end
    try:
        sock.sendall(payload)
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    echoed, end = read_to_close(sock, limit=len(payload))
    check(payload.startswith(echoed), "corrupt echo under memory pressure (%d bytes)"
          % len(echoed))
    return "ok", echoed, end


@suite.test("memory pressure (RLIMIT_AS = the address space in use + 6 MiB, one malloc "
            "arena): of 150 clients that each make hopsocks hold a 64 KiB buffer, those it "
            "cannot allocate for are closed with an out-of-memory warning and result=error, "
            "the others finish with exact echoes; no crash; afterwards a session echoes "
            "exactly and descriptors are back to baseline")
def t_memory_pressure(ctx):
    if asan_build():
        raise Skip("the ASan build reserves terabytes of shadow memory, so RLIMIT_AS cannot "
                   "make its allocations fail (and a cgroup limit kills instead)")
    if WRAPPER:
        raise Skip("under %s the address space is the wrapper's too, so RLIMIT_AS starves "
                   "it, not hopsocks" % os.path.basename(WRAPPER[0]))
    echo = ctx.own(EchoServer())
    # One malloc arena: the worker's allocations then grow the heap, which
    # RLIMIT_AS bounds, instead of a 64 MiB arena reserved up front.
    hs = ctx.hopsocks(config=["splice-pipes 0"], workers=1,
                      wrapper=["env", "MALLOC_ARENA_MAX=1"])
    baseline = warm_baseline(hs, echo, 65536)
    limit = vm_size(hs.pid) + (6 << 20)
    _soft, hard = resource.prlimit(hs.pid, resource.RLIMIT_AS)
    resource.prlimit(hs.pid, resource.RLIMIT_AS, (limit, hard))
    # Each client sends one byte of its greeting: hopsocks reads it into a
    # 64 KiB buffer and keeps that buffer while it waits for the rest.
    socks = []
    try:
        for _ in range(150):
            sock = connect(hs.addr)
            socks.append(sock)
            sock.sendall(b"\x05")
        hs.stable_fd_count(quiet=0.5)
        check(hs.alive(), "hopsocks died under memory pressure (%s)" % hs.proc.poll())
        outcomes = {"ok": 0, "refused": 0}
        complete = 0
        payload = pattern(4096, 31)
        refused = []
        for sock in socks:
            client = client_of(sock)
            what, echoed, _end = finish_handshake(sock, echo.port, payload)
            outcomes[what] += 1
            complete += what == "ok" and echoed == payload
            if what == "refused":
                refused.append(client)
            sock.close()
        check(hs.alive(), "hopsocks died under memory pressure (%s)" % hs.proc.poll())
        check(outcomes["refused"] > 0, "no client was refused: memory was not tight (%r), "
              "the test proves nothing" % outcomes)
        check(complete > 0, "no client was served completely: %r" % outcomes)
    finally:
        for sock in socks:
            sock.close()
    # Every refused client is accounted for: a line saying it was out of
    # memory ("out of memory for a buffer", or "connect to ... failed:
    # Cannot allocate memory" with a 05 01), then an access line
    # result=error (or, when no session could be made at all, the refusal
    # line alone).
    def out_of_memory_line(client):
        return [line for line in log_lines(hs, "client %s session " % client)
                if "out of memory" in line or "Cannot allocate memory" in line]

    # A client turned away before it had a session is named by the
    # refusal line only while those come at most once a second; the ones
    # in between are counted in the next line ("N more refused").
    def refusal_lines():
        return log_lines(hs, ": refused, out of memory")

    def said(client):
        if any("client %s: refused, out of memory" % client in line
               for line in refusal_lines()):
            return True
        recs = [r for r in hs.access() if r.get("client") == client]
        return recs and recs[0].get("result") == "error" and out_of_memory_line(client)

    wait_until(lambda: all(said(c) for c in refused), BOUND / 3)
    unnamed = [c for c in refused if not said(c)]
    counted = sum(int(m.group(1)) for m in
                  (re.search(r"\((\d+) more refused since", line) for line in refusal_lines())
                  if m)
    check(not unnamed or refusal_lines(),
          "refused clients with no 'out of memory' line nor access line result=error, and no "
          "refusal line at all: %s" % unnamed[:5])
    check(counted <= len(refused), "the refusal lines count %d more refused, but only %d "
          "clients were refused" % (counted, len(refused)))
    sock, _, _ = socks5_open(hs.addr, "127.0.0.1", echo.port)
    with sock:
        transfer(sock, pattern(65536, 32), "a session after the load")
    fds_back(hs, baseline, "after memory pressure")
    print("# memory pressure: %d served (%d complete echoes), %d refused"
          % (outcomes["ok"], complete, outcomes["refused"]))

if __name__ == "__main__":
    suite.run()
