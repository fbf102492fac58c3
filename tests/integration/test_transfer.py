#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors.
"""Bulk data through hopsocks, every byte checked by SHA-256: 64 MiB up,
64 MiB down, 64 MiB each way at once, half-close in both directions,
concurrent full-duplex streams, and back-pressure (a client that stops
reading must stall the target, not grow the server's memory). Bulk
streams go by splice through pooled pipes; the stats line hopsocks logs at
exit says how many bytes did, so the tests can tell the paths apart:
splice, read/write (splice-pipes 0), and one direction of each."""

import os
import re
import socket
import struct
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (BOUND, Suite, TestFailure, check, check_eq, connect,  # noqa: E402
                     log_lines, read_socks4_reply, read_socks5_reply, read_to_close, recv_exact, show,
                     socks4_request, socks5_open, socks5_request, wait_until)
from servers import (EchoServer, SinkServer, SourceServer, TcpServer, pattern,  # noqa: E402
                     read_all, sha256)

suite = Suite()
MiB = 1 << 20
BIG = 64 * MiB
SLOW = BOUND * 6  # bound for one bulk transfer on a slow (sanitizer) build


def sink_answer(sock):
    """The SinkServer's one-line answer, after our own SHUT_WR."""
    line = b""
    sock.settimeout(SLOW)
    while not line.endswith(b"\n"):
        chunk = sock.recv(256)
        if not chunk:
            raise TestFailure("EOF before the sink's answer (got %r)" % line)
        line += chunk
    digest, count = line.decode().split()
    return digest, int(count), len(line)


def send_in_thread(sock, data, shut=False):
    """Send data on a thread (so the caller can read at the same time);
    returns a function that joins it and re-raises its error."""
    errors = []

    def run():
        try:
            sock.settimeout(SLOW)
            sock.sendall(data)
            if shut:
                sock.shutdown(socket.SHUT_WR)
        except Exception as e:
            errors.append(e)

    t = threading.Thread(target=run, daemon=True)
    t.start()

    def join():
        t.join(SLOW)
        if t.is_alive():
            raise TestFailure("sender thread still running after %.0fs" % SLOW)
        if errors:
            raise TestFailure("sender: %r" % errors[0])
    return join


def check_access_bytes(hs, client, up, down):
    rec = hs.wait_access(lambda r: r.get("client") == client)
    check_eq((rec.get("result"), rec.get("up"), rec.get("down")), ("ok", str(up), str(down)),
             "access result/up/down of %r" % rec["_line"])


@suite.test("64 MiB upload then half-close: the sink's SHA-256 and count match; access up=67108864")
def t_upload(ctx):
    sink = ctx.own(SinkServer())
    hs = ctx.hopsocks()
    data = pattern(BIG, seed=21)
    sock, _, _ = socks5_open(hs.addr, "127.0.0.1", sink.port)
    client = "127.0.0.1:%d" % sock.getsockname()[1]
    with sock:
        sock.settimeout(SLOW)
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        digest, count, answer_len = sink_answer(sock)
    check_eq(count, BIG, "bytes the sink received")
    check_eq(digest, sha256(data), "SHA-256 at the sink")
    check_access_bytes(hs, client, BIG, answer_len)


@suite.test("64 MiB download from a source target: SHA-256 and count match; access down=67108864")
def t_download(ctx):
    src = ctx.own(SourceServer(BIG, seed=22))
    hs = ctx.hopsocks()
    sock, _, _ = socks5_open(hs.addr, "127.0.0.1", src.port)
    client = "127.0.0.1:%d" % sock.getsockname()[1]
    with sock:
        digest, count = read_all(sock)
    check_eq(count, BIG, "bytes received")
    check_eq(digest, sha256(pattern(BIG, seed=22)), "SHA-256 received")
    check_access_bytes(hs, client, 0, BIG)


@suite.test("64 MiB each way at once through an echo target on ::1: both SHA-256 match")
def t_full_duplex(ctx):
    echo = ctx.own(EchoServer("::1"))
    hs = ctx.hopsocks()
    data = pattern(BIG, seed=23)
    sock, _, _ = socks5_open(hs.addr, "::1", echo.port)
    client = "127.0.0.1:%d" % sock.getsockname()[1]
    with sock:
        join = send_in_thread(sock, data)
        digest, count = read_all(sock, limit=BIG)
        join()
    check_eq(count, BIG, "bytes echoed")
    check_eq(digest, sha256(data), "SHA-256 of the echo")
    check_access_bytes(hs, client, BIG, BIG)


