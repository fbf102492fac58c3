#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors.
"""Reload (SIGHUP) and graceful stop (SIGTERM with `drain`).

Reload: 100 SOCKS5 streams echo their data back intact (SHA-256 of every
stream) while the configuration is reloaded ten times, valid and invalid in
turn; after each valid reload a new connection follows the new rules, after
each invalid one the old rules still hold and the log names FILE:LINE.
Listen addresses added and removed by a reload are opened and closed (the
listening sockets of a kept address stay the very same sockets), sessions on
a removed address keep relaying.  Sessions of a user deleted from the user
file end with result=user-removed unless `reload-keep-sessions on`; a broken
user file keeps the old users.  Sessions in flight keep the timeouts they
started with.

Graceful stop: listeners close at once, sessions still in their handshake
end at SIGTERM, a relaying session finishes its transfer within the drain
time (and the process exits as soon as it is done), a session that never
finishes, and a UDP association, are closed when the drain time ends; the
exit status is 0 every time.
"""

import hashlib
import os
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
from harness import (BOUND, HOPSOCKS_PASSWD_BIN, SLOW, Skip, Suite, TestFailure, check,  # noqa: E402
                     check_eq, connect, encode_addr5, expect_closed, fmt_addr, free_port,
                     read_socks4_reply, read_socks5_reply, read_to_close, recv_exact, show, socks4_request,
                     socks5_auth, socks5_open, socks5_request, wait_until, write_users)
from harness import log_lines as harness_log_lines  # noqa: E402
from servers import Blackhole, EchoServer, SinkServer, pattern, sha256  # noqa: E402

suite = Suite()
MiB = 1 << 20

# Reload under load: STREAMS sessions of STREAM_SIZE bytes each way (the
# issue's 100 sessions; 200 MiB each way through the proxy).  The test takes
# 2-4 s with an ASan build on two cores, also with both cores busy.
STREAMS = 100
STREAM_SIZE = 2 * MiB
RELOADS = 10

DRAIN = 5.0  # seconds: `drain 5s` in the graceful-stop tests

RELOADED = "configuration reloaded (generation "
RELOAD_FAILED = "reload failed, keeping the running configuration: "


# ------------------------------------------------------------------ helpers

def log_lines(hs, needle):
    """The complete lines of hs's stderr that contain needle (harness.py's,
    which a line still being written does not fool)."""
    return harness_log_lines(hs, needle)


def write_config(hs, lines, listen=None):
    """Replace hs's config file (atomically): `listen` lines for listen, a
    list of (host, port) (default: the addresses it started with), its
    `workers` line, then lines.  Returns the file's lines, so a test can
    name the line number of a directive (index + 1)."""
    if listen is None:
        listen = list(hs.ports.items())
    text = ["# rewritten by test_reload.py"]
    text += ["listen %s" % fmt_addr(h, p) for h, p in listen]
    text.append("workers %d" % hs.workers)
    text += list(lines)
    tmp = hs.conf_path + ".new"
    with open(tmp, "w") as f:
        f.write("\n".join(text) + "\n")
    os.replace(tmp, hs.conf_path)
    return text


def sighup(hs):
    """Send SIGHUP and wait (bounded) for the line that says how the reload
    went: ("ok" | "failed", line)."""
    n_ok, n_failed = len(log_lines(hs, RELOADED)), len(log_lines(hs, RELOAD_FAILED))
    os.kill(hs.pid, signal.SIGHUP)

    def outcome():
        ok, failed = log_lines(hs, RELOADED), log_lines(hs, RELOAD_FAILED)
        if len(ok) > n_ok:
            return "ok", ok[n_ok]
        if len(failed) > n_failed:
            return "failed", failed[n_failed]
        return None
    got = wait_until(outcome)
    check(got, "no reload outcome logged within %.0fs of SIGHUP" % BOUND)
    check(hs.alive(), "hopsocks exited on SIGHUP")
    return got


def reload_ok(hs, generation):
    kind, line = sighup(hs)
    want = "info configuration reloaded (generation %d)" % generation
    check(kind == "ok" and line.endswith(want),
          "after SIGHUP: %r, want a line ending %r" % (line, want))


def reload_fails(hs, reason):
    """reason: "FILE:LINE: message", what the failure line must end with."""
    kind, line = sighup(hs)
    want = "error " + RELOAD_FAILED + reason
    check(kind == "failed" and line.endswith(want),
          "after SIGHUP: %r, want a line ending %r" % (line, want))


def greeting_answer(addr):
    """hopsocks' method selection for a greeting offering only 'no
    authentication' (05 00 without a user file, 05 FF with one)."""
    with connect(addr) as s:
        s.sendall(b"\x05\x01\x00")
        return recv_exact(s, 2, "method selection")


def rfc1929_answer(addr, user, password):
    """The RFC 1929 status byte pair for user/password (01 00 = accepted)."""
    with connect(addr) as s:
        s.sendall(b"\x05\x01\x02")
        check_eq(recv_exact(s, 2, "method selection"), b"\x05\x02", "method selection")
        s.sendall(socks5_auth(user, password))
        return recv_exact(s, 2, "RFC 1929 reply")


def roundtrip(sock, size, seed, what):
    """Send size bytes and read the echo back, comparing SHA-256."""
    data = pattern(size, seed)
    sock.sendall(data)
    got = recv_exact(sock, size, what)
    check(got == data, "%s: sha256 %s, want %s" % (what, sha256(got), sha256(data)))


def client_of(sock):
    return "127.0.0.1:%d" % sock.getsockname()[1] if sock.family == socket.AF_INET \
        else "[%s]:%d" % sock.getsockname()[:2]


def records_of(hs, sock_or_client):
    client = sock_or_client if isinstance(sock_or_client, str) else client_of(sock_or_client)
    return [r for r in hs.access() if r.get("client") == client]


def wait_record(hs, client, what):
    """The access record of the session from client (written when it ends)."""
    return hs.wait_access(lambda r: r.get("client") == client, what="access line of %s" % what)


