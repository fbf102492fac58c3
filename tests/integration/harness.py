# SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors.
"""Shared machinery for the hopsocks integration tests.

Every test file builds a Suite of small test functions; each function is one
TAP line (one "assertion group").  A function fails by raising TestFailure
(via check()/check_eq()), skips by raising Skip.  Everything a test starts --
hopsocks processes, target servers, DNS servers -- is registered with the
test's Context and stopped when the function returns, so a failing test
never leaves a process behind.  A hopsocks that does not exit 0 on SIGTERM
fails the test that started it.

Only the Python standard library is used here, so the file runs under
Debian's /usr/bin/python3 as automake invokes it.
"""

import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import traceback

# Every wait in the suite is bounded by this many seconds.  It is generous on
# purpose: CI runs a sanitizer build on a 2-core machine next to other tests.
BOUND = float(os.environ.get("HOPSOCKS_TEST_BOUND", "30"))

# How many times slower than usual hopsocks runs (`scripts/test --valgrind`
# sets 10; argon2 alone then takes seconds).  Hopsocks processes get
# handshake and connect deadlines that much longer than the default 10 s (a
# test's own `timeout handshake` or `timeout connect` still wins), and the
# few checks of "fast enough" in the suite scale by it.
SLOW = float(os.environ.get("HOPSOCKS_TEST_SLOW", "1"))

# A relay line every hopsocks gets ("kernel after 0", "splice", "copy"):
# `scripts/test --relay MODE` runs the relay tests again in that mode.
RELAY = os.environ.get("HOPSOCKS_TEST_RELAY", "")

# A command every Hopsocks process is started under (split on spaces), e.g.
# "valgrind --leak-check=full --error-exitcode=1" for `scripts/test
# --valgrind`.  It must exec hopsocks in the same process, so the pid the
# tests signal and watch stays hopsocks'.
WRAPPER = os.environ.get("HOPSOCKS_WRAPPER", "").split()

# Run only the tests whose function names are listed (comma-separated, e.g.
# "t_memory_pressure,t_fd_exhaustion"); the others are reported as skipped.
# For working on one test; unset in every real run.
ONLY = [name for name in os.environ.get("HOPSOCKS_TEST_ONLY", "").split(",") if name]

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.environ.get("HOPSOCKS_SRCDIR") or os.path.dirname(os.path.dirname(HERE))


class TestFailure(Exception):
    """An assertion of a test did not hold; the message says what and how."""


class Skip(Exception):
    """The test cannot run here; the message is the TAP SKIP reason."""


def check(cond, msg):
    """Fail the current test with msg unless cond holds."""
    if not cond:
        raise TestFailure(msg)


def missing(program, package):
    """The failure of a test whose tool is not installed.  scripts/deps
    installs every tool a test uses, so a missing one is a broken setup: the
    test fails (never skips) and says which Debian package to install."""
    return TestFailure("%s is not installed (Debian package %s; scripts/deps installs it)"
                       % (program, package))


def require_program(name, package):
    """The path of program name (also looked for in /usr/sbin and /sbin,
    which a non-root PATH may lack), or the failure naming its package."""
    path = shutil.which(name) or next(
        (p for p in ("/usr/sbin/" + name, "/sbin/" + name) if os.access(p, os.X_OK)), None)
    if path is None:
        raise missing(name, package)
    return path


def check_eq(got, want, what):
    """Fail unless got == want, showing both (bytes as hex, which is how the
    SOCKS specs write them)."""
    if got != want:
        raise TestFailure("%s: got %s, want %s" % (what, show(got), show(want)))


def show(value):
    """Render a value for a diagnostic: bytes as spaced hex."""
    if isinstance(value, (bytes, bytearray)):
        if len(value) > 64:
            return "%s ... (%d bytes)" % (bytes(value[:64]).hex(" "), len(value))
        return "[%s]" % bytes(value).hex(" ")
    return repr(value)


# ---------------------------------------------------------------- binaries

