#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors.
"""The HTTP CONNECT front-end on the SOCKS port.

Real clients: curl -p -x http://hopsocks (proxytunnel) and proxychains4
with an `http` entry running curl without a proxy, both fetching from a
local HTTP server (body SHA-256), with and without Basic auth against the
user file, and through an upstream chain.  A raw client covers the rest
with exact bytes: the 200 line with no fields, bytes pipelined behind the
request (also while the password is being verified), a request a byte at
a time, IPv6 and name targets, every error status with its exact response
(400, 407 with Proxy-Authenticate, 431 at the 16 KiB bound, 501, 505, and
502/503/504/403/501 for upstream failures, directly and via chain hops),
and the access-log line.
"""

import os
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (BOUND, SLOW, Skip, Suite, chain_block, check, check_eq, closed_port,  # noqa: E402
                     connect, eventually_eq, fmt_addr, hop_url, read_to_close, recv_exact,
                     run_client, write_users)
from harness import log_lines, missing, stats_line  # noqa: E402
from dnsserver import DnsServer  # noqa: E402
from servers import (Blackhole, Danted, EchoServer, GreeterServer, HttpServer,  # noqa: E402
                     ScriptedHttpProxy, ScriptedSocks5, echo_transfer, pattern, sha256)

suite = Suite()

USERS = {"alice": "s3cret-a"}
OK = b"HTTP/1.1 200 Connection established\r\n\r\n"
REASONS = {400: "Bad Request", 403: "Forbidden", 407: "Proxy Authentication Required",
           431: "Request Header Fields Too Large", 501: "Not Implemented", 502: "Bad Gateway",
           503: "Service Unavailable", 504: "Gateway Timeout", 505: "HTTP Version Not Supported"}
PROXYCHAINS = "/usr/bin/proxychains4"


# ------------------------------------------------------------------ helpers

def error_response(status, detail=None):
    """The exact bytes hopsocks answers an error with (see http.h)."""
    reason = REASONS[status]
    body = (reason + (": " + detail if detail else "") + "\n").encode()
    head = "HTTP/1.1 %d %s\r\n" % (status, reason)
    if status == 407:
        head += 'Proxy-Authenticate: Basic realm="hopsocks"\r\n'
    head += ("Content-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
             % len(body))
    return head.encode() + body


def connect_request(target, extra=b"", version=b"HTTP/1.1"):
    t = target.encode() if isinstance(target, str) else target
    return b"CONNECT " + t + b" " + version + b"\r\nHost: " + t + b"\r\n" + extra + b"\r\n"


def basic(user, password):
    import base64
    return b"Proxy-Authorization: Basic " + base64.b64encode(
        ("%s:%s" % (user, password)).encode()) + b"\r\n"


def expect_response(hs, request, want, what, chunked=False):
    """Send request (in one write, or a byte at a time) and fail unless
    exactly want comes back before hopsocks closes the connection; returns
    the client's address."""
    sock = connect(hs.addr)
    client = "%s:%d" % sock.getsockname()[:2]
    if chunked:
        for i in range(len(request)):
            sock.sendall(request[i:i + 1])
    else:
        sock.sendall(request)
    data, how = read_to_close(sock)
    sock.close()
    check(how in ("eof", "reset"), "%s: connection not closed (%s)" % (what, how))
    check_eq(data, want, what)
    return client


def access_of(hs, client, what="access line"):
    return hs.wait_access(lambda r: r.get("client") == client, what="%s of %s" % (what, client))


def fields(rec, *names):
    return tuple(rec.get(n) for n in names)


