#!/usr/bin/env python3
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
import errno
import fcntl
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
                     check_eq, chain_block, connect, connects, echo_roundtrip, hop_url,
                     log_lines, read_socks5_reply, read_to_close, recv_exact, require_program,
                     show, socks5_open, socks5_request, wait_until)
from dnsserver import DnsServer  # noqa: E402
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


@suite.test("an upstream hop (microsocks) killed mid-stream: the client's session ends (EOF), "
            "access result=reset route=up; a direct session unaffected; descriptors back to "
            "baseline")
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


if __name__ == "__main__":
    suite.run()
