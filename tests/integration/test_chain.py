#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors.
"""CONNECT through upstream chains: real upstream proxies started by the
test -- dante (danted: SOCKS4 and SOCKS5), microsocks (SOCKS5, -u/-P for
RFC 1929), tinyproxy (HTTP CONNECT, BasicAuth) and other hopsocks
instances -- in chains of 1, 2 and 3 hops mixing every hop type, with and
without hop credentials.  Every working chain relays 1-4 MiB to an echo or
sink target and compares SHA-256; which upstream carried the connection is
read from its own log (dante, tinyproxy, hopsocks' access log) or from the
source address a target saw (microsocks -b, dante's external address).

Hop credentials are tested with microsocks -u/-P, tinyproxy BasicAuth and
hopsocks with a user file, not with dante: its `socksmethod: username`
checks system accounts, which a test should not create.

Then the modes (dynamic skips a dead hop, strict fails with the right code,
random and round-robin spread connections, all-dead fails at once, a dead
hop is tried again after retry-dead, a hop refusing by policy is blamed
itself and not the hop it was asked for), and with scripted hops: the exact
CONNECT an HTTP hop gets (also with 200-byte credentials), bytes behind its
2xx header or a SOCKS5 reply, 1xx interim answers, replies a byte at a
time, and how each hop answer (SOCKS5 REP, SOCKS4 rejection, HTTP status,
silence) maps to the client's SOCKS5 REP, SOCKS4 CD and log lines.  Last,
40 concurrent tunnels, and clients leaving (FIN or RST) in every phase of
building one: no descriptor left behind, SIGTERM still exits 0.
"""

import base64
import os
import random
import re
import signal
import socket
import struct
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (BOUND, Skip, Suite, chain_block, check, check_eq, closed_port,  # noqa: E402
                     connect, connects, eventually_eq, expect_closed, fmt_addr, hop_url, log_lines,
                     port_accepts, read_socks4_reply, read_socks5_reply, recv_exact,
                     socks4_request, socks5_request, socks5_try, wait_until, write_users)
from harness import missing  # noqa: E402
from dnsserver import DnsServer  # noqa: E402
from servers import (Blackhole, Danted, EchoServer, Microsocks, ScriptedHttpProxy,  # noqa: E402
                     ScriptedSocks5, SinkServer, SshDynamic, Sshd, Tinyproxy, echo_transfer,
                     sink_transfer)

suite = Suite()

MiB = 1 << 20
USERS = {"alice": "s3cret-a", "bob": "s3cret-b"}


# ------------------------------------------------------------------ helpers

def need(cls):
    if not cls.available():
        raise missing(cls.PROGRAM, cls.PACKAGE)


def dante(ctx, external="127.0.0.1"):
    need(Danted)
    return ctx.own(Danted(ctx, external=external).start())


def microsocks(ctx, user=None, password=None, bind=None):
    need(Microsocks)
    return ctx.own(Microsocks(ctx, user, password, bind).start())


def tinyproxy(ctx, user=None, password=None):
    need(Tinyproxy)
    return ctx.own(Tinyproxy(ctx, user, password).start())


def front(ctx, hops, mode=None, name="up", config=(), **options):
    """A hopsocks sending everything through chain `name` of hops."""
    return ctx.hopsocks(config=chain_block(name, hops, mode, **options)
                        + ["route * via %s" % name] + list(config))


def access_of(hs, target, what="access line"):
    return hs.wait_access(lambda r: r.get("cmd") == "connect" and r.get("target") == target,
                          what="%s for %s" % (what, target))


def check_route(hs, target, route, first_hop):
    """The front's access line names the chain and the first hop's address."""
    rec = access_of(hs, target)
    check_eq(rec.get("route"), route, "route= of the access line")
    check_eq(rec.get("addr"), fmt_addr(*first_hop), "addr= (the first hop) of the access line")
    return rec


def through(hs, target, size, sink=False, what="transfer"):
    """CONNECT to target through hs and move size bytes (echo, or upload to
    a sink with half-close), checked by SHA-256."""
    sock, rep, raw = socks5_try(hs.addr, target[0], target[1])
    check_eq(raw[:2], b"\x05\x00", "SOCKS5 reply VER REP (%s)" % what)
    if sink:
        sink_transfer(sock, size, what=what)
    else:
        echo_transfer(sock, size, what=what)
    sock.close()


def expect_rep(hs, target, want_rep, what):
    """A SOCKS5 CONNECT through hs that must fail with REP want_rep and then
    be closed by hopsocks; returns how long the reply took."""
    started = time.monotonic()
    sock, rep, raw = socks5_try(hs.addr, target[0], target[1])
    elapsed = time.monotonic() - started
    check_eq(raw[:2], b"\x05" + bytes([want_rep]), "VER REP of the reply (%s)" % what)
    expect_closed(sock, "connection after the failure reply (%s)" % what)
    sock.close()
    return elapsed


def socks4_cd(hs, target, userid=b""):
    sock = connect(hs.addr)
    sock.sendall(socks4_request(target[0], target[1], userid))
    cd = read_socks4_reply(sock)[0]
    sock.close()
    return cd


def hop_hopsocks(ctx, config=(), dns=None):
    """A hopsocks upstream; its names go to its own DNS server."""
    extra = ["resolver " + dns.resolver] if dns else []
    return ctx.hopsocks(config=extra + list(config))


# ----------------------------------------------------- one hop of each type

@suite.test("1 hop socks5:// dante: 2 MiB echo (sha256); dante logged the CONNECT to the "
            "target, the target saw dante's external address 127.0.0.5; access route=up "
            "addr=<dante>")
def t_one_socks5_dante(ctx):
    echo = ctx.own(EchoServer())
    d = dante(ctx, external="127.0.0.5")
    hs = front(ctx, [hop_url("socks5", d.addr)])
    through(hs, echo.addr, 2 * MiB)
    eventually_eq(lambda: d.connects(), [echo.addr], "targets dante connected to")
    check_eq([p[0] for p in echo.peers], ["127.0.0.5"], "source address the target saw")
    check_route(hs, fmt_addr(*echo.addr), "up", d.addr)


@suite.test("1 hop socks4:// dante: 2 MiB echo (sha256), dante logged the CONNECT, the "
            "target saw 127.0.0.5")
def t_one_socks4_dante(ctx):
    echo = ctx.own(EchoServer())
    d = dante(ctx, external="127.0.0.5")
    hs = front(ctx, [hop_url("socks4", d.addr)])
    through(hs, echo.addr, 2 * MiB)
    eventually_eq(lambda: d.connects(), [echo.addr], "targets dante connected to")
    check_eq([p[0] for p in echo.peers], ["127.0.0.5"], "source address the target saw")
    check_route(hs, fmt_addr(*echo.addr), "up", d.addr)


