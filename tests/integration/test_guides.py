#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors.
"""The recipes of doc/GUIDES.md: every configuration block in it passes
`hopsocks -t`, one block per recipe (so none can silently fall out), and
the recipes that can run on loopback run for real, from the text of the
guide itself:

- sharing an `ssh -D` tunnel: a private sshd and `ssh -N -D`, hopsocks
  with the recipe's config, a download through it checked by SHA-256;
- browsers: headless Chromium with the guide's PAC file and its
  --host-resolver-rules, through the recipe's hopsocks and on to a second
  hopsocks with a password (the "team" proxy), by a name only the proxy
  side can resolve;
- a Tor front, with microsocks standing in for Tor's SocksPort (a SOCKS5
  server without authentication): users get through, others do not;
- a company gateway: internal names go direct, other destinations
  through the two upstream HTTP proxies (tinyproxy), one each in turn.

Each adaptation (the LAN's addresses become loopback ones, example ports
become the test's, /etc/hopsocks/users a user file made with
hopsocks-passwd) is a literal replacement that must find its text, so a
guide edited out from under the test fails it instead of passing
unchecked.
"""

import base64
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (BOUND, HOPSOCKS_BIN, SRCDIR, Skip, Suite, TestFailure,  # noqa: E402
                     check, check_eq, connect, eventually_eq, missing, read_socks5_reply,
                     recv_exact, run_client, show, socks5_request, write_users)
from dnsserver import DnsServer  # noqa: E402
from servers import (HttpServer, Microsocks, SshDynamic, Sshd, TcpServer,  # noqa: E402
                     Tinyproxy, pattern, sha256)

suite = Suite()

GUIDES = os.path.join(SRCDIR, "doc", "GUIDES.md")
USERS_PATH = "/etc/hopsocks/users"
USER, PASSWORD = "alice", "guide-test-pw"
SIZE = 300 * 1000
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


# ---------------------------------------------------------- the guide's text

def guide():
    with open(GUIDES) as f:
        return f.read()


def recipes():
    """[(heading, section text)] for every '## N. ...' section."""
    parts = re.split(r"^(## \d+\. .*)$", guide(), flags=re.M)
    return [(parts[i], parts[i + 1]) for i in range(1, len(parts) - 1, 2)]


def blocks(text, lang):
    return re.findall(r"^```%s\n(.*?)^```$" % lang, text, flags=re.S | re.M)


def recipe_conf(number):
    """The conf block of recipe `number` (1-based)."""
    heading, text = recipes()[number - 1]
    found = blocks(text, "conf")
    check_eq(len(found), 1, "conf blocks under %r" % heading)
    return found[0]


def adapt(conf, replacements, drop_listen=True):
    """The block with each (old, new) replaced -- every old must be there
    -- and, by default, without its listen lines (the harness listens on
    loopback ports of its own)."""
    for old, new in replacements:
        check(old in conf, "the guide's block no longer holds %r:\n%s" % (old, conf))
        conf = conf.replace(old, new)
    lines = conf.splitlines()
    if drop_listen:
        lines = [line for line in lines if not line.startswith("listen ")]
    return lines


def curl_fetch(hs, url, userinfo=""):
    """(curl's exit status, body) of a GET through hs with socks5h."""
    run = run_client(["curl", "-sS", "--max-time", str(int(BOUND)), "-x",
                      hs.url("socks5h", userinfo), url])
    return run.returncode, run.stdout


def fetch_ok(hs, url, data, userinfo="", what="download"):
    rc, body = curl_fetch(hs, url, userinfo)
    check_eq(rc, 0, "%s: curl's exit status" % what)
    check_eq(sha256(body), sha256(data), "%s: SHA-256 of %d bytes" % (what, len(body)))


# ------------------------------------------------------------ every block

@suite.test("doc/GUIDES.md: one conf block per recipe (5), each passes 'hopsocks -t' with "
            "/etc/hopsocks/users made by hopsocks-passwd; one PAC block")
def t_blocks_valid(ctx):
    found = recipes()
    check_eq(len(found), 5, "recipes ('## N.' headings) in doc/GUIDES.md")
    check_eq(len(blocks(guide(), "conf")), len(found), "conf blocks in the whole guide")
    check_eq(len(blocks(guide(), "javascript")), 1, "PAC (javascript) blocks in the guide")
    users = write_users(ctx, {USER: PASSWORD})
    problems = []
    for number, (heading, _) in enumerate(found, 1):
        conf = recipe_conf(number)
        # The only file the recipes name: a user file the test makes.
        conf = conf.replace(USERS_PATH, users)
        path = os.path.join(ctx.tmpdir, "recipe-%d.conf" % number)
        with open(path, "w") as f:
            f.write(conf)
        run = subprocess.run([HOPSOCKS_BIN, "-t", "-c", path], capture_output=True,
                             timeout=BOUND)
        out = (run.stdout + run.stderr).decode(errors="replace")
        want = "hopsocks: configuration %s is valid" % path
        if run.returncode != 0 or want not in out:
            problems.append("%s: hopsocks -t exited %d, want 0 and %r:\n%s"
                            % (heading, run.returncode, want, out))
    check(not problems, "\n".join(problems))


