#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors.
"""PySocks (Debian's python3-socks) through hopsocks: SOCKS4, SOCKS4a,
SOCKS5 with local and remote names, IPv6, username/password, the error
codes PySocks reports, and the bound address it is given (which must be the
address the target saw)."""

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
import threading  # noqa: E402

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (BOUND, Skip, Suite, TestFailure, check, check_eq, recv_exact,  # noqa: E402
                     write_users)
from harness import missing  # noqa: E402
from dnsserver import DnsServer  # noqa: E402
from servers import EchoServer, HttpServer, pattern, sha256  # noqa: E402

suite = Suite()


def psock(hs, proxy_type, rdns=False, username=None, password=None, family=socket.AF_INET,
          proxy_host=None):
    """A PySocks socket configured for hs (not yet connected)."""
    if socks is None:
        raise missing("PySocks (import socks)", "python3-socks")
    proxy_host = proxy_host or hs.listen_hosts[0]
    s = socks.socksocket(family, socket.SOCK_STREAM)
    s.set_proxy(proxy_type, proxy_host, hs.ports[proxy_host], rdns=rdns,
                username=username, password=password)
    s.settimeout(BOUND)
    return s


def roundtrip(s, data):
    s.sendall(data)
    check_eq(recv_exact(s, len(data), "echo"), data, "echo")


def expect_error(exc_type, code_text, fn, what):
    """fn() must raise exc_type whose message holds code_text (PySocks puts
    the server's reply code there, e.g. '0x05')."""
    try:
        fn()
    except Exception as e:
        # PySocks 1.7 wraps the SOCKS error in GeneralProxyError("Socket
        # error", original) because its errors are socket.error subclasses.
        inner = getattr(e, "socket_err", None) if type(e) is socks.GeneralProxyError else e
        check(isinstance(inner, exc_type), "%s: raised %r (%s), want %s"
              % (what, e, str(e), exc_type.__name__))
        check(code_text in str(inner), "%s: PySocks error %r lacks %r"
              % (what, str(inner), code_text))
        return
    raise TestFailure("%s: connected, want %s %s" % (what, exc_type.__name__, code_text))


@suite.test("SOCKS5: echo exact bytes; get_proxy_sockname() is the address the target saw")
def t_socks5(ctx):
    echo = ctx.own(EchoServer())
    hs = ctx.hopsocks()
    with psock(hs, socks.SOCKS5) as s:
        s.connect(("127.0.0.1", echo.port))
        roundtrip(s, b"pysocks five")
        check_eq(tuple(s.get_proxy_sockname()), tuple(echo.wait_peers(1)[0]), "proxy sockname")


@suite.test("SOCKS4: echo exact bytes; get_proxy_sockname() is the address the target saw")
def t_socks4(ctx):
    echo = ctx.own(EchoServer())
    hs = ctx.hopsocks()
    with psock(hs, socks.SOCKS4) as s:
        s.connect(("127.0.0.1", echo.port))
        roundtrip(s, b"pysocks four")
        check_eq(tuple(s.get_proxy_sockname()), tuple(echo.wait_peers(1)[0]), "proxy sockname")


@suite.test("SOCKS5 rdns and SOCKS4a (SOCKS4 rdns): names resolved by hopsocks via the test DNS")
def t_remote_names(ctx):
    echo = ctx.own(EchoServer())
    dns = ctx.own(DnsServer({"echo.test": ["127.0.0.1"]}))
    hs = ctx.hopsocks(config=["resolver " + dns.resolver])
    for proxy_type, proto in ((socks.SOCKS5, "socks5"), (socks.SOCKS4, "socks4a")):
        with psock(hs, proxy_type, rdns=True) as s:
            s.connect(("echo.test", echo.port))
            client = "127.0.0.1:%d" % s.getsockname()[1]
            roundtrip(s, b"by name via " + proto.encode())
        rec = hs.wait_access(lambda r: r.get("client") == client)
        check_eq((rec.get("proto"), rec.get("target"), rec.get("result")),
                 (proto, "echo.test:%d" % echo.port, "ok"), "access of %r" % rec["_line"])
    check(dns.count("echo.test") >= 1, "the test DNS server was not asked for echo.test")