def _find_binary(env_name, name):
    """Locate a built program: the environment variable automake sets, or a
    build directory next to the source when a test is run by hand."""
    path = os.environ.get(env_name)
    if path:
        return path
    for build in ("build", "build-asan", "."):
        candidate = os.path.join(SRCDIR, build, "src", name)
        if os.access(candidate, os.X_OK):
            return candidate
    return os.path.join(SRCDIR, "build", "src", name)


HOPSOCKS_BIN = _find_binary("HOPSOCKS_BIN", "hopsocks")
HOPSOCKS_PASSWD_BIN = _find_binary("HOPSOCKS_PASSWD_BIN", "hopsocks-passwd")


# ------------------------------------------------------------------ ports

def free_port(host="127.0.0.1"):
    """A port the kernel just handed out for host.  Used only for hopsocks'
    own listen addresses (it needs a number up front); a lost race is
    detected at start-up and retried with a new port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def fmt_addr(host, port):
    """host:port the way hopsocks writes it ([::1]:port for IPv6)."""
    return "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)


def wait_until(predicate, timeout=BOUND, interval=0.02):
    """Poll predicate until it returns a true value or timeout passes;
    returns the last value (false on timeout).  Used instead of sleeps."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def port_accepts(host, port):
    """True if something accepts TCP connections on host:port right now."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.settimeout(1.0)
        try:
            s.connect((host, port))
            return True
        except OSError:
            return False


# ---------------------------------------------------------------- hopsocks

ACCESS_RE = re.compile(r"^\S+ hopsocks\[\d+\]: (\w+) access (.*)$")


def parse_access(text):
    """The access-log records in a hopsocks stderr text, as dicts of the
    key=value tokens of each 'access' line."""
    records = []
    for line in text.splitlines():
        m = ACCESS_RE.match(line)
        if not m:
            continue
        rec = {"_level": m.group(1), "_line": line}
        for token in m.group(2).split():
            key, sep, value = token.partition("=")
            if sep:
                rec[key] = value
        records.append(rec)
    return records


class Hopsocks:
    """One hopsocks process, started from a generated config file.

    listen:  hosts to listen on ("127.0.0.1", "::1"); ports are chosen here.
    config:  extra config lines (list of str).
    args:    extra command-line arguments.
    wrapper: a command that execs the rest of its arguments (so the pid
             stays hopsocks'), e.g. to run it in a mount namespace.
    """

    START_ATTEMPTS = 3

    def __init__(self, ctx, config=(), args=(), listen=("127.0.0.1",), workers=2,
                 use_listen_flag=False, wrapper=()):
        self.ctx = ctx
        self.wrapper = list(wrapper)
        self.config_lines = list(config)
        self.extra_args = list(args)
        self.listen_hosts = list(listen)
        self.workers = workers
        self.use_listen_flag = use_listen_flag
        self.proc = None
        self.ports = {}
        self.index = ctx.next_index()
        self.conf_path = os.path.join(ctx.tmpdir, "hopsocks-%d.conf" % self.index)
        self.err_path = os.path.join(ctx.tmpdir, "hopsocks-%d.stderr" % self.index)
        self.returncode = None

    # -- lifecycle

    def start(self):
        """Start and wait until every listen address accepts connections.
        Retries with new ports if a port we picked was taken meanwhile."""
        for attempt in range(self.START_ATTEMPTS):
            self.ports = {host: free_port(host) for host in self.listen_hosts}
            self._write_config()
            self._spawn()
            state = self._wait_ready()
            if state == "ready":
                return self
            if state == "in-use" and attempt + 1 < self.START_ATTEMPTS:
                continue
            raise TestFailure("hopsocks did not become ready (%s); command %s"
                              % (state, " ".join(self.command())))
        return self

    def command(self):
        cmd = self.wrapper + WRAPPER + [HOPSOCKS_BIN, "-c", self.conf_path]
        if self.use_listen_flag:
            for host, port in self.ports.items():
                cmd += ["-l", fmt_addr(host, port)]
        return cmd + self.extra_args

    def _write_config(self):
        lines = ["# generated by %s" % os.path.basename(sys.argv[0])]
        if not self.use_listen_flag:
            lines += ["listen %s" % fmt_addr(h, p) for h, p in self.ports.items()]
        if self.workers is not None:
            lines.append("workers %s" % self.workers)
        if SLOW > 1:
            # A connect through a chain of slowed hopsocks (each checking a
            # password) needs the same room.
            lines.append("timeout handshake %ds" % (10 * SLOW))
            lines.append("timeout connect %ds" % (10 * SLOW))
        if RELAY:
            # The whole suite again with another relay (scripts/test
            # --relay): a test's own "relay" line, later, still wins.
            lines.append("relay %s" % RELAY)
        lines += self.config_lines
        with open(self.conf_path, "w") as f:
            f.write("\n".join(lines) + "\n")

    def _spawn(self):
        if not os.access(HOPSOCKS_BIN, os.X_OK):
            raise TestFailure("no hopsocks binary at %s (build it, or set HOPSOCKS_BIN)"
                              % HOPSOCKS_BIN)
        with open(self.err_path, "ab") as err:
            err.write(b"---- start: %s\n" % " ".join(self.command()).encode())
        err = open(self.err_path, "ab")
        try:
            self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL,
                                         stdout=err, stderr=err, close_fds=True)
        finally:
            err.close()
        self.returncode = None

    def _wait_ready(self):
        """'ready' once all ports accept, 'in-use' if hopsocks died because
        an address was taken, else a description of what went wrong."""
        deadline = time.monotonic() + BOUND
        pending = dict(self.ports)
        while pending:
            rc = self.proc.poll()
            if rc is not None:
                self.returncode = rc
                if "in use" in self.stderr_text().lower():
                    return "in-use"
                return "exited with status %d" % rc
            for host, port in list(pending.items()):
                if port_accepts(host, port):
                    del pending[host]
            if not pending:
                break
            if time.monotonic() > deadline:
                return "no listener on %s after %.0fs" % (
                    ", ".join(fmt_addr(h, p) for h, p in pending.items()), BOUND)
            time.sleep(0.02)
        return "ready"

    def stop(self, sig=signal.SIGTERM):
        """Signal the process and wait for it (bounded); kill -9 and fail on
        timeout.  Returns its exit status."""
        if self.proc is None or self.returncode is not None:
            return self.returncode
        try:
            self.proc.send_signal(sig)
        except ProcessLookupError:
            pass
        try:
            self.returncode = self.proc.wait(timeout=BOUND)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=BOUND)
            self.returncode = "killed"
            raise TestFailure("hopsocks pid %d did not exit within %.0fs of signal %d; killed"
                              % (self.proc.pid, BOUND, sig))
        return self.returncode

    def stop_expect_zero(self):
        """Stop with SIGTERM and fail unless it exited 0."""
        rc = self.stop()
        check_eq(rc, 0, "hopsocks exit status after SIGTERM")

    # -- observation

    @property
    def pid(self):
        return self.proc.pid

    @property
    def port(self):
        """The port of the first listen address."""
        return self.ports[self.listen_hosts[0]]

    @property
    def addr(self):
        host = self.listen_hosts[0]
        return (host, self.ports[host])

    def addr_of(self, host):
        return (host, self.ports[host])

    def url(self, scheme, userinfo=""):
        """A proxy URL for curl: socks5://user:pass@127.0.0.1:PORT."""
        host = self.listen_hosts[0]
        hostpart = "[%s]" % host if ":" in host else host
        return "%s://%s%s:%d" % (scheme, userinfo + "@" if userinfo else "", hostpart, self.port)

    def stderr_text(self):
        try:
            with open(self.err_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def stderr_tail(self, lines=25):
        return self.stderr_text().splitlines()[-lines:]

    def access(self):
        """All access-log records written so far."""
        return parse_access(self.stderr_text())

    def wait_access(self, predicate, timeout=BOUND, what="access-log line"):
        """The first access record satisfying predicate, waiting (bounded)
        because the line is written when the session ends."""
        found = wait_until(lambda: [r for r in self.access() if predicate(r)], timeout)
        if not found:
            raise TestFailure("no %s within %.0fs" % (what, timeout))
        return found[0]

    def fd_count(self):
        return len(os.listdir("/proc/%d/fd" % self.pid))

    def stable_fd_count(self, quiet=0.3, timeout=BOUND):
        """The descriptor count once it stayed the same for `quiet` seconds
        (closes happen asynchronously after a client goes away)."""
        deadline = time.monotonic() + timeout
        last, since = self.fd_count(), time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.05)
            now = self.fd_count()
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return now
        return last

    def alive(self):
        return self.proc is not None and self.proc.poll() is None


def write_users(ctx, users):
    """A user file made by hopsocks-passwd itself: {name: password}."""
    path = os.path.join(ctx.tmpdir, "users-%d" % ctx.next_index())
    for name, password in users.items():
        run = subprocess.run([HOPSOCKS_PASSWD_BIN, path, name],
                             input=(password + "\n").encode(), capture_output=True,
                             timeout=BOUND)
        check(run.returncode == 0, "hopsocks-passwd %s %s failed (%d): %s"
              % (path, name, run.returncode, run.stderr.decode(errors="replace")))
    return path


PROXY_ENV = ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "ftp_proxy")


