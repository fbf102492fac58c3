#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors.
"""The admin listener: /metrics, the status page, /health, and the HTTP
server's limits.

hopsocks runs with a user file and `admin 127.0.0.1:PORT`.  The test drives
known traffic -- three authenticated SOCKS5 CONNECTs echoing 1000, 2000 and
3000 bytes, one CONNECT refused by the target, one UDP association carrying
two datagrams each way, a wrong password for a known user and one for an
unknown user -- then checks every counter that traffic moves, exactly, in
/metrics (Prometheus text format 0.0.4, whose rules are checked on the
whole body), and finds the same numbers in the status page as headless
Chromium renders it (--dump-dom).  The screenshot is kept and its path
printed.  A chain with a dead and a live hop shows per-hop attempts,
failures and up/down state.  While sessions run, the byte counters (total
and per user, TCP by read/write and splice, UDP payload and datagrams)
reach exactly the bytes already echoed, polled with a bounded wait, and
equal them once the session ended; the status page lists the live
sessions (client, user, target, route, bytes) with the most bytes first,
a hostile target name escaped as the access log writes it, and at most 50
with the count of all.  The HTTP side: 404, 405, HEAD, a request over
8 KiB (431), a silent client dropped after 5 s, and at most 16 connections
served at once.
"""

import html.parser
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (BOUND, HOPSOCKS_BIN, Skip, Suite, TestFailure, chain_block,  # noqa: E402
                     check, check_eq, closed_port, connect, echo_roundtrip, encode_addr5, free_port,
                     hop_url, read_socks5_reply, read_to_close, recv_exact, show,
                     socks5_auth, socks5_open, socks5_request, socks5_try, wait_until,
                     write_users)
from harness import missing, parse_access  # noqa: E402
from servers import (EchoServer, ScriptedSocks5, UdpEchoServer, echo_transfer,  # noqa: E402
                     pattern)

suite = Suite()

USER, PASSWORD = "alice", "s3cret-pw"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


# ------------------------------------------------------------------ helpers

def start_with_admin(ctx, config=(), **kw):
    """A hopsocks with an admin listener; returns (hopsocks, admin port)."""
    port = free_port()
    hs = ctx.hopsocks(config=["admin 127.0.0.1:%d" % port] + list(config), **kw)
    if not wait_until(lambda: "admin listener on" in hs.stderr_text(), 5):
        raise Skip("this hopsocks does not start its admin listener (main.c does not call "
                   "admin_start/admin_open yet); stderr: %s" % hs.stderr_tail(3))
    return hs, port


