#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors.
"""Route rules and where names are resolved.

Three hopsocks upstreams, each with its own outgoing address (127.0.0.11,
.12, .13) and its own DNS server, stand for three chains; which chain
carried a connection is read from the upstreams' access lines and from the
source address the target saw.  Rules by domain suffix, exact name, CIDR
(IPv4 and IPv6), port and port range; the first match wins; no match is
direct; a name never matches a CIDR rule (no local lookup to decide).

DNS: a domain routed through a chain that resolves remotely (socks5h,
socks4a, http hops; the default) is never looked up by hopsocks -- its own
loopback DNS server, which knows the name, must receive zero questions
while the upstream's DNS answers it -- for SOCKS5, SOCKS4a and HTTP CONNECT
clients; `resolve local`, socks5:// and socks4:// hops resolve in hopsocks
and send an address; a hop given by name is resolved by hopsocks.  And the
command line's --chain, which wins over the file's routes.
"""

import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Suite, chain_block, check, check_eq, closed_port, connect,  # noqa: E402
                     connects, eventually_eq, expect_closed, fmt_addr, hop_url, log_lines,
                     read_socks4_reply, recv_exact, socks4_request, socks5_try, wait_until)
from dnsserver import DnsServer  # noqa: E402
from servers import EchoServer, echo_transfer  # noqa: E402

suite = Suite()

NAMES = {"a.corp.test": ["127.0.0.1"], "corp.test": ["127.0.0.1"], "b.corp.test": ["127.0.0.2"],
         "exact.test": ["127.0.0.1"], "sub.exact.test": ["127.0.0.1"],
         "two.test": ["127.0.0.2"], "leak.test": ["127.0.0.1"], "hop.test": ["127.0.0.1"]}


# ------------------------------------------------------------------ helpers

class Upstreams:
    """Three hopsocks upstreams (chains c1, c2, c3): upstream i connects
    out from 127.0.0.1i and asks its own DNS server."""

    def __init__(self, ctx, scheme="socks5h"):
        self.dns = [ctx.own(DnsServer(NAMES)) for _ in range(3)]
        self.hs = [ctx.hopsocks(config=["resolver " + d.resolver, "outgoing 127.0.0.1%d" % (i + 1)])
                   for i, d in enumerate(self.dns)]
        self.scheme = scheme

    def chains(self):
        lines = []
        for i, hs in enumerate(self.hs):
            lines += chain_block("c%d" % (i + 1), [hop_url(self.scheme, hs.addr)])
        return lines

    def which(self, target):
        """The names of the chains whose upstream logged a CONNECT to target."""
        return ["c%d" % (i + 1) for i, hs in enumerate(self.hs) if connects(hs, target=target)]


def open_via(hs, host, port, size=4096):
    """A SOCKS5 CONNECT through hs that must succeed, then an echo of
    size bytes (SHA-256)."""
    sock, rep, raw = socks5_try(hs.addr, host, port)
    check_eq(raw[:2], b"\x05\x00", "VER REP for %s" % fmt_addr(host, port))
    echo_transfer(sock, size, what="echo via %s" % fmt_addr(host, port))
    sock.close()


def route_of(hs, target):
    rec = hs.wait_access(lambda r: r.get("cmd") == "connect" and r.get("target") == target,
                         what="access line for " + target)
    return rec.get("route"), rec.get("addr")


# ------------------------------------------------------------------- tests

@suite.test("suffix, exact name, CIDR, port and port-range rules pick the right chain (the "
            "upstream's access line and the target's source address agree), first match "
            "wins, no match is direct")
