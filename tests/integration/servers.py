"""Target servers for the integration tests, run in-process on threads.

Each server binds port 0 on 127.0.0.1 or ::1 (so ports never collide),
remembers the peer address of every connection it accepted (to compare with
the BND.ADDR/BND.PORT a proxy replies), and is stopped with stop(), which is
bounded.  Register them with ctx.own() so a test always stops them.
"""

import hashlib
import http.server
import random
import socket
import threading
import time

from harness import BOUND, TestFailure, wait_until

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


class TcpServer:
    """A threaded TCP server: one accept thread, one thread per connection
    running self.handle(conn).  Subclasses define handle()."""

    def __init__(self, host="127.0.0.1", backlog=128):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.listener = socket.socket(family, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((host, 0))
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