def http_get(port, path="/", method="GET", timeout=BOUND):
    """(status, headers dict with lower-case names, body bytes) of one
    request on a fresh connection; the server closes after answering."""
    s = connect(("127.0.0.1", port), timeout)
    s.sendall(("%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % (method, path, port)).encode())
    data, how = read_to_close(s, timeout)
    s.close()
    check(how == "eof", "GET %s: the response did not end in a clean close (%s)" % (path, how))
    return parse_response(data, "%s %s" % (method, path))


def parse_response(data, what):
    head, sep, body = data.partition(b"\r\n\r\n")
    check(sep, "%s: no complete response header in %s" % (what, show(data)))
    lines = head.decode("latin-1").split("\r\n")
    m = re.match(r"HTTP/1\.[01] (\d{3}) ", lines[0])
    check(m, "%s: bad status line %r" % (what, lines[0]))
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if "content-length" in headers and not what.startswith("HEAD"):
        check_eq(len(body), int(headers["content-length"]), "%s: body length" % what)
    return int(m.group(1)), headers, body


METRIC_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (-?[0-9]+(?:\.[0-9]+)?)$')
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)')


def parse_metrics(text):
    """{(name, frozenset of (label, value)): number}, checking the text
    format on the way: every sample belongs to the family its HELP and
    TYPE lines just announced, counters end in _total, label values are
    properly quoted and escaped, no series appears twice."""
    samples, family, types = {}, None, {}
    expect_type = False
    for line in text.split("\n")[:-1]:
        if line.startswith("# HELP "):
            check(not expect_type, "HELP without TYPE before: %s" % line)
            family = line.split(" ")[2]
            check(family not in types, "family %s announced twice" % family)
            expect_type = True
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            check(expect_type and name == family, "TYPE not after its HELP: %s" % line)
            check(kind in ("counter", "gauge"), "unexpected type: %s" % line)
            check(kind != "counter" or name.endswith("_total"),
                  "counter without _total: %s" % name)
            types[name] = kind
            expect_type = False
            continue
        m = METRIC_RE.match(line)
        check(m, "not a sample line: %r" % line)
        check(m.group(1) == family, "sample %s outside its family %s" % (line, family))
        labels = []
        rest = m.group(3) or ""
        while rest:
            lm = LABEL_RE.match(rest)
            check(lm, "bad labels in %r" % line)
            value = re.sub(r"\\(.)", lambda e: {"n": "\n"}.get(e.group(1), e.group(1)),
                           lm.group(2))
            labels.append((lm.group(1), value))
            rest = rest[lm.end():]
        key = (m.group(1), frozenset(labels))
        check(key not in samples, "series twice: %s" % line)
        samples[key] = int(m.group(4))
    check(text.endswith("\n"), "the body does not end with a line feed")
    return samples


def metrics(port):
    status, headers, body = http_get(port, "/metrics")
    check_eq(status, 200, "/metrics status")
    check_eq(headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8",
             "/metrics Content-Type")
    return parse_metrics(body.decode("utf-8"))


def m(samples, name, **labels):
    key = (name, frozenset(labels.items()))
    check(key in samples, "no sample %s%s" % (name, labels))
    return samples[key]


def check_metrics(samples, want, what):
    """Every (name, labels, value) in want must match exactly."""
    wrong = []
    for name, labels, value in want:
        got = m(samples, name, **labels)
        if got != value:
            wrong.append("%s%s = %s, want %s" % (name, labels, got, value))
    check(not wrong, "%s:\n%s" % (what, "\n".join(wrong)))


def socks5_login(proxy, user, password):
    """Greeting and RFC 1929; returns (sock, status byte)."""
    s = connect(proxy)
    s.sendall(b"\x05\x01\x02")
    check_eq(recv_exact(s, 2, "method selection"), b"\x05\x02", "method selection")
    s.sendall(socks5_auth(user, password))
    return s, recv_exact(s, 2, "RFC 1929 reply")[1]


def udp_roundtrip(hs, target, payloads):
    """One authenticated UDP association: each payload to target and its
    echo back, then the control connection closes."""
    ctl, status = socks5_login(hs.addr, USER, PASSWORD)
    check_eq(status, 0, "RFC 1929 status for the UDP association")
    ctl.sendall(socks5_request("0.0.0.0", 0, cmd=3))
    rep, rhost, rport, raw = read_socks5_reply(ctl)
    check_eq(rep, 0, "UDP ASSOCIATE reply")
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.settimeout(BOUND)
    header = b"\x00\x00\x00" + encode_addr5(target[0]) + struct.pack(">H", target[1])
    for p in payloads:
        u.sendto(header + p, (rhost, rport))
        data, _ = u.recvfrom(65536)
        check_eq(data[10:], p, "echoed datagram")
    u.close()
    ctl.close()


class DomText(html.parser.HTMLParser):
    """Text of elements by id, and table rows (cell texts) by a data-
    attribute value, from a rendered DOM."""

    def __init__(self):
        super().__init__()
        self.by_id, self.rows = {}, {}
        self._stack = []  # (tag, id or None, row key or None)
        self._text = {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        row = None
        for key in ("data-user", "data-listener", "data-client"):
            if key in a:
                row = (key, a[key])
        if "data-chain" in a:
            row = ("data-chain", "%s/%s" % (a["data-chain"], a.get("data-hop")))
        if row:
            self.rows[row] = []
        if tag == "td" and self._stack:
            for t in reversed(self._stack):
                if t[2]:
                    self.rows[t[2]].append("")
                    break
        self._stack.append((tag, a.get("id"), row))
        if a.get("id"):
            self._text[a["id"]] = ""

    def handle_endtag(self, tag):
        while self._stack:
            t = self._stack.pop()
            if t[1]:
                self.by_id[t[1]] = self._text[t[1]].strip()
            if t[0] == tag:
                break

    def handle_data(self, data):
        for t in self._stack:
            if t[1]:
                self._text[t[1]] += data
        for t in reversed(self._stack):
            if t[2] and t[2] in self.rows and self.rows[t[2]]:
                self.rows[t[2]][-1] += data
                break


def first_words(cells):
    """Table cells by their first word: "6300 6.2 KiB" is 6300, "DOWN retry
    in 3600 s" is DOWN."""
    return [(c.split() or [""])[0] for c in cells or []]


def chromium(ctx, url, *flags):
    if not CHROMIUM:
        raise missing("chromium", "chromium")
    profile = tempfile.mkdtemp(prefix="chromium-", dir=ctx.tmpdir)
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
           "--no-first-run", "--disable-background-networking", "--disable-component-update",
           "--disable-sync", "--user-data-dir=" + profile, "--window-size=1280,1600"]
    cmd += list(flags) + [url]
    try:
        run = subprocess.run(cmd, capture_output=True, timeout=BOUND * 2,
                             env=dict(os.environ, HOME=ctx.tmpdir))
    except subprocess.TimeoutExpired:
        raise TestFailure("chromium did not finish within %.0fs" % (BOUND * 2))
    check(run.returncode == 0, "chromium failed (%d): %s"
          % (run.returncode, run.stderr.decode(errors="replace")[-2000:]))
    return run.stdout


def keep_artifact(path):
    """Copy a file the test made to a directory that outlives the test's
    temporary one ($HOPSOCKS_ARTIFACTS, or a new temporary directory) and
    return the new path."""
    where = os.environ.get("HOPSOCKS_ARTIFACTS")
    if where:
        os.makedirs(where, exist_ok=True)
    else:
        where = tempfile.mkdtemp(prefix="hopsocks-admin-artifacts-")
    dest = os.path.join(where, os.path.basename(path))
    shutil.copyfile(path, dest)
    return dest


# ------------------------------------------------------------------ traffic

SIZES = (1000, 2000, 3000)
UDP_PAYLOADS = (b"x" * 100, b"y" * 200)


def drive_known_traffic(ctx, hs):
    echo = ctx.own(EchoServer())
    for i, size in enumerate(SIZES):
        s, _, _ = socks5_open(hs.addr, echo.host, echo.port, auth=(USER, PASSWORD))
        echo_roundtrip(s, pattern(size, seed=i + 1), "echo through session %d" % (i + 1))
        s.close()
    s, rep, raw = socks5_try(hs.addr, "127.0.0.1", closed_port(), auth=(USER, PASSWORD))
    check_eq(rep, 5, "REP for a CONNECT to a closed port")
    s.close()
    udp = ctx.own(UdpEchoServer())
    udp_roundtrip(hs, udp.addr, UDP_PAYLOADS)
    for user, password in ((USER, "wrong"), ("mallory", "guess")):
        s, status = socks5_login(hs.addr, user, password)
        check(status != 0, "RFC 1929 accepted a wrong password for %s" % user)
        s.close()


def quiet(port, hs=None):
    """Metrics once every session has ended (access lines and counters
    are written when a session closes, a moment after its client left).
    With hs: also once every connection the kernel accepted for it has
    been taken by hopsocks and logged -- the harness's readiness probe is
    in the accept queue before hopsocks sees it, and would otherwise be
    counted after `before` was read."""
    def settled():
        got = metrics(port)
        if m(got, "hopsocks_sessions_active") != 0:
            return False
        if hs is None:
            return True
        lines = len(hs.access())
        return lines >= 1 and m(got, "hopsocks_sessions_total") == lines
    ok = wait_until(settled, BOUND, 0.1)
    check(ok, "sessions still active after the traffic ended")
    return metrics(port)


UP = sum(SIZES) + sum(len(p) for p in UDP_PAYLOADS)


@suite.test("/metrics counts exactly the traffic the test sent, per protocol, command, "
            "user and listener")
def test_metrics_exact(ctx):
    users = write_users(ctx, {USER: PASSWORD, "bob": "unused-pw"})
    hs, port = start_with_admin(ctx, config=["users %s" % users])
    before = quiet(port, hs)
    drive_known_traffic(ctx, hs)
    after = quiet(port)

    base = m(before, "hopsocks_sessions_total")  # the harness's readiness probes
    listener = "127.0.0.1:%d" % hs.port
    check_metrics(after, [
        ("hopsocks_sessions_total", {}, base + 7),
        ("hopsocks_sessions_active", {}, 0),
        ("hopsocks_listener_accepted_total", {"listener": listener}, base + 7),
        ("hopsocks_command_sessions_total", {"protocol": "socks5", "command": "connect"}, 4),
        ("hopsocks_command_sessions_total", {"protocol": "socks5", "command": "udp"}, 1),
        ("hopsocks_command_sessions_total", {"protocol": "socks5", "command": "bind"}, 0),
        ("hopsocks_command_sessions_total", {"protocol": "socks4", "command": "connect"}, 0),
        ("hopsocks_command_sessions_total", {"protocol": "http", "command": "connect"}, 0),
        ("hopsocks_command_sessions_active", {"protocol": "socks5", "command": "connect"}, 0),
        ("hopsocks_command_sessions_active", {"protocol": "socks5", "command": "udp"}, 0),
        ("hopsocks_connects_total", {"result": "ok"}, 3),
        ("hopsocks_connects_total", {"result": "failed"}, 1),
        ("hopsocks_bytes_total", {"direction": "up"}, UP),
        ("hopsocks_bytes_total", {"direction": "down"}, UP),
        ("hopsocks_auth_total", {"result": "ok"}, 5),
        ("hopsocks_auth_total", {"result": "failed"}, 2),
        ("hopsocks_denied_total", {}, 0),
        ("hopsocks_bad_requests_total", {}, 0),
        ("hopsocks_udp_associations_total", {}, 1),
        ("hopsocks_udp_datagrams_total", {"direction": "up"}, 2),
        ("hopsocks_udp_datagrams_total", {"direction": "down"}, 2),
        ("hopsocks_udp_dropped_total", {}, 0),
        ("hopsocks_dns_queries_total", {}, 0),
        ("hopsocks_user_sessions_total", {"user": USER}, 5),
        ("hopsocks_user_sessions_active", {"user": USER}, 0),
        ("hopsocks_user_bytes_total", {"user": USER, "direction": "up"}, UP),
        ("hopsocks_user_bytes_total", {"user": USER, "direction": "down"}, UP),
        ("hopsocks_user_auth_failures_total", {"user": USER}, 1),
        ("hopsocks_config_generation", {}, 1),
        ("hopsocks_connections_open", {}, 0),
        ("hopsocks_build_info", {"version": hs_version()}, 1),
    ], "metrics after the known traffic")
    users_seen = {dict(k[1]).get("user") for k in after if k[0].startswith("hopsocks_user_")}
    check_eq(users_seen, {USER}, "users in the per-user metrics (bob never connected; "
             "an unknown name is never tracked)")
    check(not any(k[0].startswith("hopsocks_hop_") and k[1] for k in after),
          "hop samples without any chain configured")

    # SIGUSR1 logs the same counters, and a line per user.
    hs.proc.send_signal(signal.SIGUSR1)
    line = "stats user=%s active=0 sessions=5 up=%d down=%d auth_failed=1" % (USER, UP, UP)
    check(wait_until(lambda: line in hs.stderr_text(), BOUND),
          "no '%s' in the log after SIGUSR1: %s" % (line, hs.stderr_tail(5)))


def hs_version():
    out = subprocess.run([HOPSOCKS_BIN, "--version"], capture_output=True,
                         timeout=BOUND).stdout.decode()
    return out.split()[-1]


@suite.test("the status page, rendered by headless Chromium, shows the counters the "
            "traffic produced; screenshot kept")
def test_status_page_chromium(ctx):
    if not CHROMIUM:
        raise missing("chromium", "chromium")
    users = write_users(ctx, {USER: PASSWORD})
    hs, port = start_with_admin(ctx, config=["users %s" % users])
    base = m(quiet(port, hs), "hopsocks_sessions_total")
    drive_known_traffic(ctx, hs)
    after = quiet(port)
    total = m(after, "hopsocks_sessions_total")
    check_eq(total, base + 7, "sessions total")

    status, headers, body = http_get(port, "/")
    check_eq(status, 200, "/ status")
    check_eq(headers.get("content-type"), "text/html; charset=utf-8", "/ Content-Type")
    check("default-src 'none'" in headers.get("content-security-policy", ""),
          "no restrictive Content-Security-Policy on the page: %s" % headers)
    check(b'<meta http-equiv="refresh" content="5">' in body, "the page does not refresh itself")
    check(b"<script" not in body and b"src=" not in body and b"href=" not in body,
          "the page is not self-contained")

    url = "http://127.0.0.1:%d/" % port
    dom = chromium(ctx, url, "--dump-dom").decode("utf-8", "replace")
    page = DomText()
    page.feed(dom)
    want_ids = {
        "c-sessions-total": str(total),
        "cmd-socks5-connect-total": "4",
        "cmd-socks5-udp-total": "1",
        "cmd-socks5-connect-active": "0",
        "connects-ok": "3",
        "connects-failed": "1",
        "bytes-up": str(UP),
        "bytes-down": str(UP),
        "auth-ok": "5",
        "auth-failed": "2",
        "udp-associations": "1",
        "udp-datagrams-up": "2",
        "udp-datagrams-down": "2",
        "udp-dropped": "0",
        "dns-queries": "0",
        "auth": "on",
        "generation": "1",
    }
    wrong = ["#%s = %r, want %r" % (k, page.by_id.get(k), v) for k, v in want_ids.items()
             if (page.by_id.get(k) or "").split(" ")[0] != v]
    check(not wrong, "rendered page:\n" + "\n".join(wrong))
    check_eq(first_words(page.rows.get(("data-user", USER))),
             [USER, "0", "5", str(UP), str(UP), "1"],
             "rendered row of user %s (name, active, sessions, up, down, auth failures)" % USER)
    check_eq(first_words(page.rows.get(("data-listener", "127.0.0.1:%d" % hs.port))),
             ["127.0.0.1:%d" % hs.port, str(total)], "rendered listener row")

    shot = os.path.join(ctx.tmpdir, "hopsocks-status.png")
    chromium(ctx, url, "--screenshot=" + shot)
    check(os.path.exists(shot) and os.path.getsize(shot) > 10000,
          "no screenshot at %s" % shot)
    with open(shot, "rb") as f:
        check_eq(f.read(8), b"\x89PNG\r\n\x1a\n", "screenshot PNG signature")
    print("# screenshot of the status page: %s" % keep_artifact(shot))


@suite.test("per-hop attempts, failures and up/down state in /metrics and the page")
def test_hops(ctx):
    upstream = ctx.hopsocks()
    dead = ("127.0.0.1", closed_port())
    hops = [hop_url("socks5", dead), hop_url("socks5", upstream.addr)]
    hs, port = start_with_admin(ctx, config=chain_block("via", hops, "dynamic",
                                                        retry_dead="1h")
                                + ["route * via via"])
    echo = ctx.own(EchoServer())
    for i in range(2):
        s, _, _ = socks5_open(hs.addr, echo.host, echo.port)
        echo_roundtrip(s, b"hop %d" % i, "echo through the chain")
        s.close()
    after = quiet(port)
    h1 = {"chain": "via", "hop": "1", "url": hops[0]}
    h2 = {"chain": "via", "hop": "2", "url": hops[1]}
    # The first CONNECT tries the dead hop, marks it down and goes on
    # through the live one; the second skips the dead hop.
    check_metrics(after, [
        ("hopsocks_hop_up", h1, 0),
        ("hopsocks_hop_attempts_total", h1, 1),
        ("hopsocks_hop_failures_total", h1, 1),
        ("hopsocks_hop_up", h2, 1),
        ("hopsocks_hop_attempts_total", h2, 2),
        ("hopsocks_hop_failures_total", h2, 0),
        ("hopsocks_connects_total", {"result": "ok"}, 2),
    ], "hop metrics")
    status, _, body = http_get(port, "/")
    check_eq(status, 200, "/ status")
    page = DomText()
    page.feed(body.decode())
    row1 = first_words(page.rows.get(("data-chain", "via/1")))
    row2 = first_words(page.rows.get(("data-chain", "via/2")))
    check_eq(row1, ["via", "1", hops[0], "DOWN", "1", "1"], "hop 1 row")
    check_eq(row2, ["via", "2", hops[1], "UP", "2", "0"], "hop 2 row")


# ------------------------------------------------------------------ live

def bytes_now(port, user=None):
    """(up, down) of hopsocks_bytes_total, or of the user's bytes."""
    got = metrics(port)
    if user is None:
        return (m(got, "hopsocks_bytes_total", direction="up"),
                m(got, "hopsocks_bytes_total", direction="down"))
    key = ("hopsocks_user_bytes_total", frozenset({("user", user), ("direction", "up")}))
    if key not in got:
        return (0, 0)
    return (m(got, "hopsocks_user_bytes_total", user=user, direction="up"),
            m(got, "hopsocks_user_bytes_total", user=user, direction="down"))


def wait_bytes(port, want, what, user=None):
    """Poll /metrics until the byte counters (the user's, with user) reach
    want = (up, down), a lower bound exact to the byte: the client has
    read back every byte it sent, so the relay has delivered them. Then
    they must equal it: nothing else moved bytes, and none counted twice."""
    got = wait_until(lambda: (lambda b: b if b[0] >= want[0] and b[1] >= want[1] else None)(
        bytes_now(port, user)), BOUND, 0.1)
    check(got, "%s: the counters did not reach %s within %.0fs while the session ran "
          "(now %s)" % (what, want, BOUND, bytes_now(port, user)))
    check_eq(got, want, "%s: counters once they reached the bytes sent" % what)


def session_rows(port):
    """The live-session rows of the status page by client address, in page
    order, and the (data-total, data-listed) of the list."""
    status, _, body = http_get(port, "/")
    check_eq(status, 200, "/ status")
    page = DomText()
    text = body.decode("utf-8")
    page.feed(text)
    rows = [(k[1], cells) for k, cells in page.rows.items() if k[0] == "data-client"]
    mt = re.search(r'data-total="(\d+)"(?: data-listed="(\d+)")?', text)
    check(mt, "no session count on the page")
    return rows, (int(mt.group(1)), int(mt.group(2) or 0)), text


def wait_row(port, client, done, what):
    """Poll the page until the row of client satisfies done(cells)."""
    found = {}

    def ready():
        rows, _, _ = session_rows(port)
        cells = dict(rows).get(client)
        found["last"] = cells
        return cells is not None and done(first_words(cells))
    check(wait_until(ready, BOUND, 0.1), "%s: no row for %s within %.0fs (last %s)"
          % (what, client, BOUND, found.get("last")))
    return first_words(found["last"])


def client_text(sock):
    return "%s:%d" % sock.getsockname()[:2]


@suite.test("byte counters and per-user bytes advance while a session runs (echo by "
            "read/write and splice), and end exact: no byte counted twice")
def test_live_bytes(ctx):
    users = write_users(ctx, {USER: PASSWORD})
    # splice, by name: the kernel relay's counting is test_krelay.py's.
    hs, port = start_with_admin(ctx, config=["users %s" % users, "relay splice"])
    before = quiet(port, hs)
    base = (m(before, "hopsocks_bytes_total", direction="up"),
            m(before, "hopsocks_bytes_total", direction="down"))
    echo = ctx.own(EchoServer())
    s, _, _ = socks5_open(hs.addr, echo.host, echo.port, auth=(USER, PASSWORD))
    sent = 0
    # Small steps by read/write, then bulk (a full 64 KiB read turns a
    # direction to splice); the session stays open between the steps.
    for i, size in enumerate((1000, 30000, 1 << 20, 3 << 20)):
        echo_transfer(s, size, seed=i + 3, what="step %d of the live session" % (i + 1))
        sent += size
        what = "after step %d (%d bytes each way, session open)" % (i + 1, sent)
        wait_bytes(port, (base[0] + sent, base[1] + sent), what)
        wait_bytes(port, (sent, sent), what + ", user " + USER, user=USER)
        got = metrics(port)
        check_eq(m(got, "hopsocks_user_sessions_active", user=USER), 1,
                 "the session is still open " + what)
    got = metrics(port)
    check(0 < m(got, "hopsocks_spliced_bytes_total") <= 2 * sent,
          "spliced bytes %d, want some of the %d relayed"
          % (m(got, "hopsocks_spliced_bytes_total"), 2 * sent))
    # A last step and the end at once, before the next fold can see it
    # (or just after): the end must add exactly what the folds did not.
    echo_transfer(s, 77777, seed=11, what="the last step")
    sent += 77777
    s.close()
    after = quiet(port)
    check_eq(bytes_now(port), (base[0] + sent, base[1] + sent), "bytes once the session ended")
    check_eq(bytes_now(port, USER), (sent, sent), "user bytes once the session ended")
    rec = hs.wait_access(lambda r: r.get("user") == USER)
    check_eq((int(rec["up"]), int(rec["down"])), (sent, sent), "the access line's bytes")
    check_eq(m(after, "hopsocks_user_sessions_active", user=USER), 0, "user sessions active")


@suite.test("the status page lists the live sessions with client, user, target, route and "
            "bytes, the bigger first")
def test_live_sessions_listed(ctx):
    users = write_users(ctx, {USER: PASSWORD})
    hs, port = start_with_admin(ctx, config=["users %s" % users])
    quiet(port, hs)
    _, count, text = session_rows(port)
    check_eq(count, (0, 0), "the session count with no session open")
    check("No sessions open." in text, "the page does not say that no session is open")
    echo = ctx.own(EchoServer())
    small, _, _ = socks5_open(hs.addr, echo.host, echo.port, auth=(USER, PASSWORD))
    big, _, _ = socks5_open(hs.addr, echo.host, echo.port, auth=(USER, PASSWORD))
    echo_transfer(small, 5000, what="the small session")
    echo_transfer(big, 300000, what="the big session")
    target = "%s:%d" % (echo.host, echo.port)
    row = wait_row(port, client_text(big), lambda c: len(c) == 12 and int(c[8]) >= 300000,
                   "the big session")
    check_eq(row[:7] + row[8:10], [client_text(big), USER, "socks5", "connect", target,
                                   "direct", "relay", "300000", "300000"], "the big session's row")
    big_id, big_client = row[10], client_text(big)
    row = wait_row(port, client_text(small), lambda c: len(c) == 12 and int(c[9]) >= 5000,
                   "the small session")
    check_eq(row[:7] + row[8:10], [client_text(small), USER, "socks5", "connect", target,
                                   "direct", "relay", "5000", "5000"], "the small session's row")
    small_id, small_client = row[10], client_text(small)
    rows, count, _ = session_rows(port)
    check_eq([c for c, _ in rows], [client_text(big), client_text(small)],
             "rows in order of bytes (the bigger first)")
    check_eq(count, (2, 2), "(sessions in all, listed)")
    # The small one grows past the big one: the order follows.
    echo_transfer(small, 400000, seed=9, what="the small session grows")
    wait_row(port, client_text(small), lambda c: len(c) == 12 and int(c[8]) >= 405000,
             "the small session after it grew")
    check_eq([c for c, _ in session_rows(port)[0]], [client_text(small), client_text(big)],
             "rows in order of bytes once the first session moved more")
    small.close()
    big.close()
    quiet(port)
    check(wait_until(lambda: session_rows(port)[1] == (0, 0), BOUND, 0.1),
          "the list still shows sessions after they all ended: %s" % (session_rows(port)[1],))
    # The Session column is the session= of each one's access line.
    for sock_client, row_id in ((big_client, big_id), (small_client, small_id)):
        recs = [r for r in parse_access(hs.stderr_text()) if r.get("client") == sock_client]
        check_eq([r.get("session") for r in recs], [row_id],
                 "session= of %s's access line against its row" % sock_client)


@suite.test("a target name with a quote, <script> and a control byte, through a chain, is "
            "listed escaped as the access log writes it; the route is the chain's name")
def test_live_sessions_hostile_target(ctx):
    hop = ctx.own(ScriptedSocks5())
    hs, port = start_with_admin(ctx, config=chain_block("up", [hop_url("socks5h", hop.addr)])
                                + ["route * via up"])
    name = b'x"<script>\x01.example'
    s = connect(hs.addr)
    s.sendall(b"\x05\x01\x00")
    check_eq(recv_exact(s, 2, "method selection"), b"\x05\x00", "method selection")
    s.sendall(b"\x05\x01\x00\x03" + bytes([len(name)]) + name + struct.pack(">H", 443))
    rep, _, _, raw = read_socks5_reply(s)
    check_eq(rep, 0, "CONNECT through the chain")
    echo_roundtrip(s, b"through the hop", "echo through the chain")
    logged = 'x\\x22<script>\\x01.example:443'
    row = wait_row(port, client_text(s), lambda c: len(c) == 12 and int(c[8]) >= 15,
                   "the chained session")
    check_eq(row[:7] + row[8:10], [client_text(s), "-", "socks5", "connect", logged, "up",
                                   "relay", "15", "15"], "the chained session's row")
    _, _, text = session_rows(port)
    check("<script" not in text, "a client-chosen <script> reached the page unescaped")
    check('x\\x22&lt;script&gt;\\x01.example:443' in text,
          "the target is not on the page as the log writes it, HTML-escaped")
    s.close()
    rec = hs.wait_access(lambda r: r.get("route") == "up")
    check_eq(rec["target"], logged, "the access line's target (the page shows the same)")


@suite.test("with more sessions than the list holds (50), the page lists 50 and says how "
            "many are open in all")
def test_live_sessions_bound(ctx):
    hs, port = start_with_admin(ctx)
    quiet(port, hs)
    echo = ctx.own(EchoServer())
    socks = []
    try:
        for i in range(55):
            s, _, _ = socks5_open(hs.addr, echo.host, echo.port)
            echo_roundtrip(s, b"%d" % i * (i + 1), "session %d" % i)
            socks.append(s)
        ok = wait_until(lambda: session_rows(port)[1] == (55, 50), BOUND, 0.1)
        rows, count, text = session_rows(port)
        check(ok, "(sessions in all, listed) = %s, want (55, 50)" % (count,))
        check_eq(len(rows), 50, "rows listed")
        check("The 50 with the most bytes of 55 sessions open." in text,
              "the page does not say how many sessions there are in all")
        # The five smallest are the ones left out.
        listed = {c for c, _ in rows}
        check_eq([i for i, s in enumerate(socks) if client_text(s) not in listed],
                 [0, 1, 2, 3, 4], "sessions left out of the list")
    finally:
        for s in socks:
            s.close()


@suite.test("UDP datagrams and payload bytes are counted while the association lives")
def test_live_udp(ctx):
    users = write_users(ctx, {USER: PASSWORD})
    hs, port = start_with_admin(ctx, config=["users %s" % users])
    before = quiet(port, hs)
    udp = ctx.own(UdpEchoServer())
    ctl, status = socks5_login(hs.addr, USER, PASSWORD)
    check_eq(status, 0, "RFC 1929 status")
    ctl.sendall(socks5_request("0.0.0.0", 0, cmd=3))
    rep, rhost, rport, raw = read_socks5_reply(ctl)
    check_eq(rep, 0, "UDP ASSOCIATE reply")
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.settimeout(BOUND)
    header = b"\x00\x00\x00" + encode_addr5(udp.host) + struct.pack(">H", udp.port)
    payloads = (b"a" * 300, b"b" * 700, b"c" * 1000)
    for p in payloads:
        u.sendto(header + p, (rhost, rport))
        data, _ = u.recvfrom(65536)
        check_eq(data[10:], p, "echoed datagram")
    n = sum(len(p) for p in payloads)
    base = (m(before, "hopsocks_bytes_total", direction="up"),
            m(before, "hopsocks_bytes_total", direction="down"))
    wait_bytes(port, (base[0] + n, base[1] + n), "UDP payload, association open")
    wait_bytes(port, (n, n), "UDP payload of user " + USER, user=USER)
    got = metrics(port)
    check_eq((m(got, "hopsocks_udp_datagrams_total", direction="up"),
              m(got, "hopsocks_udp_datagrams_total", direction="down")), (3, 3),
             "datagrams while the association is open")
    row = wait_row(port, client_text(ctl), lambda c: len(c) == 12 and int(c[8]) >= n,
                   "the association")
    check_eq(row[1:4] + row[6:7] + row[8:10], [USER, "socks5", "udp", "udp", str(n), str(n)],
             "the association's row (user, protocol, command, state, bytes)")
    u.close()
    ctl.close()
    after = quiet(port)
    check_eq((m(after, "hopsocks_udp_datagrams_total", direction="up"),
              m(after, "hopsocks_udp_datagrams_total", direction="down")), (3, 3),
             "datagrams once the association ended")
    check_eq(bytes_now(port), (base[0] + n, base[1] + n), "bytes once the association ended")


@suite.test("/health, HEAD, 404 for other paths, 405 for other methods, 400 for garbage")
def test_routes(ctx):
    hs, port = start_with_admin(ctx)
    status, headers, body = http_get(port, "/health")
    check_eq((status, body), (200, b"ok\n"), "/health")
    check_eq(headers.get("connection"), "close", "Connection header")
    status, headers, body = http_get(port, "/metrics", method="HEAD")
    check_eq((status, body), (200, b""), "HEAD /metrics")
    check(int(headers.get("content-length", "0")) > 1000, "HEAD Content-Length: %s" % headers)
    status, _, _ = http_get(port, "/?x=1")
    check_eq(status, 200, "GET /?x=1 (query ignored)")
    for path in ("/nope", "/metrics/", "/health/x", "/index.html"):
        check_eq(http_get(port, path)[0], 404, "GET %s" % path)
    for method in ("POST", "PUT", "DELETE", "OPTIONS"):
        status, headers, _ = http_get(port, "/metrics", method=method)
        check_eq(status, 405, "%s /metrics" % method)
        check_eq(headers.get("allow"), "GET, HEAD", "%s Allow header" % method)
    for raw, want in ((b"GARBAGE\r\n\r\n", 400), (b"GET / HTTP/2.0\r\n\r\n", 505),
                      (b"GET /\x01 HTTP/1.1\r\n\r\n", 400)):
        s = connect(("127.0.0.1", port))
        s.sendall(raw)
        data, how = read_to_close(s)
        s.close()
        check_eq(parse_response(data, repr(raw))[0], want, "status for %r" % raw)
    # The admin port is not a SOCKS port, and the SOCKS port does not serve HTTP GET.
    s = connect(("127.0.0.1", port))
    s.sendall(b"\x05\x01\x00")
    data, how = read_to_close(s)
    s.close()
    check_eq(parse_response(data, "SOCKS greeting")[0], 400, "a SOCKS greeting on the admin port")


@suite.test("a request header over 8 KiB gets 431; a silent client is dropped after 5 s")
def test_limits(ctx):
    hs, port = start_with_admin(ctx)
    s = connect(("127.0.0.1", port))
    s.sendall(b"GET / HTTP/1.1\r\n" + b"X-Pad: " + b"a" * 9000 + b"\r\n\r\n")
    data, how = read_to_close(s)
    s.close()
    check_eq(parse_response(data, "oversized request")[0], 431, "status for a 9 KB header")

    started = time.monotonic()
    s = connect(("127.0.0.1", port))
    s.sendall(b"GET /metrics HTTP/1.1\r\n")  # and never the blank line
    data, how = read_to_close(s, timeout=BOUND)
    waited = time.monotonic() - started
    s.close()
    check(how in ("eof", "reset") and data == b"",
          "a silent client: %s after %.1fs with %s" % (how, waited, show(data)))
    check(4.5 <= waited <= 5 + BOUND / 2, "a silent client was dropped after %.1fs, "
          "want about 5 s" % waited)
    check_eq(http_get(port, "/health")[0], 200, "/health after the timeouts")


@suite.test("at most 16 admin connections are served at once; the 17th waits its turn")
def test_max_connections(ctx):
    hs, port = start_with_admin(ctx)
    idle = [connect(("127.0.0.1", port)) for _ in range(16)]
    # Each idle one holds a slot until its 5 s timeout; the 17th is
    # accepted by the kernel but not read.
    time.sleep(0.3)
    extra = connect(("127.0.0.1", port))
    extra.sendall(b"GET /health HTTP/1.1\r\n\r\n")
    extra.settimeout(1.0)
    try:
        early = extra.recv(100)
    except socket.timeout:
        early = None
    check(early is None, "the 17th connection was served while 16 were open: %s" % show(early))
    idle[0].close()
    data, how = read_to_close(extra, BOUND)
    check_eq(parse_response(data, "17th connection")[:1], (200,), "the 17th, once a slot freed")
    for s in idle[1:]:
        s.close()
    extra.close()
    check_eq(http_get(port, "/health")[0], 200, "/health afterwards")


@suite.test("hopsocks refuses an admin address that is also a listen address")
def test_admin_not_on_socks_port(ctx):
    port = free_port()
    conf = os.path.join(ctx.tmpdir, "clash.conf")
    with open(conf, "w") as f:
        f.write("listen 127.0.0.1:%d\nadmin 127.0.0.1:%d\n" % (port, port))
    run = subprocess.run([HOPSOCKS_BIN, "-t", "-c", conf], capture_output=True, timeout=BOUND)
    check(run.returncode != 0, "hopsocks -t accepted admin on the listen address: %s"
          % run.stderr.decode(errors="replace"))
    check(b"admin" in run.stderr, "the error does not name the admin directive: %s"
          % run.stderr.decode(errors="replace"))


def http_get_host(port, host, path="/metrics"):
    """The status of GET path sent with the given Host field (None: none)."""
    s = connect(("127.0.0.1", port), BOUND)
    field = "" if host is None else "Host: %s\r\n" % host
    s.sendall(("GET %s HTTP/1.1\r\n%s\r\n" % (path, field)).encode())
    data, how = read_to_close(s, BOUND)
    s.close()
    check(how == "eof", "Host %r: the response did not end in a clean close (%s)" % (host, how))
    return parse_response(data, "GET %s with Host %r" % (path, host))


@suite.test("DNS rebinding: a Host that names another site gets 403 and no data; localhost, "
            "loopback literals, the listener's address and no Host are served")
def test_admin_host_check(ctx):
    hs, port = start_with_admin(ctx, workers=1)
    for host in ("evil.example", "evil.example:%d" % port, "localhost.evil.example",
                 "192.0.2.1:%d" % port, "", "[::1"):
        status, _, body = http_get_host(port, host)
        check_eq(status, 403, "GET /metrics with Host %r" % host)
        check(b"hopsocks_" not in body, "Host %r: the 403 carries metrics: %s" % (host, show(body)))
    for host in ("localhost", "LOCALHOST:%d" % port, "127.0.0.1:%d" % port, "127.0.0.2",
                 "[::1]:%d" % port, None):
        status, _, body = http_get_host(port, host)
        check_eq(status, 200, "GET /metrics with Host %r" % host)
        check(b"hopsocks_" in body,
              "Host %r: no metrics in %s" % (host, show(body)))
    check_eq(http_get_host(port, "evil.example", "/")[0], 403, "GET / with Host evil.example")
    check_eq(http_get_host(port, "evil.example", "/health")[0], 403,
             "GET /health with Host evil.example")


@suite.test("an admin address beyond loopback is refused by -t and at start unless the line "
            "says 'public'; with it, hopsocks starts and warns")
def test_admin_public_word(ctx):
    port = free_port()
    conf = os.path.join(ctx.tmpdir, "public.conf")
    with open(conf, "w") as f:
        f.write("admin 0.0.0.0:%d\n" % port)
    for args in (["-t", "-c", conf], ["-c", conf, "-l", "127.0.0.1:%d" % free_port()]):
        run = subprocess.run([HOPSOCKS_BIN] + args, capture_output=True, timeout=BOUND)
        err = run.stderr.decode(errors="replace")
        check(run.returncode != 0, "hopsocks %s accepted admin 0.0.0.0: %s" % (args[0], err))
        check("admin 0.0.0.0:%d public" % port in err and "no authentication" in err,
              "hopsocks %s: the error does not say how to ask for it: %s" % (args[0], err))
    with open(conf, "w") as f:
        f.write("admin 0.0.0.0:%d public\n" % port)
    run = subprocess.run([HOPSOCKS_BIN, "-t", "-c", conf], capture_output=True, timeout=BOUND)
    check_eq(run.returncode, 0, "hopsocks -t with 'admin 0.0.0.0:%d public' (stderr %s)"
             % (port, run.stderr.decode(errors="replace")))
    hs = ctx.hopsocks(config=["admin 0.0.0.0:%d public" % port], workers=1)
    check(wait_until(lambda: "is public: it has no authentication" in hs.stderr_text(), BOUND),
          "no warning about a public admin listener: %s" % hs.stderr_tail(5))
    # Public: any address literal is a fine Host, a name still is not.
    check_eq(http_get_host(port, "192.0.2.1:%d" % port)[0], 200, "Host 192.0.2.1 (public)")
    check_eq(http_get_host(port, "evil.example")[0], 403, "Host evil.example (public)")


if __name__ == "__main__":
    suite.run()