def t_rules(ctx):
    e1 = ctx.own(EchoServer())
    e2 = ctx.own(EchoServer("127.0.0.2"))
    e3 = ctx.own(EchoServer())
    e4 = ctx.own(EchoServer())
    while any(e4.port - 5 <= e.port <= e4.port + 5 for e in (e1, e3)):
        e4 = ctx.own(EchoServer())  # the range rule must not cover e1 or e3
    up = Upstreams(ctx)
    dns = ctx.own(DnsServer(NAMES))
    hs = ctx.hopsocks(config=["resolver " + dns.resolver] + up.chains() + [
        "route .corp.test port %d via c3" % e2.port,
        "route .corp.test via c1",
        "route 127.0.0.2/32 via c2",
        "route * port %d via c3" % e3.port,
        "route 127.0.0.1 port %d-%d via c1" % (e4.port - 5, e4.port + 5),
        "route exact.test via c2",
    ])
    cases = [  # (host, port, chain or "direct", outgoing address the target sees)
        ("a.corp.test", e1.port, "c1", "127.0.0.11"),
        ("X.CORP.TEST", e1.port, "c1", None),            # any case; unknown name, see below
        ("corp.test", e1.port, "c1", "127.0.0.11"),      # the suffix itself
        ("b.corp.test", e2.port, "c3", "127.0.0.13"),    # port rule listed first wins
        ("127.0.0.2", e2.port, "c2", "127.0.0.12"),      # CIDR
        ("127.0.0.1", e3.port, "c3", "127.0.0.13"),      # port rule, any destination
        ("127.0.0.1", e4.port, "c1", "127.0.0.11"),      # address and port range
        ("exact.test", e1.port, "c2", "127.0.0.12"),     # exact name
        ("sub.exact.test", e1.port, "direct", "127.0.0.1"),  # exact is not a suffix
        ("127.0.0.1", e1.port, "direct", "127.0.0.1"),   # no rule
    ]
    servers = {e1.port: e1, e2.port: e2, e3.port: e3, e4.port: e4}
    for host, port, chain, source in cases:
        target = fmt_addr(host, port)
        if source is None:
            # Nobody knows X.CORP.TEST: the c1 upstream answers 05 04 after
            # asking its DNS (names match rules in any case).
            sock, rep, raw = socks5_try(hs.addr, host, port)
            check_eq(raw[:2], b"\x05\x04", "VER REP for %s (unknown upstream)" % target)
            sock.close()
            check_eq(route_of(hs, target)[0], chain, "route= for " + target)
            check(up.dns[0].count("x.corp.test") >= 1, "c1's DNS was not asked for x.corp.test")
            continue
        before = len(servers[port].peers)
        open_via(hs, host, port)
        got_route, got_addr = route_of(hs, target)
        check_eq(got_route, chain, "route= for " + target)
        if chain == "direct":
            check_eq(up.which(target), [], "upstreams that saw " + target)
        else:
            check_eq(got_addr, fmt_addr(*up.hs[int(chain[1]) - 1].addr), "addr= for " + target)
            check(wait_until(lambda: up.which(target) == [chain]),
                  "upstreams that saw %s: %s, want [%s]" % (target, up.which(target), chain))
        check_eq(servers[port].peers[before][0], source, "source address %s saw" % target)
    for name in ("a.corp.test", "corp.test", "b.corp.test", "exact.test", "x.corp.test"):
        check_eq(dns.count(name), 0, "hopsocks' own DNS questions for " + name)
    check(dns.count("sub.exact.test") >= 1, "a direct name must be resolved by hopsocks")


@suite.test("a name never matches a CIDR rule: two.test (127.0.0.2 in hopsocks' DNS) goes "
            "direct past 'route 127.0.0.2/32 via c2'; '127.0.0.2' sent as a SOCKS5 name "
            "counts as the address; ::1/128 matches an IPv6 target")