def refused(host, port):
    """True if a TCP connect to host:port is refused (or reset at once)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.settimeout(2.0)
        try:
            s.connect((host, port))
        except (ConnectionRefusedError, ConnectionResetError):
            return True
        except OSError:
            return False
        return False


def check_refusing(addr, since, when, within=1.0):
    """addr refuses connections within `within` seconds of `since` (the
    moment of the signal: the workers close their listeners a moment after
    the main thread read it), and then stays refusing. Each worker closes
    its own SO_REUSEPORT listener, so for a moment some may refuse (or
    reset what sat in their queue) while another still accepts: wait for
    three refusals in a row."""
    wait_until(lambda: all(refused(*addr) for _ in range(3)), timeout=within)
    t = time.monotonic() - since
    for attempt in range(3):
        check(refused(*addr), "%s: a new connection to %s was not refused (attempt %d, "
              "%.2fs after the signal)" % (when, fmt_addr(*addr), attempt + 1, t))
    check(t < within + 0.5, "%s: %s refused only %.2fs after the signal" % (when, fmt_addr(*addr), t))


def hopsocks_listeners(hs):
    """{(host, port): set of socket inodes} of the TCP sockets hopsocks
    listens on, from /proc/net/tcp{,6} and the process's descriptors."""
    mine = set()
    for fd in os.listdir("/proc/%d/fd" % hs.pid):
        try:
            target = os.readlink("/proc/%d/fd/%s" % (hs.pid, fd))
        except OSError:
            continue
        if target.startswith("socket:["):
            mine.add(target[8:-1])
    found = {}
    for table, family in (("/proc/net/tcp", socket.AF_INET), ("/proc/net/tcp6", socket.AF_INET6)):
        with open(table) as f:
            next(f)
            for row in f:
                fields = row.split()
                local, state, inode = fields[1], fields[3], fields[9]
                if state != "0A" or inode not in mine:  # 0A = LISTEN
                    continue
                hexaddr, hexport = local.split(":")
                raw = bytes.fromhex(hexaddr)
                # The kernel prints each 32-bit word in host byte order.
                raw = b"".join(struct.pack("=I", struct.unpack(">I", raw[i:i + 4])[0])
                               for i in range(0, len(raw), 4))
                host = socket.inet_ntop(family, raw)
                found.setdefault((host, int(hexport, 16)), set()).add(inode)
    return found


def wait_exit(hs, timeout):
    """Wait for hopsocks to exit by itself (no signal); its status."""
    try:
        hs.returncode = hs.proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        raise TestFailure("hopsocks pid %d still running %.1fs later" % (hs.pid, timeout))
    return hs.returncode


def passwd(*args, password=None):
    """Run hopsocks-passwd with args (the password on stdin, if any)."""
    run = subprocess.run([HOPSOCKS_PASSWD_BIN] + list(args),
                         input=(password + "\n").encode() if password is not None else b"",
                         capture_output=True, timeout=BOUND)
    check(run.returncode == 0, "hopsocks-passwd %s failed (%d): %s"
          % (" ".join(args), run.returncode, run.stderr.decode(errors="replace")))


