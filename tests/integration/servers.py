# SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors.
"""Target servers for the integration tests, run in-process on threads.

Each server binds port 0 on 127.0.0.1 or ::1 (so ports never collide),
remembers the peer address of every connection it accepted (to compare with
the BND.ADDR/BND.PORT a proxy replies), and is stopped with stop(), which is
bounded.  Register them with ctx.own() so a test always stops them.
"""

import hashlib
import http.server
import os
import pwd
import random
import re
import signal
import socket
import subprocess
import threading
import time

from harness import BOUND, TestFailure, check, fmt_addr, wait_until
from harness import missing  # noqa: E402
from harness import free_port, port_accepts

_PATTERN_CACHE = {}


def pattern(size, seed=1):
    """size bytes of deterministic pseudo-random data.  Both ends of a
    transfer can compute it, so a hash mismatch pins the bug on the relay;
    random bytes (unlike a repeating text) also catch reordered chunks."""
    key = (size, seed)
    if key not in _PATTERN_CACHE:
        _PATTERN_CACHE[key] = random.Random(seed).randbytes(size)
    return _PATTERN_CACHE[key]


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def read_all(sock, limit=None, timeout=BOUND * 6):
    """(sha256 hex, byte count) of everything until EOF (or limit bytes),
    each read bounded by timeout (a bulk transfer on a slow build)."""
    digest, count = hashlib.sha256(), 0
    buf = bytearray(262144)
    sock.settimeout(timeout)
    while limit is None or count < limit:
        want = len(buf) if limit is None else min(len(buf), limit - count)
        n = sock.recv_into(buf, want)
        if n == 0:
            break
        digest.update(memoryview(buf)[:n])
        count += n
    return digest.hexdigest(), count


class TcpServer:
    """A threaded TCP server: one accept thread, one thread per connection
    running self.handle(conn).  Subclasses define handle()."""

    def __init__(self, host="127.0.0.1", backlog=128, port=0):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.listener = socket.socket(family, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.listener.bind((host, port))
        except OSError:
            self.listener.close()
            raise
        self.listener.listen(backlog)
        self.listener.settimeout(0.1)  # so the accept loop notices stop()
        self.host = host
        self.port = self.listener.getsockname()[1]
        self.peers = []          # (host, port) of each accepted connection
        self.errors = []         # exceptions raised by handlers
        self._conns = []
        self._threads = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._acceptor = threading.Thread(target=self._accept_loop, daemon=True)
        self._acceptor.start()

    @property
    def addr(self):
        return (self.host, self.port)

    def _accept_loop(self):
        while not self._stopping.is_set():
            try:
                conn, peer = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            conn.settimeout(BOUND * 4)  # longer than any test wait
            with self._lock:
                self.peers.append(peer[:2])
                self._conns.append(conn)
                t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
                self._threads.append(t)
            t.start()

    def _serve(self, conn):
        try:
            self.handle(conn)
        except Exception as e:  # reported by tests that care via .errors
            if not self._stopping.is_set():
                self.errors.append(e)
        finally:
            conn.close()

    def handle(self, conn):
        raise NotImplementedError

    def wait_peers(self, count, timeout=BOUND):
        """The peer list once it holds at least count entries."""
        if not wait_until(lambda: len(self.peers) >= count, timeout):
            raise TestFailure("%s saw %d connections, expected %d"
                              % (type(self).__name__, len(self.peers), count))
        return list(self.peers)

    def stop(self):
        """Stop accepting, wake every handler and join all threads (bounded)."""
        self._stopping.set()
        self.listener.close()
        with self._lock:
            conns, threads = list(self._conns), list(self._threads)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        deadline = time.monotonic() + BOUND
        for t in [self._acceptor] + threads:
            t.join(max(0.1, deadline - time.monotonic()))


class EchoServer(TcpServer):
    """Sends back every byte it receives; on EOF it closes."""

    def handle(self, conn):
        while True:
            data = conn.recv(262144)
            if not data:
                return
            conn.sendall(data)


class SinkServer(TcpServer):
    """Reads until EOF (the client's half-close), then answers one line
    "<sha256 hex> <byte count>\\n" and closes: it proves every byte arrived
    and that the FIN was passed on while the other direction stayed open."""

    def handle(self, conn):
        digest, count = hashlib.sha256(), 0
        while True:
            data = conn.recv(262144)
            if not data:
                break
            digest.update(data)
            count += len(data)
        conn.sendall(("%s %d\n" % (digest.hexdigest(), count)).encode())


class SourceServer(TcpServer):
    """Sends pattern(size, seed) and closes.  .sent counts bytes accepted
    by the kernel so far, to observe back-pressure."""

    def __init__(self, size, seed=7, host="127.0.0.1"):
        self.size, self.seed, self.sent = size, seed, 0
        pattern(size, seed)  # generate before any client waits on it
        super().__init__(host)

    def handle(self, conn):
        data = memoryview(pattern(self.size, self.seed))
        conn.settimeout(BOUND * 4)
        while self.sent < len(data):
            n = conn.send(data[self.sent:self.sent + 262144])
            self.sent += n


class GreeterServer(TcpServer):
    """Speaks first: sends a fixed banner on accept, then echoes.  Catches
    a relay that only starts forwarding after the client spoke."""

    BANNER = b"220 greeter ready\r\n"

    def handle(self, conn):
        conn.sendall(self.BANNER)
        EchoServer.handle(self, conn)


SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)  # Linux; Python lacks the name


