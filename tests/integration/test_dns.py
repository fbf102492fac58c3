#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors.
"""Names resolved by hopsocks through c-ares, always against a DNS server
this test runs on loopback (never the machine's resolver): SOCKS5 domain
and SOCKS4a requests, NXDOMAIN replies, IPv6-only names, trying each
address in turn, address-order, a slow answer that must not block other
sessions, the TTL cache, and a 253-byte name."""

import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (BOUND, Skip, Suite, check, check_eq, connect, echo_roundtrip,  # noqa: E402
                     expect_closed, port_accepts, read_socks4_reply, read_socks5_reply,
                     recv_exact, show, socks4_request, socks5_open, socks5_request,
                     wait_until)
from dnsserver import QTYPE_A, QTYPE_AAAA, DnsServer  # noqa: E402
from servers import Blackhole, EchoServer  # noqa: E402

suite = Suite()

LONG_NAME = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 61])  # 253 characters


def dns(ctx, records, **kw):
    return ctx.own(DnsServer(records, **kw))


def proxy(ctx, server, config=(), workers=2):
    """hopsocks resolving through server only."""
    return ctx.hopsocks(config=["resolver " + server.resolver] + list(config), workers=workers)


def v5_request(hs, host, port):
    """(sock, REP, bound host, bound port, raw) for CONNECT host:port."""
    sock = connect(hs.addr)
    sock.sendall(b"\x05\x01\x00")
    check_eq(recv_exact(sock, 2, "selection"), b"\x05\x00", "selection")
    sock.sendall(socks5_request(host, port))
    rep, bhost, bport, raw = read_socks5_reply(sock)
    return sock, rep, bhost, bport, raw


@suite.test("SOCKS5 domain name (A 127.0.0.1): 05 00 00 01 127.0.0.1 <peer port>, echo, asked our DNS")
def t_domain_v4(ctx):
    echo = ctx.own(EchoServer())
    d = dns(ctx, {"target.test": ["127.0.0.1"]})
    hs = proxy(ctx, d)
    sock, rep, _, _, raw = v5_request(hs, "target.test", echo.port)
    client = "127.0.0.1:%d" % sock.getsockname()[1]
    with sock:
        peer = echo.wait_peers(1)[0]
        check_eq(raw, b"\x05\x00\x00\x01\x7f\x00\x00\x01" + struct.pack(">H", peer[1]), "reply")
        echo_roundtrip(sock, b"by name", "echo")
    check(d.count("target.test") >= 1, "our DNS server was not asked for target.test")
    rec = hs.wait_access(lambda r: r.get("client") == client)
    check_eq((rec.get("target"), rec.get("addr"), rec.get("result")),
             ("target.test:%d" % echo.port, "127.0.0.1:%d" % echo.port, "ok"),
             "access target/addr/result of %r" % rec["_line"])


@suite.test("SOCKS5 domain name with only AAAA ::1: reply ATYP 04 ::1 <peer port>, echo")
def t_domain_v6(ctx):
    echo = ctx.own(EchoServer("::1"))
    d = dns(ctx, {"six.test": ["::1"]})
    hs = proxy(ctx, d)
    sock, rep, bhost, bport, raw = v5_request(hs, "six.test", echo.port)
    with sock:
        peer = echo.wait_peers(1)[0]
        check_eq(raw, b"\x05\x00\x00\x04" + socket.inet_pton(socket.AF_INET6, "::1")
                 + struct.pack(">H", peer[1]), "reply")
        echo_roundtrip(sock, b"by name over v6", "echo")


@suite.test("NXDOMAIN: SOCKS5 05 04 and close, access result=not-found; SOCKS4a 00 5B")
def t_nxdomain(ctx):
    d = dns(ctx, {"target.test": ["127.0.0.1"]})
    hs = proxy(ctx, d)
    sock, rep, _, _, raw = v5_request(hs, "missing.test", 80)
    client = "127.0.0.1:%d" % sock.getsockname()[1]
    with sock:
        check(rep == 4, "reply %s, want REP 04 (host unreachable)" % show(raw))
        expect_closed(sock, "after 05 04")
    rec = hs.wait_access(lambda r: r.get("client") == client)
    check_eq(rec.get("result"), "not-found", "access result of %r" % rec["_line"])
    with connect(hs.addr) as sock:
        sock.sendall(socks4_request("0.0.0.1", 80, b"u", hostname="missing.test"))
        cd, _, _, raw = read_socks4_reply(sock)
        check(cd == 0x5B, "SOCKS4a reply %s, want 00 5B" % show(raw))
    check(d.count("missing.test") >= 1, "our DNS server was not asked for missing.test")


