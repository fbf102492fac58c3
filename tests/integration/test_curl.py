#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors.
"""curl through hopsocks with every SOCKS flavour it speaks: socks4://,
socks4a:// (name resolved by hopsocks), socks5://, socks5h:// (name sent to
hopsocks), IPv4 and IPv6 targets and listeners.  Bodies are checked by
SHA-256 and the access line's byte counts against what curl itself counted."""

import os
import socket
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BOUND, Suite, check, check_eq, run_client  # noqa: E402
from dnsserver import DnsServer  # noqa: E402
from servers import HttpServer, sha256  # noqa: E402

suite = Suite()


class Fetch:
    """One curl run: exit status, body, HTTP code and curl's own counts."""

    def __init__(self, ctx, proxy_url, url, extra=()):
        out = os.path.join(ctx.tmpdir, "body-%d" % ctx.next_index())
        run = run_client(["curl", "-sS", "--max-time", str(int(BOUND)), "-o", out,
                          "-w", "%{http_code} %{size_request} %{size_header} %{size_download}"
                          " %{local_port}", "-x", proxy_url] + list(extra) + [url])
        self.returncode, self.stderr = run.returncode, run.stderr.decode(errors="replace")
        fields = run.stdout.decode().split()
        self.code, self.up, self.header, self.download, self.local_port = (
            fields + ["?"] * 5)[:5]
        try:
            with open(out, "rb") as f:
                self.body = f.read()
        except FileNotFoundError:
            self.body = b""

    def expect(self, want_body, what):
        """Succeeded with HTTP 200 and exactly want_body."""
        check(self.returncode == 0, "%s: curl exit %d: %s" % (what, self.returncode, self.stderr))
        check_eq(self.code, "200", what + ": HTTP status")
        check_eq(len(self.body), len(want_body), what + ": body length")
        check_eq(sha256(self.body), sha256(want_body), what + ": body SHA-256")
        return self

    def expect_access(self, hs, proto, target, what):
        """The session's access line: proto, target, ok, and up/down equal
        to the bytes curl sent and received."""
        client = "127.0.0.1:%s" % self.local_port
        rec = hs.wait_access(lambda r: r.get("client", "").endswith(":" + self.local_port))
        want = {"proto": proto, "cmd": "connect", "target": target, "result": "ok",
                "up": self.up, "down": str(int(self.header) + int(self.download))}
        check_eq({k: rec.get(k) for k in want}, want,
                 "%s: access line %r (client %s)" % (what, rec["_line"], client))


def targets(ctx):
    http4, http6 = ctx.own(HttpServer()), ctx.own(HttpServer("::1"))
    dns = ctx.own(DnsServer({"web.test": ["127.0.0.1"], "web6.test": ["::1"]}))
    return http4, http6, dns


@suite.test("curl -x socks4:// to 127.0.0.1: exact body; access proto=socks4 and exact byte counts")
def t_socks4(ctx):
    http4, _, _ = targets(ctx)
    hs = ctx.hopsocks()
    f = Fetch(ctx, hs.url("socks4"), http4.url("/hello")).expect(HttpServer.HELLO, "socks4")
    f.expect_access(hs, "socks4", "127.0.0.1:%d" % http4.port, "socks4")


@suite.test("curl -x socks4a:// with a name hopsocks resolves via the test DNS: exact body, proto=socks4a")
def t_socks4a(ctx):
    http4, _, dns = targets(ctx)
    hs = ctx.hopsocks(config=["resolver " + dns.resolver])
    url = "http://web.test:%d/bytes/300000" % http4.port
    f = Fetch(ctx, hs.url("socks4a"), url).expect(http4.body_for("/bytes/300000")[0], "socks4a")
    f.expect_access(hs, "socks4a", "web.test:%d" % http4.port, "socks4a")
    check(dns.count("web.test") >= 1, "hopsocks did not ask the test DNS server for web.test")
    check_eq(http4.requests[-1][2], "web.test:%d" % http4.port, "Host header the target saw")


@suite.test("curl -x socks5:// to 127.0.0.1 and [::1]: 1 MiB bodies by SHA-256, exact access counts")
def t_socks5(ctx):
    http4, http6, _ = targets(ctx)
    hs = ctx.hopsocks()
    body = http4.body_for("/bytes/1048576")[0]
    f = Fetch(ctx, hs.url("socks5"), http4.url("/bytes/1048576")).expect(body, "socks5 v4")
    f.expect_access(hs, "socks5", "127.0.0.1:%d" % http4.port, "socks5 v4")
    f = Fetch(ctx, hs.url("socks5"), http6.url("/bytes/1048576")).expect(body, "socks5 v6")
    f.expect_access(hs, "socks5", "[::1]:%d" % http6.port, "socks5 v6")


@suite.test("curl -x socks5h:// with names (A and AAAA-only) resolved by hopsocks: exact bodies")
def t_socks5h(ctx):
    http4, http6, dns = targets(ctx)
    hs = ctx.hopsocks(config=["resolver " + dns.resolver])
    f = Fetch(ctx, hs.url("socks5h"), "http://web.test:%d/hello" % http4.port)
    f.expect(HttpServer.HELLO, "socks5h web.test")
    f.expect_access(hs, "socks5", "web.test:%d" % http4.port, "socks5h web.test")
    f = Fetch(ctx, hs.url("socks5h"), "http://web6.test:%d/bytes/65536" % http6.port)
    f.expect(http6.body_for("/bytes/65536")[0], "socks5h web6.test")
    check(dns.count("web6.test") >= 1, "hopsocks did not ask the test DNS server for web6.test")


@suite.test("curl through a hopsocks listening on [::1] (socks5 and socks4)")
def t_v6_listener(ctx):
    http4, _, _ = targets(ctx)
    hs = ctx.hopsocks(listen=("::1",))
    Fetch(ctx, hs.url("socks5"), http4.url("/hello")).expect(HttpServer.HELLO, "socks5 via [::1]")
    Fetch(ctx, hs.url("socks4"), http4.url("/hello")).expect(HttpServer.HELLO, "socks4 via [::1]")


@suite.test("curl socks5h to an unknown name and socks5 to a closed port fail; access not-found/refused")
def t_failures(ctx):
    http4, _, dns = targets(ctx)
    hs = ctx.hopsocks(config=["resolver " + dns.resolver])
    f = Fetch(ctx, hs.url("socks5h"), "http://missing.test:80/")
    check(f.returncode != 0, "curl to missing.test succeeded")
    rec = hs.wait_access(lambda r: r.get("target") == "missing.test:80")
    check_eq(rec.get("result"), "not-found", "access result of %r" % rec["_line"])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    f = Fetch(ctx, hs.url("socks5"), "http://127.0.0.1:%d/" % port)
    check(f.returncode != 0, "curl to a closed port succeeded")
    rec = hs.wait_access(lambda r: r.get("target") == "127.0.0.1:%d" % port)
    check_eq(rec.get("result"), "refused", "access result of %r" % rec["_line"])


@suite.test("50 sequential curl requests over socks5h all return the exact body")
def t_many(ctx):
    http4, _, dns = targets(ctx)
    hs = ctx.hopsocks(config=["resolver " + dns.resolver])
    for i in range(50):
        Fetch(ctx, hs.url("socks5h"), "http://web.test:%d/hello" % http4.port).expect(
            HttpServer.HELLO, "request %d" % i)
    check_eq(len(http4.requests), 50, "requests the target saw")


if __name__ == "__main__":
    suite.run()