@suite.test("1 hop socks5://alice:...@microsocks -u/-P (bound to 127.0.0.3): 2 MiB echo "
            "(sha256), the target saw 127.0.0.3")
def t_one_microsocks_auth(ctx):
    echo = ctx.own(EchoServer())
    m = microsocks(ctx, "alice", "s3cret-a", bind="127.0.0.3")
    hs = front(ctx, [hop_url("socks5", m.addr, "alice:s3cret-a")])
    through(hs, echo.addr, 2 * MiB)
    check_eq([p[0] for p in echo.peers], ["127.0.0.3"], "source address the target saw")
    check_route(hs, fmt_addr(*echo.addr), "up", m.addr)


@suite.test("1 hop http:// tinyproxy: 2 MiB echo (sha256); tinyproxy logged CONNECT "
            "127.0.0.1:<target>")
def t_one_tinyproxy(ctx):
    echo = ctx.own(EchoServer())
    t = tinyproxy(ctx)
    hs = front(ctx, [hop_url("http", t.addr)])
    through(hs, echo.addr, 2 * MiB)
    eventually_eq(lambda: t.connects(), [fmt_addr(*echo.addr)], "CONNECTs tinyproxy read")
    check_route(hs, fmt_addr(*echo.addr), "up", t.addr)


@suite.test("1 hop http://alice:...@tinyproxy BasicAuth: 1 MiB echo (sha256); with a wrong "
            "password the request fails with REP 01, the log names tinyproxy's 'HTTP 401 "
            "Unauthorized' and never the password")
def t_one_tinyproxy_auth(ctx):
    echo = ctx.own(EchoServer())
    t = tinyproxy(ctx, "alice", "s3cret-a")
    hs = front(ctx, [hop_url("http", t.addr, "alice:s3cret-a")])
    through(hs, echo.addr, MiB)
    eventually_eq(lambda: t.connects(), [fmt_addr(*echo.addr)], "CONNECTs tinyproxy read")
    bad = front(ctx, [hop_url("http", t.addr, "alice:wrong")], name="badauth")
    # tinyproxy answers a wrong password with 401, not 407 (so for hopsocks
    # it is the last hop refusing, like any status it has no better code for).
    expect_rep(bad, echo.addr, 0x01, "wrong BasicAuth password")
    want = ("chain badauth to %s failed: last hop http://alice@%s: HTTP 401 Unauthorized"
            % (fmt_addr(*echo.addr), fmt_addr(*t.addr)))
    check(wait_until(lambda: log_lines(bad, want)), "no line %r" % want)
    check(not [x for x in bad.stderr_text().splitlines() if "wrong" in x],
          "the hop password appears in the log")


@suite.test("1 hop to a hopsocks upstream as socks5h://, socks4a:// and http://: the name "
            "echo.test goes to the upstream (its access target=echo.test:PORT, its DNS asked), "
            "the front's DNS is never asked; 1 MiB echo each")
def t_one_hopsocks_names(ctx):
    echo = ctx.own(EchoServer())
    dns_up = ctx.own(DnsServer({"echo.test": ["127.0.0.1"]}))
    dns_front = ctx.own(DnsServer({"echo.test": ["127.0.0.1"]}))
    up = hop_hopsocks(ctx, dns=dns_up)
    for scheme, proto in (("socks5h", "socks5"), ("socks4a", "socks4a"), ("http", "http")):
        hs = front(ctx, [hop_url(scheme, up.addr)], config=["resolver " + dns_front.resolver])
        through(hs, ("echo.test", echo.port), MiB, what="via " + scheme)
        rec = up.wait_access(lambda r: r.get("proto") == proto and r.get("cmd") == "connect",
                             what="upstream access line for " + scheme)
        check_eq(rec.get("target"), "echo.test:%d" % echo.port, "upstream target= via " + scheme)
        check_eq(rec.get("result"), "ok", "upstream result= via " + scheme)
        check_route(hs, "echo.test:%d" % echo.port, "up", up.addr)
    check_eq(dns_front.count("echo.test"), 0, "queries for echo.test at the front's DNS")
    check(dns_up.count("echo.test") >= 1, "the upstream's DNS was never asked for echo.test")


@suite.test("hop credentials to a hopsocks upstream with a user file: socks5://alice and "
            "http://bob are authenticated there (user= in its access lines); 1 MiB each")
def t_one_hopsocks_auth(ctx):
    echo = ctx.own(EchoServer())
    up = ctx.hopsocks(config=["users " + write_users(ctx, USERS)])
    for scheme, user in (("socks5", "alice"), ("http", "bob")):
        hs = front(ctx, [hop_url(scheme, up.addr, "%s:%s" % (user, USERS[user]))])
        through(hs, echo.addr, MiB, what="via " + scheme)
        up.wait_access(lambda r: r.get("user") == user and r.get("result") == "ok",
                       what="upstream access line with user=" + user)


@suite.test("hop credentials refused: microsocks -u/-P with a wrong password -> REP 02 (as an "
            "HTTP hop's 407) and 'username/password rejected'; with no credentials -> REP 01 "
            "and 'no acceptable authentication method'; each hop marked down")
def t_hop_auth_refused(ctx):
    echo = ctx.own(EchoServer())
    m = microsocks(ctx, "alice", "s3cret-a")
    for name, userinfo, rep, why in (("wrong", "alice:nope", 0x02, "username/password rejected"),
                                     ("none", "", 0x01, "no acceptable authentication method")):
        hs = front(ctx, [hop_url("socks5", m.addr, userinfo)], name=name)
        expect_rep(hs, echo.addr, rep, "hop %s credentials" % name)
        shown = hop_url("socks5", m.addr, userinfo.split(":")[0])
        want = "chain %s: hop %s marked down for 30000 ms: %s" % (name, shown, why)
        check(wait_until(lambda: log_lines(hs, want)), "no log line %r" % want)
    check_eq(echo.peers, [], "connections the target got")


# -------------------------------------------------------------- multi-hop

@suite.test("2 hops http(tinyproxy) -> socks5(dante): 2 MiB echo (sha256); tinyproxy "
            "CONNECTed to dante, dante to the target")
def t_two_http_socks5(ctx):
    echo = ctx.own(EchoServer())
    t = tinyproxy(ctx)
    d = dante(ctx, external="127.0.0.5")
    hs = front(ctx, [hop_url("http", t.addr), hop_url("socks5", d.addr)])
    through(hs, echo.addr, 2 * MiB)
    eventually_eq(lambda: t.connects(), [fmt_addr(*d.addr)], "CONNECTs tinyproxy read")
    eventually_eq(lambda: d.connects(), [echo.addr], "targets dante connected to")
    check_eq([p[0] for p in echo.peers], ["127.0.0.5"], "source address the target saw")
    check_route(hs, fmt_addr(*echo.addr), "up", t.addr)