def client_env():
    """The environment without proxy variables: a NO_PROXY=127.0.0.1 or an
    ALL_PROXY from the machine must not change where curl connects."""
    return {k: v for k, v in os.environ.items() if k.lower() not in PROXY_ENV}


SOCKSIFY = "/usr/bin/socksify"


def socksify_env(ctx, proxy, proxyprotocol="socks_v5", protocols="tcp udp"):
    """(environment, dante log path) for running an unmodified program under
    dante's socksify (Debian's dante-client) through proxy, a (host, port)
    on 127.0.0.1: a socks.conf routing everything there (SOCKS_CONF),
    SOCKS_AUTOADD_LANROUTES=no (otherwise dante adds direct routes for the
    local networks and loopback traffic never reaches the proxy), and
    dante's debug log in a file for diagnostics."""
    if not os.access(SOCKSIFY, os.X_OK):
        raise missing("socksify", "dante-client")
    index = ctx.next_index()
    conf = os.path.join(ctx.tmpdir, "socks-%d.conf" % index)
    log = os.path.join(ctx.tmpdir, "dante-%d.log" % index)
    with open(conf, "w") as f:
        f.write("debug: 1\nlogoutput: %s\n"
                "route {\n"
                "  from: 0.0.0.0/0 to: 0.0.0.0/0 via: %s port = %d\n"
                "  proxyprotocol: %s\n"
                "  protocol: %s\n"
                "  method: none\n"
                "}\n" % (log, proxy[0], proxy[1], proxyprotocol, protocols))
    env = client_env()
    env.update(SOCKS_CONF=conf, SOCKS_AUTOADD_LANROUTES="no")
    return env, log