@suite.test("half-close via SOCKS4: send, SHUT_WR, then read the target's SHA-256 answer")
def t_half_close_client_first(ctx):
    sink = ctx.own(SinkServer())
    hs = ctx.hopsocks()
    data = pattern(300000, seed=24)
    sock = connect(hs.addr)
    with sock:
        sock.sendall(socks4_request("127.0.0.1", sink.port, b"u"))
        cd, _, _, raw = read_socks4_reply(sock)
        check(cd == 0x5A, "SOCKS4 reply %r" % raw)
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        digest, count, _ = sink_answer(sock)
        check_eq((digest, count), (sha256(data), len(data)), "sink's hash and count")
        tail = sock.recv(16)
        check_eq(tail, b"", "after the answer: EOF")


@suite.test("pipelined data and FIN before the CONNECT completes: the sink still gets every byte and EOF")
def t_fin_before_connect(ctx):
    sink = ctx.own(SinkServer())
    hs = ctx.hopsocks()
    data = pattern(200000, seed=28)
    sock = connect(hs.addr)
    with sock:
        sock.sendall(b"\x05\x01\x00" + socks5_request("127.0.0.1", sink.port) + data)
        sock.shutdown(socket.SHUT_WR)
        check_eq(recv_exact(sock, 2, "selection"), b"\x05\x00", "selection")
        rep, _, _, raw = read_socks5_reply(sock)
        check(rep == 0, "CONNECT reply %s" % show(raw))
        digest, count, _ = sink_answer(sock)
    check_eq((digest, count), (sha256(data), len(data)), "sink's hash and count")


class CloseAtOnce(TcpServer):
    """Accepts and closes at once: with reset=True by RST (SO_LINGER 0)."""

    def __init__(self, reset, host="127.0.0.1"):
        self.reset = reset
        super().__init__(host)

    def handle(self, conn):
        if self.reset:
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


@suite.test("a target that closes (FIN) or resets (RST) at once: the client gets EOF/reset, access result")
def t_target_closes(ctx):
    for reset in (False, True):
        srv = ctx.own(CloseAtOnce(reset))
        hs = ctx.hopsocks()
        sock, _, _ = socks5_open(hs.addr, "127.0.0.1", srv.port)
        with sock:
            data, how = read_to_close(sock)
            check_eq(data, b"", "bytes from a target that sent nothing")
            check(how in ("eof", "reset"), "not closed after the target %s (%s)"
                  % ("reset" if reset else "closed", how))
        rec = hs.wait_access(lambda r: r.get("target") == "127.0.0.1:%d" % srv.port)
        check_eq((rec.get("up"), rec.get("down")), ("0", "0"), "access up/down of %r" % rec["_line"])


class TalkFirstThenListen(TcpServer):
    """Sends its data, half-closes (SHUT_WR), then reads to EOF and records
    the SHA-256 of what still arrived after its own FIN."""

    def __init__(self, data, host="127.0.0.1"):
        self.data, self.result = data, None
        super().__init__(host)

    def handle(self, conn):
        conn.sendall(self.data)
        conn.shutdown(socket.SHUT_WR)
        digest, count = read_all(conn)
        self.result = (digest, count)


@suite.test("half-close from the target: client reads to EOF, then still sends 1 MiB that arrives intact")
def t_half_close_target_first(ctx):
    down, up = pattern(MiB, seed=25), pattern(MiB, seed=26)
    srv = ctx.own(TalkFirstThenListen(down))
    hs = ctx.hopsocks()
    sock, _, _ = socks5_open(hs.addr, "127.0.0.1", srv.port)
    with sock:
        digest, count = read_all(sock)
        check_eq((digest, count), (sha256(down), MiB), "data before the target's FIN")
        sock.sendall(up)
        sock.shutdown(socket.SHUT_WR)
        check(wait_until(lambda: srv.result is not None, SLOW),
              "target did not see EOF after the client's SHUT_WR")
    check_eq(srv.result, (sha256(up), MiB), "what the target read after its own FIN")