@suite.test("SOCKS4a (DSTIP 0.0.0.1 + name): 00 5A, echo, access proto=socks4a")
def t_socks4a(ctx):
    echo = ctx.own(EchoServer())
    d = dns(ctx, {"four-a.test": ["127.0.0.1"]})
    hs = proxy(ctx, d)
    sock = connect(hs.addr)
    client = "127.0.0.1:%d" % sock.getsockname()[1]
    with sock:
        sock.sendall(socks4_request("0.0.0.1", echo.port, b"someone", hostname="four-a.test"))
        cd, _, _, raw = read_socks4_reply(sock)
        check(cd == 0x5A, "reply %s, want 00 5A" % show(raw))
        echo_roundtrip(sock, b"socks4a payload", "echo")
    rec = hs.wait_access(lambda r: r.get("client") == client)
    check_eq((rec.get("proto"), rec.get("target"), rec.get("result")),
             ("socks4a", "four-a.test:%d" % echo.port, "ok"), "access of %r" % rec["_line"])


def closed_on_v6(port):
    """True if [::1]:port refuses connections (so a fallback is needed)."""
    return not port_accepts("::1", port)


@suite.test("each address in turn: ::1 refused first (ipv6-first), then 127.0.0.1 succeeds")
def t_fallback(ctx):
    echo = ctx.own(EchoServer())
    if not closed_on_v6(echo.port):
        raise Skip("[::1]:%d is in use by something else" % echo.port)
    d = dns(ctx, {"both.test": ["127.0.0.1", "::1"]})
    hs = proxy(ctx, d, config=["address-order ipv6-first"])
    sock, rep, bhost, _, raw = v5_request(hs, "both.test", echo.port)
    client = "127.0.0.1:%d" % sock.getsockname()[1]
    with sock:
        check(rep == 0, "reply %s, want success via 127.0.0.1" % show(raw))
        check_eq(bhost, "127.0.0.1", "BND.ADDR")
        echo_roundtrip(sock, b"second address", "echo")
    rec = hs.wait_access(lambda r: r.get("client") == client)
    check_eq(rec.get("addr"), "127.0.0.1:%d" % echo.port, "access addr of %r" % rec["_line"])


@suite.test("address-order ipv4-only never tries ::1 (05 05); ipv6-only reaches the ::1 target")
def t_address_order_only(ctx):
    echo6 = ctx.own(EchoServer("::1"))
    if port_accepts("127.0.0.1", echo6.port):
        raise Skip("127.0.0.1:%d is in use by something else" % echo6.port)
    d = dns(ctx, {"both.test": ["127.0.0.1", "::1"]})
    hs4 = proxy(ctx, d, config=["address-order ipv4-only"])
    sock, rep, _, _, raw = v5_request(hs4, "both.test", echo6.port)
    with sock:
        check(rep == 5, "ipv4-only: reply %s, want 05 05 (127.0.0.1 refused, ::1 not tried)" % show(raw))
    check_eq(echo6.peers, [], "connections the ::1 target saw under ipv4-only")
    hs6 = proxy(ctx, d, config=["address-order ipv6-only"])
    sock, rep, bhost, _, raw = v5_request(hs6, "both.test", echo6.port)
    with sock:
        check(rep == 0, "ipv6-only: reply %s, want success" % show(raw))
        check_eq(bhost, "::1", "BND.ADDR under ipv6-only")
        echo_roundtrip(sock, b"v6 only", "echo")


def echo_pair(ctx):
    """Echo servers on ::1 and 127.0.0.1 with the same port: which one a
    connection to a name with both addresses reaches tells which address
    hopsocks tried first."""
    for _ in range(20):
        echo6 = ctx.own(EchoServer("::1"))
        try:
            return echo6, ctx.own(EchoServer("127.0.0.1", port=echo6.port))
        except OSError:
            continue
    raise Skip("no port free on both 127.0.0.1 and ::1")


@suite.test("address-order holds for cached answers: the second lookup of both.test (from the "
            "cache: no new query) connects to the same family first as the fresh one, under "
            "ipv4-first and ipv6-first")
