#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors.
"""Client-supplied bytes can neither forge nor break a log line.

The rule (hopsocks(8) LOGGING): every client-supplied string in a log line
-- a SOCKS5 RFC 1929 user name, a SOCKS4 USERID, an HTTP Basic user name, an
HTTP method, a destination name -- is escaped: each byte that is not a
visible ASCII character (0x21..0x7e), and the backslash, single quote and
double quote, is written as \\xHH (two lower-case hex digits); every other
byte is copied.  So an escaped value holds no space, quote, control
character or byte >= 0x80, and unescaping \\xHH gives back the bytes.

Each test sends names full of line breaks, ESC, spaces, quotes,
backslashes, '=' (to forge key=value fields), UTF-8 and invalid UTF-8,
every byte 01..ff, and one name whose newline is followed by a complete
forged record of a failed login from 203.0.113.9 (what a fail2ban regex
matches).  Then, on hopsocks' raw stderr bytes: every line is one
well-formed record (timestamp, hopsocks[PID], a level; printable ASCII
only), the access line parses as key=value fields in the documented order
with user= or target= unescaping to exactly the bytes sent, the
'authentication failed for user' line names exactly the bytes sent,
203.0.113.9 appears only inside escaped values, and a fail2ban-style
filter finds failed logins from 127.0.0.1 only.  A test reports every
broken name and line at once.
"""

import base64
import json
import os
import pwd
import shutil
import re
import signal
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import HOPSOCKS_BIN, free_port, port_accepts, socks5_open  # noqa: E402
from harness import parse_access, read_socks5_reply, require_program, socks5_auth  # noqa: E402
from harness import SRCDIR, Skip, check_eq, closed_port, socks5_request  # noqa: E402
from harness import (BOUND, Suite, TestFailure, check, connect, read_socks4_reply,  # noqa: E402
                     read_to_close, recv_exact, show, socks4_request, wait_until, write_users)
from dnsserver import DnsServer  # noqa: E402
from servers import EchoServer  # noqa: E402

suite = Suite()

USERS = {"alice": "wonderland"}

# A complete record of a failed login from 203.0.113.9 (TEST-NET-3), as a
# fail2ban filter for hopsocks would match it, behind a newline.
FORGED = (b"x\n2026-01-01T00:00:00.000Z hopsocks[1]: warn client 203.0.113.9:1 session 1: "
          b"authentication failed for user 'x'")
FORGED_HOST = b"203.0.113.9"

# User names for RFC 1929 and SOCKS4 USERIDs: any bytes but NUL, 1..255.
NAMES = [
    b"new\nline",
    b"carriage\rreturn",
    b"esc\x1b[1mbold\x1b[0m",
    b"tab\tand\x7fdel",
    b"with space user=root result=ok",
    b"quote'single",
    b'quote"double',
    b"back\\slash",
    b"literal\\x41escape",          # must come back as backslash x 4 1, not 'A'
    b"key=value",
    "jörg".encode(),               # UTF-8
    b"\xff\xfe\x80raw-high",       # not UTF-8
    FORGED,
    bytes(range(1, 256)),          # every byte but NUL: 255, the longest name
]

# HTTP Basic user names: no control characters and no ':' (RFC 7617; hopsocks
# refuses such credentials before it looks at the name).
HTTP_NAMES = [
    b"with space user=root result=ok",
    b"quote'single",
    b'quote"double',
    b"back\\slash",
    b"literal\\x41escape",
    b"key=value",
    "jörg".encode(),
    b"\xff\xfe\x80raw-high",
    b"x' from 203.0.113.9 port 1 'y",
    bytes(b for b in range(0x20, 0x100) if b != 0x7f and b != ord(":")),
]

ACCESS_KEYS = [b"client", b"session", b"user", b"proto", b"cmd", b"target", b"addr", b"route", b"result",
               b"up", b"down", b"ms"]
RECORD_RE = re.compile(rb"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) hopsocks\[(\d+)\]: "
                       rb"(error|warn|info|debug) (.+)", re.S)
# A sloppy fail2ban-style filter: anywhere in a line, not anchored.
FAIL2BAN_RE = re.compile(rb"client (\d{1,3}(?:\.\d{1,3}){3}):\d+(?: session \d+)?: "
                         rb"authentication failed")
HEX = b"0123456789abcdef"
ESCAPE_RE = re.compile(rb"\\x[0-9a-f]{2}")


# ------------------------------------------------------------------ helpers

def plain(byte):
    """Copied as it is by the escaping: visible ASCII but \\ ' and \"."""
    return 0x21 <= byte <= 0x7E and byte not in b"\\'\""


def escape(data):
    """The escaped form of data by the rule (for the messages)."""
    return b"".join(bytes([c]) if plain(c) else b"\\x%02x" % c for c in data)


def unescape(value, what="value"):
    """The bytes an escaped log value stands for.  Strict: a byte that must
    be escaped but appears raw, a backslash not followed by x and two
    lower-case hex digits, or an escape of a byte that is copied as it is
    fails the test (naming what), so only the one escaped form of a string
    unescapes."""
    out = bytearray()
    i = 0
    while i < len(value):
        c = value[i]
        if c == 0x5C:
            esc = value[i:i + 4]
            if (len(esc) != 4 or esc[1:2] != b"x" or esc[2] not in HEX
                    or esc[3] not in HEX):
                raise TestFailure("%s: backslash at offset %d not followed by x and two "
                                  "lower-case hex digits in %s" % (what, i, brief(value)))
            byte = int(esc[2:4], 16)
            if plain(byte):
                raise TestFailure("%s: %r at offset %d escapes a byte that is copied as it is, "
                                  "in %s" % (what, esc.decode(), i, brief(value)))
            out.append(byte)
            i += 4
        elif plain(c):
            out.append(c)
            i += 1
        else:
            raise TestFailure("%s: raw byte 0x%02x at offset %d (must be \\x%02x) in %s"
                              % (what, c, i, c, brief(value)))
    return bytes(out)


def brief(data, limit=160):
    """bytes for a TAP message: Python's repr (every control byte and byte
    >= 0x80 escaped, so a message stays one line), cut at limit."""
    text = repr(bytes(data))
    return text if len(text) <= limit else text[:limit] + "...(%d bytes)" % len(data)


