#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors.
"""Chains taken from proxychains-ng files (`chain NAME { proxychains FILE }`
and --chain-file FILE), compared with proxychains4 itself.

Each test writes one proxychains file naming hopsocks upstreams the test
starts (each writing its access log), then makes the same connections
twice: once from a Python client run under `proxychains4 -f FILE` (one
process, so proxychains' round-robin state carries from one connection to
the next), once through a hopsocks front whose chain comes from the same
FILE.  Every connection goes to a target of its own (an echo server), so
for each hop the list of targets it was asked for says which connection it
carried and in which place of the chain; both runs must give the same
lists.  Modes: strict over socks5/http/socks5-with-password hops, dynamic
with the first hop dead, round robin with chain_len 1 and 2; random (paths
differ by chance, so only their shape is compared).  The file's timeouts
bound a step.  proxy_dns: the
name reaches the last hop, whose resolver (a DNS server of the test on
loopback) answers it, and no other resolver sees a query; without
proxy_dns the front resolves it.  Also: --chain-file, an edited file
applied at SIGHUP, and a bad file refused by -t with its FILE:LINE.

Only loopback addresses; the files have no localnet line, so proxychains4
sends loopback connections through the chain too.
"""

import os
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (BOUND, HOPSOCKS_BIN, SLOW, Suite, check, check_eq,  # noqa: E402
                     client_env, closed_port, connects, eventually_eq, expect_closed, fmt_addr,
                     log_lines, missing, socks5_open, socks5_try, wait_until, write_users)
from dnsserver import DnsServer  # noqa: E402
from servers import EchoServer, ScriptedSocks5  # noqa: E402

suite = Suite()

PROXYCHAINS = "/usr/bin/proxychains4"

# The client both runs use: one connection per target in turn, each
# echoing a line that names it.  Under proxychains4 its connect() and
# getaddrinfo() are proxychains'.
CLIENT = r"""
import socket, sys
for i, arg in enumerate(sys.argv[2:]):
    host, port = arg.rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=float(sys.argv[1]))
    line = b"connection %d\n" % i
    s.sendall(line)
    got = b""
    while len(got) < len(line):
        chunk = s.recv(len(line) - len(got))
        if not chunk:
            break
        got += chunk
    s.close()
    print("ok" if got == line else "bad %r" % got, flush=True)
"""


def need_proxychains():
    if not os.access(PROXYCHAINS, os.X_OK):
        raise missing("proxychains4", "proxychains4")


