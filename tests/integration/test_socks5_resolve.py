# SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors.
"""SOCKS5 RESOLVE (0xF0) and RESOLVE_PTR (0xF1), Tor's extensions that
torsocks resolves names with: exact reply bytes, the access line, which DNS
server was asked (the front's must not be, when a chain's socks5h last hop
answers), the destination guard, unknown commands, and the real torsocks.

torsocks refuses to send loopback destinations to its SOCKS server, and the
guard exempts loopback clients, so where it can this file runs itself in a
private network namespace (unshare --net) whose loopback device also
carries 10.200.0.1 (the clients' source for the guard tests) and 10.200.0.2
(the web server torsocks reaches).  Everything stays inside that namespace.
Where no namespace can be made (an unprivileged user, CI's chroot), those
tests skip and the others run on the host's loopback.
"""

import os
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (BOUND, Suite, chain_block, check, check_eq, connect,  # noqa: E402
                     eventually_eq, expect_closed, hop_url, log_lines, recv_exact,
                     socks5_request, stats_line)
from harness import missing, need_netns  # noqa: E402
from dnsserver import DnsServer  # noqa: E402
from servers import HttpServer, Microsocks  # noqa: E402

suite = Suite()

CLIENT_IP, WEB_IP = "10.200.0.1", "10.200.0.2"
TORSOCKS = "/usr/bin/torsocks"
CURL = "/usr/bin/curl"


# ------------------------------------------------------------------ helpers

def ask(hs, cmd, host, port=0, source=None):
    """Greeting (no auth) and one request with command cmd through hs; the
    raw reply bytes up to the close (which must follow the reply)."""
    sock = connect(hs.addr, source=source) if source else connect(hs.addr)
    with sock:
        sock.sendall(b"\x05\x01\x00" + socks5_request(host, port, cmd=cmd))
        check_eq(recv_exact(sock, 2, "method selection"), b"\x05\x00", "method selection")
        head = recv_exact(sock, 4, "reply header")
        if head[3] == 1:
            rest = recv_exact(sock, 6, "IPv4 BND")
        elif head[3] == 4:
            rest = recv_exact(sock, 18, "IPv6 BND")
        else:
            n = recv_exact(sock, 1, "name length")
            rest = n + recv_exact(sock, n[0] + 2, "name BND")
        expect_closed(sock, "connection after the reply")
    return head + rest


def reply(rep, atyp=1, bnd=b"\x00\x00\x00\x00"):
    return bytes([5, rep, 0, atyp]) + bnd + b"\x00\x00"


def name_reply(name):
    return reply(0, 3, bytes([len(name)]) + name.encode())


def access(hs, cmd, target):
    """The access line of a cmd for target ("host:port"; "host:*": any
    port, as torsocks sends RESOLVE with port 42)."""
    host, port = target.rsplit(":", 1)

    def match(r):
        t = r.get("target", "")
        return r.get("cmd") == cmd and (t == target or port == "*" and t.startswith(host + ":"))
    return hs.wait_access(match, what="cmd=%s line for %s" % (cmd, target))


def front(ctx, hops, dns, mode="strict", extra=()):
    return ctx.hopsocks(config=chain_block("up", hops, mode) + ["route * via up",
                                                                  "resolver " + dns.resolver]
                        + list(extra))


# ------------------------------------------------------------------- direct

@suite.test("RESOLVE web.test -> exactly 05 00 00 01 7f 00 00 09 00 00, then close; access "
            "cmd=resolve target=web.test:0 addr=127.0.0.9:0 route=direct result=ok; the "
            "test's DNS was asked; /metrics-style counters count it as socks5 resolve")
def t_resolve_direct(ctx):
    dns = ctx.own(DnsServer({"web.test": ["127.0.0.9"]}))
    hs = ctx.hopsocks(config=["resolver " + dns.resolver])
    check_eq(ask(hs, 0xF0, "web.test"), reply(0, 1, bytes([127, 0, 0, 9])), "reply")
    rec = access(hs, "resolve", "web.test:0")
    check_eq((rec.get("addr"), rec.get("route"), rec.get("result")),
             ("127.0.0.9:0", "direct", "ok"), "access fields")
    check(dns.count("web.test") >= 1, "hopsocks never asked the DNS server")
    check(" socks5_resolve=0/1" in stats_line(hs), "stats line: %s" % stats_line(hs))


@suite.test("RESOLVE follows address-order: ipv6-first answers the AAAA (ATYP 4), ipv4-only "
            "the A; an IP literal answers itself without DNS")