def run_client(cmd, input_bytes=b"", timeout=BOUND):
    """Run a client program (curl, ncat) to completion with a bound;
    returns CompletedProcess.  A hang is a failure, not a stuck test."""
    try:
        return subprocess.run(cmd, input=input_bytes, capture_output=True, timeout=timeout,
                              env=client_env())
    except subprocess.TimeoutExpired:
        raise TestFailure("client did not finish within %.0fs: %s" % (timeout, " ".join(cmd)))


# --------------------------------------------------------------- raw SOCKS

def connect(addr, timeout=BOUND, source=None):
    """A blocking TCP connection to addr with every operation bounded, from
    the local address source (e.g. 127.0.0.2) when given."""
    family = socket.AF_INET6 if ":" in addr[0] else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(timeout)
    if source:
        s.bind((source, 0))
    s.connect(addr)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def recv_exact(sock, n, what="reply"):
    """Exactly n bytes, or a TestFailure saying what arrived before EOF."""
    buf = b""
    while len(buf) < n:
        try:
            chunk = sock.recv(n - len(buf))
        except socket.timeout:
            raise TestFailure("%s: timed out after %s, wanted %d bytes" % (what, show(buf), n))
        except ConnectionResetError:
            raise TestFailure("%s: connection reset after %s, wanted %d bytes" % (what, show(buf), n))
        if not chunk:
            raise TestFailure("%s: EOF after %s, wanted %d bytes" % (what, show(buf), n))
        buf += chunk
    return buf