@suite.test("8 concurrent full-duplex streams of 8 MiB each way: every SHA-256 matches")
def t_concurrent(ctx):
    echo = ctx.own(EchoServer())
    hs = ctx.hopsocks()
    results, threads = {}, []

    def stream(i):
        data = pattern(8 * MiB, seed=100 + i)
        try:
            sock, _, _ = socks5_open(hs.addr, "127.0.0.1", echo.port)
            with sock:
                join = send_in_thread(sock, data)
                results[i] = read_all(sock, limit=len(data)) == (sha256(data), len(data))
                join()
        except Exception as e:
            results[i] = e

    for i in range(8):
        t = threading.Thread(target=stream, args=(i,), daemon=True)
        threads.append(t)
        t.start()
    for t in threads:
        t.join(SLOW)
    bad = {i: r for i, r in results.items() if r is not True}
    check(len(results) == 8, "only %d of 8 streams finished within %.0fs" % (len(results), SLOW))
    check(not bad, "streams with wrong data or errors: %r" % bad)


@suite.test("back-pressure: a client that stops reading stalls a 64 MiB source below 32 MiB; then all arrives")
def t_backpressure(ctx):
    src = ctx.own(SourceServer(BIG, seed=27))
    hs = ctx.hopsocks()
    sock, _, _ = socks5_open(hs.addr, "127.0.0.1", src.port)
    with sock:
        stalled_at = _wait_stall(src)
        check(stalled_at is not None, "the source never stalled within %.0fs (sent %d bytes)"
              % (BOUND, src.sent))
        check(stalled_at < 32 * MiB, "the source got %d MiB out while the client read nothing:"
              " the server buffers without bound" % (stalled_at // MiB))
        digest, count = read_all(sock)
    check_eq((digest, count), (sha256(pattern(BIG, seed=27)), BIG), "SHA-256 and count after resuming")


@suite.test("SIGTERM in the middle of a 64 MiB download: exit 0, the client sees the stream end")
def t_sigterm_mid_transfer(ctx):
    src = ctx.own(SourceServer(BIG, seed=29))
    hs = ctx.hopsocks()
    sock, _, _ = socks5_open(hs.addr, "127.0.0.1", src.port)
    with sock:
        recv_exact(sock, MiB, "first MiB")
        hs.stop_expect_zero()
        try:
            _, count = read_all(sock)
        except ConnectionResetError:
            count = 0  # a reset is as good an end as EOF here
    check(count < BIG - MiB, "the whole stream arrived although hopsocks exited")


def spliced_at_exit(hs):
    """bytes_spliced from the stats line hopsocks logs as it exits."""
    hs.stop_expect_zero()
    lines = log_lines(hs, "bytes_spliced=")
    check(lines, "no stats line with bytes_spliced= at exit: %s" % hs.stderr_tail(5))
    return int(re.search(r"bytes_spliced=(\d+)", lines[-1]).group(1))


def download(hs, seed):
    """64 MiB from a source target through hs; checks SHA-256 and count."""
    src = hs.ctx.own(SourceServer(BIG, seed=seed))
    sock, _, _ = socks5_open(hs.addr, "127.0.0.1", src.port)
    with sock:
        digest, count = read_all(sock)
    check_eq((digest, count), (sha256(pattern(BIG, seed=seed)), BIG), "SHA-256 and count")


@suite.test("a bulk download goes by splice: SHA-256 matches, and the exit stats line counts "
            "most of the 64 MiB in bytes_spliced")
def t_splice_used(ctx):
    hs = ctx.hopsocks(config=["relay splice"])
    download(hs, seed=31)
    spliced = spliced_at_exit(hs)
    check(BIG // 2 <= spliced <= BIG, "bytes_spliced=%d of a %d-byte download" % (spliced, BIG))


@suite.test("splice-pipes 0: the same download by read/write only, SHA-256 matches, "
            "bytes_spliced=0")
def t_splice_off(ctx):
    hs = ctx.hopsocks(config=["splice-pipes 0"])
    download(hs, seed=32)
    check_eq(spliced_at_exit(hs), 0, "bytes_spliced with splice-pipes 0")


@suite.test("short exchanges stay on read/write: 200 echoes of 100 bytes, bytes_spliced=0")
def t_splice_not_for_small(ctx):
    echo = ctx.own(EchoServer())
    hs = ctx.hopsocks()
    sock, _, _ = socks5_open(hs.addr, "127.0.0.1", echo.port)
    with sock:
        for i in range(200):
            msg = b"%03d" % i + b"x" * 97
            sock.sendall(msg)
            check_eq(recv_exact(sock, len(msg), "echo %d" % i), msg, "echo %d" % i)
    check_eq(spliced_at_exit(hs), 0, "bytes_spliced after short exchanges")


@suite.test("splice-pipes 1 with 64 MiB each way: one direction splices, the other falls back "
            "to read/write, both SHA-256 match")
def t_splice_one_pipe(ctx):
    echo = ctx.own(EchoServer())
    hs = ctx.hopsocks(config=["relay splice", "splice-pipes 1"], workers=1)
    data = pattern(BIG, seed=33)
    sock, _, _ = socks5_open(hs.addr, "127.0.0.1", echo.port)
    with sock:
        join = send_in_thread(sock, data)
        digest, count = read_all(sock, limit=BIG)
        join()
    check_eq((digest, count), (sha256(data), BIG), "SHA-256 and count of the echo")
    spliced = spliced_at_exit(hs)
    check(0 < spliced < 2 * BIG, "bytes_spliced=%d of 2 x %d bytes with one pipe"
          % (spliced, BIG))


def _wait_stall(src, quiet=1.0):
    """src.sent once it stopped growing for `quiet` seconds, None if it
    kept growing (or finished) for BOUND seconds."""
    deadline = time.monotonic() + BOUND
    last, since = src.sent, time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.1)
        now = src.sent
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet and now < BIG:
            return now
    return None


class AnswerThenReset(TcpServer):
    """A server that stops taking an upload it no longer wants: it reads
    the request head, sends its whole answer, shuts down its sending side,
    reads nothing more, and a moment later resets the connection (close
    with SO_LINGER 0), like a web server answering 413 to a body it will
    not read."""

    def __init__(self, answer, after=1.0):
        self.answer = answer
        self.after = after
        self.reset_done = threading.Event()
        super().__init__()

    def handle(self, conn):
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = conn.recv(4096)
            if not chunk:
                return
            head += chunk
        conn.sendall(self.answer)
        conn.shutdown(socket.SHUT_WR)
        # The upload is not read any more: it backs up to the client.
        self._stopping.wait(self.after)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()
        self.reset_done.set()


@suite.test("an error in one direction loses nothing owed in the other: the target sends a "
            "200 KiB answer, shuts down and resets a second later while the client still uploads "
            "and has not read yet; the client then reads all 200 KiB (SHA-256) and a clean EOF; "
            "access result=reset")
def t_answer_survives_reset(ctx):
    answer = pattern(200 * 1024, seed=5)
    target = ctx.own(AnswerThenReset(answer))
    hs = ctx.hopsocks()
    sock = socks5_open(hs.addr, "127.0.0.1", target.port)[0]
    client = "127.0.0.1:%d" % sock.getsockname()[1]
    sock.settimeout(BOUND)
    sock.sendall(b"PUT /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000000\r\n\r\n")
    chunk = pattern(1 << 16, seed=6)

    def upload():
        """Send until the target has reset (bounded in bytes), not reading."""
        sent = 0
        try:
            while not target.reset_done.is_set() and sent < (512 << 20):
                sent += sock.send(chunk)
        except OSError:
            pass  # what the old relay did: it reset the client too
    uploader = threading.Thread(target=upload, daemon=True)
    uploader.start()
    check(target.reset_done.wait(BOUND), "the target never reset its connection")
    uploader.join(BOUND)
    check(not uploader.is_alive(), "the upload is still blocked after the target reset")
    data, how = read_to_close(sock, BOUND, limit=1 << 22)
    sock.close()
    check_eq((len(data), sha256(data), how), (len(answer), sha256(answer), "eof"),
             "what the client read after the reset (length, SHA-256, end)")
    rec = hs.wait_access(lambda r: r.get("client") == client)
    check_eq((rec.get("result"), rec.get("down")), ("reset", str(len(answer))),
             "access result and down= of %r" % rec["_line"])


if __name__ == "__main__":
    suite.run()