@suite.test("SOCKS5 to a ::1 target, and through a [::1] listener")
def t_ipv6(ctx):
    echo6 = ctx.own(EchoServer("::1"))
    hs = ctx.hopsocks(listen=("127.0.0.1", "::1"))
    with psock(hs, socks.SOCKS5) as s:
        s.connect(("::1", echo6.port))
        roundtrip(s, b"to ::1")
        check_eq(tuple(s.get_proxy_sockname()), tuple(echo6.wait_peers(1)[0]), "proxy sockname")
    with psock(hs, socks.SOCKS5, family=socket.AF_INET6, proxy_host="::1") as s:
        s.connect(("::1", echo6.port))
        roundtrip(s, b"via [::1] listener")


@suite.test("SOCKS5 username/password: right one relays, wrong one raises SOCKS5AuthError")
def t_auth(ctx):
    echo = ctx.own(EchoServer())
    users = write_users(ctx, {"alice": "wonderland"})
    hs = ctx.hopsocks(config=["users " + users])
    with psock(hs, socks.SOCKS5, username="alice", password="wonderland") as s:
        s.connect(("127.0.0.1", echo.port))
        roundtrip(s, b"authenticated")
    with psock(hs, socks.SOCKS5, username="alice", password="nope") as s:
        expect_error(socks.SOCKS5AuthError, "authentication failed",
                     lambda: s.connect(("127.0.0.1", echo.port)), "wrong password")
    with psock(hs, socks.SOCKS5) as s:
        expect_error(socks.SOCKS5AuthError, "rejected", lambda: s.connect(("127.0.0.1", echo.port)),
                     "no credentials")
    check_eq(len(echo.peers), 1, "connections the target saw")


@suite.test("error codes as PySocks reports them: refused 0x05, unknown name 0x04, SOCKS4 0x5b")
def t_errors(ctx):
    dns = ctx.own(DnsServer({}))
    hs = ctx.hopsocks(config=["resolver " + dns.resolver])
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    with psock(hs, socks.SOCKS5) as s:
        expect_error(socks.SOCKS5Error, "0x05", lambda: s.connect(("127.0.0.1", closed)), "refused")
    with psock(hs, socks.SOCKS5, rdns=True) as s:
        expect_error(socks.SOCKS5Error, "0x04", lambda: s.connect(("nowhere.test", 80)), "NXDOMAIN")
    with psock(hs, socks.SOCKS4) as s:
        expect_error(socks.SOCKS4Error, "0x5b", lambda: s.connect(("127.0.0.1", closed)),
                     "SOCKS4 refused")


@suite.test("socks.create_connection + raw HTTP/1.0 GET: exact 1 MiB body by SHA-256")
def t_http(ctx):
    http = ctx.own(HttpServer())
    hs = ctx.hopsocks()
    if socks is None:
        raise Skip("python3-socks missing")
    s = socks.create_connection(("127.0.0.1", http.port), timeout=BOUND, proxy_type=socks.SOCKS5,
                                proxy_addr="127.0.0.1", proxy_port=hs.port)
    with s:
        s.sendall(b"GET /bytes/1048576 HTTP/1.0\r\nHost: x\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(262144)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    check(head.startswith(b"HTTP/1.0 200") or head.startswith(b"HTTP/1.1 200"),
          "status line %r" % head[:40])
    check_eq(sha256(body), sha256(http.body_for("/bytes/1048576")[0]), "body SHA-256")


@suite.test("4 MiB through a PySocks socket and back: SHA-256 matches")
def t_bulk(ctx):
    echo = ctx.own(EchoServer())
    hs = ctx.hopsocks()
    data = pattern(4 << 20, seed=41)
    with psock(hs, socks.SOCKS5) as s:
        s.connect(("127.0.0.1", echo.port))
        sender = threading.Thread(target=s.sendall, args=(data,), daemon=True)
        sender.start()
        got = recv_exact(s, len(data), "bulk echo")
        sender.join(BOUND)
    check_eq(sha256(got), sha256(data), "SHA-256 of the echo")


if __name__ == "__main__":
    suite.run()