def read_to_close(sock, timeout=BOUND, limit=1 << 20):
    """(bytes received, how) until the peer closes: how is 'eof', 'reset'
    or 'timeout'."""
    sock.settimeout(timeout)
    deadline = time.monotonic() + timeout
    buf = b""
    while len(buf) < limit:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            return buf, "timeout"
        except ConnectionResetError:
            return buf, "reset"
        if not chunk:
            return buf, "eof"
        buf += chunk
    return buf, "limit"


def expect_closed(sock, what, timeout=BOUND, allow=b""):
    """Fail unless the server closes the connection (EOF or reset) within
    timeout, sending nothing beyond `allow`."""
    data, how = read_to_close(sock, timeout)
    check(how in ("eof", "reset"), "%s: connection not closed within %.0fs (got %s)"
          % (what, timeout, show(data)))
    check(data == allow, "%s: unexpected bytes before close: %s" % (what, show(data)))
    return how


def encode_addr5(host):
    """SOCKS5 ATYP + address for an IPv4/IPv6 literal or a domain name."""
    try:
        return b"\x01" + socket.inet_pton(socket.AF_INET, host)
    except OSError:
        pass
    try:
        return b"\x04" + socket.inet_pton(socket.AF_INET6, host)
    except OSError:
        pass
    name = host.encode()
    return b"\x03" + bytes([len(name)]) + name


def socks5_request(host, port, cmd=1):
    return b"\x05" + bytes([cmd]) + b"\x00" + encode_addr5(host) + struct.pack(">H", port)


def socks5_auth(user, password):
    """RFC 1929 username/password sub-negotiation message."""
    u, p = user.encode(), password.encode()
    return b"\x01" + bytes([len(u)]) + u + bytes([len(p)]) + p


def read_socks5_reply(sock):
    """(REP, bound host, bound port, raw bytes) of a SOCKS5 reply, checking
    its framing (VER 5, RSV 0, a known ATYP)."""
    head = recv_exact(sock, 4, "SOCKS5 reply header")
    check_eq(head[0:1], b"\x05", "SOCKS5 reply VER")
    check_eq(head[2:3], b"\x00", "SOCKS5 reply RSV")
    atyp = head[3]
    if atyp == 1:
        body = recv_exact(sock, 6, "SOCKS5 reply IPv4 address")
        host = socket.inet_ntop(socket.AF_INET, body[:4])
    elif atyp == 4:
        body = recv_exact(sock, 18, "SOCKS5 reply IPv6 address")
        host = socket.inet_ntop(socket.AF_INET6, body[:16])
    elif atyp == 3:
        n = recv_exact(sock, 1, "SOCKS5 reply name length")
        body = n + recv_exact(sock, n[0] + 2, "SOCKS5 reply name")
        host = body[1:-2].decode(errors="replace")
    else:
        raise TestFailure("SOCKS5 reply with unknown ATYP %d: %s" % (atyp, show(head)))
    port = struct.unpack(">H", body[-2:])[0]
    return head[1], host, port, head + body