class Curl:
    """curl fetching url through an HTTP proxy with -p (CONNECT tunnel)."""

    def __init__(self, ctx, proxy, url, extra=(), cmd_prefix=()):
        out = os.path.join(ctx.tmpdir, "body-%d" % ctx.next_index())
        cmd = list(cmd_prefix) + ["curl", "-sS", "--max-time", str(int(BOUND)), "-o", out,
                                  "-w", "%{http_code} %{http_connect}"]
        if proxy:
            cmd += ["-p", "-x", proxy]
        run = run_client(cmd + list(extra) + [url])
        self.returncode, self.stderr = run.returncode, run.stderr.decode(errors="replace")
        fields_ = run.stdout.decode().split() + ["?", "?"]
        self.code, self.connect_code = fields_[0], fields_[1]
        try:
            with open(out, "rb") as f:
                self.body = f.read()
        except FileNotFoundError:
            self.body = b""

    def expect_body(self, want, what):
        check(self.returncode == 0, "%s: curl exit %d: %s" % (what, self.returncode, self.stderr))
        check_eq(self.code, "200", what + ": HTTP status")
        check_eq((len(self.body), sha256(self.body)), (len(want), sha256(want)),
                 what + ": body length and SHA-256")


def proxychains(ctx, hs, userinfo=None):
    """A proxychains4 config: strict_chain, quiet_mode, one `http` entry for
    hs (with user and password if given).  No localnet lines: nothing is
    excluded, loopback included."""
    if not os.access(PROXYCHAINS, os.X_OK):
        raise missing("proxychains4", "proxychains4")
    path = os.path.join(ctx.tmpdir, "proxychains-%d.conf" % ctx.next_index())
    entry = "http 127.0.0.1 %d" % hs.port
    if userinfo:
        entry += " %s %s" % userinfo
    with open(path, "w") as f:
        # proxychains4's own deadlines, in ms, scaled like hopsocks' (an
        # argon2 check under valgrind takes seconds).
        f.write("strict_chain\nquiet_mode\ntcp_read_time_out %d\ntcp_connect_time_out %d\n"
                "[ProxyList]\n%s\n" % (15000 * SLOW, 8000 * SLOW, entry))
    return [PROXYCHAINS, "-q", "-f", path]


# ------------------------------------------------------------- real clients

@suite.test("curl -p -x http://hopsocks: 1 MiB body (sha256); access proto=http cmd=connect "
            "route=direct result=ok; the web server saw one GET")
def t_curl(ctx):
    web = ctx.own(HttpServer())
    hs = ctx.hopsocks()
    size = 1 << 20
    c = Curl(ctx, hs.url("http"), web.url("/bytes/%d" % size))
    c.expect_body(pattern(size, seed=3), "curl -p")
    check_eq(c.connect_code, "200", "curl's CONNECT response code")
    rec = hs.wait_access(lambda r: r.get("proto") == "http")
    check_eq(fields(rec, "cmd", "target", "route", "result"),
             ("connect", fmt_addr(*web.addr), "direct", "ok"), "access fields")
    check_eq([r[0] for r in web.requests], ["/bytes/%d" % size], "requests the server saw")


@suite.test("curl -p -x through hopsocks on ::1 to an IPv6 web server, and to web.test "
            "(resolved by hopsocks through its DNS)")
def t_curl_v6_name(ctx):
    web6 = ctx.own(HttpServer("::1"))
    web = ctx.own(HttpServer())
    dns = ctx.own(DnsServer({"web.test": ["127.0.0.1"]}))
    hs = ctx.hopsocks(listen=("::1",), config=["resolver " + dns.resolver])
    Curl(ctx, hs.url("http"), web6.url("/hello")).expect_body(HttpServer.HELLO, "IPv6")
    Curl(ctx, hs.url("http"), web.url("/hello", host="web.test")).expect_body(
        HttpServer.HELLO, "web.test")
    check(dns.count("web.test") >= 1, "hopsocks did not resolve web.test")
    hs.wait_access(lambda r: r.get("target") == "web.test:%d" % web.port, what="web.test line")
    hs.wait_access(lambda r: r.get("target") == "[::1]:%d" % web6.port, what="[::1] line")