def t_address_order_cached(ctx):
    # The cache holds an answer in the order it came, so whichever that
    # is, one of the two orders meets the other family first in it.
    for order, want in (("ipv4-first", "127.0.0.1"), ("ipv6-first", "::1")):
        echo6, echo4 = echo_pair(ctx)
        d = dns(ctx, {"both.test": ["127.0.0.1", "::1"]}, ttl=300)
        hs = proxy(ctx, d, config=["address-order " + order], workers=1)
        for round_ in (1, 2):
            sock, rep, bhost, _, raw = v5_request(hs, "both.test", echo6.port)
            with sock:
                check_eq((rep, bhost), (0, want),
                         "%s, lookup %d: reply %s, BND.ADDR" % (order, round_, show(raw)))
                echo_roundtrip(sock, b"%s %d" % (order.encode(), round_), "echo")
        reached = (len(echo4.peers), len(echo6.peers))
        check_eq(reached, (2, 0) if want == "127.0.0.1" else (0, 2),
                 "%s: connections (127.0.0.1, ::1) for two sessions" % order)
        check_eq((d.count("both.test", QTYPE_A), d.count("both.test", QTYPE_AAAA)), (1, 1),
                 "%s: A and AAAA queries after two sessions (the second from the cache)" % order)


@suite.test("no search list: with 'search corp.test' in resolv.conf, a request for 'intranet' asks "
            "for 'intranet' only (05 04), never 'intranet.corp.test'")
def t_no_search(ctx):
    echo = ctx.own(EchoServer())
    server, path = resolv_conf_dns(ctx, {"intranet.corp.test": ["127.0.0.1"]})
    with open(path, "a") as f:
        f.write("search corp.test\n")
    wrapper = own_resolv_conf(path)
    hs = ctx.hopsocks(wrapper=wrapper, workers=1)
    sock, rep, _, _, raw = v5_request(hs, "intranet", echo.port)
    with sock:
        check_eq(rep, 4, "reply %s for 'intranet'" % show(raw))
    check(server.count("intranet") >= 1, "the DNS server was never asked for 'intranet'")
    check_eq(server.count("intranet.corp.test"), 0, "questions for intranet.corp.test")
    check_eq(echo.peers, [], "connections the target saw")


@suite.test("a slow DNS answer (1.8 s) does not delay another session on the same worker")
def t_slow_dns_not_blocking(ctx):
    echo = ctx.own(EchoServer())
    d = dns(ctx, {"slow.test": ["127.0.0.1"]}, delays={"slow.test": 1.8})
    hs = proxy(ctx, d, workers=1)
    slow_result = {}

    def slow():
        started = time.monotonic()
        try:
            sock, _, _ = socks5_open(hs.addr, "slow.test", echo.port)
            with sock:
                echo_roundtrip(sock, b"slow", "slow echo")
            slow_result["ok"] = time.monotonic() - started
        except Exception as e:
            slow_result["error"] = e

    t = threading.Thread(target=slow, daemon=True)
    t.start()
    if not _wait(lambda: d.count("slow.test") >= 1):
        check(False, "hopsocks never asked for slow.test")
    started = time.monotonic()
    sock, _, _ = socks5_open(hs.addr, "127.0.0.1", echo.port)
    with sock:
        echo_roundtrip(sock, b"fast", "fast echo")
    fast = time.monotonic() - started
    t.join(BOUND)
    check(fast < 1.2, "an IP-literal session took %.2fs while a name was being resolved" % fast)
    check("ok" in slow_result, "the slow-name session failed: %r" % slow_result)
    check(slow_result["ok"] >= 1.5, "slow.test resolved in %.2fs, before the DNS server answered"
          % slow_result["ok"])