# ------------------------------------------------------ recipe 1: ssh -D

def need(cls):
    if not cls.available():
        raise missing(cls.PROGRAM, cls.PACKAGE)


@suite.test("recipe 1 for real: sshd and 'ssh -N -D' on loopback, hopsocks with the recipe's "
            "config: a 300 kB download through it has the right SHA-256, route=ssh; RESOLVE "
            "gets 05 07")
def t_ssh_share(ctx):
    need(Sshd)
    need(SshDynamic)
    if os.getuid() != 0:
        raise Skip("a private sshd needs root here (its privilege separation directory)")
    sshd = ctx.own(Sshd(ctx).start())
    ssh = ctx.own(SshDynamic(ctx, sshd).start())
    web = ctx.own(HttpServer())
    conf = adapt(recipe_conf(1), [("192.168.1.0/24", "127.0.0.0/8"),
                                  ("127.0.0.1:1081", "127.0.0.1:%d" % ssh.port)])
    hs = ctx.hopsocks(config=conf)
    fetch_ok(hs, web.url("/bytes/%d" % SIZE), pattern(SIZE, seed=3), what="through ssh -D")
    rec = hs.wait_access(lambda r: r.get("cmd") == "connect")
    check_eq((rec.get("route"), rec.get("result")), ("ssh", "ok"),
             "route and result of %r" % rec["_line"])
    # What the guide says of torsocks' name lookups (Tor's RESOLVE, 0xF0)
    # through ssh -D: "command not supported".
    with connect(hs.addr) as sock:
        sock.sendall(b"\x05\x01\x00" + socks5_request("www.guide.example", 0, cmd=0xF0))
        check_eq(recv_exact(sock, 2, "method selection"), b"\x05\x00", "method selection")
        rep, _, _, raw = read_socks5_reply(sock)
        check_eq(rep, 0x07, "REP of RESOLVE through ssh -D (%s)" % show(raw))


# ------------------------------------------------ recipe 2: PAC + Chromium

PAGE_MARK = "guide-pac-page-7f3a"


class PageServer(TcpServer):
    """Answers every HTTP request with one small HTML page."""

    BODY = ("<html><head><title>t</title></head><body><p id=\"m\">%s</p></body></html>"
            % PAGE_MARK).encode()

    def handle(self, conn):
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = conn.recv(4096)
            if not chunk:
                return
            head += chunk
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n"
                     b"Connection: close\r\n\r\n%s" % (len(self.BODY), self.BODY))


@suite.test("recipe 2 for real: headless Chromium with the guide's PAC file and "
            "--host-resolver-rules loads a page by a name only the proxies resolve, through "
            "the recipe's hopsocks and the 'team' hopsocks it logs in to")
def t_browser_pac(ctx):
    if not CHROMIUM:
        raise missing("chromium", "chromium")
    page = ctx.own(PageServer())
    name = "www.guide.example"
    dns = ctx.own(DnsServer({name: ["127.0.0.1"]}))
    team = ctx.hopsocks(config=["users " + write_users(ctx, {USER: PASSWORD}),
                                "resolver " + dns.resolver])
    conf = adapt(recipe_conf(2), [
        ("socks5h://alice:PASSWORD@192.168.1.10:1080",
         "socks5h://%s:%s@127.0.0.1:%d" % (USER, PASSWORD, team.port))])
    # Not in the recipe: this hopsocks passes every name on unresolved;
    # the line only makes sure the machine's resolver is never asked.
    conf.append("resolver " + dns.resolver)
    browser_proxy = ctx.hopsocks(config=conf, workers=None)
    pac = blocks(guide(), "javascript")[0]
    check("127.0.0.1:1080" in pac, "the PAC block names 127.0.0.1:1080")
    pac = pac.replace("127.0.0.1:1080", "127.0.0.1:%d" % browser_proxy.port)
    rules = re.search(r'--host-resolver-rules="([^"]+)"', guide())
    check(rules, "the guide shows --host-resolver-rules")
    url = "http://%s:%d/" % (name, page.port)
    dom = chromium(ctx, url, "--proxy-pac-url=data:application/x-ns-proxy-autoconfig;base64,"
                   + base64.b64encode(pac.encode()).decode(),
                   "--host-resolver-rules=" + rules.group(1), "--dump-dom")
    check(PAGE_MARK.encode() in dom, "Chromium's DOM lacks the page's text: %r" % dom[-400:])
    target = "%s:%d" % (name, page.port)
    rec = browser_proxy.wait_access(lambda r: r.get("target") == target,
                                    what="browser proxy's access line for %s" % target)
    check_eq((rec.get("route"), rec.get("result")), ("team", "ok"), "browser proxy: %r"
             % rec["_line"])
    rec = team.wait_access(lambda r: r.get("target") == target,
                           what="team proxy's access line for %s" % target)
    check_eq((rec.get("user"), rec.get("result")), (USER, "ok"), "team proxy: %r" % rec["_line"])