def t_resolve_order(ctx):
    dns = ctx.own(DnsServer({"both.test": ["127.0.0.9", "fd00::9"]}))
    v6 = ctx.hopsocks(config=["resolver " + dns.resolver, "address-order ipv6-first"])
    check_eq(ask(v6, 0xF0, "both.test"), reply(0, 4, bytes.fromhex("fd00" + "00" * 13 + "09")),
             "ipv6-first")
    v4 = ctx.hopsocks(config=["resolver " + dns.resolver, "address-order ipv4-only"])
    check_eq(ask(v4, 0xF0, "both.test"), reply(0, 1, bytes([127, 0, 0, 9])), "ipv4-only")
    before = len(dns.queries)
    check_eq(ask(v4, 0xF0, "127.0.0.7"), reply(0, 1, bytes([127, 0, 0, 7])), "a literal")
    check_eq(len(dns.queries), before, "DNS questions for a literal")


@suite.test("RESOLVE of an unknown name -> 05 04, result=not-found and 'cannot resolve' line; "
            "RESOLVE_PTR of an address without a PTR record -> 05 04")
def t_resolve_unknown(ctx):
    dns = ctx.own(DnsServer({}))
    hs = ctx.hopsocks(config=["resolver " + dns.resolver])
    check_eq(ask(hs, 0xF0, "nosuch.test"), reply(4), "unknown name")
    check_eq(access(hs, "resolve", "nosuch.test:0").get("result"), "not-found", "result")
    check(log_lines(hs, "cannot resolve nosuch.test:0: name not found"), "no 'cannot resolve'")
    check_eq(ask(hs, 0xF1, "127.0.0.77"), reply(4), "no PTR record")
    check_eq(access(hs, "resolve-ptr", "127.0.0.77:0").get("result"), "not-found", "result")


@suite.test("RESOLVE_PTR 127.0.0.9 -> exactly 05 00 00 03 08 'web.test' 00 00 (the test's DNS "
            "answers the PTR question 9.0.0.127.in-addr.arpa); RESOLVE_PTR given a name -> 05 08")
def t_resolve_ptr(ctx):
    dns = ctx.own(DnsServer({}, ptr={"127.0.0.9": "web.test"}))
    hs = ctx.hopsocks(config=["resolver " + dns.resolver])
    check_eq(ask(hs, 0xF1, "127.0.0.9"), name_reply("web.test"), "reply")
    check(dns.count("9.0.0.127.in-addr.arpa", 12) >= 1, "no PTR question at the DNS server")
    rec = access(hs, "resolve-ptr", "127.0.0.9:0")
    check_eq((rec.get("route"), rec.get("result")), ("direct", "ok"), "access fields")
    check_eq(ask(hs, 0xF1, "web.test"), reply(8), "RESOLVE_PTR of a name")


@suite.test("an unknown command (0xf3) -> 05 07 after the whole request is read, logged "
            "'unknown command 0xf3 (target 127.0.0.1:80)', result=unsupported")
def t_unknown_command(ctx):
    hs = ctx.hopsocks()
    check_eq(ask(hs, 0xF3, "127.0.0.1", 80), reply(7), "reply")
    check(log_lines(hs, "unknown command 0xf3 (target 127.0.0.1:80)"), "no 'unknown command' line")
    eventually_eq(lambda: [r.get("result") for r in hs.access() if r.get("proto") == "socks5"],
                  ["unsupported"], "results")


@suite.test("access rules apply as to a CONNECT: 'deny to .blocked.test' -> RESOLVE "
            "x.blocked.test gets 05 02, deny=rule, and no DNS question")
def t_resolve_rules(ctx):
    dns = ctx.own(DnsServer({"x.blocked.test": ["127.0.0.9"], "ok.test": ["127.0.0.9"]}))
    hs = ctx.hopsocks(config=["resolver " + dns.resolver, "deny to .blocked.test",
                              "allow from 127.0.0.0/8"])
    check_eq(ask(hs, 0xF0, "x.blocked.test"), reply(2), "denied name")
    rec = access(hs, "resolve", "x.blocked.test:0")
    check_eq(rec.get("result"), "denied", "result")
    check(rec.get("deny", "").startswith("rule:"), "deny= %r" % rec.get("deny"))
    check_eq(dns.count("x.blocked.test"), 0, "DNS questions for the denied name")
    check_eq(ask(hs, 0xF0, "ok.test"), reply(0, 1, bytes([127, 0, 0, 9])), "allowed name")