def t_name_vs_cidr(ctx):
    e2 = ctx.own(EchoServer("127.0.0.2"))
    e6 = ctx.own(EchoServer("::1"))
    up = Upstreams(ctx)
    dns = ctx.own(DnsServer(NAMES))
    hs = ctx.hopsocks(config=["resolver " + dns.resolver] + up.chains() + [
        "route 127.0.0.2/32 via c2", "route ::1/128 via c3"])
    open_via(hs, "two.test", e2.port)
    check_eq(route_of(hs, "two.test:%d" % e2.port), ("direct", "127.0.0.2:%d" % e2.port),
             "route=, addr= for two.test")
    check(dns.count("two.test") >= 1, "hopsocks did not resolve the direct name two.test")
    check_eq(up.which("two.test:%d" % e2.port), [], "upstreams that saw two.test")
    # The same address as a name (ATYP 3 "127.0.0.2"): no lookup needed.
    sock, rep, raw = socks5_try(hs.addr, "127.0.0.2", e2.port)
    sock.close()
    check_eq(raw[:2], b"\x05\x00", "VER REP")
    check(wait_until(lambda: up.which("127.0.0.2:%d" % e2.port) == ["c2"]),
          "c2's upstream did not get the IP-literal name")
    open_via(hs, "::1", e6.port)
    check_eq(route_of(hs, "[::1]:%d" % e6.port)[0], "c3", "route= for [::1]")
    check(wait_until(lambda: up.which("[::1]:%d" % e6.port) == ["c3"]), "c3 did not get [::1]")


@suite.test("a remotely resolved domain is never looked up by hopsocks: leak.test via a "
            "socks5h chain from SOCKS5, SOCKS4a and HTTP CONNECT clients -> hopsocks' DNS 0 "
            "questions, the upstream's DNS asked, 64 KiB echoed each")