@suite.test("2 hops socks4(dante) -> socks5 with credentials (microsocks -u/-P -b "
            "127.0.0.3): 2 MiB echo (sha256); dante connected to microsocks, the target saw "
            "127.0.0.3")
def t_two_socks4_socks5auth(ctx):
    echo = ctx.own(EchoServer())
    d = dante(ctx)
    m = microsocks(ctx, "bob", "s3cret-b", bind="127.0.0.3")
    hs = front(ctx, [hop_url("socks4", d.addr), hop_url("socks5", m.addr, "bob:s3cret-b")])
    through(hs, echo.addr, 2 * MiB)
    eventually_eq(lambda: d.connects(), [m.addr], "targets dante connected to")
    check_eq([p[0] for p in echo.peers], ["127.0.0.3"], "source address the target saw")
    check_route(hs, fmt_addr(*echo.addr), "up", d.addr)


@suite.test("3 hops socks5(dante) -> http with BasicAuth (tinyproxy) -> socks5 with "
            "credentials (microsocks -b 127.0.0.3): 4 MiB echo (sha256), each hop logged or "
            "seen")
def t_three_mixed(ctx):
    echo = ctx.own(EchoServer())
    d = dante(ctx)
    t = tinyproxy(ctx, "alice", "s3cret-a")
    m = microsocks(ctx, "bob", "s3cret-b", bind="127.0.0.3")
    hs = front(ctx, [hop_url("socks5", d.addr), hop_url("http", t.addr, "alice:s3cret-a"),
                     hop_url("socks5", m.addr, "bob:s3cret-b")])
    through(hs, echo.addr, 4 * MiB)
    eventually_eq(lambda: d.connects(), [t.addr], "targets dante connected to")
    eventually_eq(lambda: t.connects(), [fmt_addr(*m.addr)], "CONNECTs tinyproxy read")
    check_eq([p[0] for p in echo.peers], ["127.0.0.3"], "source address the target saw")


@suite.test("half-close through 3 hops socks5(dante) -> http(hopsocks) -> socks4(dante): "
            "4 MiB upload, FIN passed on, the sink's sha256 answer comes back")
def t_three_half_close(ctx):
    sink = ctx.own(SinkServer())
    d1, d2 = dante(ctx), dante(ctx, external="127.0.0.5")
    mid = hop_hopsocks(ctx)
    hs = front(ctx, [hop_url("socks5", d1.addr), hop_url("http", mid.addr),
                     hop_url("socks4", d2.addr)])
    through(hs, sink.addr, 4 * MiB, sink=True)
    eventually_eq(lambda: d1.connects(), [mid.addr], "targets dante 1 connected to")
    eventually_eq(lambda: [r["target"] for r in connects(mid)], [fmt_addr(*d2.addr)],
                  "targets the hopsocks hop was asked for")
    eventually_eq(lambda: d2.connects(), [sink.addr], "targets dante 2 connected to")
    check_eq([p[0] for p in sink.peers], ["127.0.0.5"], "source address the sink saw")


@suite.test("3 hops hopsocks -> hopsocks -> hopsocks (socks5h with credentials, socks4a, "
            "http): 4 MiB echo to echo.test (sha256); each upstream's access line names the "
            "next hop, only the last one resolves the name")
def t_three_hopsocks(ctx):
    echo = ctx.own(EchoServer())
    dns = [ctx.own(DnsServer({"echo.test": ["127.0.0.1"]})) for _ in range(4)]
    a = ctx.hopsocks(config=["resolver " + dns[0].resolver,
                             "users " + write_users(ctx, {"alice": "s3cret-a"})])
    b = hop_hopsocks(ctx, dns=dns[1])
    c = hop_hopsocks(ctx, dns=dns[2])
    hs = front(ctx, [hop_url("socks5h", a.addr, "alice:s3cret-a"), hop_url("socks4a", b.addr),
                     hop_url("http", c.addr)], config=["resolver " + dns[3].resolver])
    through(hs, ("echo.test", echo.port), 4 * MiB)
    ra = a.wait_access(lambda r: r.get("cmd") == "connect", what="access line of hop 1")
    rb = b.wait_access(lambda r: r.get("cmd") == "connect", what="access line of hop 2")
    rc = c.wait_access(lambda r: r.get("cmd") == "connect", what="access line of hop 3")
    check_eq((ra.get("proto"), ra.get("user"), ra.get("target")),
             ("socks5", "alice", fmt_addr(*b.addr)), "hop 1 proto, user, target")
    check_eq((rb.get("proto"), rb.get("target")), ("socks4", fmt_addr(*c.addr)),
             "hop 2 proto, target (an address: SOCKS4 form)")
    check_eq((rc.get("proto"), rc.get("target"), rc.get("result")),
             ("http", "echo.test:%d" % echo.port, "ok"), "hop 3 proto, target, result")
    check_eq([d.count("echo.test") for d in (dns[0], dns[1], dns[3])], [0, 0, 0],
             "queries for echo.test at hop 1, hop 2 and the front")
    check(dns[2].count("echo.test") >= 1, "hop 3 never asked its DNS for echo.test")


@suite.test("early bytes: greeting, request and 64 KiB of data in one write through a 2-hop "
            "chain (microsocks -> tinyproxy) arrive at the target after the tunnel is up")
def t_early_bytes(ctx):
    echo = ctx.own(EchoServer())
    m = microsocks(ctx)
    t = tinyproxy(ctx)
    hs = front(ctx, [hop_url("socks5", m.addr), hop_url("http", t.addr)])
    data = os.urandom(65536)
    sock = connect(hs.addr)
    sock.sendall(b"\x05\x01\x00" + socks5_request(*echo.addr) + data)
    check_eq(recv_exact(sock, 2, "method selection"), b"\x05\x00", "method selection")
    rep = read_socks5_reply(sock)
    check_eq(rep[0], 0, "REP")
    check_eq(recv_exact(sock, len(data), "echo of the early bytes"), data, "early bytes echoed")
    sock.close()


# ------------------------------------------------------------------- modes

@suite.test("dynamic [closed port, hopsocks A]: works; 'chain dyn: hop socks5://... marked "
            "down for 30000 ms: Connection refused' once; the next connection skips it")
def t_dynamic_dead_first(ctx):
    echo = ctx.own(EchoServer())
    a = hop_hopsocks(ctx)
    dead = closed_port()
    hs = front(ctx, ["socks5://127.0.0.1:%d" % dead, hop_url("socks5", a.addr)], "dynamic",
               name="dyn")
    for i in range(2):
        through(hs, echo.addr, 65536, what="connection %d" % (i + 1))
    want = ("chain dyn: hop socks5://127.0.0.1:%d marked down for 30000 ms: Connection refused"
            % dead)
    check_eq(len(log_lines(hs, want)), 1, "lines %r" % want)
    check(wait_until(lambda: len(connects(a, result="ok")) == 2), "hop A did not carry both")
    eventually_eq(lambda: [r["addr"] for r in connects(hs)], [fmt_addr(*a.addr)] * 2,
                  "addr= (the first hop actually used) of the two access lines")