@suite.test("clients that leave while their name is resolving or connecting: no crash, no leak, SIGTERM exits 0")
def t_abandoned(ctx):
    echo = ctx.own(EchoServer())
    hole = ctx.own(Blackhole())
    d = dns(ctx, {"slow.test": ["127.0.0.1"]}, delays={"slow.test": 1.0})
    hs = proxy(ctx, d, workers=1)
    sock, _, _ = socks5_open(hs.addr, "127.0.0.1", echo.port)
    sock.close()
    baseline = hs.stable_fd_count()
    for i in range(10):
        s = connect(hs.addr)
        s.sendall(b"\x05\x01\x00" + socks5_request("slow.test", echo.port))
        s.close()
    if hole.works:
        for i in range(5):
            s = connect(hs.addr)
            s.sendall(b"\x05\x01\x00" + socks5_request("127.0.0.1", hole.port))
            time.sleep(0.05)
            s.close()
    check(_wait(lambda: d.count("slow.test") >= 1), "hopsocks never asked for slow.test")
    time.sleep(1.5)  # let the delayed answers arrive for sessions that are gone
    check(wait_until(lambda: hs.fd_count() == baseline, BOUND),
          "descriptors: %d, baseline %d" % (hs.fd_count(), baseline))
    sock, _, _ = socks5_open(hs.addr, "slow.test", echo.port)
    with sock:
        echo_roundtrip(sock, b"after abandoned sessions", "echo")
    d.delays.update({"pending-%d.test" % i: 5.0 for i in range(3)})
    pending = []
    for i in range(3):  # and leave some resolving at shutdown
        s = connect(hs.addr)
        s.sendall(b"\x05\x01\x00" + socks5_request("pending-%d.test" % i, 80))
        pending.append(s)
    check(_wait(lambda: d.count("pending-2.test") >= 1), "hopsocks never asked for pending-2.test")
    hs.stop_expect_zero()
    for s in pending:
        s.close()


def _wait(pred):
    return wait_until(pred, BOUND)


@suite.test("the TTL cache: a second session to the same name sends no second A query (1 worker)")
def t_cache(ctx):
    echo = ctx.own(EchoServer())
    d = dns(ctx, {"cached.test": ["127.0.0.1"]}, ttl=300)
    hs = proxy(ctx, d, workers=1)
    for i in range(3):
        sock, _, _ = socks5_open(hs.addr, "cached.test", echo.port)
        with sock:
            echo_roundtrip(sock, b"round %d" % i, "echo")
    check_eq(d.count("cached.test", QTYPE_A), 1, "A queries for cached.test after 3 sessions")


def resolv_conf_dns(ctx, records):
    """A DnsServer on port 53 of a loopback address of its own (resolv.conf
    names no port), and a resolv.conf naming it."""
    for _ in range(20):
        host = "127.%d.%d.%d" % (random.randint(1, 254), random.randint(1, 254),
                                 random.randint(2, 254))
        try:
            server = dns(ctx, records, host=host, port=53)
        except OSError:
            continue
        path = os.path.join(ctx.tmpdir, "resolv.conf")
        with open(path, "w") as f:
            f.write("nameserver %s\n" % host)
        return server, path
    raise Skip("no free loopback address with port 53")


def own_resolv_conf(path):
    """A wrapper that runs hopsocks in a mount namespace of its own, where
    /etc/resolv.conf is the file at path: the machine's resolver is never
    asked."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        raise Skip("needs root and unshare(1) for a private /etc/resolv.conf")
    wrapper = ["unshare", "-m", "--", "sh", "-c",
               'mount --bind "$0" /etc/resolv.conf && exec "$@"', path]
    probe = subprocess.run(wrapper + ["cat", "/etc/resolv.conf"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=BOUND)
    with open(path, "rb") as f:
        if probe.returncode != 0 or probe.stdout != f.read():
            raise Skip("cannot bind-mount a private /etc/resolv.conf here: %s"
                       % probe.stderr.decode(errors="replace").strip())
    return wrapper


def drop_resolver_lines(hs):
    """Take the `resolver` lines out of hs's config file."""
    with open(hs.conf_path) as f:
        lines = f.read().splitlines()
    with open(hs.conf_path, "w") as f:
        f.write("\n".join(line for line in lines if not line.startswith("resolver ")) + "\n")


def reload_and_wait(hs, generation):
    os.kill(hs.pid, signal.SIGHUP)
    want = "configuration reloaded (generation %d)" % generation
    check(_wait(lambda: want in hs.stderr_text()),
          "no '%s' after SIGHUP: %s" % (want, hs.stderr_tail(5)))


@suite.test("reload: removing `resolver` goes back to /etc/resolv.conf's server (a private "
            "resolv.conf in a mount namespace), and adding it back goes to that server again")