@suite.test("Basic auth with curl: --proxy-user alice:... -> 200 and user=alice; no "
            "credentials -> 407, result=auth-required; a wrong password -> 407, "
            "result=auth-failed; --proxy-anyauth (asks first without) -> 200, and only the "
            "wrong password counts as a failed login")
def t_curl_auth(ctx):
    web = ctx.own(HttpServer())
    hs = ctx.hopsocks(config=["users " + write_users(ctx, USERS)])
    Curl(ctx, hs.url("http"), web.url("/bytes/200000"),
         ["--proxy-user", "alice:s3cret-a"]).expect_body(pattern(200000, seed=3), "with auth")
    hs.wait_access(lambda r: r.get("user") == "alice" and r.get("result") == "ok",
                   what="user=alice result=ok line")
    for extra, what in (([], "no credentials"), (["-U", "alice:wrong"], "wrong password")):
        c = Curl(ctx, hs.url("http"), web.url("/hello"), extra)
        check(c.returncode != 0, "%s: curl succeeded" % what)
        check_eq(c.connect_code, "407", "%s: curl's CONNECT response code" % what)
    eventually_eq(lambda: sorted(r.get("result") for r in hs.access()
                                 if r.get("proto") == "http" and r.get("result") != "ok"),
                  ["auth-failed", "auth-required"], "results of the refused sessions")
    # curl --proxy-anyauth asks once without credentials, then with them:
    # one session auth-required, one ok, and no failed login counted.
    Curl(ctx, hs.url("http"), web.url("/hello"),
         ["--proxy-anyauth", "--proxy-user", "alice:s3cret-a"]).expect_body(
        HttpServer.HELLO, "--proxy-anyauth")
    eventually_eq(lambda: [r.get("result") for r in hs.access()].count("auth-required"), 2,
                  "result=auth-required lines after --proxy-anyauth")
    check(" auth_failed=1 " in stats_line(hs), "auth_failed counts the wrong password only")
    check_eq(len(web.requests), 2, "requests the server saw (--proxy-user, --proxy-anyauth)")


@suite.test("proxychains4 (strict_chain, `http 127.0.0.1 PORT`) running plain curl: 512 KiB "
            "body (sha256), access proto=http")
def t_proxychains(ctx):
    web = ctx.own(HttpServer())
    hs = ctx.hopsocks()
    size = 512 * 1024
    c = Curl(ctx, None, web.url("/bytes/%d" % size), cmd_prefix=proxychains(ctx, hs))
    c.expect_body(pattern(size, seed=3), "proxychains4 curl")
    rec = hs.wait_access(lambda r: r.get("proto") == "http", what="proto=http line")
    check_eq(fields(rec, "target", "result"), (fmt_addr(*web.addr), "ok"), "access fields")


@suite.test("proxychains4 with `http 127.0.0.1 PORT alice PASS` against a user file: body "
            "intact, user=alice; a wrong password: curl fails, result=auth-failed, no request "
            "reaches the server")
def t_proxychains_auth(ctx):
    web = ctx.own(HttpServer())
    hs = ctx.hopsocks(config=["users " + write_users(ctx, USERS)])
    Curl(ctx, None, web.url("/bytes/100000"),
         cmd_prefix=proxychains(ctx, hs, ("alice", "s3cret-a"))).expect_body(
        pattern(100000, seed=3), "proxychains4 with credentials")
    hs.wait_access(lambda r: r.get("user") == "alice" and r.get("result") == "ok",
                   what="user=alice line")
    c = Curl(ctx, None, web.url("/hello"), cmd_prefix=proxychains(ctx, hs, ("alice", "nope")))
    check(c.returncode != 0, "curl under proxychains4 with a wrong password succeeded")
    hs.wait_access(lambda r: r.get("result") == "auth-failed", what="result=auth-failed line")
    check_eq(len(web.requests), 1, "requests the server saw")


@suite.test("curl -p -x http://hopsocks whose routes send everything through dante: body "
            "intact, dante logged the CONNECT, access route=up addr=<dante>")