def chromium(ctx, url, *flags):
    """Chromium's --dump-dom output for url (headless, a fresh profile)."""
    profile = tempfile.mkdtemp(prefix="chromium-", dir=ctx.tmpdir)
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
           "--no-first-run", "--disable-background-networking", "--disable-component-update",
           "--disable-sync", "--user-data-dir=" + profile] + list(flags) + [url]
    try:
        run = subprocess.run(cmd, capture_output=True, timeout=BOUND * 2,
                             env=dict(os.environ, HOME=ctx.tmpdir))
    except subprocess.TimeoutExpired:
        raise TestFailure("chromium did not finish within %.0fs" % (BOUND * 2))
    check(run.returncode == 0, "chromium failed (%d): %s"
          % (run.returncode, run.stderr.decode(errors="replace")[-2000:]))
    return run.stdout


# ------------------------------------------------------ recipe 4: Tor front

@suite.test("recipe 4 for real, microsocks standing in for Tor's SocksPort: a user gets a "
            "300 kB download through it (route=tor); no login or a wrong password gets nothing")
def t_tor_front(ctx):
    need(Microsocks)
    tor = ctx.own(Microsocks(ctx).start())
    web = ctx.own(HttpServer())
    conf = adapt(recipe_conf(4), [(USERS_PATH, write_users(ctx, {USER: PASSWORD})),
                                  ("192.168.1.0/24", "127.0.0.0/8"),
                                  ("127.0.0.1:9050", "127.0.0.1:%d" % tor.port)])
    hs = ctx.hopsocks(config=conf)
    url = web.url("/bytes/%d" % SIZE)
    fetch_ok(hs, url, pattern(SIZE, seed=3), "%s:%s" % (USER, PASSWORD), "through 'Tor'")
    for userinfo in ("", "%s:wrong" % USER):
        rc, body = curl_fetch(hs, url, userinfo)
        check(rc != 0 and body == b"", "login %r: curl %d with %d bytes, want a failure"
              % (userinfo, rc, len(body)))
    # (The harness's own readiness probe leaves a result=closed line.)
    eventually_eq(lambda: sorted((r.get("user"), r.get("route"), r.get("result"))
                                 for r in hs.access() if r.get("result") != "closed"),
                  sorted([(USER, "tor", "ok"), ("-", "-", "auth-failed"),
                          (USER, "-", "auth-failed")]),
                  "(user, route, result) of the three sessions")
    check_eq(len(web.requests), 1, "requests that reached the web server")


# ------------------------------------------------ recipe 5: company gateway

@suite.test("recipe 5 for real: an internal name goes direct (resolved here); other "
            "destinations go through the two upstream HTTP proxies (tinyproxy), one each in turn")
def t_gateway(ctx):
    need(Tinyproxy)
    proxy1 = ctx.own(Tinyproxy(ctx).start())
    proxy2 = ctx.own(Tinyproxy(ctx).start())
    web = ctx.own(HttpServer())
    internal = "www.corp.example"
    dns = ctx.own(DnsServer({internal: ["127.0.0.1"]}))
    conf = adapt(recipe_conf(5), [
        (USERS_PATH, write_users(ctx, {USER: PASSWORD})),
        ("allow from 10.0.0.0/8 user *", "allow from 127.0.0.0/8 user *"),
        ("proxy1.corp.example:3128", "127.0.0.1:%d" % proxy1.port),
        ("proxy2.corp.example:3128", "127.0.0.1:%d" % proxy2.port)])
    # Not in the recipe: the test's DNS server instead of /etc/resolv.conf.
    conf.append("resolver " + dns.resolver)
    hs = ctx.hopsocks(config=conf)
    login = "%s:%s" % (USER, PASSWORD)
    data = pattern(SIZE, seed=3)
    fetch_ok(hs, web.url("/bytes/%d" % SIZE, host=internal), data, login, "internal name")
    # 127.0.0.1 is in none of the recipe's internal networks: "internet".
    for i in range(2):
        fetch_ok(hs, web.url("/bytes/%d" % SIZE), data, login, "internet download %d" % (i + 1))
    target = "127.0.0.1:%d" % web.port
    eventually_eq(lambda: sorted((r.get("target"), r.get("route")) for r in hs.access()
                                 if r.get("cmd") == "connect"),
                  sorted([("%s:%d" % (internal, web.port), "direct"), (target, "internet"),
                          (target, "internet")]), "(target, route) of the three downloads")
    check_eq((proxy1.connects(), proxy2.connects()), ([target], [target]),
             "CONNECTs each upstream proxy saw")
    check(dns.count(internal) >= 1, "the internal name was resolved by hopsocks")


if __name__ == "__main__":
    suite.run()
