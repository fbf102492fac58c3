#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors.
"""users pam SERVICE: passwords checked by the real libpam with real
modules, against a PAM stack this test writes.

PAM reads /etc/pam.d/SERVICE, and this test never touches the machine's
/etc/pam.d: each hopsocks runs in a mount namespace of its own (unshare -m)
in which the test's own directory is bind-mounted over /etc/pam.d. The
stacks use pam_exec with expose_authtok: a script the test writes gets the
password on stdin, checks it against the test's users, and appends a line
to a file for every call, so the test can count how often PAM was asked.
Where no mount namespace can be made (not root, a chroot CI), or pam_exec
or a PAM-enabled hopsocks is missing, every test is skipped saying which.

Covered: right password (05 00 wait, 01 00) and relayed bytes (SHA-256),
wrong password and unknown user (01 01, the failed-login line fail2ban's
filter matches, PAM's error text), HTTP CONNECT with Basic, the throttle,
the credential cache (a second login does not ask PAM), a PAM stack that
the test holds (a "slow" stack waits until the test releases the
login) does not stall another client's session on the same (only) worker,
a reload during a check refuses its result, a missing service fails closed, SIGHUP switching to a service that
refuses everybody, and the config errors."""

import base64
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (BOUND, HOPSOCKS_BIN, SRCDIR, Skip, Suite, check, check_eq,  # noqa: E402
                     connect, echo_roundtrip, expect_closed, log_lines, read_socks5_reply,
                     read_socks4_reply, recv_exact, show, socks4_request, socks5_auth,
                     socks5_request, wait_until, write_users)
from servers import EchoServer, echo_transfer  # noqa: E402

suite = Suite()

USERS = {
    "alice": "correct horse",
    "bob": "p:ss w\u00f6rd",
}

# The module directories of Debian's multiarch layout and of others.
PAM_MODULE_DIRS = ["/lib/x86_64-linux-gnu/security", "/usr/lib/x86_64-linux-gnu/security",
                   "/lib/security", "/usr/lib/security", "/lib64/security"]

FAILED_RE = re.compile(r"^\S+ hopsocks\[\d+\]: warn client 127\.0\.0\.1:(\d+) session \d+: "
                       r"authentication failed for user '([^']*)'$")

# The script pam_exec runs: argv[1] is the mode ("hold" waits, after
# logging its call, until the test creates the file release-USER, or
# %(bound)s s), PAM_USER the user, stdin the password with a NUL after it.
CHECK_SCRIPT = r'''#!%(python)s
import json, os, sys, time
here = os.path.dirname(os.path.abspath(__file__))
user = os.environ.get("PAM_USER", "")
mode = sys.argv[1] if len(sys.argv) > 1 else "fast"
password = sys.stdin.buffer.read().rstrip(b"\0")
with open(os.path.join(here, "calls"), "a") as f:
    f.write("%%s %%s %%s\n" %% (mode, user, os.environ.get("PAM_RHOST", "-")))
if mode == "hold":
    deadline = time.monotonic() + %(bound)s
    while (not os.path.exists(os.path.join(here, "release-" + user))
           and time.monotonic() < deadline):
        time.sleep(0.02)
with open(os.path.join(here, "users.json")) as f:
    users = json.load(f)
sys.exit(0 if user in users and users[user].encode() == password else 1)
'''

# pam_exec answers a failed script with "System error"; the usual Debian
# idiom turns that into the plain "Authentication failure" of pam_deny.
STACK = """# written by test_pam.py
auth [success=1 default=ignore] pam_exec.so quiet expose_authtok %(script)s %(mode)s
auth requisite pam_deny.so
auth required pam_permit.so
account required pam_permit.so
"""

DENY_ALL = """# written by test_pam.py: nobody gets in
auth requisite pam_deny.so
account required pam_deny.so
"""

_usable = None