@suite.test("dynamic [A, closed port, B]: A's 05 05 for the dead middle hop marks it down "
            "and the chain is rebuilt as A -> B (A saw both CONNECTs)")
def t_dynamic_dead_middle(ctx):
    echo = ctx.own(EchoServer())
    a, b = hop_hopsocks(ctx), hop_hopsocks(ctx)
    dead = closed_port()
    hs = front(ctx, [hop_url("socks5", a.addr), "socks5://127.0.0.1:%d" % dead,
                     hop_url("socks5", b.addr)], "dynamic", name="dyn")
    through(hs, echo.addr, 65536)
    want = ("chain dyn: hop socks5://127.0.0.1:%d marked down for 30000 ms: SOCKS5 reply 0x05"
            % dead)
    check(log_lines(hs, want), "no line %r" % want)
    check(wait_until(lambda: len(connects(a)) == 2), "hop A: want 2 CONNECTs")
    eventually_eq(lambda: sorted(r["target"] for r in connects(a)),
                  sorted(["127.0.0.1:%d" % dead, fmt_addr(*b.addr)]), "targets A was asked for")
    eventually_eq(lambda: [r["target"] for r in connects(b)], [fmt_addr(*echo.addr)],
                  "targets B was asked for")


@suite.test("strict [A, closed port]: 05 05 (A's own reply passed on), SOCKS4 client 91; "
            "then the chain cannot be used: 05 01 at once, no new attempt")
def t_strict_dead(ctx):
    echo = ctx.own(EchoServer())
    a = hop_hopsocks(ctx)
    dead = closed_port()
    hs = front(ctx, [hop_url("socks5", a.addr), "socks5://127.0.0.1:%d" % dead], "strict",
               name="st")
    expect_rep(hs, echo.addr, 0x05, "dead second hop")
    check(wait_until(lambda: log_lines(hs, "chain st to %s failed: hop socks5://127.0.0.1:%d: "
                                       "SOCKS5 reply 0x05" % (fmt_addr(*echo.addr), dead))),
          "no 'chain st to ... failed' line naming the dead hop")
    expect_rep(hs, echo.addr, 0x01, "chain with a hop down")
    check_eq(socks4_cd(hs, echo.addr), 0x5B, "SOCKS4 CD through the chain with a hop down")
    eventually_eq(lambda: len(connects(a)), 1, "CONNECTs hop A got (only the first attempt)")
    check(wait_until(lambda: log_lines(hs, "strict chain st has a hop marked down")),
          "no 'strict chain st has a hop marked down' line")
    check_eq(echo.peers, [], "connections the target got")


@suite.test("strict [closed port, A]: 05 05 from the refused first hop; dante to a closed "
            "target port: 05 05 passed through; socks4 hop rejection (dante 91): 05 05")
def t_strict_codes(ctx):
    echo = ctx.own(EchoServer())
    a = hop_hopsocks(ctx)
    hs = front(ctx, ["socks5://127.0.0.1:%d" % closed_port(), hop_url("socks5", a.addr)])
    expect_rep(hs, echo.addr, 0x05, "dead first hop")
    d = dante(ctx)
    for scheme in ("socks5", "socks4"):
        hs = front(ctx, [hop_url(scheme, d.addr)], name=scheme)
        target = ("127.0.0.1", closed_port())
        expect_rep(hs, target, 0x05, "target refused behind a %s hop" % scheme)
        check(wait_until(lambda: log_lines(hs, "chain %s to %s failed: last hop"
                                           % (scheme, fmt_addr(*target)))),
              "no 'failed: last hop' line for the refused target")
        # The target's refusal is not the hop's fault: the hop stays up.
        through(hs, echo.addr, 65536, what="after the refusal via " + scheme)
        check_eq(log_lines(hs, "marked down"), [], "hops marked down")


@suite.test("random length 1 over 3 hopsocks hops: 30 connections all succeed and every "
            "hop carries some; length 2: every connection uses 2 different hops")
def t_random(ctx):
    echo = ctx.own(EchoServer())
    hops = [hop_hopsocks(ctx) for _ in range(3)]
    urls = [hop_url("socks5", h.addr) for h in hops]
    hs = front(ctx, urls, "random", name="rnd", length=1)
    for i in range(30):
        through(hs, echo.addr, 1024, what="connection %d" % (i + 1))
    check(wait_until(lambda: sum(len(connects(h)) for h in hops) == 30),
          "the hops did not log 30 CONNECTs in all")
    counts = [len(connects(h, target=fmt_addr(*echo.addr))) for h in hops]
    check(all(counts), "connections per hop %s: one hop got none of 30 (chance ~1e-5)" % counts)
    hs2 = front(ctx, urls, "random", name="rnd2", length=2)
    before = [len(connects(h)) for h in hops]
    for i in range(12):
        through(hs2, echo.addr, 1024, what="length 2, connection %d" % (i + 1))
    check(wait_until(lambda: sum(len(connects(h)) for h in hops) == 30 + 24),
          "length 2: the hops did not log 24 more CONNECTs")
    addrs = {fmt_addr(*h.addr) for h in hops}
    new = [(h, connects(h)[b:]) for h, b in zip(hops, before)]
    targets = [r["target"] for _, recs in new for r in recs]
    check_eq((targets.count(fmt_addr(*echo.addr)), len([t for t in targets if t in addrs])),
             (12, 12), "CONNECTs to the target and to another hop (12 connections, 2 hops each)")
    for h, recs in new:
        check(all(r["target"] != fmt_addr(*h.addr) for r in recs),
              "a hop was asked to connect to itself")


@suite.test("round-robin length 1 over 3 hops: 9 connections, exactly 3 per hop, rotating; "
            "length 2: 6 connections, each hop carries 4")
def t_round_robin(ctx):
    echo = ctx.own(EchoServer())
    hops = [hop_hopsocks(ctx) for _ in range(3)]
    urls = [hop_url("socks5", h.addr) for h in hops]
    hs = front(ctx, urls, "round-robin", name="rr", length=1)
    clients = []  # in the order the connections were made (access lines
    for i in range(9):  # are written when each one ends, in any order)
        sock, rep, raw = socks5_try(hs.addr, *echo.addr)
        check_eq(raw[:2], b"\x05\x00", "VER REP of connection %d" % (i + 1))
        clients.append("%s:%d" % sock.getsockname()[:2])
        echo_transfer(sock, 1024)
        sock.close()
    eventually_eq(lambda: len(connects(hs)), 9, "access lines")
    by_client = {r["client"]: r["addr"] for r in connects(hs)}
    first = [by_client.get(c) for c in clients]
    check_eq(sorted(first.count(fmt_addr(*h.addr)) for h in hops), [3, 3, 3],
             "connections per first hop")
    check(all(first[i] != first[i + 1] for i in range(8)),
          "consecutive connections used the same hop: %s" % first)
    hs2 = front(ctx, urls, "round-robin", name="rr2", length=2)
    before = [len(connects(h)) for h in hops]
    for i in range(6):
        through(hs2, echo.addr, 1024, what="length 2, connection %d" % (i + 1))
    check(wait_until(lambda: sum(len(connects(h)) for h in hops) == 9 + 12),
          "the hops did not log 12 more CONNECTs")
    check_eq([len(connects(h)) - b for h, b in zip(hops, before)], [4, 4, 4],
             "CONNECTs per hop with length 2")