# ------------------------------------------------------------ through chains

@suite.test("through a chain to a hopsocks upstream as socks5h: RESOLVE and RESOLVE_PTR are "
            "asked of the upstream (its access line cmd=resolve), which resolves with its own "
            "DNS; the front's DNS gets no question")
def t_resolve_via_socks5h(ctx):
    front_dns = ctx.own(DnsServer({}))
    back_dns = ctx.own(DnsServer({"web.test": ["127.0.0.9"]}, ptr={"127.0.0.9": "web.test"}))
    back = ctx.hopsocks(config=["resolver " + back_dns.resolver])
    hs = front(ctx, [hop_url("socks5h", back.addr)], front_dns)
    check_eq(ask(hs, 0xF0, "web.test"), reply(0, 1, bytes([127, 0, 0, 9])), "RESOLVE")
    check_eq(ask(hs, 0xF1, "127.0.0.9"), name_reply("web.test"), "RESOLVE_PTR")
    check_eq(access(hs, "resolve", "web.test:0").get("route"), "up", "front route=")
    check_eq(access(back, "resolve", "web.test:0").get("result"), "ok", "upstream result")
    check_eq(access(back, "resolve-ptr", "127.0.0.9:0").get("result"), "ok", "upstream PTR")
    check_eq(len(front_dns.queries), 0, "questions at the front's DNS server")
    check(back_dns.count("web.test") >= 1, "the upstream never asked its DNS")


@suite.test("through a chain whose last hop is socks5:// (names resolved here for a CONNECT), "
            "RESOLVE is answered here too; with an http:// last hop (which resolves names "
            "itself and has no RESOLVE) it is 05 07 and nothing is looked up")
def t_resolve_local_or_refused(ctx):
    dns = ctx.own(DnsServer({"web.test": ["127.0.0.9"]}))
    back = ctx.hopsocks()
    hs = front(ctx, [hop_url("socks5", back.addr)], dns)
    check_eq(ask(hs, 0xF0, "web.test"), reply(0, 1, bytes([127, 0, 0, 9])), "socks5 last hop")
    check(dns.count("web.test") >= 1, "not resolved here")
    dns2 = ctx.own(DnsServer({"web.test": ["127.0.0.9"]}))
    hs2 = front(ctx, [hop_url("http", back.addr)], dns2)
    check_eq(ask(hs2, 0xF0, "web.test"), reply(7), "http last hop")
    check_eq(dns2.count("web.test"), 0, "questions for web.test with an http last hop")
    check(log_lines(hs2, "resolves names itself but has no RESOLVE command to ask"),
          "no line saying why")


@suite.test("a socks5h last hop that does not know RESOLVE (microsocks answers 07): the client "
            "gets 05 07 and the hop is not marked down (a CONNECT through it then works)")
def t_resolve_hop_refuses(ctx):
    if not Microsocks.available():
        raise missing(Microsocks.PROGRAM, Microsocks.PACKAGE)
    web = ctx.own(HttpServer())
    ms = ctx.own(Microsocks(ctx).start())
    dns = ctx.own(DnsServer({}))
    hs = front(ctx, [hop_url("socks5h", ms.addr)], dns)
    check_eq(ask(hs, 0xF0, "web.test"), reply(7), "RESOLVE via microsocks")
    check_eq(log_lines(hs, "marked down"), [], "'marked down' lines")
    with connect(hs.addr) as sock:
        sock.sendall(b"\x05\x01\x00" + socks5_request(*web.addr))
        check_eq(recv_exact(sock, 2, "method"), b"\x05\x00", "method")
        check_eq(recv_exact(sock, 10, "reply")[:2], b"\x05\x00", "CONNECT after the 07")


# -------------------------------------------------- in the network namespace

@suite.test("destination guard (client %s in the namespace): RESOLVE of a name answering "
            "10.200.0.2 -> 05 02 deny=destination:guard; RESOLVE_PTR 10.200.0.2 -> 05 02 and "
            "no PTR question" % CLIENT_IP)
def t_resolve_guard(ctx):
    need_netns()
    dns = ctx.own(DnsServer({"ten.test": [WEB_IP]}, ptr={WEB_IP: "ten.test"}))
    hs = ctx.hopsocks(config=["resolver " + dns.resolver, "destination-guard on",
                              "allow from 10.200.0.0/24", "allow from 127.0.0.0/8"])
    check_eq(ask(hs, 0xF0, "ten.test", source=CLIENT_IP), reply(2), "RESOLVE ten.test")
    rec = access(hs, "resolve", "ten.test:0")
    check_eq((rec.get("result"), rec.get("deny")), ("denied", "destination:guard"), "access")
    check_eq(ask(hs, 0xF1, WEB_IP, source=CLIENT_IP), reply(2), "RESOLVE_PTR 10.200.0.2")
    check_eq(dns.count("2.0.200.10.in-addr.arpa"), 0, "PTR questions for a guarded address")