def socks5_open(proxy, host, port, auth=None):
    """A SOCKS5 CONNECT through proxy; returns (sock, bound host, bound
    port) after checking the method and a success reply."""
    sock = connect(proxy)
    if auth:
        sock.sendall(b"\x05\x01\x02")
        check_eq(recv_exact(sock, 2, "method selection"), b"\x05\x02", "method selection")
        sock.sendall(socks5_auth(*auth))
        check_eq(recv_exact(sock, 2, "RFC 1929 reply"), b"\x01\x00", "RFC 1929 reply")
    else:
        sock.sendall(b"\x05\x01\x00")
        check_eq(recv_exact(sock, 2, "method selection"), b"\x05\x00", "method selection")
    sock.sendall(socks5_request(host, port))
    rep, bhost, bport, raw = read_socks5_reply(sock)
    check(rep == 0, "CONNECT %s: reply %s, want success" % (fmt_addr(host, port), show(raw)))
    return sock, bhost, bport


def socks4_request(ip, port, userid=b"", cmd=1, hostname=None):
    """SOCKS4 (or 4a when hostname is given: DSTIP 0.0.0.1) request."""
    if hostname is not None:
        ip = "0.0.0.1"
    msg = b"\x04" + bytes([cmd]) + struct.pack(">H", port) + socket.inet_aton(ip)
    msg += userid + b"\x00"
    if hostname is not None:
        msg += hostname.encode() + b"\x00"
    return msg


def read_socks4_reply(sock):
    """(CD, port, ip, raw) of the 8-byte SOCKS4 reply; VN must be 0."""
    raw = recv_exact(sock, 8, "SOCKS4 reply")
    check_eq(raw[0:1], b"\x00", "SOCKS4 reply VN")
    return raw[1], struct.unpack(">H", raw[2:4])[0], socket.inet_ntoa(raw[4:8]), raw


def echo_roundtrip(sock, payload, what="echo"):
    """Send payload and fail unless exactly the same bytes come back."""
    sock.sendall(payload)
    check_eq(recv_exact(sock, len(payload), what), payload, what)


def socks5_try(proxy, host, port, auth=None):
    """A SOCKS5 CONNECT through proxy whose outcome the test checks itself:
    (sock, REP, raw reply bytes).  The method (and RFC 1929) exchange must
    succeed."""
    sock = connect(proxy)
    if auth:
        sock.sendall(b"\x05\x01\x02")
        check_eq(recv_exact(sock, 2, "method selection"), b"\x05\x02", "method selection")
        sock.sendall(socks5_auth(*auth))
        check_eq(recv_exact(sock, 2, "RFC 1929 reply"), b"\x01\x00", "RFC 1929 reply")
    else:
        sock.sendall(b"\x05\x01\x00")
        check_eq(recv_exact(sock, 2, "method selection"), b"\x05\x00", "method selection")
    sock.sendall(socks5_request(host, port))
    rep, _host, _port, raw = read_socks5_reply(sock)
    return sock, rep, raw


_held_ports = []  # sockets that keep closed_port()'s ports taken until exit


def closed_port(host="127.0.0.1"):
    """A port nothing listens on: connects are refused.  The port stays
    bound (not listening) for the rest of the test process, so no server
    or hop that another test starts meanwhile (test files run in
    parallel) can take it and answer in its place, and the kernel does
    not hand it out for outgoing connections either."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(family)
    s.bind((host, 0))
    _held_ports.append(s)
    return s.getsockname()[1]


# ----------------------------------------------------------------- chains

def hop_url(scheme, addr, userinfo=""):
    """An upstream hop URL: hop_url("socks5", ("127.0.0.1", 1080), "u:p")
    is socks5://u:p@127.0.0.1:1080."""
    return "%s://%s%s" % (scheme, userinfo + "@" if userinfo else "", fmt_addr(*addr))


def chain_block(name, hops, mode=None, **options):
    """Config lines for `chain NAME { ... }`: the mode, one `hop` line per
    URL, then options (length=2, resolve="local", retry_dead="1s" is
    `retry-dead 1s`)."""
    lines = ["chain %s {" % name]
    if mode:
        lines.append("    mode %s" % mode)
    lines += ["    hop %s" % url for url in hops]
    for key, value in options.items():
        lines.append("    %s %s" % (key.replace("_", "-"), value))
    return lines + ["}"]


