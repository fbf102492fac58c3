#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors.
"""ncat through hopsocks (--proxy-type socks4|socks5, --proxy-auth,
--proxy-dns remote).  ncat half-closes when its stdin ends, so each run
sends data to a sink target that answers with the SHA-256 of what it got:
the answer proves every byte and the FIN went through."""

import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BOUND, Suite, check, check_eq, fmt_addr, run_client, write_users  # noqa: E402
from dnsserver import DnsServer  # noqa: E402
from servers import SinkServer, pattern, sha256  # noqa: E402

suite = Suite()
DATA = pattern(1 << 20, seed=31)


def ncat(hs, proxy_type, host, port, data=DATA, extra=(), proxy_host=None):
    """Run ncat through hs; CompletedProcess."""
    proxy_host = proxy_host or hs.listen_hosts[0]
    cmd = ["ncat", "--wait", str(int(BOUND)), "--proxy", fmt_addr(proxy_host, hs.ports[proxy_host]),
           "--proxy-type", proxy_type] + list(extra) + [host, str(port)]
    return run_client(cmd, input_bytes=data, timeout=BOUND * 2)


def expect_sink_answer(run, data, what):
    check(run.returncode == 0, "%s: ncat exit %d: %s"
          % (what, run.returncode, run.stderr.decode(errors="replace")))
    check_eq(run.stdout.decode(errors="replace"), "%s %d\n" % (sha256(data), len(data)),
             what + ": the sink's answer (SHA-256 and count)")


@suite.test("ncat --proxy-type socks5: 1 MiB then EOF reaches the sink intact, answer comes back")
def t_socks5(ctx):
    sink = ctx.own(SinkServer())
    hs = ctx.hopsocks()
    expect_sink_answer(ncat(hs, "socks5", "127.0.0.1", sink.port), DATA, "socks5")


@suite.test("ncat --proxy-type socks4: 1 MiB then EOF reaches the sink intact, answer comes back")
def t_socks4(ctx):
    sink = ctx.own(SinkServer())
    hs = ctx.hopsocks()
    expect_sink_answer(ncat(hs, "socks4", "127.0.0.1", sink.port), DATA, "socks4")
    rec = hs.wait_access(lambda r: r.get("proto") == "socks4")
    check_eq((rec.get("up"), rec.get("result")), (str(len(DATA)), "ok"), "access of %r" % rec["_line"])


@suite.test("ncat socks5 to a ::1 target and through a [::1] listener")
def t_ipv6(ctx):
    sink6 = ctx.own(SinkServer("::1"))
    hs = ctx.hopsocks(listen=("127.0.0.1", "::1"))
    expect_sink_answer(ncat(hs, "socks5", "::1", sink6.port), DATA, "target ::1")
    expect_sink_answer(ncat(hs, "socks5", "::1", sink6.port, proxy_host="::1"), DATA,
                       "listener [::1], target ::1")


@suite.test("ncat socks5 --proxy-dns remote: hopsocks resolves the name via the test DNS")
def t_remote_dns(ctx):
    sink = ctx.own(SinkServer())
    dns = ctx.own(DnsServer({"sink.test": ["127.0.0.1"]}))
    hs = ctx.hopsocks(config=["resolver " + dns.resolver])
    run = ncat(hs, "socks5", "sink.test", sink.port, extra=["--proxy-dns", "remote"])
    expect_sink_answer(run, DATA, "remote dns")
    check(dns.count("sink.test") >= 1, "hopsocks did not ask the test DNS server for sink.test")
    rec = hs.wait_access(lambda r: r.get("target") == "sink.test:%d" % sink.port)
    check_eq(rec.get("result"), "ok", "access result of %r" % rec["_line"])


@suite.test("ncat socks5 --proxy-auth: right user:pass relays, wrong one fails before the target")
def t_auth(ctx):
    sink = ctx.own(SinkServer())
    users = write_users(ctx, {"alice": "wonderland"})
    hs = ctx.hopsocks(config=["users " + users])
    expect_sink_answer(ncat(hs, "socks5", "127.0.0.1", sink.port,
                            extra=["--proxy-auth", "alice:wonderland"]), DATA, "right password")
    run = ncat(hs, "socks5", "127.0.0.1", sink.port, extra=["--proxy-auth", "alice:wrong"])
    check(run.returncode != 0, "ncat with a wrong password exited 0")
    check_eq(len(sink.peers), 1, "connections the sink saw (only the authenticated one)")


@suite.test("ncat socks4 --proxy-auth USERID with 'socks4 known-user': alice relays, mallory is refused")
def t_socks4_userid(ctx):
    sink = ctx.own(SinkServer())
    users = write_users(ctx, {"alice": "wonderland"})
    hs = ctx.hopsocks(config=["users " + users, "socks4 known-user"])
    expect_sink_answer(ncat(hs, "socks4", "127.0.0.1", sink.port, extra=["--proxy-auth", "alice"]),
                       DATA, "USERID alice")
    run = ncat(hs, "socks4", "127.0.0.1", sink.port, extra=["--proxy-auth", "mallory"])
    check(run.returncode != 0, "ncat with USERID mallory exited 0")
    check_eq(len(sink.peers), 1, "connections the sink saw")


if __name__ == "__main__":
    suite.run()