def pc_file(ctx, options, proxies):
    """A proxychains file: options (lines), then [ProxyList] with proxies
    (lines "TYPE HOST PORT [USER PASS]").  proxychains4's own deadlines
    scale with HOPSOCKS_TEST_SLOW; quiet_mode keeps its chatter out."""
    path = os.path.join(ctx.tmpdir, "proxychains-%d.conf" % ctx.next_index())
    lines = ["# written by test_proxychains.py", "quiet_mode"] + list(options)
    lines += ["tcp_read_time_out %d" % (15000 * SLOW),
              "tcp_connect_time_out %d" % (8000 * SLOW), "", "[ProxyList]"] + list(proxies)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def run_proxychains(ctx, path, targets):
    """CLIENT under proxychains4 -f path, one connection per target
    ("host:port"); every one must echo."""
    need_proxychains()
    script = os.path.join(ctx.tmpdir, "client.py")
    with open(script, "w") as f:
        f.write(CLIENT)
    cmd = [PROXYCHAINS, "-q", "-f", path, sys.executable, script, str(BOUND)] + targets
    try:
        run = subprocess.run(cmd, capture_output=True, timeout=BOUND * 2, env=client_env(),
                             stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise AssertionError("proxychains4 did not finish: %s" % " ".join(cmd))
    check_eq((run.returncode, run.stdout.decode(errors="replace").split()),
             (0, ["ok"] * len(targets)),
             "proxychains4 client (stderr: %s)" % run.stderr.decode(errors="replace")[-600:])


def run_front(front, targets):
    """The same connections as SOCKS5 CONNECTs through the hopsocks front."""
    for i, target in enumerate(targets):
        host, port = target.rsplit(":", 1)
        sock, _, _ = socks5_open(front.addr, host, int(port))
        line = b"connection %d\n" % i
        sock.sendall(line)
        got = b""
        while len(got) < len(line):
            chunk = sock.recv(len(line) - len(got))
            if not chunk:
                break
            got += chunk
        sock.close()
        check_eq(got, line, "echo of connection %d through the front" % i)


def seen(hops, before, total):
    """For each hop, the targets of its CONNECTs after before[i], once the
    hops have logged total of them, sorted: a hop logs a session when it
    ends, and one relayed on through another hop can end after the next
    connection's, so the order of the lines is not that of the connections
    (an ASan run in fresh-ci saw it). The targets are all different, so
    which hop carried which connection is still exact."""
    check(wait_until(lambda: sum(len(connects(h)) for h in hops) - sum(before) >= total),
          "the hops logged %d CONNECTs, want %d"
          % (sum(len(connects(h)) for h in hops) - sum(before), total))
    return [sorted(r["target"] for r in connects(h)[b:]) for h, b in zip(hops, before)]


def per_hop(*lists):
    """Expected targets per hop, in seen()'s order."""
    return [sorted(one) for one in lists]


def compare(ctx, hops, path, targets, front, per_connection):
    """Run targets under proxychains4, then through front; each hop must
    have been asked for the same targets, in the same order, both times.
    per_connection: the hops a connection passes."""
    total = per_connection * len(targets)
    before = [len(connects(h)) for h in hops]
    run_proxychains(ctx, path, targets)
    by_proxychains = seen(hops, before, total)
    before = [len(connects(h)) for h in hops]
    run_front(front, targets)
    by_hopsocks = seen(hops, before, total)
    check_eq(by_hopsocks, by_proxychains, "targets each hop was asked for (hopsocks, then "
             "what proxychains4 did)")
    return by_hopsocks


def echoes(ctx, n):
    servers = [ctx.own(EchoServer()) for _ in range(n)]
    return servers, [fmt_addr(*s.addr) for s in servers]


def front_of(ctx, path, config=(), name="pc"):
    return ctx.hopsocks(config=["chain %s {" % name, "    proxychains " + path, "}",
                                "route * via %s" % name] + list(config))


# ------------------------------------------------------------------ modes

@suite.test("strict_chain [socks5 A, http B, socks5 C with user/password]: 3 connections; "
            "A, B and C are asked for the same targets as under proxychains4 (A: B, B: C, "
            "C: the three echo servers), C logs user=alice")
def t_strict(ctx):
    hops = [ctx.hopsocks(), ctx.hopsocks(),
            ctx.hopsocks(config=["users " + write_users(ctx, {"alice": "pw1"})])]
    path = pc_file(ctx, ["strict_chain"],
                   ["socks5 127.0.0.1 %d" % hops[0].port, "http  127.0.0.1 %d" % hops[1].port,
                    "socks5\t127.0.0.1\t%d alice pw1" % hops[2].port])
    _, targets = echoes(ctx, 3)
    got = compare(ctx, hops, path, targets, front_of(ctx, path), 3)
    check_eq(got, per_hop([fmt_addr(*hops[1].addr)] * 3, [fmt_addr(*hops[2].addr)] * 3, targets),
             "targets per hop")
    check_eq({r.get("user") for r in connects(hops[2])}, {"alice"}, "user= of C's lines")


@suite.test("dynamic_chain [closed port, socks4 A, socks5 B]: both skip the dead hop; A and "
            "B are asked for the same targets as under proxychains4")
def t_dynamic_dead_first(ctx):
    hops = [ctx.hopsocks(), ctx.hopsocks()]
    dead = closed_port()
    path = pc_file(ctx, ["dynamic_chain"],
                   ["socks5 127.0.0.1 %d" % dead, "socks4 127.0.0.1 %d" % hops[0].port,
                    "socks5 127.0.0.1 %d" % hops[1].port])
    _, targets = echoes(ctx, 3)
    front = front_of(ctx, path)
    got = compare(ctx, hops, path, targets, front, 2)
    check_eq(got, per_hop([fmt_addr(*hops[1].addr)] * 3, targets), "targets per hop")
    check(log_lines(front, "chain pc: hop socks4://127.0.0.1:%d" % hops[0].port) == [],
          "hop A was marked down")
    check(log_lines(front, "hop socks5://127.0.0.1:%d marked down" % dead),
          "the dead hop was not marked down")


@suite.test("round_robin_chain over 3 socks5 hops: chain_len 1, 6 connections (each hop "
            "carries 2, in turn); chain_len = 2, 4 connections ([A,B], [C,A], [A,B], [C,A]: "
            "proxychains-ng's wrap-around): the same as proxychains4 in one process")
def t_round_robin(ctx):
    hops = [ctx.hopsocks() for _ in range(3)]
    proxies = ["socks5 127.0.0.1 %d" % h.port for h in hops]
    addr = [fmt_addr(*h.addr) for h in hops]

    path = pc_file(ctx, ["round_robin_chain", "chain_len = 1"], proxies)
    _, targets = echoes(ctx, 6)
    got = compare(ctx, hops, path, targets, front_of(ctx, path), 1)
    check_eq(got, per_hop([targets[0], targets[3]], [targets[1], targets[4]],
                          [targets[2], targets[5]]), "targets per hop, chain_len 1")

    path = pc_file(ctx, ["round_robin_chain", "chain_len = 2"], proxies)
    _, targets = echoes(ctx, 4)
    got = compare(ctx, hops, path, targets, front_of(ctx, path, name="pc2"), 2)
    check_eq(got, per_hop([addr[1], targets[1], addr[1], targets[3]], [targets[0], targets[2]],
                          [addr[0], addr[0]]), "targets per hop, chain_len 2")


@suite.test("random_chain, chain_len = 2 over 3 socks5 hops: 6 connections under "
            "proxychains4 and through the front; in both, each connection passes exactly 2 "
            "different hops (the first asks the second, the second the target)")
def t_random(ctx):
    hops = [ctx.hopsocks() for _ in range(3)]
    addrs = [fmt_addr(*h.addr) for h in hops]
    path = pc_file(ctx, ["random_chain", "chain_len = 2"],
                   ["socks5 127.0.0.1 %d" % h.port for h in hops])
    _, targets = echoes(ctx, 6)
    front = front_of(ctx, path)
    for who, run in (("proxychains4", lambda: run_proxychains(ctx, path, targets)),
                     ("hopsocks", lambda: run_front(front, targets))):
        before = [len(connects(h)) for h in hops]
        run()
        got = seen(hops, before, 12)
        # Each target was asked for once, by one hop, and that hop was
        # asked for once for each target it carried, by another hop.
        last = {t: i for i, ts in enumerate(got) for t in ts if t in targets}
        check_eq(sorted(last), sorted(targets), "%s: targets reached" % who)
        asked = sorted(a for ts in got for a in ts if a in addrs)
        check_eq(asked, sorted(addrs[last[t]] for t in targets),
                 "%s: hops asked for (one per connection: its last hop)" % who)
        for i, ts in enumerate(got):
            check(addrs[i] not in ts, "%s: hop %d was asked for itself" % (who, i))


# -------------------------------------------------------------- timeouts

@suite.test("tcp_connect_time_out 500 and tcp_read_time_out 1000 with timeout connect 60s: a "
            "silent hop fails after about 1 s with 05 06 and 'no answer in time'")
def t_step_timeout(ctx):
    echo = ctx.own(EchoServer())
    quiet = ctx.own(ScriptedSocks5(silent=True))
    path = os.path.join(ctx.tmpdir, "pc-timeout.conf")
    with open(path, "w") as f:
        f.write("strict_chain\ntcp_connect_time_out %d\ntcp_read_time_out %d\n"
                "[ProxyList]\nsocks5 127.0.0.1 %d\n" % (500 * SLOW, 1000 * SLOW, quiet.port))
    front = front_of(ctx, path, config=["timeout connect 60s"])
    started = time.monotonic()
    sock, rep, raw = socks5_try(front.addr, *echo.addr)
    elapsed = time.monotonic() - started
    check_eq(raw[:2], b"\x05\x06", "VER REP of the reply")
    expect_closed(sock, "connection after the failure reply")
    sock.close()
    check(0.8 * SLOW <= elapsed < BOUND, "the silent hop's failure took %.2fs, want about "
          "%.0f s (not timeout connect's 60 s)" % (elapsed, SLOW))
    check(log_lines(front, "chain pc: hop socks5://127.0.0.1:%d marked down for 30000 ms: no "
                    "answer in time" % quiet.port), "no 'no answer in time' line")


# -------------------------------------------------------------- proxy_dns

@suite.test("proxy_dns over [socks5 A, socks4 B, socks5 C]: web.test reaches C as a name "
            "(C's DNS answers it), A and B see addresses, and neither the front's DNS nor "
            "A's or B's gets a query -- as under proxychains4")
def t_proxy_dns(ctx):
    echo = ctx.own(EchoServer())
    last_dns = ctx.own(DnsServer({"web.test": ["127.0.0.1"]}))
    other_dns = ctx.own(DnsServer({}))
    hops = [ctx.hopsocks(config=["resolver " + other_dns.resolver]),
            ctx.hopsocks(config=["resolver " + other_dns.resolver]),
            ctx.hopsocks(config=["resolver " + last_dns.resolver])]
    path = pc_file(ctx, ["strict_chain", "proxy_dns", "remote_dns_subnet 224"],
                   ["socks5 127.0.0.1 %d" % hops[0].port, "socks4 127.0.0.1 %d" % hops[1].port,
                    "socks5 127.0.0.1 %d" % hops[2].port])
    front_dns = ctx.own(DnsServer({}))
    front = front_of(ctx, path, config=["resolver " + front_dns.resolver])
    target = "web.test:%d" % echo.port
    got = compare(ctx, hops, path, [target], front, 3)
    check_eq(got, [[fmt_addr(*hops[1].addr)], [fmt_addr(*hops[2].addr)], [target]],
             "targets per hop")
    check(last_dns.count("web.test") >= 2, "the last hop's DNS was not asked for web.test "
          "by both runs")
    check_eq((front_dns.queries, other_dns.queries), ([], []),
             "queries the front's and the other hops' DNS servers got")


@suite.test("no proxy_dns: the front resolves web.test with its own DNS and the last hop is "
            "asked for 127.0.0.1:PORT")
def t_no_proxy_dns(ctx):
    echo = ctx.own(EchoServer())
    front_dns = ctx.own(DnsServer({"web.test": ["127.0.0.1"]}))
    hop_dns = ctx.own(DnsServer({}))
    hops = [ctx.hopsocks(config=["resolver " + hop_dns.resolver]) for _ in range(2)]
    path = pc_file(ctx, ["strict_chain"], ["socks5 127.0.0.1 %d" % h.port for h in hops])
    front = front_of(ctx, path, config=["resolver " + front_dns.resolver])
    run_front(front, ["web.test:%d" % echo.port])
    got = seen(hops, [0, 0], 2)
    check_eq(got, [[fmt_addr(*hops[1].addr)], [fmt_addr(*echo.addr)]], "targets per hop")
    check(front_dns.count("web.test") >= 1, "the front did not resolve web.test")
    check_eq(hop_dns.queries, [], "queries the hops' DNS server got")


# ----------------------------------------------------- the command line, reload

@suite.test("--chain-file FILE: every connection goes through the file's chain 'cli' "
            "(access route=cli); --chain with --chain-file is refused (exit 2)")
def t_chain_file(ctx):
    hop = ctx.hopsocks()
    echo = ctx.own(EchoServer())
    path = pc_file(ctx, ["strict_chain"], ["socks5 127.0.0.1 %d" % hop.port])
    front = ctx.hopsocks(args=["--chain-file", path])
    run_front(front, [fmt_addr(*echo.addr)])
    eventually_eq(lambda: [(r["route"], r["addr"]) for r in connects(front)],
                  [("cli", fmt_addr(*hop.addr))], "route= and addr= of the front's line")
    eventually_eq(lambda: [r["target"] for r in connects(hop)], [fmt_addr(*echo.addr)],
                  "the hop's targets")
    run = subprocess.run([HOPSOCKS_BIN, "-t", "--chain", "socks5://127.0.0.1:1",
                          "--chain-file", path], capture_output=True, timeout=BOUND)
    check_eq((run.returncode, run.stderr.decode().splitlines()[0]),
             (2, "hopsocks: --chain and --chain-file cannot be combined; give one of them"),
             "exit status and message")


@suite.test("an edited proxychains file applies at SIGHUP: hop A, then hop B; a broken edit "
            "keeps B and logs FILE:LINE")
def t_reload(ctx):
    a, b = ctx.hopsocks(), ctx.hopsocks()
    echo = ctx.own(EchoServer())
    path = pc_file(ctx, ["strict_chain"], ["socks5 127.0.0.1 %d" % a.port])
    front = front_of(ctx, path)
    run_front(front, [fmt_addr(*echo.addr)])
    eventually_eq(lambda: len(connects(a)), 1, "CONNECTs hop A got")
    with open(path, "w") as f:
        f.write("strict_chain\n[ProxyList]\nsocks5 127.0.0.1 %d\n" % b.port)
    os.kill(front.pid, signal.SIGHUP)
    check(wait_until(lambda: log_lines(front, "configuration reloaded (generation 2)")),
          "no reload line: %s" % front.stderr_tail())
    run_front(front, [fmt_addr(*echo.addr)])
    eventually_eq(lambda: (len(connects(a)), len(connects(b))), (1, 1),
                  "CONNECTs hops A and B got")
    with open(path, "w") as f:
        f.write("strict_chain\n[ProxyList]\nraw 127.0.0.1 %d\n" % a.port)
    os.kill(front.pid, signal.SIGHUP)
    want = ("reload failed, keeping the running configuration: %s:3: raw proxies are not "
            "supported: hopsocks has no hop that relays without a protocol (use socks4, "
            "socks5 or http)" % path)
    check(wait_until(lambda: log_lines(front, want)), "no line %r: %s"
          % (want, front.stderr_tail()))
    run_front(front, [fmt_addr(*echo.addr)])
    eventually_eq(lambda: (len(connects(a)), len(connects(b))), (1, 2),
                  "CONNECTs hops A and B got after the broken edit")


@suite.test("hopsocks -t with a chain whose file has localnet: exit 1, "
            "'FILE:LINE: localnet is not supported: ... route rules ...'")
def t_check_error(ctx):
    path = pc_file(ctx, ["strict_chain", "localnet 127.0.0.0/255.0.0.0"],
                   ["socks5 127.0.0.1 1080"])
    conf = os.path.join(ctx.tmpdir, "h.conf")
    with open(conf, "w") as f:
        f.write("chain pc {\n    proxychains %s\n}\n" % path)
    run = subprocess.run([HOPSOCKS_BIN, "-t", "-c", conf], capture_output=True, timeout=BOUND)
    check_eq((run.returncode, run.stderr.decode().strip()),
             (1, "hopsocks: %s:4: localnet is not supported: in hopsocks, route rules decide "
              "what bypasses a chain (e.g. 'route 192.168.0.0/16 direct')" % path),
             "exit status and message of -t")


if __name__ == "__main__":
    suite.run()