def eventually_eq(fn, want, what, timeout=BOUND):
    """check_eq(fn(), want, what) once fn() has had time to become want:
    access lines are written when a session ends, a little after its
    client got its last byte."""
    wait_until(lambda: fn() == want, timeout)
    check_eq(fn(), want, what)


def log_lines(hs, needle):
    """The complete lines of hs's stderr that contain needle.  A line is
    written with one write(2), but a reader can still catch the file while
    the kernel copies it in: a last line without its newline is not there
    yet."""
    text = hs.stderr_text()
    text = text[:text.rfind("\n") + 1]
    return [line for line in text.splitlines() if needle in line]


def stats_line(hs):
    """The counters line hopsocks writes on SIGUSR1 (the newest one)."""
    before = len(log_lines(hs, "stats sessions_active="))
    os.kill(hs.pid, signal.SIGUSR1)
    check(wait_until(lambda: len(log_lines(hs, "stats sessions_active=")) > before),
          "no stats line after SIGUSR1")
    return log_lines(hs, "stats sessions_active=")[-1]


def connects(hs, **want):
    """hs's access records for CONNECTs (cmd=connect) whose fields equal
    want (target="127.0.0.1:80", result="ok", ...)."""
    return [r for r in hs.access() if r.get("cmd") == "connect"
            and all(r.get(k) == v for k, v in want.items())]


# ------------------------------------------------------------- test runner

class Context:
    """What one test function owns: a temporary directory and everything it
    started, stopped again in reverse order by close()."""

    def __init__(self, suite_tmp, number):
        self.tmpdir = os.path.join(suite_tmp, "t%d" % number)
        os.mkdir(self.tmpdir)
        self._things = []
        self._counter = 0
        self.hopsocks_list = []

    def next_index(self):
        self._counter += 1
        return self._counter

    def hopsocks(self, **kw):
        """Start a hopsocks process (see Hopsocks) owned by this test."""
        hs = Hopsocks(self, **kw)
        self.hopsocks_list.append(hs)
        self._things.append(hs)
        return hs.start()

    def own(self, thing):
        """Register a started server (anything with stop()) for cleanup."""
        self._things.append(thing)
        return thing

    def close(self):
        """Stop everything; returns failure messages (hopsocks not exiting 0
        on SIGTERM is a failure of the test)."""
        problems = []
        for thing in reversed(self._things):
            try:
                if isinstance(thing, Hopsocks):
                    rc = thing.stop()
                    if rc not in (0, None):
                        problems.append("hopsocks pid %d exited with status %s"
                                        % (thing.pid, rc))
                else:
                    thing.stop()
            except Exception as e:  # keep stopping the rest
                problems.append("cleanup: %s" % e)
        return problems


# ---------------------------------------------- a private network namespace
#
# A test file that needs addresses other than loopback (clients the
# destination guard does not exempt, targets torsocks will proxy, an IPv6
# destination with no route) runs itself inside a network namespace of its
# own: Suite.run(netns=[...]) re-executes the file under `unshare --net`,
# brings loopback up and puts the given addresses on it. Nothing inside can
# reach any other network. Where no namespace can be made (not root, CI's
# chroot), the file runs on the host and its tests call need_netns() to skip.

NETNS_ENV = "HOPSOCKS_TEST_IN_NETNS"


def in_netns():
    return os.environ.get(NETNS_ENV) == "1"


def need_netns():
    """Skip the current test unless the file runs in its own namespace."""
    if not in_netns():
        raise Skip("needs a private network namespace (unshare --net), not available here")