def t_curl_chain(ctx):
    if not Danted.available():
        raise missing(Danted.PROGRAM, Danted.PACKAGE)
    web = ctx.own(HttpServer())
    d = ctx.own(Danted(ctx).start())
    hs = ctx.hopsocks(config=chain_block("up", [hop_url("socks5", d.addr)]) + ["route * via up"])
    Curl(ctx, hs.url("http"), web.url("/bytes/300000")).expect_body(pattern(300000, seed=3),
                                                                     "via dante")
    eventually_eq(lambda: d.connects(), [web.addr], "targets dante connected to")
    rec = hs.wait_access(lambda r: r.get("proto") == "http")
    check_eq(fields(rec, "route", "addr"), ("up", fmt_addr(*d.addr)), "route=, addr=")


# --------------------------------------------------------------- raw bytes

@suite.test("raw: the 200 line is exactly 'HTTP/1.1 200 Connection established' + CRLF CRLF; "
            "bytes pipelined behind the request are relayed; a speaking-first target's banner "
            "follows the 200; HTTP/1.0 and bare-LF requests work")
def t_raw_ok(ctx):
    echo = ctx.own(EchoServer())
    greeter = ctx.own(GreeterServer())
    hs = ctx.hopsocks()
    sock = connect(hs.addr)
    sock.sendall(connect_request(fmt_addr(*echo.addr)) + b"pipelined behind the header")
    check_eq(recv_exact(sock, len(OK), "200 response"), OK, "200 response")
    check_eq(recv_exact(sock, 27, "pipelined bytes"), b"pipelined behind the header",
             "pipelined bytes echoed")
    echo_transfer(sock, 1 << 20)
    sock.close()
    sock = connect(hs.addr)
    sock.sendall(connect_request(fmt_addr(*greeter.addr)))
    want = OK + GreeterServer.BANNER
    check_eq(recv_exact(sock, len(want), "200 and banner"), want, "200 then the banner")
    sock.close()
    for request, what in ((connect_request(fmt_addr(*echo.addr), version=b"HTTP/1.0"), "1.0"),
                          (b"CONNECT %s HTTP/1.1\n\n" % fmt_addr(*echo.addr).encode(), "LF")):
        sock = connect(hs.addr)
        sock.sendall(request + b"x")
        check_eq(recv_exact(sock, len(OK) + 1, what), OK + b"x", "response and echo (%s)" % what)
        sock.close()


@suite.test("raw: a request sent one byte at a time, then data: 200 and echo")
def t_raw_bytewise(ctx):
    echo = ctx.own(EchoServer())
    hs = ctx.hopsocks()
    sock = connect(hs.addr)
    for b in connect_request(fmt_addr(*echo.addr), extra=b"User-Agent: bytewise/1\r\n"):
        sock.sendall(bytes([b]))
    check_eq(recv_exact(sock, len(OK), "200 response"), OK, "200 response")
    echo_transfer(sock, 65536)
    sock.close()


@suite.test("raw Basic auth: a correct header with data pipelined behind it (held while the "
            "password is verified) -> 200 then the data echoed; missing, wrong, non-Basic "
            "and malformed credentials -> exact 407 with Proxy-Authenticate, then close")