class UdpEcho:
    """A UDP target on 127.0.0.1 that sends every datagram back."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.addr = self.sock.getsockname()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self):
        while not self._stop.is_set():
            try:
                data, peer = self.sock.recvfrom(65536)
                self.sock.sendto(data, peer)
            except socket.timeout:
                continue
            except OSError:
                return

    def stop(self):
        self._stop.set()
        self._thread.join(BOUND)
        self.sock.close()


def udp_associate(hs):
    """(control socket, UDP socket, relay address) of a new association."""
    ctl = connect(hs.addr)
    ctl.sendall(b"\x05\x01\x00" + socks5_request("0.0.0.0", 0, cmd=3))
    check_eq(recv_exact(ctl, 2, "method selection"), b"\x05\x00", "method selection")
    rep, host, port, raw = read_socks5_reply(ctl)
    check(rep == 0, "UDP ASSOCIATE reply %s" % show(raw))
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    udp.settimeout(BOUND)
    return ctl, udp, (host, port)


def udp_roundtrip(udp, relay, target, payload, what):
    header = b"\x00\x00\x00" + encode_addr5(target[0]) + struct.pack(">H", target[1])
    udp.sendto(header + payload, relay)
    try:
        data, _ = udp.recvfrom(65536)
    except socket.timeout:
        raise TestFailure("%s: no datagram back within %.0fs" % (what, BOUND))
    check_eq(data, header + payload, what)


# ---------------------------------------------------------- the stream load

class StreamLoad:
    """n SOCKS5 sessions through hs to an echo target, all driven by one
    thread with a selector.  Stream i sends SIZE bytes (a slice of one
    pattern at offset i * 4096, so no two streams carry the same bytes and
    crossed wires show) and reads the echo, hashing it.  Until release()
    each stream sends CHUNK bytes every PACE seconds (STREAMS * CHUNK / PACE
    = about 31 MiB/s each way for the defaults) and holds back its last CHUNK, so
    data keeps flowing while the test reloads and every session is still
    open at the last reload; then the rest goes at full speed.

    On a slow machine (valgrind) the reloads may outlast the pace, so the
    test also grants the streams their bytes in slices, one per reload
    (grant()): whatever the speed, there is always data left to move
    between two reloads."""

    CHUNK = 16 * 1024
    PACE = 0.05 * SLOW

    def __init__(self, hs, target, n, size):
        self.size, self.held = size, size - self.CHUNK
        self.data = memoryview(pattern(size + n * 4096, seed=41))
        self.want = [sha256(self.data[i * 4096:i * 4096 + size]) for i in range(n)]
        self.socks, self.clients = [], []
        for _ in range(n):
            sock, _, _ = socks5_open(hs.addr, *target)
            self.clients.append(client_of(sock))
            sock.setblocking(False)
            self.socks.append(sock)
        self.sent = [0] * n
        self.got = [0] * n
        self.digests = [hashlib.sha256() for _ in range(n)]
        self.errors = []
        self.granted = self.held
        self.released = threading.Event()
        self.finished = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self.started = time.monotonic()
        self.thread.start()

    def release(self):
        self.released.set()

    def grant(self, fraction):
        """Let each stream send up to fraction of what it holds back for
        release(), at the pace."""
        self.granted = min(self.held, int(self.held * fraction))

    def received(self):
        return sum(self.got)

    def done_count(self):
        return sum(1 for g in self.got if g >= self.size)

    def _allowance(self, now):
        if self.released.is_set():
            return self.size
        return min(self.granted, self.CHUNK * (1 + int((now - self.started) / self.PACE)))

    def _run(self):
        sel = selectors.DefaultSelector()
        index = {s: i for i, s in enumerate(self.socks)}
        mask = {}
        for s in self.socks:
            sel.register(s, selectors.EVENT_READ)
            mask[s] = selectors.EVENT_READ
        buf = bytearray(262144)
        deadline = time.monotonic() + BOUND * 4
        try:
            while mask and time.monotonic() < deadline:
                allow = self._allowance(time.monotonic())
                for s, m in list(mask.items()):
                    i = index[s]
                    want = selectors.EVENT_READ | (selectors.EVENT_WRITE if self.sent[i] < allow else 0)
                    if want != m:
                        sel.modify(s, want)
                        mask[s] = want
                for key, events in sel.select(timeout=self.PACE / 2):
                    s = key.fileobj
                    i = index[s]
                    if events & selectors.EVENT_READ:
                        try:
                            n = s.recv_into(buf)
                        except BlockingIOError:
                            n = None
                        if n == 0:
                            raise TestFailure("stream %d (%s): EOF after %d of %d bytes"
                                              % (i, self.clients[i], self.got[i], self.size))
                        if n:
                            self.digests[i].update(memoryview(buf)[:n])
                            self.got[i] += n
                            if self.got[i] >= self.size:
                                sel.unregister(s)
                                del mask[s]
                                continue
                    if events & selectors.EVENT_WRITE and self.sent[i] < allow:
                        start = i * 4096 + self.sent[i]
                        end = i * 4096 + min(allow, self.sent[i] + 65536)
                        try:
                            self.sent[i] += s.send(self.data[start:end])
                        except BlockingIOError:
                            pass
            if mask:
                raise TestFailure("streams unfinished after %.0fs: %d of %d"
                                  % (BOUND * 4, len(mask), len(self.socks)))
        except (TestFailure, OSError) as e:
            self.errors.append(e)
        finally:
            sel.close()
            self.finished.set()

    def join(self):
        if not self.finished.wait(BOUND * 5):
            raise TestFailure("stream driver still running")
        if self.errors:
            raise TestFailure("stream load: %s" % self.errors[0])

    def close(self):
        self.released.set()
        self.finished.wait(BOUND * 5)
        for s in self.socks:
            s.close()


# ------------------------------------------------------------ reload tests

def check_rules(hs, echo, users_on, users, when):
    """A new connection follows the configuration: with the user file, a
    greeting without the password method is refused (05 FF) and alice gets
    through; without it, no authentication is needed and the password
    method is what is refused."""
    if users_on:
        check_eq(greeting_answer(hs.addr), b"\x05\xff", "%s (users on): no-auth greeting" % when)
        sock, _, _ = socks5_open(hs.addr, *echo.addr, auth=users["alice"])
    else:
        with connect(hs.addr) as s:
            s.sendall(b"\x05\x01\x02")
            check_eq(recv_exact(s, 2, "method selection"), b"\x05\xff",
                     "%s (users off): greeting offering only username/password" % when)
        sock, _, _ = socks5_open(hs.addr, *echo.addr)
    with sock:
        roundtrip(sock, 5000, 3, "%s: echo through a new session" % when)


@suite.test("reload under load: %d SOCKS5 streams of %d MiB each echo back intact (SHA-256 of each) "
            "across %d SIGHUPs alternating a valid change (user file on/off) and an unknown "
            "directive; after each, a new connection follows the running config"
            % (STREAMS, STREAM_SIZE // MiB, RELOADS))
def t_reload_under_load(ctx):
    echo = ctx.own(EchoServer(backlog=STREAMS * 2))
    users_path = write_users(ctx, {"alice": "alice-secret"})
    users = {"alice": ("alice", "alice-secret")}
    hs = ctx.hopsocks()
    check_rules(hs, echo, False, users, "at start")
    load = StreamLoad(hs, echo.addr, STREAMS, STREAM_SIZE)
    try:
        load.grant(1 / RELOADS)
        load.start()
        users_on, generation = False, 1
        moving = []
        for n in range(1, RELOADS + 1):
            load.grant((n + 1) / RELOADS)
            if moving:  # data moves between every two reloads
                check(wait_until(lambda: load.received() >= moving[-1] + MiB)
                      or load.errors, "less than 1 MiB echoed between SIGHUP %d and %d "
                      "(%d bytes)" % (n - 1, n, load.received() - moving[-1]))
            check(not load.errors, "stream load: %s" % load.errors[:1])
            check_eq(load.done_count(), 0, "streams finished before SIGHUP %d" % n)
            moving.append(load.received())
            if n % 2:  # valid: the user file on <-> off
                users_on = not users_on
                write_config(hs, ["users %s" % users_path] if users_on else [])
                generation += 1
                reload_ok(hs, generation)
            else:  # invalid: would flip it back, but for an unknown directive
                text = write_config(hs, ([] if users_on else ["users %s" % users_path])
                                    + ["frobnicate on", "timeout idle 1s"])
                reload_fails(hs, "%s:%d: unknown directive 'frobnicate'"
                             % (hs.conf_path, len(text) - 1))
            check_rules(hs, echo, users_on, users, "after SIGHUP %d" % n)
        reload_phase = time.monotonic() - load.started
        check(moving[-1] > moving[0], "no stream data moved while reloading (%d bytes echoed "
              "at SIGHUP 1, %d at SIGHUP %d)" % (moving[0], moving[-1], RELOADS))
        check_eq(load.done_count(), 0, "streams finished before the last reload was checked")
        check(load.thread.is_alive(), "stream driver ended early: %s" % load.errors[:1])
        moved = load.received() - moving[0]
        load.release()
        load.join()
        print("# %d reloads in %.1fs with %d streams open: %.1f MiB echoed meanwhile; "
              "all %d MiB echoed %.1fs after the streams began"
              % (RELOADS, reload_phase, STREAMS, moved / MiB, STREAMS * STREAM_SIZE // MiB,
                 time.monotonic() - load.started))
        bad = ["stream %d: %d bytes, sha256 %s, want %s" % (i, load.got[i], d.hexdigest(), w)
               for i, (d, w) in enumerate(zip(load.digests, load.want))
               if load.got[i] != STREAM_SIZE or d.hexdigest() != w]
        check(not bad, "%d streams damaged:\n%s" % (len(bad), "\n".join(bad[:10])))
    finally:
        load.close()
    # Every stream's session ends normally with every byte counted.
    want = {c: ("ok", str(STREAM_SIZE), str(STREAM_SIZE)) for c in load.clients}

    def outcomes():
        return {r["client"]: (r.get("result"), r.get("up"), r.get("down"))
                for r in hs.access() if r.get("client") in want}
    wait_until(lambda: len(outcomes()) == len(want))
    got = outcomes()
    wrong = ["%s: %s" % (c, got.get(c)) for c in load.clients if got.get(c) != want[c]]
    check(not wrong, "%d stream sessions with another outcome than result=ok up=down=%d:\n%s"
          % (len(wrong), STREAM_SIZE, "\n".join(wrong[:10])))
    check_eq(len(log_lines(hs, RELOADED)), RELOADS // 2, "successful reloads logged")
    check_eq(len(log_lines(hs, RELOAD_FAILED)), RELOADS - RELOADS // 2, "failed reloads logged")


@suite.test("reload adds 127.0.0.2:P2 and removes 127.0.0.1:P1: a session on P1 keeps relaying, "
            "P2 accepts, P1 refuses; [::1] keeps its very listening sockets and its half-done "
            "handshake")
def t_listen_add_remove(ctx):
    echo = ctx.own(EchoServer())
    hs = ctx.hopsocks(listen=("127.0.0.1", "::1"))
    p1, p0 = hs.ports["127.0.0.1"], hs.ports["::1"]
    p2 = free_port("127.0.0.2")
    want = sorted([(("127.0.0.1", p1), 2), (("::1", p0), 2)])
    # The port accepts once the first worker's socket listens; the second
    # worker's comes a moment later (slower under ASan): wait for it.
    wait_until(lambda: sorted((k, len(v)) for k, v in hopsocks_listeners(hs).items()) == want)
    before = hopsocks_listeners(hs)
    check_eq(sorted((k, len(v)) for k, v in before.items()), want,
             "listening sockets at start (address, one per worker)")
    on_p1, _, _ = socks5_open(hs.addr_of("127.0.0.1"), *echo.addr)
    half = connect(hs.addr_of("::1"))
    with on_p1, half:
        roundtrip(on_p1, 100000, 11, "session on P1 before the reload")
        half.sendall(b"\x05\x01\x00")
        check_eq(recv_exact(half, 2, "method selection"), b"\x05\x00", "greeting on [::1]")

        write_config(hs, [], listen=[("::1", p0), ("127.0.0.2", p2)])
        reload_ok(hs, 2)
        wait_until(lambda: log_lines(hs, "reload: no longer listening on")
                   and log_lines(hs, "reload: now listening on"))
        check_eq([line.split(": ", 1)[1] for line in log_lines(hs, "reload: ")],
                 ["info reload: now listening on 127.0.0.2:%d" % p2,
                  "info reload: no longer listening on 127.0.0.1:%d" % p1],
                 "reload log lines")
        want_after = {("::1", p0): before[("::1", p0)]}

        def settled():
            now = hopsocks_listeners(hs)
            return (now.get(("::1", p0)) == want_after[("::1", p0)]
                    and ("127.0.0.1", p1) not in now
                    and len(now.get(("127.0.0.2", p2), ())) == 2 and len(now) == 2)
        wait_until(settled, timeout=5)
        after = hopsocks_listeners(hs)
        check(settled(), "listening sockets after the reload: %r; want [::1]:%d with the same "
              "sockets %r, 127.0.0.2:%d twice, nothing on 127.0.0.1:%d"
              % (after, p0, before[("::1", p0)], p2, p1))
        for attempt in range(3):
            check(refused("127.0.0.1", p1), "a connection to the removed 127.0.0.1:%d was not "
                  "refused (attempt %d)" % (p1, attempt + 1))
        roundtrip(on_p1, 1 * MiB, 12, "session on the removed P1 after the reload")
        half.sendall(socks5_request(*echo.addr))
        rep, _, _, raw = read_socks5_reply(half)
        check(rep == 0, "CONNECT on [::1] begun before the reload: %s" % show(raw))
        roundtrip(half, 100000, 13, "session on [::1] begun before the reload")
        for addr in (("127.0.0.2", p2), ("::1", p0)):
            sock, _, _ = socks5_open(addr, *echo.addr)
            with sock:
                roundtrip(sock, 100000, 14, "new session on %s" % fmt_addr(*addr))
        client = client_of(on_p1)
    rec = wait_record(hs, client, "the session on P1")
    check_eq((rec.get("result"), rec.get("up"), rec.get("down")),
             ("ok", str(100000 + MiB), str(100000 + MiB)), "access result/up/down on P1")


def user_deletion(ctx, keep):
    """alice and bob relay, bob has a second session that logged in but
    sent no request; bob is deleted from the user file and hopsocks
    reloaded.  Returns (hs, echo, alice, bob, bob_half, users path)."""
    echo = ctx.own(EchoServer())
    path = write_users(ctx, {"alice": "alice-secret", "bob": "bob-secret"})
    lines = ["users %s" % path] + (["reload-keep-sessions on"] if keep else [])
    hs = ctx.hopsocks(config=lines)
    alice, _, _ = socks5_open(hs.addr, *echo.addr, auth=("alice", "alice-secret"))
    bob, _, _ = socks5_open(hs.addr, *echo.addr, auth=("bob", "bob-secret"))
    bob_half = connect(hs.addr)
    bob_half.sendall(b"\x05\x01\x02")
    check_eq(recv_exact(bob_half, 2, "method selection"), b"\x05\x02", "method selection")
    bob_half.sendall(socks5_auth("bob", "bob-secret"))
    check_eq(recv_exact(bob_half, 2, "RFC 1929 reply"), b"\x01\x00", "bob's second login")
    roundtrip(alice, 50000, 21, "alice before the reload")
    roundtrip(bob, 50000, 22, "bob before the reload")
    passwd("-d", path, "bob")
    write_config(hs, lines)
    reload_ok(hs, 2)
    return hs, echo, alice, bob, bob_half, path


@suite.test("user deleted on reload: bob's relaying session and his logged-in one end "
            "(result=user-removed), alice's goes on, bob can no longer log in")
def t_user_removed(ctx):
    hs, echo, alice, bob, bob_half, _ = user_deletion(ctx, keep=False)
    with alice, bob, bob_half:
        expect_closed(bob, "bob's relaying session after the reload")
        expect_closed(bob_half, "bob's logged-in session after the reload")
        for sock in (bob, bob_half):
            rec = wait_record(hs, client_of(sock), "bob's session")
            check_eq((rec.get("user"), rec.get("result")), ("bob", "user-removed"),
                     "bob's access line %r" % rec["_line"])
        check_eq(len(log_lines(hs, "user 'bob' is no longer in the user file: closing")), 2,
                 "log lines for bob's closed sessions")
        roundtrip(alice, 200000, 23, "alice after the reload")
        check_eq(rfc1929_answer(hs.addr, "bob", "bob-secret"), b"\x01\x01", "new login of bob")
        check_eq(rfc1929_answer(hs.addr, "alice", "alice-secret"), b"\x01\x00",
                 "new login of alice")
        client = client_of(alice)
    rec = wait_record(hs, client, "alice's session")
    check_eq((rec.get("user"), rec.get("result"), rec.get("up")), ("alice", "ok", "250000"),
             "alice's access line %r" % rec["_line"])


@suite.test("user deleted on reload while his CONNECT is still connecting (to a black hole): "
            "bob gets his refusal, 05 02, then the close, and result=user-removed -- not a "
            "close with no reply")
def t_user_removed_connecting(ctx):
    hole = ctx.own(Blackhole())
    if not hole.works:
        raise Skip("could not make a black-hole port here")
    path = write_users(ctx, {"bob": "bob-secret"})
    # log debug: the state change says when the CONNECT is under way
    lines = ["users %s" % path, "timeout connect 60s", "log debug"]
    hs = ctx.hopsocks(config=lines)
    with connect(hs.addr) as bob:
        bob.sendall(b"\x05\x01\x02")
        check_eq(recv_exact(bob, 2, "method selection"), b"\x05\x02", "method selection")
        bob.sendall(socks5_auth("bob", "bob-secret"))
        check_eq(recv_exact(bob, 2, "RFC 1929 reply"), b"\x01\x00", "bob's login")
        bob.sendall(socks5_request(*hole.addr))
        check(wait_until(lambda: harness_log_lines(hs, "s5-request -> connect")),
              "the CONNECT never started")
        passwd("-d", path, "bob")
        write_config(hs, lines)
        reload_ok(hs, 2)
        rep, _, _, raw = read_socks5_reply(bob)
        check_eq(rep, 2, "bob's reply after the reload (%s)" % show(raw))
        expect_closed(bob, "bob's connection after the refusal")
        rec = wait_record(hs, client_of(bob), "bob's session")
    check_eq((rec.get("user"), rec.get("result")), ("bob", "user-removed"),
             "bob's access line %r" % rec["_line"])


@suite.test("user deleted on reload with reload-keep-sessions on: bob's sessions go on (and his "
            "logged-in one may still CONNECT), a new login of bob is refused")
def t_user_removed_kept(ctx):
    hs, echo, alice, bob, bob_half, _ = user_deletion(ctx, keep=True)
    with alice, bob, bob_half:
        roundtrip(bob, 200000, 24, "bob after the reload")
        bob_half.sendall(socks5_request(*echo.addr))
        rep, _, _, raw = read_socks5_reply(bob_half)
        check(rep == 0, "CONNECT of bob's logged-in session: %s" % show(raw))
        roundtrip(bob_half, 50000, 25, "bob's second session after the reload")
        roundtrip(alice, 50000, 26, "alice after the reload")
        check_eq(rfc1929_answer(hs.addr, "bob", "bob-secret"), b"\x01\x01", "new login of bob")
        clients = [client_of(s) for s in (alice, bob, bob_half)]
    for client, user in zip(clients, ("alice", "bob", "bob")):
        rec = wait_record(hs, client, user)
        check_eq((rec.get("user"), rec.get("result")), (user, "ok"),
                 "access line %r" % rec["_line"])
    check_eq(log_lines(hs, "no longer in the user file"), [], "closing lines")


@suite.test("a connection that greeted before the reload and logs in after it is checked against "
            "the new user file: deleted bob gets 01 01")
def t_login_after_reload(ctx):
    echo = ctx.own(EchoServer())
    path = write_users(ctx, {"alice": "alice-secret", "bob": "bob-secret"})
    hs = ctx.hopsocks(config=["users %s" % path])
    with connect(hs.addr) as early:
        early.sendall(b"\x05\x01\x02")
        check_eq(recv_exact(early, 2, "method selection"), b"\x05\x02", "method selection")
        passwd("-d", path, "bob")
        reload_ok(hs, 2)
        check_eq(rfc1929_answer(hs.addr, "bob", "bob-secret"), b"\x01\x01",
                 "login of bob on a connection opened after the reload")
        early.sendall(socks5_auth("bob", "bob-secret"))
        answer = recv_exact(early, 2, "RFC 1929 reply")
        if answer == b"\x01\x00":
            early.sendall(socks5_request(*echo.addr))
            rep, _, _, raw = read_socks5_reply(early)
            relays = "relays" if rep == 0 else "then gets %s" % show(raw)
            raise TestFailure("deleted bob logged in after the reload (01 00) on a connection "
                              "that greeted before it, and %s" % relays)
        check_eq(answer, b"\x01\x01", "login of bob after the reload on a connection opened "
                 "before it")


@suite.test("access-log applies at a reload: off, a session leaves no access line; on again, "
            "the next one does; and a changed admin address is logged as needing a restart")
def t_access_log_reload(ctx):
    echo = ctx.own(EchoServer())
    hs = ctx.hopsocks()

    def session():
        sock, _, _ = socks5_open(hs.addr, *echo.addr)
        client = client_of(sock)
        with sock:
            roundtrip(sock, 1024, 7, "echo")
        return client

    first = session()
    wait_record(hs, first, "access line with access-log on")
    write_config(hs, ["access-log off", "admin 127.0.0.1:%d" % free_port("127.0.0.1")])
    reload_ok(hs, 2)
    check(log_lines(hs, "reload: the admin listener changes only at restart"),
          "no line saying the admin listener needs a restart: %s" % hs.stderr_tail(5))
    idle_fds = hs.fd_count()
    quiet = session()
    # Its access line would be written when hopsocks closes it: wait for
    # that (the descriptors go back) before access-log is turned on again.
    # (<=: a descriptor the reload itself had open a moment, such as the
    # scratch resolver that rereads resolv.conf, may be gone by now too.)
    check(wait_until(lambda: hs.fd_count() <= idle_fds),
          "the quiet session's sockets were not closed (%d descriptors, %d before)"
          % (hs.fd_count(), idle_fds))
    write_config(hs, [])
    reload_ok(hs, 3)
    loud = session()
    wait_record(hs, loud, "access line once access-log is on again")
    check_eq(records_of(hs, quiet), [], "access lines of the session made with access-log off")


@suite.test("a reload that adds a user file ends a SOCKS5 session that chose 'no authentication' "
            "before it: its request does not run (closed, no reply, the target never contacted)")
def t_reload_requires_auth(ctx):
    echo = ctx.own(EchoServer())
    hs = ctx.hopsocks(workers=1)
    with connect(hs.addr) as sock:
        sock.sendall(b"\x05\x01\x00")
        check_eq(recv_exact(sock, 2, "method selection"), b"\x05\x00", "method selection")
        path = write_users(ctx, {"alice": "alice-secret"})
        write_config(hs, ["users %s" % path])
        reload_ok(hs, 2)

        def applied():
            """A new client offering only 'no authentication' is refused
            once the (one) worker runs the new configuration."""
            with connect(hs.addr) as probe:
                probe.sendall(b"\x05\x01\x00")
                return recv_exact(probe, 2, "probe method selection") == b"\x05\xff"
        check(wait_until(applied), "the worker never took the new configuration")
        try:
            sock.sendall(socks5_request("127.0.0.1", echo.port))
        except OSError:
            pass  # already closed: as good
        data, how = read_to_close(sock)
        check(data == b"" and how in ("eof", "reset"),
              "after the reload the request got %s (%s), want a close without a reply"
              % (show(data), how))
    check_eq(echo.peers, [], "connections the target saw")
    check(log_lines(hs, "reload: authentication is now required: closing"),
          "no log line for the closed session: %s" % hs.stderr_tail(5))


@suite.test("socks4 known-user: a SOCKS4 session admitted because bob was in the user file ends "
            "(result=user-removed) when a reload deletes bob")
def t_socks4_known_user_removed(ctx):
    echo = ctx.own(EchoServer())
    path = write_users(ctx, {"alice": "alice-secret", "bob": "bob-secret"})
    hs = ctx.hopsocks(config=["users %s" % path, "socks4 known-user"])
    with connect(hs.addr) as s4:
        s4.sendall(socks4_request("127.0.0.1", echo.port, b"bob"))
        cd, _, _, raw = read_socks4_reply(s4)
        check(cd == 90, "SOCKS4 CONNECT as bob: %s" % show(raw))
        roundtrip(s4, 10000, 35, "bob's SOCKS4 session before the reload")
        client = client_of(s4)
        passwd("-d", path, "bob")
        reload_ok(hs, 2)
        how = expect_closed(s4, "bob's SOCKS4 session after the reload deleted bob", timeout=3)
        check(how in ("eof", "reset"), "not closed")
    rec = wait_record(hs, client, "bob's SOCKS4 session")
    check_eq((rec.get("user"), rec.get("result")), ("bob", "user-removed"),
             "access line %r" % rec["_line"])


@suite.test("SIGHUP with a broken user file (bad line 2) keeps the old users: alice still logs "
            "in and relays, bob (only in the broken file) cannot; fixed, bob can and alice's "
            "session ends")
def t_broken_user_file(ctx):
    echo = ctx.own(EchoServer())
    path = write_users(ctx, {"alice": "alice-secret"})
    bob_only = write_users(ctx, {"bob": "bob-secret"})
    hs = ctx.hopsocks(config=["users %s" % path])
    alice, _, _ = socks5_open(hs.addr, *echo.addr, auth=("alice", "alice-secret"))
    with alice:
        roundtrip(alice, 50000, 31, "alice before the reload")
        with open(bob_only) as f:
            bob_line = f.read()
        with open(path, "w") as f:
            f.write(bob_line + "mallory:this-is-not-a-hash\n")
        # The error names the config line of "users", then the user file's own line.
        with open(hs.conf_path) as f:
            users_line = [i for i, line in enumerate(f, 1) if line.startswith("users ")][0]
        reload_fails(hs, "%s:%d: users: %s:2: password hash is not a libsodium argon2id or "
                     "argon2i string" % (hs.conf_path, users_line, path))
        sock, _, _ = socks5_open(hs.addr, *echo.addr, auth=("alice", "alice-secret"))
        with sock:
            roundtrip(sock, 50000, 32, "a new session of alice after the failed reload")
        check_eq(rfc1929_answer(hs.addr, "bob", "bob-secret"), b"\x01\x01",
                 "login of bob after the failed reload")
        roundtrip(alice, 50000, 33, "alice's session after the failed reload")
        check_eq(log_lines(hs, "no longer in the user file"), [], "closing lines")

        with open(path, "w") as f:
            f.write(bob_line)
        reload_ok(hs, 2)
        expect_closed(alice, "alice's session once the fixed file (without alice) is loaded")
        rec = wait_record(hs, client_of(alice), "alice's session")
        check_eq((rec.get("user"), rec.get("result")), ("alice", "user-removed"),
                 "alice's access line %r" % rec["_line"])
        check_eq(rfc1929_answer(hs.addr, "bob", "bob-secret"), b"\x01\x00", "login of bob")
        check_eq(rfc1929_answer(hs.addr, "alice", "alice-secret"), b"\x01\x01", "login of alice")


@suite.test("sessions in flight keep their timeout idle across reloads (30s->1s: the old session "
            "outlives a new one's 1 s; 1s->30s: a session begun under 1s still ends after 1 s)")
def t_keep_timeouts(ctx):
    echo = ctx.own(EchoServer())
    hs = ctx.hopsocks(config=["timeout idle 30s"])
    old, _, _ = socks5_open(hs.addr, *echo.addr)
    with old:
        roundtrip(old, 1000, 41, "session begun under 30s")
        write_config(hs, ["timeout idle 1s"])
        reload_ok(hs, 2)
        new, _, _ = socks5_open(hs.addr, *echo.addr)
        new_client = client_of(new)
        with new:
            roundtrip(new, 1000, 42, "session begun under 1s")
            t = time.monotonic()
            expect_closed(new, "idle session begun under 1s")
            idle = time.monotonic() - t
            check(0.8 <= idle <= 1.0 + BOUND / 10, "idle session closed after %.2fs, want ~1s" % idle)
        rec = wait_record(hs, new_client, "the session begun under 1s")
        check_eq(rec.get("result"), "idle-timeout", "result of %r" % rec["_line"])
        # old has been idle longer than new was: under 1 s it would be gone.
        roundtrip(old, 1000, 43, "session begun under 30s, idle longer than 1s")
        check_eq(records_of(hs, old), [], "access lines of the session begun under 30s")

        short, _, _ = socks5_open(hs.addr, *echo.addr)
        short_client = client_of(short)
        with short:
            roundtrip(short, 1000, 44, "session begun under 1s")
            t = time.monotonic()
            write_config(hs, ["timeout idle 30s"])
            reload_ok(hs, 3)
            expect_closed(short, "session begun under 1s after a reload to 30s")
            idle = time.monotonic() - t
            check(idle <= 1.0 + BOUND / 10, "closed after %.2fs, want ~1s" % idle)
        rec = wait_record(hs, short_client, "the session begun under 1s")
        check_eq(rec.get("result"), "idle-timeout", "result of %r" % rec["_line"])
        client = client_of(old)
    check_eq(wait_record(hs, client, "the session begun under 30s").get("result"), "ok",
             "result of the session begun under 30s")


# ----------------------------------------------------------- graceful stop

@suite.test("SIGTERM with drain 5s: listeners refuse at once, handshakes end at once "
            "(result=shutdown), a relaying upload finishes (SHA-256 at the sink) and the "
            "process exits 0 as soon as it has, well before 5 s")
def t_drain_finishes(ctx):
    sink = ctx.own(SinkServer())
    hs = ctx.hopsocks(config=["drain %ds" % DRAIN])
    data = pattern(4 * MiB, seed=51)
    up, _, _ = socks5_open(hs.addr, *sink.addr)
    greeted = connect(hs.addr)      # greeting answered, no request yet
    requesting = connect(hs.addr)   # half a request sent
    with up, greeted, requesting:
        up.sendall(data[:MiB])
        greeted.sendall(b"\x05\x01\x00")
        check_eq(recv_exact(greeted, 2, "method selection"), b"\x05\x00", "greeting")
        requesting.sendall(b"\x05\x01\x00")
        check_eq(recv_exact(requesting, 2, "method selection"), b"\x05\x00", "greeting")
        requesting.sendall(socks5_request(*sink.addr)[:5])

        t0 = time.monotonic()
        os.kill(hs.pid, signal.SIGTERM)
        expect_closed(greeted, "session waiting for its request at SIGTERM")
        expect_closed(requesting, "session in the middle of its request at SIGTERM")
        t_closed = time.monotonic() - t0
        check(t_closed < DRAIN / 2, "handshaking sessions closed %.2fs after SIGTERM, want at "
              "once (drain is %.0fs)" % (t_closed, DRAIN))
        check_refusing(hs.addr, t0, "after SIGTERM")
        check(hs.alive(), "hopsocks exited while a session was relaying")
        up.sendall(data[MiB:])
        up.shutdown(socket.SHUT_WR)
        answer = b""
        while not answer.endswith(b"\n"):
            chunk = up.recv(4096)
            if not chunk:
                break
            answer += chunk
        check_eq(answer, ("%s %d\n" % (sha256(data), len(data))).encode(),
                 "the sink's SHA-256 and count of the upload finished during the drain")
        check_eq(up.recv(16), b"", "EOF after the sink's answer")
        clients = [client_of(s) for s in (up, greeted, requesting)]
    t_done = time.monotonic()
    check_eq(wait_exit(hs, BOUND), 0, "exit status")
    t_exit = time.monotonic()
    check(t_exit - t_done < 2.0 and t_exit - t0 < DRAIN - 0.5,
          "exited %.2fs after the last session ended, %.2fs after SIGTERM; want at once, "
          "well before the %.0fs drain" % (t_exit - t_done, t_exit - t0, DRAIN))
    recs = [wait_record(hs, c, "session") for c in clients]
    check_eq([(r.get("result"), r.get("up")) for r in recs],
             [("ok", str(len(data))), ("shutdown", "0"), ("shutdown", "0")],
             "access result/up of the upload and the two handshakes")


@suite.test("SIGTERM with drain 5s: a TCP session that never finishes and a UDP association relay "
            "during the drain and are closed when it ends (result=shutdown); exit 0")
def t_drain_expires(ctx):
    echo = ctx.own(EchoServer())
    uecho = ctx.own(UdpEcho())
    hs = ctx.hopsocks(config=["drain %ds" % DRAIN])
    tcp, _, _ = socks5_open(hs.addr, *echo.addr)
    ctl, udp, relay = udp_associate(hs)
    with tcp, ctl, udp:
        roundtrip(tcp, 10000, 61, "TCP before SIGTERM")
        udp_roundtrip(udp, relay, uecho.addr, b"before", "UDP before SIGTERM")
        t0 = time.monotonic()
        os.kill(hs.pid, signal.SIGTERM)
        check(wait_until(lambda: log_lines(hs, "shutting down")), "no 'shutting down' line")
        check_refusing(hs.addr, t0, "after SIGTERM")
        roundtrip(tcp, 100000, 62, "TCP during the drain")
        udp_roundtrip(udp, relay, uecho.addr, b"during the drain", "UDP during the drain")
        check(time.monotonic() - t0 < DRAIN - 1, "the drain-time checks took too long to mean "
              "anything (%.1fs)" % (time.monotonic() - t0))
        expect_closed(tcp, "TCP session at the end of the drain")
        t_tcp = time.monotonic() - t0
        expect_closed(ctl, "UDP control connection at the end of the drain")
        t_udp = time.monotonic() - t0
        clients = [client_of(tcp), client_of(ctl)]
    check_eq(wait_exit(hs, BOUND), 0, "exit status")
    t_exit = time.monotonic() - t0
    slack = 2.0 + BOUND / 15
    for what, t in (("TCP session closed", t_tcp), ("UDP association closed", t_udp),
                    ("process exited", t_exit)):
        check(DRAIN - 0.1 <= t <= DRAIN + slack, "%s %.2fs after SIGTERM; want the %.0fs drain"
              % (what, t, DRAIN))
    recs = [wait_record(hs, c, "session") for c in clients]
    check_eq([(r.get("cmd"), r.get("result")) for r in recs],
             [("connect", "shutdown"), ("udp", "shutdown")], "access cmd/result")


@suite.test("relay kernel -> relay splice -> relay kernel by SIGHUP while a session is in the "
            "kernel relay: it goes on (8 MiB echoed each way, SHA-256), a new session after "
            "the first reload is relayed by splice (relay=splice), after the second by the "
            "kernel again; the status of each in the access line and relay= of the stats line")
def t_reload_relay_mode(ctx):
    hs = ctx.hopsocks(config=["relay kernel after 0"])
    # The line comes after the listeners accept: wait for it.
    if not wait_until(lambda: log_lines(hs, " relay: ")) or not log_lines(hs, "relay: kernel ("):
        raise Skip("the kernel relay is not available here: %s" % log_lines(hs, "relay: "))
    echo = ctx.own(EchoServer())
    sock, _, _ = socks5_open(hs.addr, "127.0.0.1", echo.port)
    data = pattern(8 * MiB, seed=71)
    got = bytearray()

    def reader():
        while len(got) < len(data):
            chunk = sock.recv(1 << 18)
            if not chunk:
                break
            got.extend(chunk)
    th = threading.Thread(target=reader, daemon=True)
    th.start()
    sock.sendall(data[:4 * MiB])
    write_config(hs, ["relay splice"])
    reload_ok(hs, 2)
    sock2, _, _ = socks5_open(hs.addr, "127.0.0.1", echo.port)
    with sock2:
        sock2.sendall(pattern(MiB, seed=72))
        sock2.shutdown(socket.SHUT_WR)
        check_eq(sha256(read_to_close(sock2, limit=2 * MiB)[0]), sha256(pattern(MiB, seed=72)),
                 "the session begun under relay splice")
    write_config(hs, ["relay kernel after 0"])
    reload_ok(hs, 3)
    sock.sendall(data[4 * MiB:])
    sock.shutdown(socket.SHUT_WR)
    th.join(BOUND)
    sock.close()
    check_eq((len(got), sha256(bytes(got))), (len(data), sha256(data)),
             "the session handed to the kernel before both reloads")
    sock3, _, _ = socks5_open(hs.addr, "127.0.0.1", echo.port)
    with sock3:
        sock3.sendall(b"after")
        sock3.shutdown(socket.SHUT_WR)
        check_eq(read_to_close(sock3)[0], b"after", "the session begun after the second reload")

    def relays():
        return [r.get("relay") for r in hs.access() if r.get("cmd") == "connect"]
    check(wait_until(lambda: len(relays()) == 3), "access lines: %s" % hs.access())
    # The middle one moved its bytes by splice, or by read/write if no read
    # filled a whole buffer: either way, not the kernel.
    others = [r for r in relays() if r != "kernel"]
    check(relays().count("kernel") == 2 and len(others) == 1 and others[0] in ("splice", "copy"),
          "relay= of the three sessions: %s" % relays())


if __name__ == "__main__":
    suite.run()