def t_reload_resolver(ctx):
    echo = ctx.own(EchoServer())
    configured = dns(ctx, {"one.test": ["127.0.0.1"], "three.test": ["127.0.0.1"]})
    system, path = resolv_conf_dns(ctx, {"two.test": ["127.0.0.1"]})
    hs = ctx.hopsocks(config=["resolver " + configured.resolver], workers=1,
                      wrapper=own_resolv_conf(path))

    def through(name):
        sock, _, _ = socks5_open(hs.addr, name, echo.port)
        with sock:
            echo_roundtrip(sock, name.encode(), "echo via " + name)

    through("one.test")
    check_eq((configured.count("one.test", QTYPE_A), system.count("one.test", QTYPE_A)), (1, 0),
             "A questions for one.test at (resolver, resolv.conf)")
    drop_resolver_lines(hs)
    reload_and_wait(hs, 2)
    through("two.test")
    check_eq((configured.count("two.test", QTYPE_A), system.count("two.test", QTYPE_A)), (0, 1),
             "A questions for two.test at (resolver, resolv.conf) after removing `resolver`")
    with open(hs.conf_path, "a") as f:
        f.write("resolver %s\n" % configured.resolver)
    reload_and_wait(hs, 3)
    through("three.test")
    check_eq((configured.count("three.test", QTYPE_A), system.count("three.test", QTYPE_A)), (1, 0),
             "A questions for three.test after adding `resolver` back")


@suite.test("reload while a name is being resolved (the answer takes 1.5 s): c-ares cannot "
            "change servers with a query in flight, so the change waits for the answer; the "
            "slow session connects, the next name goes to resolv.conf's server")
def t_reload_resolver_in_flight(ctx):
    echo = ctx.own(EchoServer())
    configured = dns(ctx, {"slow.test": ["127.0.0.1"]}, delays={"slow.test": 1.5})
    system, path = resolv_conf_dns(ctx, {"two.test": ["127.0.0.1"]})
    hs = ctx.hopsocks(config=["resolver " + configured.resolver, "log debug"], workers=1,
                      wrapper=own_resolv_conf(path))
    slow = connect(hs.addr)
    with slow:
        slow.sendall(b"\x05\x01\x00")
        check_eq(recv_exact(slow, 2, "selection"), b"\x05\x00", "selection")
        slow.sendall(socks5_request("slow.test", echo.port))
        check(_wait(lambda: configured.count("slow.test", QTYPE_A) == 1),
              "the slow name was never asked")
        drop_resolver_lines(hs)
        reload_and_wait(hs, 2)
        check(_wait(lambda: "the DNS servers change once the lookups in flight (1) are "
                            "answered" in hs.stderr_text()),
              "the reload did not wait for the lookup in flight: %s" % hs.stderr_tail(5))
        rep, _, _, raw = read_socks5_reply(slow)
        check_eq(rep, 0, "REP of the CONNECT whose name was in flight at the reload")
        echo_roundtrip(slow, b"slow", "echo via slow.test")
    sock, _, _ = socks5_open(hs.addr, "two.test", echo.port)
    with sock:
        echo_roundtrip(sock, b"two", "echo via two.test")
    check_eq((configured.count("two.test", QTYPE_A), system.count("two.test", QTYPE_A)), (0, 1),
             "A questions for two.test at (resolver, resolv.conf)")


@suite.test("a 253-character name (4 long labels) is parsed, resolved and connected")
def t_long_name(ctx):
    echo = ctx.own(EchoServer())
    d = dns(ctx, {LONG_NAME: ["127.0.0.1"]})
    hs = proxy(ctx, d)
    sock, rep, _, _, raw = v5_request(hs, LONG_NAME, echo.port)
    with sock:
        check(rep == 0, "reply %s, want success" % show(raw))
        echo_roundtrip(sock, b"long name", "echo")


@suite.test("two resolvers: the first refuses (nothing on its port), the second answers")
def t_second_resolver(ctx):
    echo = ctx.own(EchoServer())
    d = dns(ctx, {"target.test": ["127.0.0.1"]})
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        dead = "127.0.0.1:%d" % s.getsockname()[1]
    hs = ctx.hopsocks(config=["resolver " + dead, "resolver " + d.resolver])
    sock, _, _ = socks5_open(hs.addr, "target.test", echo.port)
    with sock:
        echo_roundtrip(sock, b"via second resolver", "echo")


if __name__ == "__main__":
    suite.run()