def log_bytes(hs):
    """hs's stderr as written (harness.stderr_text() replaces bytes that are
    not UTF-8, so it cannot tell the bytes apart)."""
    try:
        with open(hs.err_path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return b""


def own_log(hs):
    """What the running hs process wrote: its stderr after the harness'
    start marker for it (earlier attempts on a port taken meanwhile are
    other processes)."""
    raw = log_bytes(hs)
    marker = ("---- start: %s\n" % " ".join(hs.command())).encode()
    at = raw.rfind(marker)
    check(at >= 0, "hopsocks stderr has no start marker %s" % brief(marker))
    return raw[at + len(marker):]


def records(hs):
    """Split what the running hs wrote to stderr into lines and check each
    is one well-formed record: 'TIMESTAMP hopsocks[PID]: LEVEL MESSAGE' with
    hs's own pid, printable ASCII only, the last one ended by a newline.
    Returns (records, problems): records are (line number, level, message)
    of the lines that start like a record of hs; problems name each
    offending line."""
    data = own_log(hs)
    problems, recs = [], []
    if data and not data.endswith(b"\n"):
        problems.append("stderr does not end with a newline: the last record is cut")
    pid = str(hs.pid).encode()
    for number, line in enumerate(data.split(b"\n")[:-1] if data else [], 1):
        m = RECORD_RE.fullmatch(line)
        if not m:
            problems.append("stderr line %d is not a record (TIMESTAMP hopsocks[PID]: LEVEL "
                            "...): %s" % (number, brief(line)))
            continue
        if m.group(2) != pid:
            problems.append("stderr line %d forges a record of pid %s (hopsocks is %s): %s"
                            % (number, m.group(2).decode(), pid.decode(), brief(line)))
            continue
        bad = [c for c in line if not 0x20 <= c <= 0x7E]
        if bad:
            problems.append("stderr line %d holds raw byte 0x%02x: %s"
                            % (number, bad[0], brief(line)))
        recs.append((number, m.group(3), m.group(4)))
    return recs, problems


def parse_access_strict(message):
    """The fields of an access message ('access client=... session=N user=...'): one
    space between tokens, each KEY=VALUE, the documented keys first and in
    order, no key twice.  Raises TestFailure naming what is wrong."""
    check(message.startswith(b"access "), "not an access message: %s" % brief(message))
    fields = {}
    for token in message[len(b"access "):].split(b" "):
        key, sep, value = token.partition(b"=")
        if not sep or not re.fullmatch(rb"[a-z_]+", key) or not value:
            raise TestFailure("token %s is not KEY=VALUE in access line %s"
                              % (brief(token), brief(message)))
        if key in fields:
            raise TestFailure("key %s twice in access line %s" % (key.decode(), brief(message)))
        fields[key] = value
    keys = list(fields)[:len(ACCESS_KEYS)]
    if keys != ACCESS_KEYS:
        raise TestFailure("access line keys %s, want %s first: %s"
                          % (b" ".join(keys).decode(), b" ".join(ACCESS_KEYS).decode(),
                             brief(message)))
    return fields


def text(value):
    """A field value for a message (None: the field is missing)."""
    return "(none)" if value is None else value.decode("ascii", "backslashreplace")


def client_of(sock):
    return ("%s:%d" % sock.getsockname()[:2]).encode()


def wait_access_lines(hs, clients):
    """Wait (bounded) until every client's access line was written; the
    clients still missing, as problems."""
    def missing():
        raw = log_bytes(hs)
        return [c for c in clients if b" info access client=" + c + b" " not in raw]
    wait_until(lambda: not missing())
    return ["no access line for client %s within %.0fs" % (c.decode(), BOUND)
            for c in missing()]


def access_fields(recs, client, what):
    """The strictly parsed fields of client's one access line."""
    lines = [(level, msg) for _, level, msg in recs
             if msg.startswith(b"access client=" + client + b" ")]
    check(len(lines) == 1, "%s: %d access lines, want 1" % (what, len(lines)))
    level, msg = lines[0]
    check(level == b"info", "%s: access line at level %s, want info" % (what, level.decode()))
    try:
        return parse_access_strict(msg)
    except TestFailure as e:
        raise TestFailure("%s: %s" % (what, e))


def check_field(fields, key, want, what):
    """fields[key] (escaped) must unescape to exactly want."""
    value = fields.get(key)
    check(value is not None, "%s: no %s= field" % (what, key.decode()))
    got = unescape(value, "%s: %s=" % (what, key.decode()))
    if got != want:
        raise TestFailure("%s: %s=%s unescapes to %s, want %s (escaped: %s)"
                          % (what, key.decode(), brief(value), brief(got), brief(want),
                             brief(escape(want))))


def about(msg, client):
    """What a line about one of client's sessions says after 'client
    ADDR:PORT session N: ' (None for another line)."""
    m = re.match(rb"client " + re.escape(client) + rb" session [1-9][0-9]*: ", msg)
    return msg[m.end():] if m else None


def check_auth_failed(recs, client, name, what):
    """client's one 'authentication failed' warning names exactly name."""
    head = b"authentication failed for user "
    lines = [(level, about(msg, client)) for _, level, msg in recs
             if (about(msg, client) or b"").startswith(head)]
    check(len(lines) == 1, "%s: %d 'authentication failed' lines for client %s, want 1"
          % (what, len(lines), client.decode()))
    level, msg = lines[0]
    check(level == b"warn", "%s: 'authentication failed' at level %s, want warn"
          % (what, level.decode()))
    quoted = msg[len(head):]
    check(len(quoted) >= 2 and quoted[:1] == b"'" and quoted[-1:] == b"'",
          "%s: the user name is not between single quotes: %s" % (what, brief(msg)))
    got = unescape(quoted[1:-1], what + ": 'authentication failed' name")
    if got != name:
        raise TestFailure("%s: 'authentication failed' names %s, want %s (escaped: %s)"
                          % (what, brief(got), brief(name), brief(escape(name))))


def collect(problems, fn, *args):
    """Run one check, adding its failure to problems instead of stopping."""
    try:
        fn(*args)
    except TestFailure as e:
        problems.append(str(e))


def report(problems, limit=40):
    """Fail with every problem found (at most limit of them), one a line."""
    if problems:
        shown = problems[:limit]
        if len(problems) > limit:
            shown.append("... and %d more" % (len(problems) - limit))
        raise TestFailure("\n".join(shown))


def forgery_problems(hs, host=FORGED_HOST):
    """The forged record must stay inside the escaped value that carries it:
    every space-separated token of a line that holds host also holds a \\xHH
    escape (so it is part of an escaped value, not a field of its own), and a
    sloppy fail2ban-style filter run over every raw line finds failed logins
    from 127.0.0.1 only."""
    problems = []
    hosts = set()
    for number, line in enumerate(own_log(hs).split(b"\n"), 1):
        hosts.update(FAIL2BAN_RE.findall(line))
        loose = [t for t in line.split(b" ") if host in t and not ESCAPE_RE.search(t)]
        if loose:
            problems.append("stderr line %d has %s outside an escaped value (token %s): %s"
                            % (number, host.decode(), brief(loose[0]), brief(line)))
    if hosts - {b"127.0.0.1"}:
        problems.append("a fail2ban-style filter finds failed logins from %s, want only "
                        "127.0.0.1" % ", ".join(sorted(h.decode() for h in hosts)))
    return problems


def userpass(user, password):
    """RFC 1929 message for raw byte strings."""
    return b"\x01" + bytes([len(user)]) + user + bytes([len(password)]) + password


# --------------------------------------------------------------- the tests

@suite.test("SOCKS5 user names with LF, CR, ESC, space, quotes, backslash, '=', bytes >= 0x80, "
            "01..ff, a forged record; wrong password: each stderr line one record, "
            "'authentication failed' and access user= unescape to the exact name")
def t_socks5_user(ctx):
    hs = ctx.hopsocks(config=["users " + write_users(ctx, USERS), "auth-throttle off"])
    sessions = []
    for name in NAMES + [b"alice"]:
        password = USERS["alice"].encode() if name == b"alice" else b"wrong"
        with connect(hs.addr) as sock:
            client = client_of(sock)
            sock.sendall(b"\x05\x01\x02")
            check(recv_exact(sock, 2, "method selection") == b"\x05\x02",
                  "method selection for %s" % brief(name))
            sock.sendall(userpass(name, password))
            reply = recv_exact(sock, 2, "RFC 1929 reply for %s" % brief(name))
            if name == b"alice":
                check(reply == b"\x01\x00", "RFC 1929 reply for alice: %s" % show(reply))
            else:
                check(reply[0] == 1 and reply[1] != 0, "RFC 1929 reply for %s: %s, want 01 "
                      "<non-zero>" % (brief(name), show(reply)))
                read_to_close(sock)
        sessions.append((name, client))
    problems = wait_access_lines(hs, [c for _, c in sessions])
    recs, bad = records(hs)
    problems += bad
    for name, client in sessions:
        what = "user %s (client %s)" % (brief(name, 60), client.decode())

        def access(name=name, client=client, what=what):
            fields = access_fields(recs, client, what)
            check_field(fields, b"user", name, what + " access")
            result = b"closed" if name == b"alice" else b"auth-failed"  # alice: no request
            check((fields.get(b"proto"), fields.get(b"result")) == (b"socks5", result),
                  "%s access: proto=%s result=%s, want socks5 %s"
                  % (what, text(fields.get(b"proto")), text(fields.get(b"result")),
                     result.decode()))

        def warning(name=name, client=client, what=what):
            if name != b"alice":
                check_auth_failed(recs, client, name, what)
            else:
                check(not [m for _, _, m in recs if b"authentication failed" in m
                           and about(m, client) is not None],
                      "%s: an 'authentication failed' line for the right password" % what)
        collect(problems, access)
        collect(problems, warning)
    problems += forgery_problems(hs)
    report(problems)


@suite.test("SOCKS4 USERIDs ('socks4 on') with the same bytes: each stderr line one record, "
            "access user= unescapes to the exact USERID")
def t_socks4_userid(ctx):
    echo = ctx.own(EchoServer())
    hs = ctx.hopsocks(config=["socks4 on"])
    sessions = []
    for userid in NAMES:
        with connect(hs.addr) as sock:
            client = client_of(sock)
            sock.sendall(socks4_request("127.0.0.1", echo.port, userid))
            cd, _, _, raw = read_socks4_reply(sock)
            check(cd == 0x5A, "SOCKS4 reply for USERID %s: %s, want 5a"
                  % (brief(userid), show(raw)))
        sessions.append((userid, client))
    problems = wait_access_lines(hs, [c for _, c in sessions])
    recs, bad = records(hs)
    problems += bad
    for userid, client in sessions:
        what = "USERID %s (client %s)" % (brief(userid, 60), client.decode())

        def one(userid=userid, client=client, what=what):
            fields = access_fields(recs, client, what)
            check_field(fields, b"user", userid, what + " access")
            check(fields.get(b"proto") == b"socks4", "%s access: proto=%s, want socks4"
                  % (what, text(fields.get(b"proto"))))
        collect(problems, one)
    problems += forgery_problems(hs)
    report(problems)


def http_response(status, reason, detail=None, extra=""):
    """The exact error response hopsocks sends (see test_http.py)."""
    body = (reason + (": " + detail if detail else "") + "\n").encode()
    return ("HTTP/1.1 %d %s\r\n%sContent-Type: text/plain\r\nContent-Length: %d\r\n"
            "Connection: close\r\n\r\n" % (status, reason, extra, len(body))).encode() + body


RESPONSE_407 = http_response(407, "Proxy Authentication Required",
                             extra='Proxy-Authenticate: Basic realm="hopsocks"\r\n')


def http_exchange(hs, request):
    """Send request, read until hopsocks closes: (client, bytes, how)."""
    with connect(hs.addr) as sock:
        client = client_of(sock)
        sock.sendall(request)
        data, how = read_to_close(sock)
    return client, data, how


@suite.test("HTTP Basic user names with space, quotes, backslash, '=', bytes >= 0x80, a forged "
            "address; wrong password: exact 407, 'authentication failed' and access user= "
            "unescape to the exact name")
def t_http_basic_user(ctx):
    echo = ctx.own(EchoServer())
    hs = ctx.hopsocks(config=["users " + write_users(ctx, USERS), "auth-throttle off"])
    target = b"127.0.0.1:%d" % echo.port
    sessions = []
    for name in HTTP_NAMES:
        cred = base64.b64encode(name + b":wrong")
        request = (b"CONNECT " + target + b" HTTP/1.1\r\nHost: " + target +
                   b"\r\nProxy-Authorization: Basic " + cred + b"\r\n\r\n")
        client, data, how = http_exchange(hs, request)
        check(how in ("eof", "reset"), "user %s: connection not closed (%s)" % (brief(name), how))
        check(data == RESPONSE_407, "user %s: response %s, want the exact 407 %s"
              % (brief(name), brief(data), brief(RESPONSE_407)))
        sessions.append((name, client))
    problems = wait_access_lines(hs, [c for _, c in sessions])
    recs, bad = records(hs)
    problems += bad
    for name, client in sessions:
        what = "Basic user %s (client %s)" % (brief(name, 60), client.decode())

        def access(name=name, client=client, what=what):
            fields = access_fields(recs, client, what)
            check_field(fields, b"user", name, what + " access")
            check((fields.get(b"proto"), fields.get(b"result")) == (b"http", b"auth-failed"),
                  "%s access: proto=%s result=%s, want http auth-failed"
                  % (what, text(fields.get(b"proto")), text(fields.get(b"result"))))
        collect(problems, access)
        collect(problems, check_auth_failed, recs, client, name, what)
    problems += forgery_problems(hs)
    if echo.peers:
        problems.append("the target saw %d connections, want none" % len(echo.peers))
    report(problems)


@suite.test("HTTP methods M-SEARCH, PROP_FIND, PUT: exact 501, 'HTTP method M not supported' "
            "names exactly M; 'G\\x1bT', 'G\\xc3\\x89T', 'P\"UT' closed silently; ESC and LF "
            "in the request line: exact 400; each stderr line one record")
def t_http_method(ctx):
    hs = ctx.hopsocks()
    problems = []
    # http_detect (src/proto/http.c) takes an uppercase letter, then letters,
    # '-' or '_', then a space: the only methods that reach the 'not
    # supported' message, so none with a byte that needs escaping.
    supported_msg = http_response(501, "Not Implemented", "method not supported (only CONNECT)")
    methods = []
    for method in (b"M-SEARCH", b"PROP_FIND", b"PUT"):
        client, data, how = http_exchange(hs, method + b" / HTTP/1.1\r\nHost: x\r\n\r\n")
        check(data == supported_msg, "%s: response %s, want the exact 501 %s"
              % (method.decode(), brief(data), brief(supported_msg)))
        methods.append((method, client))
    others = []
    for request in (b"G\x1bT / HTTP/1.1\r\n\r\n", b"G\xc3\x89T / HTTP/1.1\r\n\r\n",
                    b"P\"UT / HTTP/1.1\r\n\r\n"):
        client, data, how = http_exchange(hs, request)
        check(data == b"" and how in ("eof", "reset"), "%s: got %s (%s), want a close and "
              "nothing" % (brief(request), brief(data), how))
        others.append(client)
    bad400 = http_response(400, "Bad Request", "malformed HTTP header")
    client, data, how = http_exchange(
        hs, b"PUT /\x1b[1m\n2026-01-01T00:00:00.000Z hopsocks[1]: warn client 203.0.113.9:1 session 1: "
            b"authentication failed for user 'x' HTTP/1.1\r\n\r\n")
    check(data == bad400, "request line with ESC and LF: response %s, want the exact 400 %s"
          % (brief(data), brief(bad400)))
    others.append(client)
    problems += wait_access_lines(hs, [c for _, c in methods] + others)
    recs, bad = records(hs)
    problems += bad
    for method, client in methods:
        head = b"HTTP method "
        tail = b" not supported (only CONNECT)"
        lines = [about(msg, client) for _, level, msg in recs
                 if (about(msg, client) or b"").startswith(head) and msg.endswith(tail)]
        if len(lines) != 1:
            problems.append("%d 'HTTP method ... not supported' lines for client %s, want 1"
                            % (len(lines), client.decode()))
            continue

        def one(method=method, value=lines[0][len(head):-len(tail)]):
            got = unescape(value, "HTTP method %s" % method.decode())
            check(got == method, "method logged as %s, want %s" % (brief(got), brief(method)))
        collect(problems, one)
    problems += forgery_problems(hs)
    report(problems)


@suite.test("destination names with LF, space, quotes, backslash, bytes >= 0x80 (SOCKS5, "
            "SOCKS4a; a quote over HTTP): access target= unescapes to exactly name:port")
def t_target_name(ctx):
    dns = ctx.own(DnsServer({}))
    hs = ctx.hopsocks(config=["resolver " + dns.resolver])
    problems, sessions = [], []
    for name, port in ((b"evil\nname with space'quote", 80),
                       (b'b\\x41ck"slash=1\r\x1b[1m\xc3\xa9\xff.test', 4242),
                       (b"x\n2026-01-01T00:00:00.000Z hopsocks[1]: warn client 203.0.113.9:1 session 1: "
                        b"authentication failed for user 'x'", 443)):
        with connect(hs.addr) as sock:
            client = client_of(sock)
            sock.sendall(b"\x05\x01\x00")
            check(recv_exact(sock, 2, "method selection") == b"\x05\x00", "method selection")
            sock.sendall(b"\x05\x01\x00\x03" + bytes([len(name)]) + name + port.to_bytes(2, "big"))
            read_to_close(sock)  # the reply (NXDOMAIN: a failure) does not matter here
        sessions.append(("SOCKS5 name %s" % brief(name, 60), client, b"socks5",
                         name + b":%d" % port))
    name = b"four\na name'with\xc3\xa9"
    with connect(hs.addr) as sock:
        client = client_of(sock)
        sock.sendall(socks4_request("0.0.0.1", 8080, b"") + name + b"\x00")
        read_to_close(sock)
    sessions.append(("SOCKS4a name %s" % brief(name), client, b"socks4a", name + b":8080"))
    client, data, how = http_exchange(hs, b"CONNECT it's.test:80 HTTP/1.1\r\n\r\n")
    sessions.append(("HTTP CONNECT it's.test:80", client, b"http", b"it's.test:80"))
    problems += wait_access_lines(hs, [c for _, c, _, _ in sessions])
    recs, bad = records(hs)
    problems += bad
    for what, client, proto, want in sessions:
        what = "%s (client %s)" % (what, client.decode())

        def one(what=what, client=client, proto=proto, want=want):
            fields = access_fields(recs, client, what)
            check_field(fields, b"target", want, what + " access")
            check(fields.get(b"proto") == proto, "%s access: proto=%s, want %s"
                  % (what, text(fields.get(b"proto")), proto.decode()))
        collect(problems, one)
    problems += forgery_problems(hs)
    report(problems)


@suite.test("a log reader that stops reading stalls no session: with -v and stderr a pipe nobody "
            "reads, 2,000 SOCKS5 sessions each echo their bytes; once the pipe is read again, "
            "the lines dropped meanwhile are counted in a 'log: N lines dropped' line")
def t_stalled_log_reader(ctx):
    echo = ctx.own(EchoServer())
    port = free_port()
    conf = os.path.join(ctx.tmpdir, "stalled.conf")
    with open(conf, "w") as f:
        f.write("listen 127.0.0.1:%d\nworkers 2\n" % port)
    proc = subprocess.Popen([HOPSOCKS_BIN, "-v", "-c", conf], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        check(wait_until(lambda: port_accepts("127.0.0.1", port) or proc.poll() is not None),
              "hopsocks did not listen")
        check(proc.poll() is None, "hopsocks exited at start")
        # Nobody reads proc.stderr: the pipe fills after 64 KiB of log.
        deadline = time.monotonic() + BOUND * 4
        for i in range(2000):
            check(time.monotonic() < deadline, "only %d of 2000 sessions in %.0f s" % (i, BOUND * 4))
            sock = socks5_open(("127.0.0.1", port), "127.0.0.1", echo.port)[0]
            with sock:
                payload = b"session %d" % i
                sock.sendall(payload)
                check(recv_exact(sock, len(payload), "echo") == payload, "session %d: echo" % i)
        # Read the pipe again: the writer goes on and says what it lost.
        got = bytearray()
        done = threading.Event()

        def drain():
            while not done.is_set():
                chunk = os.read(proc.stderr.fileno(), 65536)
                if not chunk:
                    return
                got.extend(chunk)
                if re.search(rb"log: [0-9]+ lines dropped: the log reader did not keep up", got):
                    done.set()
        reader = threading.Thread(target=drain, daemon=True)
        reader.start()
        check(done.wait(BOUND), "no 'log: N lines dropped' line once the pipe was read: %r"
              % bytes(got[-300:]))
        m = re.search(rb"log: ([0-9]+) lines dropped", got)
        check(int(m.group(1)) > 0, "dropped count %s" % m.group(1))
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(BOUND)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise TestFailure("hopsocks did not exit on SIGTERM with a stalled log reader")
    check(rc == 0, "exit status %d after SIGTERM" % rc)


# ------------------------------------------------------ log files and JSON

def file_text(path):
    """The complete lines of a log file ('' if it does not exist)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return ""
    return data[:data.rfind(b"\n") + 1].decode("utf-8", "replace")


def file_access(path):
    """The access records in path, but for the harness' readiness probes
    (connections that sent nothing)."""
    return [r for r in parse_access(file_text(path)) if r.get("proto") != "-"]


def echo_sessions(hs, echo, n, auth=None):
    """n SOCKS5 CONNECTs through hs to echo, each echoing its own bytes;
    the client addresses ("127.0.0.1:PORT"), in order."""
    clients = []
    for i in range(n):
        sock = socks5_open(hs.addr, "127.0.0.1", echo.port, auth)[0]
        with sock:
            clients.append("%s:%d" % sock.getsockname()[:2])
            payload = b"session %d" % i
            sock.sendall(payload)
            check_eq(recv_exact(sock, len(payload), "echo"), payload, "echo of session %d" % i)
    return clients


def wait_clients(path, clients, what):
    """Wait (bounded) until path holds an access line for every client."""
    def missing():
        have = {r.get("client") for r in file_access(path)}
        return [c for c in clients if c not in have]
    wait_until(lambda: not missing())
    check(not missing(), "%s: no access line for %d of %d clients within %.0fs"
          % (what, len(missing()), len(clients), BOUND))


def in_dir(path):
    """A wrapper that starts hopsocks in directory path (its pid stays the
    same: sh execs it)."""
    return ["sh", "-c", 'cd "$0" && exec "$@"', path]


@suite.test("log-to file (a relative path, from the starting directory): lines go to the file "
            "(mode 0640), none to stderr; mv + SIGUSR2: the next lines go to a new file at the "
            "path; 25 sessions before and 25 after: exactly their access lines, none lost or "
            "twice, each in its file")
def t_log_file_reopen(ctx):
    echo = ctx.own(EchoServer())
    hs = ctx.hopsocks(config=["log-to file hs.log"], wrapper=in_dir(ctx.tmpdir))
    path = os.path.join(ctx.tmpdir, "hs.log")
    check(wait_until(lambda: " listening on " in file_text(path)),
          "no start-up line in %s: %r" % (path, file_text(path)[-300:]))
    umask = os.umask(0)
    os.umask(umask)
    check_eq(oct(os.stat(path).st_mode & 0o777), oct(0o640 & ~umask), "the log file's mode")
    before = echo_sessions(hs, echo, 25)
    wait_clients(path, before, "before the rotation")
    os.rename(path, path + ".1")
    os.kill(hs.pid, signal.SIGUSR2)
    check(wait_until(lambda: "log: reopened %s" % path in file_text(path)),
          "no 'log: reopened %s' line in a new %s" % (path, path))
    after = echo_sessions(hs, echo, 25)
    wait_clients(path, after, "after the rotation")
    hs.stop_expect_zero()
    old = [r.get("client") for r in file_access(path + ".1")]
    new = [r.get("client") for r in file_access(path)]
    check_eq(sorted(old), sorted(before), "clients of the access lines in the moved file")
    check_eq(sorted(new), sorted(after), "clients of the access lines in the new file")
    check("received Terminated" in file_text(path), "no shutdown line in the new file")
    logged = [l for l in hs.stderr_text().splitlines() if not l.startswith("---- start")]
    check_eq(logged, [], "lines on stderr")


@suite.test("logrotate -f with a test-local configuration (create, postrotate kill -USR2): the "
            "file is rotated, hopsocks writes on to the new one; 10 + 10 sessions' access lines "
            "exactly in the rotated and the new file")
def t_logrotate(ctx):
    logrotate = require_program("logrotate", "logrotate")
    echo = ctx.own(EchoServer())
    path = os.path.join(ctx.tmpdir, "hopsocks.log")
    hs = ctx.hopsocks(config=["log-to file " + path])
    before = echo_sessions(hs, echo, 10)
    wait_clients(path, before, "before logrotate")
    conf = os.path.join(ctx.tmpdir, "logrotate.conf")
    with open(conf, "w") as f:
        f.write('"%s" {\n\trotate 2\n\tcreate 0640\n\tpostrotate\n\t\tkill -USR2 %d\n'
                '\tendscript\n}\n' % (path, hs.pid))
    os.chmod(conf, 0o644)
    run = subprocess.run([logrotate, "-f", "-s", os.path.join(ctx.tmpdir, "state"), conf],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=BOUND)
    check(run.returncode == 0, "logrotate exit %d: %s" % (run.returncode, run.stdout.decode()))
    check(wait_until(lambda: "log: reopened %s" % path in file_text(path)),
          "no 'log: reopened' line in the new file after logrotate: %r" % file_text(path))
    after = echo_sessions(hs, echo, 10)
    wait_clients(path, after, "after logrotate")
    hs.stop_expect_zero()
    check_eq(sorted(r.get("client") for r in file_access(path + ".1")), sorted(before),
             "clients in the rotated file")
    check_eq(sorted(r.get("client") for r in file_access(path)), sorted(after),
             "clients in the new file")


@suite.test("contrib/logrotate.d/hopsocks, its log-to file stanza run for real (moved to the "
            "test's directory; its pid-file branch): the file is rotated, hopsocks reopens it; "
            "10 + 10 sessions' access lines exactly in the rotated and the new file")
def t_contrib_logrotate(ctx):
    logrotate = require_program("logrotate", "logrotate")
    with open(os.path.join(SRCDIR, "contrib", "logrotate.d", "hopsocks")) as f:
        contrib = f.read()
    start = contrib.index("/var/log/hopsocks/*.log {")
    stanza = contrib[start:contrib.index("\n}\n", start) + 3]
    logdir = os.path.join(ctx.tmpdir, "log")
    os.mkdir(logdir)
    pidfile = os.path.join(ctx.tmpdir, "hopsocks.pid")
    # A unit of that name never runs here, so the pid file's branch is taken.
    for old, new in (("/var/log/hopsocks/", logdir + "/"), ("/run/hopsocks.pid", pidfile),
                     ("hopsocks.service", "hopsocks-test-%d.service" % os.getpid())):
        check(old in stanza, "%r not in the stanza" % old)
        stanza = stanza.replace(old, new)
    conf = os.path.join(ctx.tmpdir, "logrotate.conf")
    with open(conf, "w") as f:
        f.write(stanza)
    echo = ctx.own(EchoServer())
    path = os.path.join(logdir, "hopsocks.log")
    hs = ctx.hopsocks(config=["log-to file " + path, "pid-file " + pidfile])
    before = echo_sessions(hs, echo, 10)
    wait_clients(path, before, "before logrotate")
    run = subprocess.run([logrotate, "-f", "-s", os.path.join(ctx.tmpdir, "state"), conf],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=BOUND)
    check(run.returncode == 0, "logrotate exit %d: %s" % (run.returncode, run.stdout.decode()))
    check(wait_until(lambda: "log: reopened %s" % path in file_text(path)),
          "no 'log: reopened' line in the new file: %r" % file_text(path))
    after = echo_sessions(hs, echo, 10)
    wait_clients(path, after, "after logrotate")
    hs.stop_expect_zero()
    check_eq(sorted(r.get("client") for r in file_access(path + ".1")), sorted(before),
             "clients in the rotated file")
    check_eq(sorted(r.get("client") for r in file_access(path)), sorted(after),
             "clients in the new file")


@suite.test("a log file that cannot be opened fails the start, with and without -D: exit 1, "
            "'hopsocks: CONF:2: log-to: cannot open PATH: <why>' on stderr")
def t_log_file_error(ctx):
    for name, why in (("missing/hs.log", "No such file or directory"), ("adir", "Is a directory")):
        os.makedirs(os.path.join(ctx.tmpdir, "adir"), exist_ok=True)
        path = os.path.join(ctx.tmpdir, name)
        conf = os.path.join(ctx.tmpdir, "bad.conf")
        with open(conf, "w") as f:
            f.write("listen 127.0.0.1:%d\nlog-to file %s\n" % (free_port(), path))
        for args in ([], ["-D"]):
            run = subprocess.run([HOPSOCKS_BIN, "-c", conf] + args, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, timeout=BOUND)
            what = "log-to file %s%s" % (name, " with -D" if args else "")
            check_eq(run.returncode, 1, "%s: exit status" % what)
            check_eq(run.stderr.decode(), "hopsocks: %s:2: log-to: cannot open %s: %s\n"
                     % (conf, path, why), "%s: stderr" % what)


@suite.test("in the foreground with log-to file, a start that fails after the log is open "
            "(user: no such user) says why on stderr too, and in the file; exit 1")
def t_log_file_start_failure(ctx):
    if os.geteuid() != 0:
        raise Skip("needs root (else dropping privileges fails earlier, for another reason)")
    path = os.path.join(ctx.tmpdir, "hs.log")
    conf = os.path.join(ctx.tmpdir, "fail.conf")
    with open(conf, "w") as f:
        f.write("listen 127.0.0.1:%d\nlog-to file %s\nuser no-such-user-hopsocks\n"
                % (free_port(), path))
    run = subprocess.run([HOPSOCKS_BIN, "-c", conf], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, timeout=BOUND)
    want = "cannot drop privileges: user no-such-user-hopsocks: no such user"
    check_eq(run.returncode, 1, "exit status")
    check_eq(run.stderr.decode(), "hopsocks: %s\n" % want, "stderr")
    check(" error %s\n" % want in file_text(path), "no line %r in the log file: %r"
          % (want, file_text(path)))


@suite.test("user nobody, the log file in a directory only root may write: opened before the "
            "privilege drop, written to after it; a reopen that fails logs the error in the "
            "old file and keeps writing there")
def t_log_file_privileges(ctx):
    if os.geteuid() != 0:
        raise Skip("needs root to drop privileges")
    try:
        pwd.getpwnam("nobody")
    except KeyError:
        raise Skip("no user nobody")
    echo = ctx.own(EchoServer())
    logdir = os.path.join(ctx.tmpdir, "rootonly")
    os.mkdir(logdir, 0o700)
    path = os.path.join(logdir, "hs.log")
    hs = ctx.hopsocks(config=["log-to file " + path, "user nobody"])
    check(wait_until(lambda: " listening on " in file_text(path)), "no start-up line")
    check_eq(os.stat(path).st_uid, 0, "the log file's owner (created before the drop)")
    first = echo_sessions(hs, echo, 3)
    wait_clients(path, first, "as nobody")
    os.rename(path, path + ".1")
    os.kill(hs.pid, signal.SIGUSR2)
    want = ("log: cannot reopen %s: Permission denied; still writing to the file opened before"
            % path)
    check(wait_until(lambda: want in file_text(path + ".1")), "no line %r in the old file" % want)
    later = echo_sessions(hs, echo, 3)
    wait_clients(path + ".1", later, "after the failed reopen")
    check(not os.path.exists(path), "%s was created by nobody" % path)


@suite.test("a reload that changes log-to says it applies at restart and keeps the file; "
            "log-format changes at the reload (the next access line is JSON)")
def t_log_reload(ctx):
    echo = ctx.own(EchoServer())
    a = os.path.join(ctx.tmpdir, "a.log")
    b = os.path.join(ctx.tmpdir, "b.log")
    hs = ctx.hopsocks(config=["log-to file " + a])
    hs.config_lines = ["log-to file " + b, "log-format json"]
    hs._write_config()
    os.kill(hs.pid, signal.SIGHUP)
    check(wait_until(lambda: "configuration reloaded (generation 2)" in file_text(a)),
          "no reload line in %s: %r" % (a, file_text(a)[-400:]))
    check("warn reload: log-to changes only at restart" in file_text(a),
          "no 'log-to changes only at restart' warning")
    clients = echo_sessions(hs, echo, 1)

    # (The harness' readiness probe may end after the reload too: its
    # line is JSON as well, and not the one looked for.)
    def line():
        return [l for l in file_text(a).splitlines()
                if '"client":"%s"' % clients[0] in l and '"type":"access"' in l]
    check(wait_until(line), "no JSON access line for %s: %r" % (clients[0], file_text(a)[-500:]))
    rec = json.loads(line()[0])
    check_eq((rec["client"], rec["proto"], rec["cmd"], rec["result"]),
             (clients[0], "socks5", "connect", "ok"), "the JSON access line")
    check(not os.path.exists(b), "%s exists: the reload switched files" % b)


JSON_USERS = {"alice": "wonderland"}
JSON_NAMES = [b"quote\"double", b"back\\slash", b"new\nline", b"literal\\x41escape", FORGED,
              bytes(range(1, 256))]


def json_workload(hs, echo, dns_port):
    """The same sessions against a text and a JSON hopsocks: an echoed
    CONNECT with a password, failed logins with awkward names, a
    destination name that does not resolve, one denied by a rule. The
    client addresses, in order."""
    clients = echo_sessions(hs, echo, 1, auth=("alice", "wonderland"))
    for name in JSON_NAMES:
        with connect(hs.addr) as sock:
            clients.append("%s:%d" % sock.getsockname()[:2])
            sock.sendall(b"\x05\x01\x02" + userpass(name, b"wrong"))
            read_to_close(sock)
    for host, port in ((b'we"ird\\name\n.test', 80), (b"127.0.0.9", 7)):
        with connect(hs.addr) as sock:
            clients.append("%s:%d" % sock.getsockname()[:2])
            sock.sendall(b"\x05\x01\x02" + socks5_auth("alice", "wonderland"))
            check_eq(recv_exact(sock, 4, "method and auth"), b"\x05\x02\x01\x00", "auth")
            if host[0:1].isdigit():
                sock.sendall(socks5_request(host.decode(), port))
            else:
                sock.sendall(b"\x05\x01\x00\x03" + bytes([len(host)]) + host
                             + port.to_bytes(2, "big"))
            read_socks5_reply(sock)
            read_to_close(sock)
    return clients


@suite.test("log-format json: every line is one JSON object (json.loads); events have time, "
            "level, pid, msg; a session's lines client and session; each access line has the "
            "text form's keys in order and the same values (escaped names identical, numbers "
            "as numbers) as the same sessions against a text hopsocks")
def t_log_json(ctx):
    echo = ctx.own(EchoServer())
    dns = ctx.own(DnsServer({}))
    users = write_users(ctx, JSON_USERS)
    config = ["users " + users, "auth-throttle off", "resolver " + dns.resolver,
              "deny from * to 127.0.0.9", "allow from 127.0.0.0/8"]
    text_log = os.path.join(ctx.tmpdir, "text.log")
    json_log = os.path.join(ctx.tmpdir, "json.log")
    hs_text = ctx.hopsocks(config=config + ["log-to file " + text_log])
    hs_json = ctx.hopsocks(config=config + ["log-to file " + json_log, "log-format json"])
    text_clients = json_workload(hs_text, echo, dns)
    json_clients = json_workload(hs_json, echo, dns)
    wait_clients(text_log, text_clients, "text")
    check(wait_until(lambda: file_text(json_log).count('"proto":"socks5"') == len(json_clients)),
          "JSON SOCKS5 access lines: %d, want %d" % (file_text(json_log).count('"proto":"socks5"'),
                                                     len(json_clients)))
    hs_json.stop_expect_zero()
    problems, objs = [], []
    for number, line in enumerate(file_text(json_log).splitlines(), 1):
        try:
            obj = json.loads(line)
        except ValueError as e:
            problems.append("json.log line %d is not JSON (%s): %s" % (number, e, line[:200]))
            continue
        objs.append(obj)
        if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", str(obj.get("time"))):
            problems.append("line %d: time %r" % (number, obj.get("time")))
        if obj.get("pid") != hs_json.pid or obj.get("level") not in ("error", "warn", "info"):
            problems.append("line %d: pid %r level %r" % (number, obj.get("pid"), obj.get("level")))
        if obj.get("type") != "access" and not isinstance(obj.get("msg"), str):
            problems.append("line %d: an event without msg: %s" % (number, line[:200]))
    report(problems)
    access = {o["client"]: o for o in objs if o.get("type") == "access"}
    text = {r["client"]: r for r in file_access(text_log)}
    sessions = set()
    for i, (tc, jc) in enumerate(zip(text_clients, json_clients)):
        t, j = text[tc], access.get(jc)
        what = "session %d (text client %s, JSON client %s)" % (i, tc, jc)
        if j is None:
            problems.append("%s: no JSON access line" % what)
            continue
        tkeys = [k for k in t if not k.startswith("_")]
        jkeys = [k for k in j if k not in ("time", "level", "pid", "type")]
        if tkeys != jkeys:
            problems.append("%s: JSON keys %s, text keys %s" % (what, jkeys, tkeys))
            continue
        for key in tkeys:
            tv, jv = t[key], j[key]
            if key in ("session", "up", "down", "ms"):
                if not isinstance(jv, int) or isinstance(jv, bool):
                    problems.append("%s: %s=%r is not a JSON number" % (what, key, jv))
                if key != "ms" and key != "session" and str(jv) != tv:
                    problems.append("%s: %s JSON %r, text %r" % (what, key, jv, tv))
            elif key == "client":
                pass
            elif key == "relay":
                # How the bytes moved depends on timing (a session is handed
                # to the kernel relay only with nothing in flight).
                if jv not in ("kernel", "splice", "copy", "-"):
                    problems.append("%s: relay JSON %r" % (what, jv))
            elif key == "deny":
                if jv.replace(hs_json.conf_path, "C") != tv.replace(hs_text.conf_path, "C"):
                    problems.append("%s: deny JSON %r, text %r" % (what, jv, tv))
            elif jv != tv:
                problems.append("%s: %s JSON %r, text %r" % (what, key, jv, tv))
        sessions.add(j.get("session"))
        # The session's event lines carry the same client and session.
        if t.get("result") == "auth-failed":
            lines = [o for o in objs if o.get("client") == jc and
                     str(o.get("msg", "")).startswith("authentication failed for user ")]
            if len(lines) != 1 or lines[0].get("session") != j.get("session"):
                problems.append("%s: 'authentication failed' lines %s, want one with session %r"
                                % (what, lines, j.get("session")))
    if len(sessions) != len(json_clients) or None in sessions:
        problems.append("session ids not unique: %s" % sorted(map(str, sessions)))
    report(problems)


@suite.test("-v: a session's id joins its access line (session=N) and its debug lines "
            "('client C session N: A -> B', no heap pointer); 4 sessions, each with exactly "
            "its states, ids unique")
def t_session_join(ctx):
    echo = ctx.own(EchoServer())
    hs = ctx.hopsocks(args=["-v"])
    clients = echo_sessions(hs, echo, 3)
    refused = closed_port()
    with connect(hs.addr) as sock:
        clients.append("%s:%d" % sock.getsockname()[:2])
        sock.sendall(b"\x05\x01\x00" + socks5_request("127.0.0.1", refused))
        read_to_close(sock)
    check(wait_until(lambda: {r.get("client") for r in hs.access()} >= set(clients)),
          "no access line for every client")
    recs = {r["client"]: r for r in hs.access()}
    ids = [recs[c]["session"] for c in clients]
    check_eq(len(set(ids)), len(ids), "distinct session ids %s" % ids)
    text = hs.stderr_text()
    check(not re.search(r"session (0x|\(nil\))", text), "a heap pointer in a log line")
    ok = ["detect -> s5-greeting", "s5-greeting -> s5-request", "s5-request -> connect",
          "connect -> relay", "relay -> done"]
    failed = ok[:3] + ["connect failed", "connect -> closing", "closing -> linger",
                       "linger -> done"]
    problems = []
    for client, sid, want in zip(clients, ids, [ok] * 3 + [failed]):
        lines = [l for l in text.splitlines() if re.search(r" session %s: " % sid, l)]
        wrong = [l for l in lines if " client %s session %s: " % (client, sid) not in l]
        if wrong:
            problems.append("session %s: lines naming another client: %s" % (sid, wrong))
        got = [l.split(" session %s: " % sid, 1)[1] for l in lines]
        # The hand-over to the kernel relay is a line of its own, when the
        # kernel relay is in use (HOPSOCKS_TEST_RELAY), not a state change.
        got = [g for g in got if not g.startswith("relay: handed to the kernel after ")]
        got = ["connect failed" if g.startswith("connect to ") and " failed: " in g else g
               for g in got]
        if got != want:
            problems.append("session %s (client %s): %s, want %s" % (sid, client, got, want))
    report(problems)


def running(pid):
    """Is pid a live process (not gone, not a zombie nobody reaped)?"""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def check_syslog_start(syslog, as_json, what):
    """The start-up line reaches the /dev/log socket as a syslog message
    whose body is the text message or, with log-format json, one JSON
    object."""
    syslog.settimeout(BOUND)
    deadline = time.monotonic() + BOUND
    while time.monotonic() < deadline:
        data = syslog.recv(65536).decode("utf-8", "replace")
        m = re.match(r"<\d+>.*? hopsocks\[(\d+)\]: (.*)$", data, re.S)
        check(m is not None, "%s: not a syslog message: %r" % (what, data))
        body = m.group(2)
        if " listening on " not in body:
            continue
        if as_json:
            try:
                obj = json.loads(body)
            except ValueError:
                raise TestFailure("%s: syslog body is not JSON: %r" % (what, body))
            check(obj.get("level") == "info" and obj.get("pid") == int(m.group(1)) and
                  obj.get("msg", "").startswith("hopsocks "), "%s: JSON body %r" % (what, obj))
        else:
            check(body.startswith("hopsocks "), "%s: syslog body %r" % (what, body))
        return
    raise TestFailure("%s: no start-up line on the syslog socket" % what)


@suite.test("-D with syslog (log-to auto) and no /dev/log, in a mount namespace: a warning on "
            "the terminal before detaching, naming log-to file; none with a /dev/log socket "
            "(which gets the lines, as text or, with log-format json, JSON bodies) or with "
            "log-to file")
def t_no_dev_log(ctx):
    if os.geteuid() != 0 or not shutil.which("unshare"):
        raise Skip("needs root and unshare(1) for a private /dev")
    import socket
    sock_path = os.path.join(ctx.tmpdir, "log.sock")
    syslog = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    syslog.bind(sock_path)
    null = os.path.join(ctx.tmpdir, "null")
    open(null, "w").close()
    # A tmpfs over /dev with only null (bound from the real one) and, for
    # "sock", log bound from our socket.
    script = ('set -e; mount --bind /dev/null "$0"; mount -t tmpfs tmpfs /dev; touch /dev/null; '
              'mount --bind "$0" /dev/null; if [ "$1" = sock ]; then touch /dev/log; '
              'mount --bind "$2" /dev/log; fi; shift 2; exec "$@"')
    probe = subprocess.run(["unshare", "-m", "--", "sh", "-c", script, null, "none", "-", "true"],
                           stderr=subprocess.PIPE, timeout=BOUND)
    if probe.returncode != 0:
        syslog.close()
        raise Skip("cannot mount a private /dev here: %s" % probe.stderr.decode().strip())
    warning = ("hopsocks: warning: logging to syslog (log-to auto with -D), but /dev/log does "
               "not exist (no syslog daemon): every log line will be lost; use 'log-to file "
               "PATH' or start a syslog daemon\n")
    try:
        for mode, extra, want in (("none", "", warning), ("sock", "", ""),
                                  ("sock", "log-format json\n", ""),
                                  ("none", "log-to file %s\n" % os.path.join(ctx.tmpdir, "f.log"),
                                   "")):
            conf = os.path.join(ctx.tmpdir, "d.conf")
            pidfile = os.path.join(ctx.tmpdir, "d.pid")
            port = free_port()
            with open(conf, "w") as f:
                f.write("listen 127.0.0.1:%d\n%s" % (port, extra))
            run = subprocess.run(["unshare", "-m", "--", "sh", "-c", script, null, mode, sock_path,
                                  HOPSOCKS_BIN, "-D", "-c", conf, "-p", pidfile],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=BOUND)
            what = "/dev/log %s%s" % (mode, ", " + extra.strip() if extra else "")
            try:
                check_eq(run.returncode, 0, "%s: exit status of hopsocks -D (stderr %r)"
                         % (what, run.stderr))
                check_eq(run.stderr.decode(), want, "%s: stderr" % what)
                check(wait_until(lambda: port_accepts("127.0.0.1", port)), "%s: no listener" % what)
                if mode == "sock":
                    check_syslog_start(syslog, "json" in extra, what)
            finally:
                if os.path.exists(pidfile):
                    with open(pidfile) as f:
                        pid = int(f.read())
                    os.kill(pid, signal.SIGTERM)
                    check(wait_until(lambda: not running(pid)), "%s: daemon %d did not stop"
                          % (what, pid))
    finally:
        syslog.close()


if __name__ == "__main__":
    suite.run()