def t_raw_auth(ctx):
    echo = ctx.own(EchoServer())
    hs = ctx.hopsocks(config=["users " + write_users(ctx, USERS)])
    target = fmt_addr(*echo.addr)
    sock = connect(hs.addr)
    sock.sendall(connect_request(target, basic("alice", "s3cret-a")) + b"early")
    check_eq(recv_exact(sock, len(OK) + 5, "200 and echo"), OK + b"early", "200 then the echo")
    sock.close()
    # Only credentials that name a user are a failed login; the others are
    # a request for credentials (how a browser starts), counted nowhere.
    for extra, what, result in ((b"", "no Proxy-Authorization", "auth-required"),
                                (basic("alice", "wrong"), "wrong password", "auth-failed"),
                                (basic("mallory", "s3cret-a"), "unknown user", "auth-failed"),
                                (b"Proxy-Authorization: Digest username=alice\r\n", "Digest",
                                 "auth-required"),
                                (b"Proxy-Authorization: Basic !!!notbase64\r\n", "bad base64",
                                 "auth-required")):
        client = expect_response(hs, connect_request(target, extra), error_response(407),
                                 "407 for " + what)
        rec = access_of(hs, client)
        check_eq(fields(rec, "proto", "result"), ("http", result), "access for " + what)
    check_eq(len(echo.peers), 1, "connections the target got")
    check_eq(len(log_lines(hs, "authentication failed for user")), 2,
             "'authentication failed' lines (wrong password, unknown user)")
    stats = stats_line(hs)
    check(" auth_ok=1 auth_failed=2 " in stats, "counters: %s" % stats)


@suite.test("raw errors, exact responses: GET/POST -> 501, no port / bad target / bare CR / "
            "obsolete folding / space before colon -> 400, HTTP/2.0 -> 505; access "
            "result=unsupported or bad-request")
def t_raw_errors(ctx):
    hs = ctx.hopsocks()
    cases = [
        (b"GET http://127.0.0.1/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 501,
         "method not supported (only CONNECT)", "unsupported"),
        (b"POST / HTTP/1.1\r\n\r\n", 501, "method not supported (only CONNECT)", "unsupported"),
        (b"CONNECT 127.0.0.1 HTTP/1.1\r\n\r\n", 400, "bad CONNECT target (expected host:port)",
         "bad-request"),
        (b"CONNECT 127.0.0.1:0 HTTP/1.1\r\n\r\n", 400,
         "bad CONNECT target (expected host:port)", "bad-request"),
        (b"CONNECT [::1:80 HTTP/1.1\r\n\r\n", 400, "bad CONNECT target (expected host:port)",
         "bad-request"),
        (b"CONNECT 127.0.0.1:80 HTTP/1.1\r\nX-A: a\rb\r\n\r\n", 400, "malformed HTTP header",
         "bad-request"),
        (b"CONNECT 127.0.0.1:80 HTTP/1.1\r\nX-A: a\r\n  folded\r\n\r\n", 400,
         "malformed HTTP header", "bad-request"),
        (b"CONNECT 127.0.0.1:80 HTTP/1.1\r\nX-A : a\r\n\r\n", 400, "malformed HTTP header",
         "bad-request"),
        (b"CONNECT 127.0.0.1:80 HTTP/2.0\r\n\r\n", 505, "HTTP version not supported",
         "bad-request"),
        (b"CONNECT 127.0.0.1:80 HTTX/1.1\r\n\r\n", 400, "malformed HTTP header", "bad-request"),
    ]
    for request, status, detail, result in cases:
        what = "%d for %r" % (status, request[:40])
        client = expect_response(hs, request, error_response(status, detail), what)
        check_eq(fields(access_of(hs, client), "proto", "result"), ("http", result),
                 "access for " + what)


@suite.test("the 16 KiB header bound: a 16,384-byte header is accepted (200, relay works); "
            "16,385 bytes -> exact 431, also when it arrives in 1 KiB pieces")
def t_raw_431(ctx):
    echo = ctx.own(EchoServer())
    hs = ctx.hopsocks()
    base = connect_request(fmt_addr(*echo.addr), b"X-Pad: ")[:-2]  # without the final CRLF

    def sized(total):
        return base + b"a" * (total - len(base) - 4) + b"\r\n\r\n"

    sock = connect(hs.addr)
    sock.sendall(sized(16384) + b"after")
    check_eq(recv_exact(sock, len(OK) + 5, "200 and echo"), OK + b"after",
             "16,384-byte header: 200 then the echo")
    sock.close()
    big = sized(16385)
    check_eq(len(big), 16385, "request size")
    want = error_response(431, "HTTP header section too large")
    client = expect_response(hs, big, want, "431 for 16,385 bytes")
    check_eq(access_of(hs, client).get("result"), "bad-request", "access result=")
    sock = connect(hs.addr)
    for i in range(0, 20000, 1024):  # never ends: the bound alone must stop it
        try:
            sock.sendall((base + b"a" * 20000)[i:i + 1024])
        except OSError:
            break
    data, how = read_to_close(sock)
    sock.close()
    check_eq(data, want, "431 for an endless header in pieces")