def _pam_problem():
    """None if PAM tests can run here, else what is missing."""
    if os.getuid() != 0:
        return "needs root for a private mount namespace (unshare -m)"
    if not shutil.which("unshare"):
        return "unshare not found (Debian: util-linux)"
    if not any(os.path.exists(os.path.join(d, "pam_exec.so")) for d in PAM_MODULE_DIRS):
        return "pam_exec.so not found (Debian: libpam-modules)"
    probe = tempfile.mkdtemp(prefix="hopsocks-pam-probe-")
    try:
        run = subprocess.run(["unshare", "-m", "--", "sh", "-c",
                              'mount --bind "$0" /etc/pam.d && test ! -e /etc/pam.d/other',
                              probe], capture_output=True, timeout=BOUND)
        if run.returncode != 0:
            return ("cannot bind-mount over /etc/pam.d in a private mount namespace "
                    "(unshare -m): %s" % run.stderr.decode(errors="replace").strip())
        conf = os.path.join(probe, "t.conf")
        with open(conf, "w") as f:
            f.write("users pam probe\n")
        run = subprocess.run([HOPSOCKS_BIN, "-t", "-c", conf], capture_output=True,
                             timeout=BOUND)
        if b"built without PAM" in run.stderr:
            return "hopsocks was built without PAM (Debian: libpam0g-dev, then rebuild)"
    except (OSError, subprocess.TimeoutExpired) as e:
        return "cannot probe for a mount namespace: %s" % e
    finally:
        shutil.rmtree(probe, ignore_errors=True)
    return None


def need_pam():
    global _usable
    if _usable is None:
        _usable = _pam_problem() or ""
    if _usable:
        raise Skip(_usable)


class PamDir:
    """The test's own /etc/pam.d (bind-mounted over the real one inside
    hopsocks' mount namespace), the check script and its call log."""

    def __init__(self, ctx):
        need_pam()
        self.root = os.path.join(ctx.tmpdir, "pam")
        self.dir = os.path.join(self.root, "pam.d")
        os.makedirs(self.dir)
        self.script = os.path.join(self.root, "check.py")
        self.calls_path = os.path.join(self.root, "calls")
        with open(self.script, "w") as f:
            f.write(CHECK_SCRIPT % {"python": sys.executable, "bound": int(BOUND)})
        os.chmod(self.script, 0o755)
        with open(os.path.join(self.root, "users.json"), "w") as f:
            json.dump(USERS, f)
        self.service("hs-good", STACK % {"script": self.script, "mode": "fast"})
        self.service("hs-hold", STACK % {"script": self.script, "mode": "hold"})
        self.service("hs-deny", DENY_ALL)

    def service(self, name, text):
        with open(os.path.join(self.dir, name), "w") as f:
            f.write(text)

    def wrapper(self):
        """Run the rest of the command with self.dir as /etc/pam.d (exec
        all the way, so the pid is hopsocks')."""
        return ["unshare", "-m", "--", "sh", "-c", 'mount --bind "$0" /etc/pam.d && exec "$@"',
                self.dir]

    def release(self, user):
        """Let user's held login (service hs-hold) go on."""
        open(os.path.join(self.root, "release-" + user), "w").close()

    def _lines(self):
        try:
            with open(self.calls_path) as f:
                return [line.split(" ") for line in f.read().splitlines()]
        except FileNotFoundError:
            return []

    def calls(self):
        """[(mode, user)] of every time the stack ran the script."""
        return [(w[0], w[1]) for w in self._lines()]

    def rhosts(self):
        """PAM_RHOST as the script saw it, each time."""
        return [w[2] for w in self._lines()]


def pam_hopsocks(ctx, service="hs-good", config=(), workers=2):
    pam = PamDir(ctx)
    hs = ctx.hopsocks(config=["users pam " + service] + list(config), workers=workers,
                      wrapper=pam.wrapper())
    return hs, pam