class UdpEchoServer:
    """A UDP target on host:0 that records every datagram it gets, as
    (sender (host, port), payload), in .received and, unless echo=False,
    sends the payload back to its sender."""

    def __init__(self, host="127.0.0.1", echo=True):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        # Room for a burst of big datagrams (a proxy may release several
        # 60 KB ones at once): the default buffer holds about three.
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 4 << 20)
        except OSError:  # not root: as much as net.core.rmem_max allows
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.bind((host, 0))
        self.sock.settimeout(0.1)
        self.host, self.port = host, self.sock.getsockname()[1]
        self.echo = echo
        self.received = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    @property
    def addr(self):
        return (self.host, self.port)

    def _loop(self):
        while not self._stopping.is_set():
            try:
                data, peer = self.sock.recvfrom(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            self.received.append((peer[:2], data))
            if self.echo:
                try:
                    self.sock.sendto(data, peer)
                except OSError:
                    pass

    def wait_count(self, count, timeout=BOUND):
        """The datagrams received once there are at least count of them."""
        if not wait_until(lambda: len(self.received) >= count, timeout):
            raise TestFailure("UDP target %s:%d got %d datagrams, expected %d"
                              % (self.host, self.port, len(self.received), count))
        return list(self.received)

    def stop(self):
        self._stopping.set()
        self._thread.join(BOUND)
        self.sock.close()


class Blackhole:
    """A TCP port whose handshake never completes: a listener with backlog 0
    whose one-slot accept queue is already filled, so the kernel drops
    further SYNs and a connect() hangs until its timeout."""

    def __init__(self, host="127.0.0.1"):
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind((host, 0))
        self.listener.listen(0)
        self.host, self.port = host, self.listener.getsockname()[1]
        self.fillers = []
        self.works = self._fill()

    @property
    def addr(self):
        return (self.host, self.port)

    def _fill(self):
        """Connect until one attempt hangs; True if the port now hangs."""
        for _ in range(8):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.settimeout(0.5)
            self.fillers.append(s)
            try:
                s.connect(self.addr)
            except socket.timeout:
                return True
            except OSError:
                return False
        return False

    def stop(self):
        for s in self.fillers:
            s.close()
        self.listener.close()


class _HttpHandler(http.server.BaseHTTPRequestHandler):
    """GET /hello -> a fixed text; GET /bytes/N -> pattern(N); anything else
    404.  Every response carries Content-Length and the peer the server saw."""

    protocol_version = "HTTP/1.1"

    def do_GET(self):
        # Record before answering: a client that has its response may look
        # at .requests at once.
        self.server.owner.requests.append((self.path, self.client_address[:2],
                                           self.headers.get("Host")))
        body, code = self.server.owner.body_for(self.path)
        self.send_response(code)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Peer", "%s %d" % self.client_address[:2])
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass  # keep TAP output clean


class HttpServer:
    """A small HTTP/1.1 server on host (IPv4 or IPv6) for curl tests."""

    HELLO = b"hello from the hopsocks test target\n"

    def __init__(self, host="127.0.0.1"):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET

        class Server(http.server.ThreadingHTTPServer):
            address_family = family
            daemon_threads = True

        self.httpd = Server((host, 0), _HttpHandler)
        self.httpd.owner = self
        self.host, self.port = host, self.httpd.server_address[1]
        self.requests = []
        self._thread = threading.Thread(target=self.httpd.serve_forever,
                                        kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()

    @property
    def addr(self):
        return (self.host, self.port)

    def url(self, path="/hello", host=None):
        h = host or self.host
        hostpart = "[%s]" % h if ":" in h else h
        return "http://%s:%d%s" % (hostpart, self.port, path)

    def body_for(self, path):
        if path == "/hello":
            return self.HELLO, 200
        if path.startswith("/bytes/"):
            try:
                return pattern(int(path[len("/bytes/"):]), seed=3), 200
            except ValueError:
                pass
        return b"not found\n", 404

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(BOUND)


# ------------------------------------------------- upstream proxies (chains)
#
# Real upstream proxies for the chaining tests, run as child processes on
# 127.0.0.1: dante (danted: SOCKS4 and SOCKS5), microsocks (SOCKS5, RFC 1929
# with -u/-P) and tinyproxy (HTTP CONNECT, Basic with BasicAuth).  Each one
# gets a port chosen at start (retried if it was taken meanwhile), runs in
# its own process group (danted forks helpers) and is stopped by signalling
# that group, bounded, with SIGKILL as the last resort.  None of them is
# ever given a name to resolve: they would ask the machine's resolver.


class ExternalServer:
    """Base class: subclasses set PROGRAM and write command() from
    self.port; write_config() may write files first."""

    PROGRAM = None
    PACKAGE = None  # the Debian package that installs PROGRAM
    START_ATTEMPTS = 3

    def __init__(self, ctx, port=None):
        self.ctx = ctx
        self.index = ctx.next_index()
        self.base = os.path.join(ctx.tmpdir, "%s-%d" % (os.path.basename(self.PROGRAM),
                                                         self.index))
        self.out_path = self.base + ".out"
        self.proc = None
        self.fixed_port = port  # a test that needs this very port (no retry)
        self.port = None
        self.host = "127.0.0.1"

    @classmethod
    def available(cls):
        return os.access(cls.PROGRAM, os.X_OK)

    @property
    def addr(self):
        return (self.host, self.port)

    def write_config(self):
        pass

    def command(self):
        raise NotImplementedError

    def start(self):
        if not self.available():
            raise missing(self.PROGRAM, self.PACKAGE)
        why = "?"
        for _ in range(1 if self.fixed_port else self.START_ATTEMPTS):
            self.port = self.fixed_port or free_port()
            self.write_config()
            with open(self.out_path, "ab") as out:
                self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL,
                                             stdout=out, stderr=out, close_fds=True,
                                             start_new_session=True)
            ready = wait_until(lambda: self.proc.poll() is not None
                               or port_accepts(self.host, self.port))
            if ready and self.proc.poll() is None:
                return self
            why = ("exited with status %s" % self.proc.poll() if self.proc.poll() is not None
                   else "no listener after %.0fs" % BOUND)
            self._kill_group(signal.SIGKILL)
        raise TestFailure("%s did not start (%s): %s; output: %s"
                          % (self.PROGRAM, why, " ".join(self.command()),
                             self.output()[-600:]))

    def _kill_group(self, sig):
        try:
            os.killpg(self.proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(timeout=BOUND)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=BOUND)

    def stop(self):
        if self.proc is not None and self.proc.returncode is None:
            self._kill_group(signal.SIGTERM)

    def output(self):
        try:
            with open(self.out_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""


class Danted(ExternalServer):
    """dante's danted with one mother process (-N 1), no authentication,
    clients and targets in 127.0.0.0/8, and CONNECT, BIND and UDP
    ASSOCIATE allowed; connections are logged (log_text()).  SOCKS4 and
    SOCKS5, not SOCKS4a (it takes 0.0.0.x as an address).  external is
    the address its outgoing TCP connections and UDP datagrams come from
    (another 127.x address tells a target that dante was the last hop)."""

    PROGRAM = "/usr/sbin/danted"
    PACKAGE = "dante-server"

    def __init__(self, ctx, external="127.0.0.1", port=None):
        super().__init__(ctx, port)
        self.external = external

    def write_config(self):
        self.conf = self.base + ".conf"
        self.log = self.base + ".log"
        with open(self.conf, "w") as f:
            f.write("logoutput: %s\n"
                    "internal: 127.0.0.1 port = %d\n"
                    "external: %s\n"
                    "socksmethod: none\n"
                    "clientmethod: none\n"
                    "user.privileged: root\n"
                    "user.unprivileged: nobody\n"
                    "client pass {\n  from: 127.0.0.0/8 to: 0.0.0.0/0\n}\n"
                    "socks pass {\n  from: 127.0.0.0/8 to: 0.0.0.0/0\n"
                    "  command: bind connect udpassociate bindreply udpreply\n"
                    "  log: connect disconnect error\n}\n" % (self.log, self.port, self.external))

    def command(self):
        return [self.PROGRAM, "-f", self.conf, "-N", "1", "-p", self.base + ".pid"]

    def log_text(self):
        try:
            with open(self.log, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    # "pass(1): tcp/connect [: 127.0.0.1.41120 127.0.0.1.41080 -> 127.0.0.1.35853 127.0.0.1.41081"
    _OPEN_RE = re.compile(r"pass\(\d+\): (tcp/connect|udp/udpassociate) \[: "
                          r"\S+ \S+ -> \S+ (\d+\.\d+\.\d+\.\d+)\.(\d+)")

    def connects(self):
        """(host, port) of every target a TCP CONNECT was opened to."""
        return [(m.group(2), int(m.group(3))) for m in self._OPEN_RE.finditer(self.log_text())
                if m.group(1) == "tcp/connect"]

    def udp_associations(self):
        """How many UDP associations dante opened."""
        return len(re.findall(r"pass\(\d+\): udp/udpassociate \[", self.log_text()))


class Microsocks(ExternalServer):
    """microsocks on 127.0.0.1; with user and password it demands RFC 1929
    (and offers no other method).  It logs nothing, so bind (-b: the
    address of its outgoing connections, e.g. 127.0.0.3) is how a target
    or the next hop tells that it came through microsocks."""

    PROGRAM = "/usr/bin/microsocks"
    PACKAGE = "microsocks"

    def __init__(self, ctx, user=None, password=None, bind=None, port=None):
        super().__init__(ctx, port)
        self.user, self.password, self.bind = user, password, bind

    def command(self):
        cmd = [self.PROGRAM, "-i", self.host, "-p", str(self.port)]
        if self.user is not None:
            cmd += ["-u", self.user, "-P", self.password]
        if self.bind is not None:
            cmd += ["-b", self.bind]
        return cmd


class Tinyproxy(ExternalServer):
    """tinyproxy (Debian's tinyproxy-bin) in the foreground: CONNECT to any
    port (no ConnectPort line means all are allowed), clients from
    127.0.0.1 only, Basic auth when user/password are given, every CONNECT
    logged (connects())."""

    PROGRAM = "/usr/bin/tinyproxy"
    PACKAGE = "tinyproxy-bin"

    def __init__(self, ctx, user=None, password=None):
        super().__init__(ctx)
        self.user, self.password = user, password

    def write_config(self):
        self.conf = self.base + ".conf"
        with open(self.conf, "w") as f:
            f.write("Port %d\nListen 127.0.0.1\nTimeout 60\nMaxClients 64\n"
                    "Allow 127.0.0.1\nLogLevel Connect\nDisableViaHeader Yes\n" % self.port)
            if self.user is not None:
                f.write("BasicAuth %s %s\n" % (self.user, self.password))

    def command(self):
        return [self.PROGRAM, "-d", "-c", self.conf]

    _CONNECT_RE = re.compile(r"Request \(file descriptor \d+\): CONNECT (\S+) HTTP/1\.\d")

    def connects(self):
        """The host:port of every CONNECT request tinyproxy read."""
        return self._CONNECT_RE.findall(self.output())


class Sshd(ExternalServer):
    """A private OpenSSH server on 127.0.0.1 for one test: its own host key,
    config, pid file and authorized key (made with ssh-keygen), public-key
    logins for the user the tests run as and nothing else, TCP forwarding
    on (what `ssh -D` needs).  Needs root: sshd's privilege separation
    directory (/run/sshd, which Debian's unit creates) is made if it is
    missing."""

    PROGRAM = "/usr/sbin/sshd"
    PACKAGE = "openssh-server"

    def write_config(self):
        if not os.path.isdir("/run/sshd"):
            os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        self.host_key = self.base + ".host_key"
        self.user_key = self.base + ".user_key"
        for key in (self.host_key, self.user_key):
            if not os.path.exists(key):
                subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "test",
                                "-f", key], check=True, timeout=BOUND,
                               stdin=subprocess.DEVNULL)
        self.authorized = self.base + ".authorized_keys"
        with open(self.user_key + ".pub") as src, open(self.authorized, "w") as dst:
            dst.write(src.read())
        self.conf = self.base + ".conf"
        with open(self.conf, "w") as f:
            f.write("Port %d\nListenAddress 127.0.0.1\nHostKey %s\nPidFile %s.pid\n"
                    "AuthorizedKeysFile %s\nStrictModes no\nUsePAM no\n"
                    "PasswordAuthentication no\nKbdInteractiveAuthentication no\n"
                    "PermitRootLogin prohibit-password\nAllowTcpForwarding yes\n"
                    "LogLevel VERBOSE\n"
                    % (self.port, self.host_key, self.base, self.authorized))

    def command(self):
        return [self.PROGRAM, "-D", "-e", "-f", self.conf]


class SshDynamic(ExternalServer):
    """`ssh -N -D 127.0.0.1:PORT` logged in to sshd (an Sshd): OpenSSH's
    own SOCKS4/5 server, as people put one in a chain."""

    PROGRAM = "/usr/bin/ssh"
    PACKAGE = "openssh-client"

    def __init__(self, ctx, sshd):
        super().__init__(ctx)
        self.sshd = sshd

    def command(self):
        user = pwd.getpwuid(os.getuid()).pw_name
        return [self.PROGRAM, "-N", "-F", "/dev/null", "-D", "127.0.0.1:%d" % self.port,
                "-i", self.sshd.user_key, "-o", "StrictHostKeyChecking=no",
                "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
                "-o", "ExitOnForwardFailure=yes", "-o", "LogLevel=ERROR",
                "-p", str(self.sshd.port), "%s@127.0.0.1" % user]


# ------------------------------------------------ scripted upstream hops
#
# Fake hops that answer exactly what a test says, to check the bytes
# hopsocks sends to a hop and how it maps each answer.  After a successful
# answer they echo, standing in for both the hop and the target.


def _read_header(conn, limit=65536):
    """Bytes up to and including the first blank line (CRLF CRLF), and what
    arrived behind it."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = conn.recv(4096)
        if not chunk or len(buf) > limit:
            return buf, None
        buf += chunk
    end = buf.index(b"\r\n\r\n") + 4
    return buf[:end], buf[end:]


def _recv_n(conn, n):
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            raise EOFError("EOF after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return buf


class ScriptedHttpProxy(TcpServer):
    """Reads a request header (kept in .requests), answers `response`
    (bytes; a byte at a time with bytewise=True) and then, if tunnel (by
    default: the response is a 2xx), echoes what follows.  response may
    hold bytes behind its own header: they are the tunnel's first bytes."""

    def __init__(self, response, tunnel=None, bytewise=False, host="127.0.0.1"):
        self.response, self.bytewise = response, bytewise
        self.tunnel = re.match(rb"HTTP/1\.\d 2", response) is not None if tunnel is None else tunnel
        self.requests = []
        super().__init__(host)

    def handle(self, conn):
        header, rest = _read_header(conn)
        self.requests.append(header)
        if rest is None:
            return
        _send(conn, self.response, self.bytewise)
        if not self.tunnel:
            return
        if rest:
            conn.sendall(rest)
        EchoServer.handle(self, conn)


def _send(conn, data, bytewise):
    if not bytewise:
        conn.sendall(data)
        return
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for i in range(len(data)):
        conn.sendall(data[i:i + 1])
        time.sleep(0.001)


class ScriptedSocks5(TcpServer):
    """A SOCKS5 hop without authentication that answers every CONNECT with
    REP `rep` and BND `bnd` (ATYP, address and port as bytes), keeping each
    request's raw bytes in .requests; `after` is sent in the same write as
    the reply (a target that speaks first); bytewise sends its answers a
    byte at a time.  On success it echoes.  silent=True: it accepts and
    reads but never answers anything (a hop that went quiet)."""

    def __init__(self, rep=0, silent=False, bnd=b"\x01" + b"\x00" * 6, after=b"",
                 bytewise=False, host="127.0.0.1"):
        self.rep, self.silent, self.bnd, self.after = rep, silent, bnd, after
        self.bytewise = bytewise
        self.requests = []
        super().__init__(host)

    def handle(self, conn):
        if self.silent:
            while conn.recv(4096):
                pass
            return
        head = _recv_n(conn, 2)
        _recv_n(conn, head[1])
        _send(conn, b"\x05\x00", self.bytewise)
        req = _recv_n(conn, 4)
        if req[3] == 1:
            rest = _recv_n(conn, 6)
        elif req[3] == 4:
            rest = _recv_n(conn, 18)
        else:
            n = _recv_n(conn, 1)
            rest = n + _recv_n(conn, n[0] + 2)
        self.requests.append(req + rest)
        _send(conn, b"\x05" + bytes([self.rep]) + b"\x00" + self.bnd + self.after, self.bytewise)
        if self.rep == 0:
            EchoServer.handle(self, conn)


def echo_transfer(sock, size, seed=5, what="echoed bytes"):
    """Send pattern(size, seed) from a thread while reading the echo back
    (so neither direction waits on the other); fail unless the SHA-256 of
    what came back is that of what was sent."""
    data = pattern(size, seed)
    errors = []

    def sender():
        try:
            sock.sendall(data)
        except OSError as e:
            errors.append(e)

    thread = threading.Thread(target=sender, daemon=True)
    thread.start()
    chunks, got = [], 0
    while got < size:
        try:
            chunk = sock.recv(min(262144, size - got))
        except OSError as e:
            raise TestFailure("%s: %s after %d of %d bytes" % (what, e, got, size))
        if not chunk:
            raise TestFailure("%s: EOF after %d of %d bytes" % (what, got, size))
        chunks.append(chunk)
        got += len(chunk)
    thread.join(BOUND)
    if errors:
        raise TestFailure("%s: sending failed: %s" % (what, errors[0]))
    if sha256(b"".join(chunks)) != sha256(data):
        raise TestFailure("%s: sha256 %s, want %s (%d bytes)"
                          % (what, sha256(b"".join(chunks)), sha256(data), size))


def sink_transfer(sock, size, seed=6, what="upload to the sink"):
    """Send pattern(size, seed) to a SinkServer, half-close, and fail unless
    the sink's answer names its SHA-256 and length (so the FIN was passed
    on and the answer came back through the half-closed connection)."""
    data = pattern(size, seed)
    sock.sendall(data)
    sock.shutdown(socket.SHUT_WR)
    answer = b""
    while not answer.endswith(b"\n"):
        chunk = sock.recv(4096)
        if not chunk:
            break
        answer += chunk
    want = ("%s %d\n" % (sha256(data), size)).encode()
    if answer != want:
        raise TestFailure("%s: sink answered %r, want %r" % (what, answer, want))


class Haproxy(ExternalServer):
    """HAProxy (Debian's haproxy) in TCP mode in the foreground: one
    frontend on a free loopback port balancing round-robin over backends,
    a list of (host, port), with TCP health checks every 200 ms (down after
    two failures, up after one success). send_proxy is None, "v1"
    (send-proxy) or "v2" (send-proxy-v2); the health checks then send the
    header too (check-send-proxy), as a server that demands it needs.
    Connections are logged to its output (output()); servers() reads the
    state of each backend server from its admin socket."""

    PROGRAM = "/usr/sbin/haproxy"
    PACKAGE = "haproxy"

    def __init__(self, ctx, backends, send_proxy=None, bind="127.0.0.1", port=None):
        super().__init__(ctx, port)
        self.backends = list(backends)
        self.send_proxy = send_proxy
        self.host = bind

    def write_config(self):
        self.conf = self.base + ".cfg"
        self.sock = self.base + ".sock"
        option = {None: "", "v1": " send-proxy check-send-proxy",
                  "v2": " send-proxy-v2 check-send-proxy"}[self.send_proxy]
        servers = "".join("    server s%d %s check inter 200ms fall 2 rise 1%s\n"
                          % (i, fmt_addr(h, p), option)
                          for i, (h, p) in enumerate(self.backends))
        with open(self.conf, "w") as f:
            f.write("global\n"
                    "    log stdout format raw local0\n"
                    "    stats socket %s mode 600 level admin\n"
                    "    maxconn 4096\n"
                    "defaults\n"
                    "    mode tcp\n"
                    "    log global\n"
                    "    option tcplog\n"
                    "    timeout connect 5s\n"
                    "    timeout client 5m\n"
                    "    timeout server 5m\n"
                    "frontend fe\n"
                    "    bind %s\n"
                    "    default_backend be\n"
                    "backend be\n"
                    "    balance roundrobin\n%s"
                    % (self.sock, fmt_addr(self.host, self.port), servers))

    def command(self):
        return [self.PROGRAM, "-db", "-f", self.conf]

    def servers(self):
        """{server name: status} from "show stat" ("UP", "DOWN", ...)."""
        # The frontend may accept before the admin socket exists.
        check(wait_until(lambda: os.path.exists(self.sock)),
              "haproxy's admin socket %s did not appear" % self.sock)
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(BOUND)
            s.connect(self.sock)
            s.sendall(b"show stat\n")
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        lines = data.decode().splitlines()
        header = lines[0].lstrip("# ").split(",")
        out = {}
        for line in lines[1:]:
            row = dict(zip(header, line.split(",")))
            if row.get("pxname") == "be" and row.get("svname") not in ("BACKEND", None):
                out[row["svname"]] = row.get("status", "")
        return out

    def wait_status(self, want, what):
        """Poll until servers() == want ({name: status}); fail after BOUND."""
        got = {}

        def ok():
            got["last"] = self.servers()
            return got["last"] == want
        check(wait_until(ok), "%s: haproxy servers %s, want %s" % (what, got.get("last"), want))