def t_no_leak(ctx):
    echo = ctx.own(EchoServer())
    dns_up = ctx.own(DnsServer(NAMES))
    dns = ctx.own(DnsServer(NAMES))
    up = ctx.hopsocks(config=["resolver " + dns_up.resolver])
    hs = ctx.hopsocks(config=["resolver " + dns.resolver, "socks4 on"]
                      + chain_block("tor", [hop_url("socks5h", up.addr)])
                      + ["route .test via tor"])
    target = "leak.test:%d" % echo.port
    open_via(hs, "leak.test", echo.port, 65536)
    # SOCKS4a
    sock = connect(hs.addr)
    sock.sendall(socks4_request("0.0.0.1", echo.port, b"", hostname="leak.test"))
    cd = read_socks4_reply(sock)[0]
    check_eq(cd, 0x5A, "SOCKS4a CD")
    echo_transfer(sock, 65536, what="SOCKS4a echo")
    sock.close()
    # HTTP CONNECT front-end
    sock = connect(hs.addr)
    sock.sendall(b"CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (target.encode(), target.encode()))
    check_eq(recv_exact(sock, 39, "HTTP response"), b"HTTP/1.1 200 Connection established\r\n\r\n",
             "HTTP response")
    echo_transfer(sock, 65536, what="HTTP CONNECT echo")
    sock.close()
    check(wait_until(lambda: len(connects(hs, target=target, route="tor")) == 3),
          "want 3 access lines route=tor for %s" % target)
    eventually_eq(lambda: sorted(r["proto"] for r in connects(hs, target=target)),
                  ["http", "socks4a", "socks5"],
                  "protocols of the three clients")
    eventually_eq(lambda: len(connects(up, target=target)), 3,
                  "CONNECTs for %s at the upstream" % target)
    check_eq(dns.count("leak.test"), 0, "questions for leak.test at hopsocks' DNS")
    check(dns_up.count("leak.test") >= 1, "the upstream's DNS was never asked")


@suite.test("resolve local: hopsocks resolves leak.test (its DNS asked) and the socks5h hop "
            "gets 127.0.0.1:PORT (its DNS never asked); an unknown name fails with 05 04 "
            "before any hop is contacted")
def t_resolve_local(ctx):
    echo = ctx.own(EchoServer())
    dns_up = ctx.own(DnsServer(NAMES))
    dns = ctx.own(DnsServer(NAMES))
    up = ctx.hopsocks(config=["resolver " + dns_up.resolver])
    hs = ctx.hopsocks(config=["resolver " + dns.resolver]
                      + chain_block("loc", [hop_url("socks5h", up.addr)], resolve="local")
                      + ["route * via loc"])
    open_via(hs, "leak.test", echo.port)
    check(wait_until(lambda: connects(up)), "the upstream logged no CONNECT")
    eventually_eq(lambda: [r["target"] for r in connects(up)], [fmt_addr(*echo.addr)],
                  "targets the upstream was asked for")
    check(dns.count("leak.test") >= 1, "hopsocks did not resolve leak.test")
    check_eq(dns_up.count("leak.test"), 0, "questions for leak.test at the upstream's DNS")
    sock, rep, raw = socks5_try(hs.addr, "nosuch.test", echo.port)
    check_eq(raw[:2], b"\x05\x04", "VER REP for a name hopsocks cannot resolve")
    expect_closed(sock, "after 05 04")
    eventually_eq(lambda: len(connects(up)), 1, "CONNECTs at the upstream (none for nosuch.test)")
    check(wait_until(lambda: log_lines(hs, "chain loc to nosuch.test:%d failed: cannot resolve "
                                       "nosuch.test" % echo.port)), "no 'cannot resolve' line")


@suite.test("socks5:// and socks4:// hops get an address (hopsocks resolves leak.test), "
            "socks4a:// gets the name; a name unknown to the upstream gives 05 04 passed back")
def t_scheme_resolution(ctx):
    echo = ctx.own(EchoServer())
    dns_up = ctx.own(DnsServer(NAMES))
    dns = ctx.own(DnsServer(NAMES))
    up = ctx.hopsocks(config=["resolver " + dns_up.resolver])
    for scheme, want_target, local in (("socks5", fmt_addr(*echo.addr), True),
                                       ("socks4", fmt_addr(*echo.addr), True),
                                       ("socks4a", "leak.test:%d" % echo.port, False)):
        before_front, before_up = dns.count("leak.test"), dns_up.count("leak.test")
        hs = ctx.hopsocks(config=["resolver " + dns.resolver]
                          + chain_block(scheme, [hop_url(scheme, up.addr)])
                          + ["route * via " + scheme])
        open_via(hs, "leak.test", echo.port)
        rec = up.wait_access(lambda r: r.get("cmd") == "connect" and r.get("proto") ==
                             ("socks5" if scheme == "socks5" else scheme),
                             what="upstream line via " + scheme)
        check_eq(rec["target"], want_target, "target the %s hop was asked for" % scheme)
        if local:
            check(dns.count("leak.test") > before_front, "hopsocks did not resolve for " + scheme)
            check_eq(dns_up.count("leak.test"), before_up, "upstream DNS questions via " + scheme)
        else:
            check_eq(dns.count("leak.test"), before_front, "hopsocks DNS questions via " + scheme)
    hs = ctx.hopsocks(config=["resolver " + dns.resolver]
                      + chain_block("h", [hop_url("socks5h", up.addr)]) + ["route * via h"])
    sock, rep, raw = socks5_try(hs.addr, "nosuch.test", echo.port)
    check_eq(raw[:2], b"\x05\x04", "VER REP for a name the upstream cannot resolve")
    sock.close()
    check_eq(dns.count("nosuch.test"), 0, "hopsocks' DNS questions for nosuch.test")


@suite.test("a hop given by name (socks5h://hop.test:PORT) is resolved by hopsocks through its "
            "DNS; the target name still goes to the hop")
def t_hop_by_name(ctx):
    echo = ctx.own(EchoServer())
    dns_up = ctx.own(DnsServer(NAMES))
    dns = ctx.own(DnsServer(NAMES))
    up = ctx.hopsocks(config=["resolver " + dns_up.resolver])
    hs = ctx.hopsocks(config=["resolver " + dns.resolver]
                      + chain_block("n", ["socks5h://hop.test:%d" % up.port]) + ["route * via n"])
    open_via(hs, "leak.test", echo.port)
    check(dns.count("hop.test") >= 1, "hopsocks did not resolve the hop's name")
    check_eq(dns.count("leak.test"), 0, "hopsocks' DNS questions for the target")
    check_eq(route_of(hs, "leak.test:%d" % echo.port), ("n", fmt_addr(*up.addr)),
             "route=, addr= (the hop's resolved address)")


@suite.test("--chain socks5://A,socks5h://B: a strict chain 'cli' for everything, before the "
            "file's 'route * direct'; A was asked for B, B for the target")
def t_cli_chain(ctx):
    echo = ctx.own(EchoServer())
    dns_b = ctx.own(DnsServer(NAMES))
    dns = ctx.own(DnsServer(NAMES))
    a = ctx.hopsocks()
    b = ctx.hopsocks(config=["resolver " + dns_b.resolver])
    hs = ctx.hopsocks(config=["resolver " + dns.resolver, "route * direct"],
                      args=["--chain", "%s, %s" % (hop_url("socks5", a.addr),
                                                   hop_url("socks5h", b.addr))])
    open_via(hs, "leak.test", echo.port, 1 << 20)
    check_eq(route_of(hs, "leak.test:%d" % echo.port), ("cli", fmt_addr(*a.addr)),
             "route=, addr=")
    check(wait_until(lambda: connects(b)), "B logged no CONNECT")
    eventually_eq(lambda: [r["target"] for r in connects(a)], [fmt_addr(*b.addr)],
                  "targets A was asked for")
    eventually_eq(lambda: [r["target"] for r in connects(b)], ["leak.test:%d" % echo.port],
                  "targets B was asked for")
    check_eq(dns.count("leak.test"), 0, "hopsocks' DNS questions for leak.test")


@suite.test("SOCKS4 and HTTP CONNECT clients follow the routes too (CIDR rule -> chain, "
            "others direct)")
def t_other_clients(ctx):
    e1 = ctx.own(EchoServer())
    e2 = ctx.own(EchoServer("127.0.0.2"))
    up = Upstreams(ctx)
    hs = ctx.hopsocks(config=up.chains() + ["route 127.0.0.2/32 via c2"])
    for echo, chain in ((e2, "c2"), (e1, "direct")):
        sock = connect(hs.addr)
        sock.sendall(socks4_request(echo.host, echo.port))
        check_eq(read_socks4_reply(sock)[0], 0x5A, "SOCKS4 CD to %s" % fmt_addr(*echo.addr))
        echo_transfer(sock, 4096, what="SOCKS4 echo")
        sock.close()
        sock = connect(hs.addr)
        target = fmt_addr(*echo.addr).encode()
        sock.sendall(b"CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (target, target))
        check_eq(recv_exact(sock, 39, "HTTP response"),
                 b"HTTP/1.1 200 Connection established\r\n\r\n", "HTTP response")
        echo_transfer(sock, 4096, what="HTTP echo")
        sock.close()
        check(wait_until(lambda: len(connects(hs, target=fmt_addr(*echo.addr))) == 2),
              "want 2 access lines for %s" % fmt_addr(*echo.addr))
        eventually_eq(lambda: sorted((r["proto"], r["route"])
                                     for r in connects(hs, target=fmt_addr(*echo.addr))),
                      [("http", chain), ("socks4", chain)], "proto=, route= of the access lines")
    check_eq(sorted(p[0] for p in e2.peers), ["127.0.0.12", "127.0.0.12"],
             "sources 127.0.0.2's target saw")


@suite.test("a route through a dead chain: 'client X session N: chain NAME to T failed: hop ...' and "
            "the access line route=NAME result=refused addr=<hop>")
def t_failure_line(ctx):
    echo = ctx.own(EchoServer())
    dead = closed_port()
    hs = ctx.hopsocks(config=chain_block("gone", ["socks5://127.0.0.1:%d" % dead])
                      + ["route * via gone"])
    sock, rep, raw = socks5_try(hs.addr, *echo.addr)
    check_eq(raw[:2], b"\x05\x05", "VER REP")
    client = "%s:%d" % sock.getsockname()[:2]
    sock.close()
    rec = hs.wait_access(lambda r: r.get("client") == client, what="access line")
    want = ("client %s session %s: chain gone to %s failed: hop socks5://127.0.0.1:%d: "
            "Connection refused" % (client, rec.get("session"), fmt_addr(*echo.addr), dead))
    check(log_lines(hs, want), "no line %r" % want)
    check_eq((rec.get("route"), rec.get("result"), rec.get("addr")),
             ("gone", "refused", "127.0.0.1:%d" % dead), "route=, result=, addr=")


if __name__ == "__main__":
    suite.run()