def login(hs, user, password):
    """Greeting with method 02, then RFC 1929; (sock, 2-byte reply)."""
    sock = connect(hs.addr)
    sock.sendall(b"\x05\x01\x02")
    check_eq(recv_exact(sock, 2, "method selection"), b"\x05\x02", "method selection")
    sock.sendall(socks5_auth(user, password))
    return sock, recv_exact(sock, 2, "RFC 1929 reply")


def refused(hs, user, password, what):
    """01 01, then a close; the client port."""
    sock, reply = login(hs, user, password)
    with sock:
        port = sock.getsockname()[1]
        check_eq(reply, b"\x01\x01", what + ": RFC 1929 reply")
        expect_closed(sock, what + " (after 01 01)")
    return port


def open_session(hs, echo, user="alice"):
    """A logged-in CONNECT to the echo server; the socket."""
    sock, reply = login(hs, user, USERS[user])
    check_eq(reply, b"\x01\x00", "RFC 1929 reply for %s" % user)
    sock.sendall(socks5_request("127.0.0.1", echo.port))
    rep, _, _, raw = read_socks5_reply(sock)
    check(rep == 0, "CONNECT reply %s, want success" % show(raw))
    return sock


def http_connect(hs, echo, user, password):
    """A CONNECT with Basic credentials; (sock, status line)."""
    sock = connect(hs.addr)
    target = "127.0.0.1:%d" % echo.port
    cred = base64.b64encode(("%s:%s" % (user, password)).encode())
    sock.sendall(("CONNECT %s HTTP/1.1\r\nHost: %s\r\n" % (target, target)).encode()
                 + b"Proxy-Authorization: Basic " + cred + b"\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)
        if not chunk:
            break
        head += chunk
    return sock, head.split(b"\r\n", 1)[0]


def pending(sock):
    """What sock has to read right now without waiting, or None."""
    sock.setblocking(False)
    try:
        return sock.recv(16)
    except BlockingIOError:
        return None
    finally:
        sock.setblocking(True)
        sock.settimeout(BOUND)


def failed_lines(hs):
    """[(client port, user)] of the warn lines fail2ban's filter bans on."""
    out = []
    for line in log_lines(hs, "authentication failed for user"):
        m = FAILED_RE.match(line)
        check(m, "failed-login line not in the form fail2ban matches: %r" % line)
        out.append((int(m.group(1)), m.group(2)))
    return out


def fail2ban_matches(ctx, hs):
    """The addresses fail2ban-regex bans on hs's log with this tree's
    filter, or None where fail2ban is not installed."""
    f2b = shutil.which("fail2ban-regex")
    common = "/etc/fail2ban/filter.d/common.conf"
    if not f2b or not os.path.exists(common):
        return None
    fdir = os.path.join(ctx.tmpdir, "fail2ban", "filter.d")
    os.makedirs(fdir, exist_ok=True)
    shutil.copy(common, fdir)
    shutil.copy(os.path.join(SRCDIR, "contrib", "fail2ban", "filter.d", "hopsocks.conf"), fdir)
    run = subprocess.run([f2b, "-o", "<ip>", hs.err_path, os.path.join(fdir, "hopsocks.conf")],
                         capture_output=True, timeout=BOUND * 2)
    check(run.returncode == 0, "fail2ban-regex: %s" % run.stderr.decode()[-1000:])
    return run.stdout.decode().split()


def sighup_ok(hs, generation):
    want = "info configuration reloaded (generation %d)" % generation
    os.kill(hs.pid, signal.SIGHUP)
    check(wait_until(lambda: any(line.endswith(want) for line in
                                 log_lines(hs, "configuration reloaded"))),
          "no %r after SIGHUP: %s" % (want, hs.stderr_tail(8)))


# ------------------------------------------------------------------ tests

@suite.test("users pam: the right password gets 05 02 / 01 00, CONNECT relays 1 MB (SHA-256), "
            "access user=alice result=ok, PAM asked once for alice with PAM_RHOST 127.0.0.1")
def t_right_password(ctx):
    echo = ctx.own(EchoServer())
    hs, pam = pam_hopsocks(ctx)
    check(wait_until(lambda: log_lines(hs, "username/password checked by PAM")),
          "start line: %s" % hs.stderr_tail())
    sock = open_session(hs, echo)
    client = "127.0.0.1:%d" % sock.getsockname()[1]
    with sock:
        echo_transfer(sock, 1 << 20)
    rec = hs.wait_access(lambda r: r.get("client") == client)
    check_eq((rec.get("user"), rec.get("result")), ("alice", "ok"), "access of %r" % rec["_line"])
    check_eq(pam.calls(), [("fast", "alice")], "calls of the PAM script")
    check_eq(pam.rhosts(), ["127.0.0.1"], "PAM_RHOST the module saw")
    sock = open_session(hs, echo, "bob")
    with sock:
        echo_roundtrip(sock, b"bob's bytes", "echo as bob")


@suite.test("users pam: wrong password, unknown user, empty password -> 01 01 and close; one "
            "'authentication failed for user' warn line each (fail2ban's form, and "
            "fail2ban-regex bans 127.0.0.1 for each) and PAM's error text; a user name with "
            "a newline fails without asking PAM")
def t_wrong_password(ctx):
    echo = ctx.own(EchoServer())
    hs, pam = pam_hopsocks(ctx, config=["auth-throttle off"])
    want = []
    for user, password, what in (("alice", "Correct horse", "wrong case"),
                                 ("alice", "", "empty password"),
                                 ("mallory", USERS["alice"], "unknown user"),
                                 ("bob", USERS["alice"], "another user's password")):
        want.append((refused(hs, user, password, what), user))
    check(wait_until(lambda: len(failed_lines(hs)) == len(want)),
          "failed-login lines: %s" % hs.stderr_tail(12))
    check_eq(sorted(failed_lines(hs)), sorted(want), "(port, user) of the failed-login lines")
    pam_lines = log_lines(hs, "PAM service 'hs-good': pam_authenticate: Authentication failure")
    check_eq(len(pam_lines), len(want), "PAM error lines (%s)" % hs.stderr_tail(12))
    check_eq(echo.peers, [], "connections the target saw")
    rec = hs.wait_access(lambda r: r.get("user") == "mallory")
    check_eq(rec.get("result"), "auth-failed", "access result of %r" % rec["_line"])
    # A name with a control character is refused without asking PAM, and
    # logged escaped.
    asked = len(pam.calls())
    refused(hs, "ali\nce", USERS["alice"], "user name with a newline")
    want.append((None, "ali\\x0ace"))
    check(wait_until(lambda: log_lines(hs, "user name with a control character: PAM not asked")),
          "no 'control character' line: %s" % hs.stderr_tail(8))
    check(wait_until(lambda: len(failed_lines(hs)) == len(want)),
          "failed-login lines: %s" % hs.stderr_tail(8))
    check_eq(failed_lines(hs)[-1][1], "ali\\x0ace", "escaped name in the failed-login line")
    check_eq(len(pam.calls()), asked, "PAM calls for the name with a newline")
    banned = fail2ban_matches(ctx, hs)
    if banned is not None:
        check_eq(banned, ["127.0.0.1"] * len(want), "addresses fail2ban-regex matched")


@suite.test("users pam: HTTP CONNECT with Basic alice -> 200 and relays; a wrong password -> "
            "407 and a failed-login line")
def t_http_basic(ctx):
    echo = ctx.own(EchoServer())
    hs, pam = pam_hopsocks(ctx)
    sock, status = http_connect(hs, echo, "alice", USERS["alice"])
    with sock:
        check_eq(status, b"HTTP/1.1 200 Connection established", "status line")
        echo_transfer(sock, 100000)
    sock, status = http_connect(hs, echo, "alice", "nope")
    with sock:
        check_eq(status, b"HTTP/1.1 407 Proxy Authentication Required", "status line")
    check(wait_until(lambda: [u for _, u in failed_lines(hs)] == ["alice"]),
          "failed-login lines: %s" % hs.stderr_tail(8))
    check_eq(pam.calls(), [("fast", "alice"), ("fast", "alice")], "calls of the PAM script")


@suite.test("users pam + auth-throttle 3 60s 60s: three wrong passwords block 127.0.0.1 (one "
            "'blocked' line); the right password then gets 01 01 without asking PAM")
def t_throttle(ctx):
    hs, pam = pam_hopsocks(ctx, config=["auth-throttle 3 60s 60s"])
    for i in range(3):
        refused(hs, "alice", "wrong-%d" % i, "wrong password %d" % (i + 1))
    blocked = "too many failed authentications: blocked for 60000 ms"
    check(wait_until(lambda: len(log_lines(hs, blocked)) == 1), "no block line: %s"
          % hs.stderr_tail(8))
    check_eq(len(pam.calls()), 3, "PAM calls for the three wrong passwords")
    refused(hs, "alice", USERS["alice"], "the right password while blocked")
    check(wait_until(lambda: log_lines(hs, "authentication refused: address blocked")),
          "no 'address blocked' line: %s" % hs.stderr_tail(8))
    check_eq(len(pam.calls()), 3, "PAM calls after the blocked attempt")


@suite.test("users pam, one worker: a second login within the cache lifetime does not ask PAM "
            "again; a wrong password after it still does and fails")
def t_cache(ctx):
    echo = ctx.own(EchoServer())
    hs, pam = pam_hopsocks(ctx, workers=1, config=["auth-throttle off"])
    for i in range(3):
        with open_session(hs, echo) as sock:
            echo_roundtrip(sock, b"login %d" % i, "echo %d" % i)
    check_eq(pam.calls(), [("fast", "alice")], "PAM calls for three logins")
    refused(hs, "alice", USERS["alice"] + "!", "wrong password after a cached login")
    check_eq(len(pam.calls()), 2, "PAM calls after the wrong password")
    with open_session(hs, echo) as sock:
        echo_roundtrip(sock, b"still cached", "echo")
    check_eq(len(pam.calls()), 2, "PAM calls after another right login")


@suite.test("users pam: SOCKS4 (no password) is off by default: 91 and the log line says why")
def t_socks4_off(ctx):
    echo = ctx.own(EchoServer())
    hs, pam = pam_hopsocks(ctx)
    sock = connect(hs.addr)
    with sock:
        sock.sendall(socks4_request("127.0.0.1", echo.port, b"alice"))
        cd, _, _, raw = read_socks4_reply(sock)
        check_eq(cd, 91, "SOCKS4 reply code (%s)" % show(raw))
    check(wait_until(lambda: log_lines(
        hs, "SOCKS4 request refused: SOCKS4 is off (users pam is configured)")),
        "no refusal line: %s" % hs.stderr_tail(8))
    check_eq(pam.calls(), [], "PAM calls")


@suite.test("users pam, one worker: while a login is held inside PAM (the stack waits for "
            "the test), another client's session on the same worker echoes; released, the "
            "held login succeeds")
def t_not_on_worker(ctx):
    echo = ctx.own(EchoServer())
    hs, pam = pam_hopsocks(ctx, service="hs-hold", workers=1)
    pam.release("alice")
    first = open_session(hs, echo)
    with first:
        check_eq(len(pam.calls()), 1, "PAM calls for the first session")
        waiting = connect(hs.addr)
        with waiting:
            waiting.sendall(b"\x05\x01\x02")
            check_eq(recv_exact(waiting, 2, "method selection"), b"\x05\x02", "method selection")
            waiting.sendall(socks5_auth("bob", USERS["bob"]))
            # The script logs its call, then waits for release-bob: from
            # here on bob's login is inside PAM until the test says so.
            check(wait_until(lambda: len(pam.calls()) == 2), "PAM not asked for bob")
            for i in range(5):
                echo_roundtrip(first, b"while bob waits %d" % i, "echo %d during the wait" % i)
            check_eq(pending(waiting), None, "bob's reply before his release")
            pam.release("bob")
            check_eq(recv_exact(waiting, 2, "bob's RFC 1929 reply"), b"\x01\x00",
                     "bob's RFC 1929 reply")
        echo_roundtrip(first, b"after", "echo after the wait")


@suite.test("users pam: a reload to another service while a login is inside PAM refuses "
            "that login (01 01, 'the PAM service changed during the check'), although PAM "
            "said yes")
def t_reload_during_check(ctx):
    hs, pam = pam_hopsocks(ctx, service="hs-hold", workers=1)
    waiting = connect(hs.addr)
    with waiting:
        waiting.sendall(b"\x05\x01\x02")
        check_eq(recv_exact(waiting, 2, "method selection"), b"\x05\x02", "method selection")
        waiting.sendall(socks5_auth("alice", USERS["alice"]))
        check(wait_until(lambda: len(pam.calls()) == 1), "PAM not asked for alice")
        hs.config_lines = ["users pam hs-good"]
        hs._write_config()
        sighup_ok(hs, 2)
        pam.release("alice")
        check_eq(recv_exact(waiting, 2, "alice's RFC 1929 reply"), b"\x01\x01",
                 "alice's RFC 1929 reply")
    check(wait_until(lambda: log_lines(
        hs, "reload: the PAM service changed during the check: login refused")),
        "no 'service changed' line: %s" % hs.stderr_tail(8))
    check(wait_until(lambda: [u for _, u in failed_lines(hs)] == ["alice"]),
          "failed-login lines: %s" % hs.stderr_tail(8))


@suite.test("users pam with a service that has no file in /etc/pam.d (nor 'other'): a warning "
            "at start naming FILE:LINE; logins fail closed (01 01, the reason logged)")
def t_missing_service(ctx):
    hs, _ = pam_hopsocks(ctx, service="hs-none")
    with open(hs.conf_path) as f:
        line = f.read().splitlines().index("users pam hs-none") + 1
    check(wait_until(lambda: log_lines(
        hs, "warn %s:%d: users: PAM has no stack for 'hs-none' (no /etc/pam.d/hs-none, nor "
        "/etc/pam.d/other): every login fails until there is one" % (hs.conf_path, line))),
        "no warning at start: %s" % hs.stderr_tail(8))
    refused(hs, "alice", USERS["alice"], "login with a missing service")
    check(wait_until(lambda: log_lines(hs, "PAM service 'hs-none': no PAM stack (/etc/pam.d/"
                                           "hs-none, nor other): PAM not asked")),
          "no PAM error line: %s" % hs.stderr_tail(8))
    check(wait_until(lambda: [u for _, u in failed_lines(hs)] == ["alice"]),
          "failed-login lines: %s" % hs.stderr_tail(8))


@suite.test("users pam: SIGHUP to 'users pam hs-deny' refuses the next login of a user whose "
            "login worked (not served from the cache), a session already relaying keeps "
            "relaying; SIGHUP back to hs-good lets him in again")
def t_reload_service(ctx):
    echo = ctx.own(EchoServer())
    hs, pam = pam_hopsocks(ctx, workers=1)
    with open_session(hs, echo) as before:
        echo_roundtrip(before, b"before", "echo before the reload")
        hs.config_lines = ["users pam hs-deny"]
        hs._write_config()
        sighup_ok(hs, 2)
        refused(hs, "alice", USERS["alice"], "the right password under hs-deny")
        check(wait_until(lambda: log_lines(
            hs, "PAM service 'hs-deny': pam_authenticate: Authentication failure")),
            "no hs-deny PAM error line: %s" % hs.stderr_tail(8))
        check_eq(len(pam.calls()), 1, "calls of hs-good's script")
        echo_roundtrip(before, b"after", "echo after the reload (session kept)")
    hs.config_lines = ["users pam hs-good"]
    hs._write_config()
    sighup_ok(hs, 3)
    with open_session(hs, echo) as again:
        echo_roundtrip(again, b"again", "echo after reloading back")


@suite.test("users pam: a reload to a user file without alice closes alice's PAM session "
            "('no longer in the user file'), keeps bob's (in the file); reloads that keep PAM "
            "close nobody")
def t_reload_to_file(ctx):
    echo = ctx.own(EchoServer())
    hs, _ = pam_hopsocks(ctx, workers=1)
    alice, bob = open_session(hs, echo, "alice"), open_session(hs, echo, "bob")
    with alice, bob:
        sighup_ok(hs, 2)  # the same service: nothing closes
        echo_roundtrip(alice, b"alice after a PAM reload", "alice's echo")
        path = write_users(ctx, {"bob": USERS["bob"]})
        hs.config_lines = ["users " + path]
        hs._write_config()
        sighup_ok(hs, 3)
        expect_closed(alice, "alice's session after the reload to a file without her")
        echo_roundtrip(bob, b"bob after the file reload", "bob's echo")
    check_eq(len(log_lines(hs, "user 'alice' is no longer in the user file: closing")), 1,
             "closing lines for alice (%s)" % hs.stderr_tail(8))
    check_eq(log_lines(hs, "user 'bob' is no longer"), [], "closing lines for bob")


@suite.test("-t: 'socks4 known-user' with 'users pam' is refused with FILE:LINE; a service "
            "name with '/' is refused with FILE:LINE; -T prints 'users pam NAME'")
def t_config(ctx):
    need_pam()
    conf = os.path.join(ctx.tmpdir, "t.conf")

    def hopsocks_t(text, flag="-t"):
        with open(conf, "w") as f:
            f.write(text)
        run = subprocess.run([HOPSOCKS_BIN, flag, "-c", conf], capture_output=True,
                             timeout=BOUND)
        return run.returncode, run.stdout.decode(), run.stderr.decode()

    rc, _, err = hopsocks_t("users pam hopsocks\nsocks4 known-user\n")
    check_eq(rc, 1, "-t exit status")
    check("%s:2: socks4 known-user needs a user file (users PATH or -U): with 'users pam' "
          "there is no list of users to check" % conf in err, "-t said %r" % err)
    rc, _, err = hopsocks_t("listen 127.0.0.1:1080\nusers pam pam.d/../shadow\n")
    check_eq(rc, 1, "-t exit status")
    check("%s:2: users: a PAM service name holds only letters, digits, '.', '_' and '-'" % conf
          in err, "-t said %r" % err)
    rc, out, err = hopsocks_t("users pam sss-proxy\n", "-T")
    check_eq(rc, 0, "-T exit status (%s)" % err)
    check("users pam sss-proxy" in out.splitlines(), "-T printed %r" % out)
    check("socks4 off" in out.splitlines(), "-T printed %r" % out)



@suite.test("built without PAM: 'users pam NAME' is refused by -t with FILE:LINE and "
            "'hopsocks was built without PAM'")
def t_built_without_pam(ctx):
    conf = os.path.join(ctx.tmpdir, "t.conf")
    with open(conf, "w") as f:
        f.write("listen 127.0.0.1:1080\nusers pam hopsocks\n")
    run = subprocess.run([HOPSOCKS_BIN, "-t", "-c", conf], capture_output=True, timeout=BOUND)
    if run.returncode == 0:
        raise Skip("this hopsocks was built with PAM")
    check_eq(run.returncode, 1, "-t exit status")
    check_eq(run.stderr.decode(), "hopsocks: %s:2: users: hopsocks was built without PAM "
             "(install libpam0g-dev and rebuild)\n" % conf, "-t's message")


if __name__ == "__main__":
    suite.run()