def torsocks_run(ctx, hs, argv):
    """argv under the real torsocks, pointed at hs by a private config."""
    if not os.access(TORSOCKS, os.X_OK):
        raise missing("torsocks", "torsocks")
    conf = os.path.join(ctx.tmpdir, "torsocks-%d.conf" % ctx.next_index())
    with open(conf, "w") as f:
        f.write("TorAddress 127.0.0.1\nTorPort %d\n" % hs.port)
    env = dict(os.environ, TORSOCKS_CONF_FILE=conf)
    try:
        return subprocess.run([TORSOCKS] + argv, capture_output=True, timeout=BOUND, env=env)
    except subprocess.TimeoutExpired:
        raise AssertionError("torsocks %s did not finish within %.0fs" % (argv, BOUND))


@suite.test("torsocks curl http://web.test:P/hello: torsocks resolves web.test with RESOLVE "
            "(hopsocks asks the test's DNS) and connects to %s through hopsocks; the body is "
            "exact; torsocks' gethostbyaddr(%s) is a RESOLVE_PTR answered 'web.test'"
            % (WEB_IP, WEB_IP))
def t_torsocks(ctx):
    need_netns()
    if not os.access(CURL, os.X_OK):
        raise missing("curl", "curl")
    web = ctx.own(HttpServer(WEB_IP))
    dns = ctx.own(DnsServer({"web.test": [WEB_IP]}, ptr={WEB_IP: "web.test"}))
    hs = ctx.hopsocks(config=["resolver " + dns.resolver])
    run = torsocks_run(ctx, hs, [CURL, "-sS", "--max-time", str(int(BOUND)),
                                 "http://web.test:%d/hello" % web.port])
    check(run.returncode == 0 and run.stdout == HttpServer.HELLO,
          "torsocks curl: exit %d, body %r, stderr %r" % (run.returncode, run.stdout[:100],
                                                          run.stderr[-300:]))
    check_eq(access(hs, "resolve", "web.test:*").get("addr"), "%s:0" % WEB_IP, "RESOLVE line")
    check_eq(access(hs, "connect", "%s:%d" % (WEB_IP, web.port)).get("result"), "ok",
             "CONNECT line")
    script = "import socket; print(socket.gethostbyaddr(%r)[0])" % WEB_IP
    run = torsocks_run(ctx, hs, ["/usr/bin/python3", "-c", script])
    check_eq((run.returncode, run.stdout.strip()), (0, b"web.test"),
             "torsocks gethostbyaddr (stderr %r)" % run.stderr[-300:])
    access(hs, "resolve-ptr", "%s:*" % WEB_IP)


@suite.test("torsocks through hopsocks -> hopsocks (socks5h): the upstream resolves web.test "
            "and connects; the front's DNS server gets no question at all")
def t_torsocks_chain(ctx):
    need_netns()
    if not os.access(CURL, os.X_OK):
        raise missing("curl", "curl")
    web = ctx.own(HttpServer(WEB_IP))
    front_dns = ctx.own(DnsServer({}))
    back_dns = ctx.own(DnsServer({"web.test": [WEB_IP]}))
    back = ctx.hopsocks(config=["resolver " + back_dns.resolver])
    hs = front(ctx, [hop_url("socks5h", back.addr)], front_dns)
    run = torsocks_run(ctx, hs, [CURL, "-sS", "--max-time", str(int(BOUND)),
                                 "http://web.test:%d/hello" % web.port])
    check(run.returncode == 0 and run.stdout == HttpServer.HELLO,
          "torsocks curl: exit %d, body %r, stderr %r" % (run.returncode, run.stdout[:100],
                                                          run.stderr[-300:]))
    check_eq(len(front_dns.queries), 0, "questions at the front's DNS server")
    check(back_dns.count("web.test") >= 1, "the upstream never asked its DNS")
    check_eq(access(back, "resolve", "web.test:*").get("result"), "ok", "upstream RESOLVE")


if __name__ == "__main__":
    suite.run(netns=["%s/32" % CLIENT_IP, "%s/32" % WEB_IP])