@suite.test("all hops dead: the first request marks both down (05 05); with the ports now "
            "listeners that never answer and timeout connect 10s, each next request gets 05 01 "
            "in < 2 s and no connection reaches them")
def t_all_dead_fast(ctx):
    echo = ctx.own(EchoServer())
    p1, p2 = quiet_port(), quiet_port()
    hs = front(ctx, ["socks5://127.0.0.1:%d" % p1, "socks5://127.0.0.1:%d" % p2], "dynamic",
               name="dead", config=["timeout connect 10s"], retry_dead="5m")
    expect_rep(hs, echo.addr, 0x05, "both hops refused")
    check_eq(len(log_lines(hs, "marked down")), 2, "hops marked down")
    holes = [_hole(ctx, p) for p in (p1, p2)]
    for i in range(3):
        elapsed = expect_rep(hs, echo.addr, 0x01, "all hops down, request %d" % (i + 1))
        check(elapsed < 2.0, "request %d with every hop down took %.2fs (want < 2 s; an "
              "attempt would take 10 s)" % (i + 1, elapsed))
    check_eq(len(log_lines(hs, "marked down")), 2, "hops marked down after 3 more requests")
    check_eq([len(h.attempts()) for h in holes], [0, 0], "connection attempts at the dead hops")
    check_eq(len(log_lines(hs, "no hop of chain dead is up")), 3, "'no hop ... is up' lines")


class _Hole:
    """A listener on a given port that never accepts (backlog 0) and counts
    the connections queued at it via a filler: attempts() lists accepted
    ones, which must stay empty."""

    def __init__(self, port):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(8)
        self.sock.setblocking(False)
        self.seen = []

    def attempts(self):
        while True:
            try:
                conn, peer = self.sock.accept()
            except BlockingIOError:
                return self.seen
            self.seen.append(peer)
            conn.close()

    def stop(self):
        self.sock.close()


def _hole(ctx, port):
    return ctx.own(_Hole(port))


def quiet_port():
    """A closed port below the ephemeral range, so that no outgoing
    connection on this busy machine takes it before microsocks binds it."""
    low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
    rng = random.Random()
    for _ in range(100):
        port = rng.randrange(max(1024, low - 12000), low)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        if not port_accepts("127.0.0.1", port):
            return port
    raise Skip("no free port below the ephemeral range")


@suite.test("retry-dead 1s: a dead first hop is skipped while down, and after 1 s tried "
            "again -- now a microsocks (-b 127.0.0.3) on that port, which carries the "
            "connection (the next hop sees client 127.0.0.3)")
def t_retry_dead(ctx):
    need(Microsocks)
    echo = ctx.own(EchoServer())
    a = hop_hopsocks(ctx)
    port = quiet_port()
    hs = front(ctx, ["socks5://127.0.0.1:%d" % port, hop_url("socks5", a.addr)], "dynamic",
               name="dyn", retry_dead="1s")
    through(hs, echo.addr, 1024, what="connection 1 (hop 1 dead)")
    marked = time.monotonic()
    ctx.own(Microsocks(ctx, bind="127.0.0.3", port=port).start())
    through(hs, echo.addr, 1024, what="connection 2 (hop 1 still marked down)")
    if time.monotonic() - marked < 0.9:
        wait_until(lambda: len(connects(a)) >= 2)
        check_eq([r["client"].split(":")[0] for r in connects(a)], ["127.0.0.1"] * 2,
                 "clients hop A saw while hop 1 was down")
    time.sleep(max(0.0, 1.2 - (time.monotonic() - marked)))
    through(hs, echo.addr, 1024, what="connection 3 (retry-dead over)")
    check(wait_until(lambda: len(connects(a)) == 3), "hop A: want 3 CONNECTs")
    check_eq(connects(a)[-1]["client"].split(":")[0], "127.0.0.3",
             "client hop A saw once hop 1 (microsocks) was used again")
    check(wait_until(lambda: len(connects(hs)) == 3), "front: want 3 access lines")
    check_eq(connects(hs)[-1]["addr"], "127.0.0.1:%d" % port, "addr= of the last access line")


@suite.test("a hop that accepts and stays silent (timeout connect 1s): strict -> 05 06 after "
            "about 1 s, 'no answer in time'; dynamic [silent, A] -> works via A")
def t_silent_hop(ctx):
    echo = ctx.own(EchoServer())
    quiet = ctx.own(ScriptedSocks5(silent=True))
    hs = front(ctx, [hop_url("socks5", quiet.addr)], "strict", name="st",
               config=["timeout connect 1s"])
    elapsed = expect_rep(hs, echo.addr, 0x06, "silent hop")
    check(0.8 <= elapsed < 5, "the silent hop's failure took %.2fs, want about 1 s" % elapsed)
    check(log_lines(hs, "chain st: hop %s marked down for 30000 ms: no answer in time"
                    % hop_url("socks5", quiet.addr)), "no 'no answer in time' line")
    a = hop_hopsocks(ctx)
    hs2 = front(ctx, [hop_url("socks5", quiet.addr), hop_url("socks5", a.addr)], "dynamic",
                name="dyn", config=["timeout connect 1s"])
    through(hs2, echo.addr, 65536)


# --------------------------------------------------------- scripted hops

@suite.test("HTTP hop: exact CONNECT request (Host, Proxy-Authorization Basic with the URL's "
            "percent-decoded credentials); bytes behind its 200 header reach the client after "
            "the SOCKS5 success reply, then the tunnel echoes")
def t_http_hop_bytes(ctx):
    proxy = ctx.own(ScriptedHttpProxy(
        b"HTTP/1.1 200 Connection established\r\nX-Hop: scripted\r\n\r\nEARLY BYTES\n"))
    hs = front(ctx, [hop_url("http", proxy.addr, "al%40ice:p%3Ass")])
    sock, rep, raw = socks5_try(hs.addr, "127.0.0.1", 4242)
    check_eq(raw[:2], b"\x05\x00", "VER REP")
    check_eq(recv_exact(sock, 12, "bytes behind the hop's 200"), b"EARLY BYTES\n",
             "bytes behind the hop's 200 header")
    echo_transfer(sock, 256 * 1024)
    sock.close()
    cred = base64.b64encode(b"al@ice:p:ss")
    check_eq(proxy.requests, [b"CONNECT 127.0.0.1:4242 HTTP/1.1\r\nHost: 127.0.0.1:4242\r\n"
                              b"Proxy-Authorization: Basic " + cred + b"\r\n\r\n"],
             "the CONNECT request the hop got")