def _netns_usable():
    if os.getuid() != 0 or not shutil.which("unshare") or not shutil.which("ip"):
        return False
    try:
        return subprocess.run(["unshare", "--net", "--", "ip", "link", "set", "lo", "up"],
                              capture_output=True, timeout=BOUND).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _run_in_netns(addresses):
    """Run sys.argv[0] again inside a new network namespace; its status."""
    setup = ["ip link set lo up"] + ["ip addr add %s dev lo" % a for a in addresses]
    script = " && ".join(setup) + ' && exec "$0" "$1"'
    env = dict(os.environ, **{NETNS_ENV: "1"})
    return subprocess.run(["unshare", "--net", "--", "sh", "-c", script, sys.executable,
                           os.path.abspath(sys.argv[0])], env=env).returncode


class Suite:
    """A list of test functions printed as one TAP stream."""

    def __init__(self):
        self.tests = []
        self.todo = {}  # fn -> reason, for tests of known, reported bugs

    def test(self, description, todo=None):
        """Decorator: register fn(ctx) as one TAP test line.  todo="reason"
        marks a test of a known bug: its failure is reported as TAP TODO
        (an expected failure), and once the bug is fixed its pass shows up
        as an unexpected pass, a reminder to drop the todo."""
        def register(fn):
            self.tests.append((description, fn))
            if todo:
                self.todo[fn] = todo
            return fn
        return register

    def run(self, netns=None):
        """Run all tests, print TAP, exit 0 (the TAP driver counts). With
        netns (addresses in CIDR form for loopback), in a private network
        namespace where one can be made (see need_netns)."""
        if netns is not None and not in_netns() and _netns_usable():
            sys.exit(_run_in_netns(netns))
        sys.stdout.reconfigure(line_buffering=True)
        print("1..%d" % len(self.tests))
        if not os.access(HOPSOCKS_BIN, os.X_OK):
            print("# hopsocks binary not found at %s (set HOPSOCKS_BIN)" % HOPSOCKS_BIN)
        suite_tmp = tempfile.mkdtemp(prefix="hopsocks-it-")
        try:
            for number, (description, fn) in enumerate(self.tests, 1):
                if ONLY and fn.__name__ not in ONLY:
                    print("ok %d - %s # SKIP not in HOPSOCKS_TEST_ONLY" % (number, description))
                    continue
                self._run_one(number, description, fn, suite_tmp)
        finally:
            shutil.rmtree(suite_tmp, ignore_errors=True)
        sys.exit(0)

    # A test that somehow blocks past every bounded wait is stopped by an
    # alarm, so a file always finishes and prints its TAP lines.
    TEST_LIMIT = int(BOUND * 10)

    @staticmethod
    def _alarm(signum, frame):
        raise TestFailure("test still running after %ds: stopped by the watchdog"
                          % Suite.TEST_LIMIT)

    def _run_one(self, number, description, fn, suite_tmp):
        ctx = Context(suite_tmp, number)
        status, diag = "ok", []
        started = time.monotonic()
        signal.signal(signal.SIGALRM, self._alarm)
        signal.alarm(self.TEST_LIMIT)
        try:
            fn(ctx)
        except Skip as s:
            status = "skip:%s" % s
        except TestFailure as f:
            status, diag = "not ok", str(f).splitlines()
        except Exception:
            status, diag = "not ok", traceback.format_exc().splitlines()
        finally:
            signal.alarm(0)
        problems = ctx.close()
        if problems and status != "not ok":
            status = "not ok"
        diag += problems
        elapsed = time.monotonic() - started
        if status.startswith("skip:"):
            print("ok %d - %s # SKIP %s" % (number, description, status[5:]))
            return
        todo = " # TODO %s" % self.todo[fn] if fn in self.todo else ""
        print("%s %d - %s%s" % (status, number, description, todo))
        if status == "not ok":
            for line in diag:
                print("# " + line)
            for hs in ctx.hopsocks_list:
                print("# --- hopsocks #%d stderr (tail):" % hs.index)
                for line in hs.stderr_tail():
                    print("#   " + line)
        elif elapsed > 5:
            print("# (%.1fs)" % elapsed)