@suite.test("upstream failures: refused -> exact 502 (connection refused), unknown name -> 502 "
            "(host unreachable), black hole with timeout connect 1s -> 504 after ~1 s")
def t_raw_upstream(ctx):
    dns = ctx.own(DnsServer({}))
    hs = ctx.hopsocks(config=["resolver " + dns.resolver, "timeout connect 1s"])
    port = closed_port()
    client = expect_response(hs, connect_request("127.0.0.1:%d" % port),
                             error_response(502, "connection refused"), "502 for refused")
    check_eq(fields(access_of(hs, client), "proto", "result"), ("http", "refused"), "access")
    expect_response(hs, connect_request("nosuch.test:80"),
                    error_response(502, "host unreachable"), "502 for an unknown name")
    hole = ctx.own(Blackhole())
    if not hole.works:
        raise Skip("could not make a black-hole port here")
    started = time.monotonic()
    client = expect_response(hs, connect_request(fmt_addr(*hole.addr)),
                             error_response(504, "TTL expired"), "504 for a timeout")
    elapsed = time.monotonic() - started
    check(0.8 <= elapsed < 5, "504 came after %.2fs, want about 1 s" % elapsed)


@suite.test("upstream failures through chain hops: HTTP hop 403 -> 403, 504 -> 504, 503 -> "
            "502; SOCKS5 hop REP 02 -> 403, 04 -> 502; a socks4 hop asked for [::1] -> 501")
def t_raw_chain_statuses(ctx):
    cases = []
    for status, want, detail in ((403, 403, "not allowed by ruleset"),
                                 (504, 504, "TTL expired"),
                                 (503, 502, "connection refused")):
        proxy = ctx.own(ScriptedHttpProxy(b"HTTP/1.1 %d X\r\nContent-Length: 0\r\n\r\n" % status))
        cases.append((hop_url("http", proxy.addr), "127.0.0.1:4242", want, detail))
    for rep, want, detail in ((0x02, 403, "not allowed by ruleset"),
                              (0x04, 502, "host unreachable")):
        hop = ctx.own(ScriptedSocks5(rep=rep))
        cases.append((hop_url("socks5", hop.addr), "127.0.0.1:4242", want, detail))
    up = ctx.hopsocks()
    cases.append((hop_url("socks4", up.addr), "[::1]:4242", 501, "address type not supported"))
    for i, (url, target, want, detail) in enumerate(cases):
        hs = ctx.hopsocks(config=chain_block("c%d" % i, [url]) + ["route * via c%d" % i])
        client = expect_response(hs, connect_request(target), error_response(want, detail),
                                 "%d via %s" % (want, url))
        check_eq(fields(access_of(hs, client), "route"), ("c%d" % i,), "access route=")


@suite.test("a client that sends neither SOCKS nor an uppercase method ('connect ...', "
            "'\\x16\\x03' TLS) is closed without a response")
def t_raw_not_http(ctx):
    hs = ctx.hopsocks()
    for first in (b"connect 127.0.0.1:80 HTTP/1.1\r\n\r\n", b"\x16\x03\x01\x02\x00\x01"):
        expect_response(hs, first, b"", "response to %r" % first[:12])
    # and the port still serves SOCKS5
    sock = connect(hs.addr)
    sock.sendall(b"\x05\x01\x00")
    check_eq(recv_exact(sock, 2, "method selection"), b"\x05\x00", "SOCKS5 still served")
    sock.close()


if __name__ == "__main__":
    suite.run()