@suite.test("HTTP hop statuses to SOCKS5 REP: 403 -> 02, 502 -> 05, 503 -> 05, 504 -> 06, "
            "500 -> 01, 302 -> 01; SOCKS4 clients get 91; the log names the status")
def t_http_hop_statuses(ctx):
    for status, rep in ((403, 0x02), (502, 0x05), (503, 0x05), (504, 0x06), (500, 0x01),
                        (302, 0x01)):
        proxy = ctx.own(ScriptedHttpProxy(
            b"HTTP/1.1 %d Whatever\r\nContent-Length: 0\r\n\r\n" % status))
        hs = front(ctx, [hop_url("http", proxy.addr)], name="h%d" % status)
        expect_rep(hs, ("127.0.0.1", 4242), rep, "HTTP %d" % status)
        check(wait_until(lambda: log_lines(hs, "chain h%d to 127.0.0.1:4242 failed: last hop "
                                           "%s: HTTP %d Whatever"
                                           % (status, hop_url("http", proxy.addr), status))),
              "no failure line naming HTTP %d" % status)
        check_eq(socks4_cd(hs, ("127.0.0.1", 4242)), 0x5B, "SOCKS4 CD for HTTP %d" % status)


@suite.test("HTTP hop 407 (hop credentials refused) -> SOCKS5 REP 02 and the hop marked down")
def t_http_hop_407(ctx):
    proxy = ctx.own(ScriptedHttpProxy(
        b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n"))
    hs = front(ctx, [hop_url("http", proxy.addr)])
    sock, rep, raw = socks5_try(hs.addr, "127.0.0.1", 4242)
    expect_closed(sock, "connection after the failure reply")
    want = ("chain up: hop %s marked down for 30000 ms: HTTP 407 Proxy Authentication "
            "Required" % hop_url("http", proxy.addr))
    check(wait_until(lambda: log_lines(hs, want)), "no line %r" % want)
    check_eq(raw[:2], b"\x05\x02", "VER REP of the reply to HTTP 407")


@suite.test("the last SOCKS5 hop's own REP is passed through: 02, 03, 04, 05, 06, 08 "
            "(the hop stays up: the target's fault)")
def t_socks5_rep_passthrough(ctx):
    for rep in (0x02, 0x03, 0x04, 0x05, 0x06, 0x08):
        hop = ctx.own(ScriptedSocks5(rep=rep))
        hs = front(ctx, [hop_url("socks5", hop.addr)], name="r%d" % rep)
        expect_rep(hs, ("127.0.0.1", 4242), rep, "hop REP %02x" % rep)
        check_eq(hop.requests, [b"\x05\x01\x00\x01\x7f\x00\x00\x01\x10\x92"],
                 "the request the hop got")
        check_eq(log_lines(hs, "marked down"), [], "hops marked down for REP %02x" % rep)



@suite.test("HTTP hop answers that open the tunnel, sent a byte at a time: 'HTTP/1.0 200 OK', "
            "'HTTP/1.1 200' without a reason, '204 No Content' with a field -> success, echo")
def t_http_hop_2xx_forms(ctx):
    for response in (b"HTTP/1.0 200 OK\r\n\r\n", b"HTTP/1.1 200\r\n\r\n",
                     b"HTTP/1.1 204 No Content\r\nX-Hop: a\r\n\r\n"):
        proxy = ctx.own(ScriptedHttpProxy(response, tunnel=True, bytewise=True))
        hs = front(ctx, [hop_url("http", proxy.addr)], name="h%d" % len(response))
        sock, rep, raw = socks5_try(hs.addr, "127.0.0.1", 4242)
        check_eq(raw[:2], b"\x05\x00", "VER REP for %r" % response)
        echo_transfer(sock, 65536, what="echo after %r" % response)
        sock.close()


@suite.test("HTTP hop sending '100 Continue' before its 200: the interim response is skipped "
            "and the tunnel opens, with both answers in one segment")
def t_http_hop_1xx(ctx):
    proxy = ctx.own(ScriptedHttpProxy(
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 Connection established\r\n\r\n",
        tunnel=True))
    hs = front(ctx, [hop_url("http", proxy.addr)])
    sock, rep, raw = socks5_try(hs.addr, "127.0.0.1", 4242)
    check_eq(raw[:2], b"\x05\x00", "VER REP after 100 then 200")
    echo_transfer(sock, 4096)
    sock.close()


@suite.test("HTTP hop with long credentials (200-byte user and password): the CONNECT carries "
            "them in Proxy-Authorization and the tunnel opens (a 1,100-byte request)")
def t_http_hop_long_credentials(ctx):
    user, password = "u" * 200, "p" * 200
    proxy = ctx.own(ScriptedHttpProxy(b"HTTP/1.1 200 Connection established\r\n\r\n"))
    hs = front(ctx, [hop_url("http", proxy.addr, "%s:%s" % (user, password))])
    sock, rep, raw = socks5_try(hs.addr, "127.0.0.1", 4242)
    check_eq(raw[:2], b"\x05\x00", "VER REP")
    echo_transfer(sock, 4096)
    sock.close()
    cred = base64.b64encode(("%s:%s" % (user, password)).encode())
    check_eq(proxy.requests, [b"CONNECT 127.0.0.1:4242 HTTP/1.1\r\nHost: 127.0.0.1:4242\r\n"
                              b"Proxy-Authorization: Basic " + cred + b"\r\n\r\n"],
             "the CONNECT request the hop got")


@suite.test("SOCKS5 hop replies a byte at a time, with BND as a name or an IPv6 address, and "
            "the target's first bytes in the same write: the client gets its reply, then those "
            "bytes, then the echo")
def t_socks5_hop_reply_forms(ctx):
    for bnd in (b"\x03\x09localhost\x00\x50", b"\x04" + b"\x00" * 15 + b"\x01\x00\x50",
                b"\x01\x7f\x00\x00\x01\x00\x50"):
        for bytewise in (False, True):
            hop = ctx.own(ScriptedSocks5(bnd=bnd, after=b"BANNER\n", bytewise=bytewise))
            hs = front(ctx, [hop_url("socks5", hop.addr)], name="b%d" % len(ctx.hopsocks_list))
            sock, rep, raw = socks5_try(hs.addr, "127.0.0.1", 4242)
            what = "BND %s%s" % (bnd.hex(" "), " bytewise" if bytewise else "")
            check_eq(raw[:2], b"\x05\x00", "VER REP (%s)" % what)
            check_eq(recv_exact(sock, 7, "banner"), b"BANNER\n", "bytes behind the reply (%s)"
                     % what)
            echo_transfer(sock, 65536, what="echo (%s)" % what)
            sock.close()


@suite.test("dynamic [A refusing everything (REP 02), B, C]: A's ruleset refusal is A's "
            "doing -- A is marked down, the healthy hops B and C are not, and the chain "
            "is rebuilt as B -> C")
def t_dynamic_blame(ctx):
    echo = ctx.own(EchoServer())
    deny = ctx.own(ScriptedSocks5(rep=0x02))
    b, c = hop_hopsocks(ctx), hop_hopsocks(ctx)
    hs = front(ctx, [hop_url("socks5", deny.addr), hop_url("socks5", b.addr),
                     hop_url("socks5", c.addr)], "dynamic", name="dyn")
    through(hs, echo.addr, 65536)
    want = ("chain dyn: hop %s marked down for 30000 ms: SOCKS5 reply 0x02"
            % hop_url("socks5", deny.addr))
    check(log_lines(hs, want), "no line %r" % want)
    for h in (b, c):
        check_eq(log_lines(hs, "hop %s marked down" % hop_url("socks5", h.addr)), [],
                 "'marked down' lines for the healthy hop %s" % fmt_addr(*h.addr))
    eventually_eq(lambda: [r["target"] for r in connects(c)], [fmt_addr(*echo.addr)],
                  "targets C was asked for")
    eventually_eq(lambda: [r["addr"] for r in connects(hs)], [fmt_addr(*b.addr)],
                  "addr= (first hop) of the access line")


@suite.test("round-robin length 1 over [A, closed port, B]: 6 connections all succeed, the "
            "dead hop is marked down once and skipped afterwards")
def t_round_robin_dead(ctx):
    echo = ctx.own(EchoServer())
    a, b = hop_hopsocks(ctx), hop_hopsocks(ctx)
    dead = closed_port()
    hs = front(ctx, [hop_url("socks5", a.addr), "socks5://127.0.0.1:%d" % dead,
                     hop_url("socks5", b.addr)], "round-robin", name="rr", length=1)
    for i in range(6):
        through(hs, echo.addr, 1024, what="connection %d" % (i + 1))
    check_eq(len(log_lines(hs, "marked down")), 1, "'marked down' lines")
    check(wait_until(lambda: len(connects(a)) + len(connects(b)) == 6),
          "A and B did not carry 6 connections between them")
    check(connects(a) and connects(b), "one of A and B carried nothing")


@suite.test("strict with retry-dead 1s: while the second hop is down requests fail at once "
            "(05 01); after 1 s it is tried again (hop A asked for it again)")
def t_strict_retry(ctx):
    echo = ctx.own(EchoServer())
    a = hop_hopsocks(ctx)
    dead = closed_port()
    hs = front(ctx, [hop_url("socks5", a.addr), "socks5://127.0.0.1:%d" % dead], "strict",
               name="st", retry_dead="1s")
    expect_rep(hs, echo.addr, 0x05, "first attempt")
    marked = time.monotonic()
    expect_rep(hs, echo.addr, 0x01, "while down")
    if time.monotonic() - marked < 0.9:
        eventually_eq(lambda: len(connects(a)), 1, "CONNECTs at A while the hop is down")
    time.sleep(max(0.0, 1.2 - (time.monotonic() - marked)))
    expect_rep(hs, echo.addr, 0x05, "after retry-dead")
    check(wait_until(lambda: len(connects(a)) == 2), "A was not asked for the dead hop again")


def reload_and_wait(hs, generation):
    """SIGHUP, then wait for the line saying the reload took."""
    os.kill(hs.pid, signal.SIGHUP)
    want = "configuration reloaded (generation %d)" % generation
    check(wait_until(lambda: log_lines(hs, want)), "no '%s' within %.0fs of SIGHUP: %s"
          % (want, BOUND, hs.stderr_tail(5)))


@suite.test("SIGHUP keeps hop health: a strict chain's hop marked down stays down across a "
            "reload (05 01 at once, 'has a hop marked down', hop A not asked again); once the "
            "hop's URL changes, the new hop is tried (A asked again)")
def t_reload_keeps_health(ctx):
    echo = ctx.own(EchoServer())
    a = hop_hopsocks(ctx)
    dead = closed_port()
    hs = front(ctx, [hop_url("socks5", a.addr), "socks5://127.0.0.1:%d" % dead], "strict",
               name="st")
    expect_rep(hs, echo.addr, 0x05, "first attempt: A cannot reach the dead hop")
    eventually_eq(lambda: len(connects(a)), 1, "CONNECTs at A after the first attempt")
    check(log_lines(hs, "chain st: hop socks5://127.0.0.1:%d marked down" % dead),
          "the dead hop was not marked down: %s" % hs.stderr_tail(5))

    reload_and_wait(hs, 2)
    check(log_lines(hs, "reload: 1 upstream hop still marked down"),
          "no 'still marked down' line at the reload: %s" % hs.stderr_tail(5))
    expect_rep(hs, echo.addr, 0x01, "after the reload")
    check(wait_until(lambda: log_lines(hs, "strict chain st has a hop marked down")),
          "the request after the reload was not refused for the hop marked down: %s"
          % hs.stderr_tail(5))
    check_eq(len(connects(a)), 1, "CONNECTs at A (the chain must not have been tried)")

    dead2 = closed_port()
    with open(hs.conf_path) as f:
        text = f.read()
    with open(hs.conf_path, "w") as f:
        f.write(text.replace("127.0.0.1:%d\n" % dead, "127.0.0.1:%d\n" % dead2))
    reload_and_wait(hs, 3)
    expect_rep(hs, echo.addr, 0x05, "a new URL is a new hop: tried")
    eventually_eq(lambda: len(connects(a)), 2, "CONNECTs at A once the hop's URL changed")


@suite.test("40 concurrent connections through 3 hops (hopsocks socks5 -> tinyproxy -> "
            "hopsocks socks4a), 256 KiB echoed each (sha256)")
def t_concurrent(ctx):
    echo = ctx.own(EchoServer())
    a, b = hop_hopsocks(ctx), hop_hopsocks(ctx)
    t = tinyproxy(ctx)
    hs = front(ctx, [hop_url("socks5", a.addr), hop_url("http", t.addr),
                     hop_url("socks4a", b.addr)])
    errors = []

    def one(i):
        try:
            through(hs, echo.addr, 256 * 1024, what="connection %d" % i)
        except Exception as e:  # reported below
            errors.append("connection %d: %s" % (i, e))
    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(40)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(BOUND)
    check_eq(errors, [], "failed connections")
    check(wait_until(lambda: len(connects(hs, result="ok")) == 40), "want 40 result=ok lines")


@suite.test("clients that leave (FIN or RST) while a tunnel is being built -- dialing a black "
            "hole, waiting on a silent SOCKS5/SOCKS4/HTTP hop, resolving a slow hop name -- "
            "leave no descriptor behind (timeout connect 1s); SIGTERM with tunnels pending "
            "exits 0")
def t_leave_mid_chain(ctx):
    quiet = ctx.own(ScriptedSocks5(silent=True))
    hole = ctx.own(Blackhole())
    dns = ctx.own(DnsServer({"slow.test": ["127.0.0.1"]}, delays={"slow.test": 2}))
    a = hop_hopsocks(ctx)
    cases = [[hop_url("socks5", quiet.addr)], [hop_url("http", quiet.addr)],
             [hop_url("socks4", quiet.addr)], ["socks5://slow.test:%d" % a.port],
             [hop_url("socks4", a.addr), hop_url("socks5", quiet.addr)]]
    if hole.works:
        cases.append([hop_url("socks5", hole.addr)])
    fronts = []
    for n, hops in enumerate(cases):  # all at once: each waits out its timeouts
        hs = front(ctx, hops, name="c%d" % n,
                   config=["resolver " + dns.resolver, "timeout connect 1s"])
        fronts.append((hops, hs, hs.stable_fd_count(), []))
    for hops, hs, base, socks_ in fronts:
        for i in range(12):
            sock = connect(hs.addr)
            if i % 2:
                sock.sendall(b"\x05\x01\x00" + socks5_request("127.0.0.1", 4242))
            else:
                sock.sendall(b"CONNECT 127.0.0.1:4242 HTTP/1.1\r\n\r\n")
            socks_.append(sock)
    time.sleep(0.2)
    for hops, hs, base, socks_ in fronts:
        for i, sock in enumerate(socks_):
            if i % 3 == 0:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
    for hops, hs, base, socks_ in fronts:
        # Sessions whose client sent a FIN end with their connect timeout;
        # c-ares keeps its socket until the slow name's answer (2 s).
        # (A generous bound: under load six seconds was once not enough.)
        wait_until(lambda: hs.fd_count() == base, timeout=BOUND)
        check_eq(hs.stable_fd_count(), base, "descriptors of the front for chain %s" % hops)
    hs = front(ctx, [hop_url("socks5", quiet.addr)], config=["timeout connect 5s"])
    socks_ = [connect(hs.addr) for _ in range(8)]
    for sock in socks_:
        sock.sendall(b"\x05\x01\x00" + socks5_request("127.0.0.1", 4242))
    wait_until(lambda: len(quiet.peers) >= 8, timeout=BOUND)
    hs.stop_expect_zero()
    for sock in socks_:
        sock.close()


# ------------------------------------------------------- OpenSSH's ssh -D

def ssh_dynamic(ctx):
    """A private sshd and `ssh -D` logged in to it: (sshd, ssh)."""
    need(Sshd)
    need(SshDynamic)
    if os.getuid() != 0:
        raise Skip("a private sshd needs root here (its privilege separation directory)")
    sshd = ctx.own(Sshd(ctx).start())
    return sshd, ctx.own(SshDynamic(ctx, sshd).start())


def http_status(hs, target):
    """The status line an HTTP CONNECT to target through hs gets."""
    with connect(hs.addr) as sock:
        sock.sendall(b"CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n"
                     % (target.encode(), target.encode()))
        head = b""
        while b"\r\n" not in head:
            chunk = sock.recv(4096)
            if not chunk:
                break
            head += chunk
    return head.split(b"\r\n", 1)[0].decode(errors="replace")


@suite.test("ssh -D as the strict chain's hop (a private sshd the test starts): a destination "
            "that refuses makes ssh close without a reply -- the client gets 05 04 (SOCKS4 5B, "
            "HTTP 502) and UDP ASSOCIATE 05 07, logged as the destination's failure, and the "
            "hop is not marked down: the next CONNECT works.  Once ssh is gone the hop is "
            "marked down, and the refusal names it and when it is tried again")
def t_ssh_dynamic(ctx):
    echo = ctx.own(EchoServer())
    _, ssh = ssh_dynamic(ctx)
    hop = hop_url("socks5h", ssh.addr)
    hs = front(ctx, [hop], "strict", name="cli")
    through(hs, echo.addr, 256 * 1024, what="before any failure")
    closed = ("127.0.0.1", closed_port())
    target = fmt_addr(*closed)
    for i in range(2):
        expect_rep(hs, closed, 0x04, "closed port through ssh -D, try %d" % (i + 1))
    check_eq(socks4_cd(hs, closed), 0x5B, "SOCKS4 CD for the closed port")
    check(http_status(hs, target).startswith("HTTP/1.1 502 "), "HTTP status for the closed port")
    with connect(hs.addr) as sock:
        sock.sendall(b"\x05\x01\x00" + socks5_request("0.0.0.0", 0, cmd=3))
        check_eq(recv_exact(sock, 2, "method"), b"\x05\x00", "method selection")
        check_eq(read_socks5_reply(sock)[0], 0x07, "REP of UDP ASSOCIATE through ssh -D")
        expect_closed(sock, "UDP ASSOCIATE after 05 07")
    through(hs, echo.addr, 256 * 1024, what="after the failures (hop still up)")
    check_eq(log_lines(hs, "marked down"), [], "'marked down' lines while ssh -D works")
    check(log_lines(hs, "chain cli to %s failed: last hop %s: closed the connection on the "
                    "CONNECT request, without a reply" % (target, hop)),
          "no line blaming the destination through the last hop")
    eventually_eq(lambda: sorted(r.get("result") for r in hs.access()
                                 if r.get("target") == target),
                  ["unreachable"] * 4, "results of the four requests for the closed port")
    udp = hs.wait_access(lambda r: r.get("cmd") == "udp", what="udp access line")
    check_eq(udp.get("result"), "unsupported", "result of the UDP ASSOCIATE")
    # A hop that cannot be reached is the hop's fault.
    ssh.stop()
    expect_rep(hs, echo.addr, 0x05, "ssh -D gone (connection refused)")
    check(wait_until(lambda: log_lines(hs, "chain cli: hop %s marked down for 30000 ms: "
                                           % hop)), "no 'marked down' line once ssh is gone")
    expect_rep(hs, echo.addr, 0x01, "the strict chain's hop is down")
    line = log_lines(hs, "strict chain cli has a hop marked down: %s, tried again in " % hop)
    check(line and re.search(r"tried again in \d+ ms", line[-1]),
          "the refusal does not name the hop and when it is tried again: %s"
          % log_lines(hs, "strict chain cli"))


if __name__ == "__main__":
    suite.run()
