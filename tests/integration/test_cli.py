#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors.
"""Command line of hopsocks and hopsocks-passwd: --version, --help, usage
errors, -t config checks with FILE:LINE errors, -l/-U/-p/-D/-v, signals, and
the user-file tool's add/replace/check/delete."""

import os
import re
import signal
import stat
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (BOUND, HOPSOCKS_BIN, HOPSOCKS_PASSWD_BIN, Suite, TestFailure,  # noqa: E402
                     check, check_eq, connect, echo_roundtrip, expect_closed, free_port,
                     port_accepts, read_to_close, recv_exact, run_client, socks5_open,
                     wait_until, write_users)
from harness import fmt_addr, log_lines  # noqa: E402
from servers import EchoServer  # noqa: E402

suite = Suite()


def run_hopsocks(args, timeout=BOUND):
    return run_client([HOPSOCKS_BIN] + args, timeout=timeout)


def write(ctx, name, text):
    path = os.path.join(ctx.tmpdir, name)
    with open(path, "w") as f:
        f.write(text)
    return path


@suite.test("--version prints exactly 'hopsocks 0.1.0' and exits 0")
def t_version(ctx):
    run = run_hopsocks(["--version"])
    check_eq(run.returncode, 0, "exit status")
    check_eq(run.stdout.decode().strip(), "hopsocks 0.1.0", "--version output")


@suite.test("--help exits 0 and documents every flag")
def t_help(ctx):
    run = run_hopsocks(["--help"])
    check_eq(run.returncode, 0, "exit status")
    text = (run.stdout + run.stderr).decode()
    missing = [f for f in ("-c", "-l", "-U", "-w", "-D", "-p", "-t", "-v", "-q", "--version")
               if f not in text]
    check(not missing, "--help does not mention %s" % ", ".join(missing))


@suite.test("usage errors exit 2 (unknown option, missing argument, stray operand)")
def t_usage(ctx):
    for args in (["--frobnicate"], ["-Z"], ["-c"], ["-l"], ["-w"], ["stray-operand"]):
        run = run_hopsocks(args)
        check(run.returncode == 2, "hopsocks %s: exit %d, want 2; stderr %r"
              % (" ".join(args), run.returncode, run.stderr.decode(errors="replace")[:300]))
        check(run.stderr.strip(), "hopsocks %s: no message on stderr" % " ".join(args))


@suite.test("-t accepts a config using every directive (exit 0, nothing on stderr about errors)")
def t_check_good(ctx):
    users = write_users(ctx, {"alice": "wonderland"})
    conf = write(ctx, "good.conf", """# every directive hopsocks knows
listen 127.0.0.1:%d   # trailing comment
listen [::1]:%d
workers auto
workers 2
users %s
socks4 known-user
timeout handshake 1s
timeout connect 500ms
timeout idle 5m
log debug
log-to stderr
access-log on
max-connections 100
outgoing 127.0.0.1
resolver 127.0.0.1:5353
resolver [::1]:53
address-order ipv4-first
dns-cache 16
dns-cache-max-ttl 30s
pid-file %s/pid

""" % (free_port(), free_port("::1"), users, ctx.tmpdir))
    run = run_hopsocks(["-t", "-c", conf])
    check(run.returncode == 0, "-t on a good config: exit %d, stderr %r"
          % (run.returncode, run.stderr.decode(errors="replace")))
    check_eq(run.stderr.decode(errors="replace"), "hopsocks: configuration %s is valid\n" % conf,
             "what -t prints (hopsocks.conf(5))")
    check_eq(run.stdout, b"", "-t on standard output")


BAD_CONFIGS = [
    ("unknown directive", "frobnicate yes"),
    ("bad duration", "timeout idle forever"),
    ("unknown timeout kind", "timeout lunch 5s"),
    ("port out of range", "listen 127.0.0.1:99999"),
    ("missing listen argument", "listen"),
    ("bad workers", "workers lots"),
    ("bad socks4 mode", "socks4 maybe"),
    ("bad address-order", "address-order random"),
    ("bad log level", "log loud"),
    ("bad access-log", "access-log perhaps"),
    ("bad max-connections", "max-connections -1"),
    ("bad outgoing address", "outgoing not-an-address"),
]


def _bad_config_test(what, line):
    def test(ctx):
        conf = write(ctx, "bad.conf", "# line 1\nlog info\n%s\naccess-log on\n" % line)
        run = run_hopsocks(["-t", "-c", conf])
        err = run.stderr.decode(errors="replace")
        check(run.returncode == 1, "-t with %r: exit %d, want 1; stderr %r"
              % (line, run.returncode, err))
        check("%s:3:" % conf in err, "-t with %r: stderr lacks '%s:3:': %r" % (line, conf, err))
    return test


for _what, _line in BAD_CONFIGS:
    suite.test("-t rejects %s with FILE:3: and exit 1" % _what)(_bad_config_test(_what, _line))


@suite.test("-t on a missing file exits 1 naming the file")
def t_check_missing(ctx):
    path = os.path.join(ctx.tmpdir, "does-not-exist.conf")
    run = run_hopsocks(["-t", "-c", path])
    check_eq(run.returncode, 1, "exit status")
    check(path in run.stderr.decode(errors="replace"), "stderr does not name %s" % path)


def through(hs, echo, via_host, payload):
    sock, _, _ = socks5_open(hs.addr_of(via_host), echo.host, echo.port)
    with sock:
        echo_roundtrip(sock, payload, "echo via %s" % via_host)


@suite.test("-l 127.0.0.1:P -l [::1]:Q: both addresses relay; the config's listen is replaced")
def t_listen_flag(ctx):
    echo = ctx.own(EchoServer())
    config_port = free_port()
    hs = ctx.hopsocks(listen=("127.0.0.1", "::1"), use_listen_flag=True,
                      config=["listen 127.0.0.1:%d" % config_port])
    through(hs, echo, "127.0.0.1", b"via ipv4 listener\n")
    through(hs, echo, "::1", b"via ipv6 listener\n")
    check(not port_accepts("127.0.0.1", config_port),
          "the config's listen 127.0.0.1:%d is served although -l replaced it" % config_port)


@suite.test("listen directives for 127.0.0.1 and [::1] both relay")
def t_listen_config(ctx):
    echo6 = ctx.own(EchoServer("::1"))
    hs = ctx.hopsocks(listen=("127.0.0.1", "::1"))
    sock, _, _ = socks5_open(hs.addr_of("127.0.0.1"), "::1", echo6.port)
    with sock:
        echo_roundtrip(sock, b"v4 client, v6 target", "echo")
    sock, _, _ = socks5_open(hs.addr_of("::1"), "::1", echo6.port)
    with sock:
        echo_roundtrip(sock, b"v6 client, v6 target", "echo")


@suite.test("-U FILE turns on authentication: offering only 'no auth' gets 05 FF")
def t_users_flag(ctx):
    users = write_users(ctx, {"alice": "wonderland"})
    hs = ctx.hopsocks(args=["-U", users])
    with connect(hs.addr) as sock:
        sock.sendall(b"\x05\x01\x00")
        check_eq(recv_exact(sock, 2, "method selection"), b"\x05\xff", "method selection")
        expect_closed(sock, "after 05 FF")


@suite.test("SIGTERM with open sessions (relaying and mid-handshake) exits 0 and closes them")
def t_sigterm_sessions(ctx):
    echo = ctx.own(EchoServer())
    hs = ctx.hopsocks()
    relaying, _, _ = socks5_open(hs.addr, echo.host, echo.port)
    echo_roundtrip(relaying, b"before the signal", "echo")
    half = connect(hs.addr)
    half.sendall(b"\x05\x01")  # greeting cut short
    idle = connect(hs.addr)
    time.sleep(0.1)  # let the server accept them (not a correctness wait)
    hs.stop_expect_zero()
    for name, sock in (("relaying", relaying), ("mid-handshake", half), ("idle", idle)):
        with sock:
            data, how = _drain(sock)
            check(how in ("eof", "reset"), "%s session not closed after exit (%s)" % (name, how))


def _drain(sock):
    return read_to_close(sock, timeout=BOUND)


@suite.test("SIGINT exits 0")
def t_sigint(ctx):
    hs = ctx.hopsocks()
    rc = hs.stop(signal.SIGINT)
    check_eq(rc, 0, "exit status after SIGINT")


@suite.test("-p PIDFILE and the pid-file directive write the server's pid")
def t_pidfile(ctx):
    for how in ("flag", "directive"):
        path = os.path.join(ctx.tmpdir, "pid-" + how)
        if how == "flag":
            hs = ctx.hopsocks(args=["-p", path])
        else:
            hs = ctx.hopsocks(config=["pid-file " + path])
        content = wait_until(lambda: _read(path).strip(), timeout=BOUND)
        check_eq(content, str(hs.pid), "pid file content (%s)" % how)
        hs.stop_expect_zero()


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return ""


@suite.test("-D detaches: the command exits 0, the daemon in the pid file serves, SIGTERM ends it")
def t_daemon(ctx):
    echo = ctx.own(EchoServer())
    port = free_port()
    pidfile = os.path.join(ctx.tmpdir, "daemon.pid")
    conf = write(ctx, "daemon.conf", "listen 127.0.0.1:%d\nworkers 1\n" % port)
    run = run_hopsocks(["-D", "-c", conf, "-p", pidfile])
    check_eq(run.returncode, 0, "exit status of hopsocks -D")
    pid_text = wait_until(lambda: _read(pidfile).strip(), timeout=BOUND)
    check(pid_text.isdigit(), "pid file %s: %r" % (pidfile, pid_text))
    pid = int(pid_text)
    try:
        check(wait_until(lambda: port_accepts("127.0.0.1", port)), "daemon does not listen")
        sock, _, _ = socks5_open(("127.0.0.1", port), echo.host, echo.port)
        with sock:
            echo_roundtrip(sock, b"hello daemon", "echo through the daemon")
    finally:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        gone = wait_until(lambda: not os.path.exists("/proc/%d" % pid)
                          or _zombie(pid), timeout=BOUND)
        if not gone:
            os.kill(pid, signal.SIGKILL)
            raise TestFailure("daemon pid %d did not exit within %.0fs of SIGTERM" % (pid, BOUND))


def _zombie(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(")")[-1].split()[0] == "Z"
    except FileNotFoundError:
        return True


@suite.test("-v raises the level one step (info -> debug; with 'log warn', one -v gives info "
            "and a second debug), as --help and hopsocks(8) say; access-log off removes the "
            "access line")
def t_verbosity(ctx):
    echo = ctx.own(EchoServer())
    hs = ctx.hopsocks(args=["-v"])
    sock, _, _ = socks5_open(hs.addr, echo.host, echo.port)
    with sock:
        echo_roundtrip(sock, b"x", "echo")
    hs.wait_access(lambda r: r.get("target") == "127.0.0.1:%d" % echo.port)
    check(" debug " in hs.stderr_text(), "-v: no debug-level line on stderr")
    for args, want in ((["-v"], "info"), (["-v", "-v"], "debug")):
        hs = ctx.hopsocks(config=["log warn"], args=args)
        sock, _, _ = socks5_open(hs.addr, echo.host, echo.port)
        with sock:
            echo_roundtrip(sock, b"x", "echo")
        hs.wait_access(lambda r: r.get("target") == "127.0.0.1:%d" % echo.port)
        hs.stop_expect_zero()
        levels = {m.group(2) for m in map(LOG_LINE.match, hs.stderr_text().splitlines()) if m}
        check_eq(max(levels, key=["error", "warn", "info", "debug"].index), want,
                 "most verbose level with 'log warn' and %s" % " ".join(args))
    help_text = run_hopsocks(["--help"]).stdout.decode()
    check("one -v gives debug" in help_text, "--help on -v: %r" % [
        line for line in help_text.splitlines() if "-v" in line])
    quiet = ctx.hopsocks(config=["access-log off"])
    sock, _, _ = socks5_open(quiet.addr, echo.host, echo.port)
    with sock:
        echo_roundtrip(sock, b"y", "echo")
    quiet.stop_expect_zero()
    check_eq(quiet.access(), [], "access records with access-log off")


@suite.test("the start-up line counts its workers in words: '(1 worker, no authentication)', "
            "'(2 workers, username/password required)'")
def t_startup_line(ctx):
    users = write_users(ctx, {"alice": "wonderland"})
    for args, want in ((["-w", "1"], "(1 worker, no authentication)"),
                       (["-w", "2", "-U", users], "(2 workers, username/password required)")):
        hs = ctx.hopsocks(args=args)
        check(wait_until(lambda: log_lines(hs, " listening on ")), "no start-up line")
        line = log_lines(hs, " listening on ")[0]
        check(line.endswith("listening on %s %s" % (fmt_addr(*hs.addr), want)),
              "start-up line with %s: %r" % (" ".join(args), line))


LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z hopsocks\[(\d+)\]: "
                      r"(error|warn|info|debug) \S")


@suite.test("every stderr line is 'YYYY-MM-DDTHH:MM:SS.mmmZ hopsocks[PID]: LEVEL message' with the right pid")
def t_log_format(ctx):
    echo = ctx.own(EchoServer())
    hs = ctx.hopsocks(args=["-v", "-v"])
    sock, _, _ = socks5_open(hs.addr, echo.host, echo.port)
    with sock:
        echo_roundtrip(sock, b"log me", "echo")
    hs.wait_access(lambda r: r.get("target") == "127.0.0.1:%d" % echo.port)
    hs.stop_expect_zero()
    lines = [l for l in hs.stderr_text().splitlines() if not l.startswith("---- start")]
    check(len(lines) >= 3, "only %d log lines" % len(lines))
    for line in lines:
        m = LOG_LINE.match(line)
        check(m, "malformed log line: %r" % line)
        check_eq(m.group(1), str(hs.pid), "pid in %r" % line)


@suite.test("-q logs only errors: a session leaves no info or access line")
def t_quiet(ctx):
    echo = ctx.own(EchoServer())
    hs = ctx.hopsocks(args=["-q"])
    sock, _, _ = socks5_open(hs.addr, echo.host, echo.port)
    with sock:
        echo_roundtrip(sock, b"hush", "echo")
    hs.stop_expect_zero()
    noisy = [l for l in hs.stderr_text().splitlines() if re.search(r"\]: (info|debug|warn) ", l)]
    check_eq(noisy, [], "lines below error level with -q")


# ------------------------------------------------------------ hopsocks-passwd

def passwd(args, password=None):
    data = None if password is None else (password + "\n").encode()
    return run_client([HOPSOCKS_PASSWD_BIN] + args, input_bytes=data or b"")


@suite.test("hopsocks-passwd creates a 0600 file of name:$argon2id$ lines, one per user")
def t_passwd_create(ctx):
    path = os.path.join(ctx.tmpdir, "users")
    for user, pw in (("alice", "wonderland"), ("bob", "builder")):
        run = passwd([path, user], pw)
        check_eq(run.returncode, 0, "hopsocks-passwd %s exit status" % user)
    mode = stat.S_IMODE(os.stat(path).st_mode)
    check_eq(oct(mode), oct(0o600), "user file mode")
    lines = [l for l in _read(path).splitlines() if l and not l.startswith("#")]
    names = sorted(l.split(":", 1)[0] for l in lines)
    check_eq(names, ["alice", "bob"], "users in the file")
    for l in lines:
        check(l.split(":", 1)[1].startswith("$argon2id$"), "not an argon2id hash: %r" % l)
        check("wonderland" not in l and "builder" not in l, "password in clear: %r" % l)


@suite.test("hopsocks-passwd -c: exit 0 for the right password, 1 for a wrong one or unknown user")
def t_passwd_check(ctx):
    path = write_users(ctx, {"alice": "wonderland", "bob": "builder"})
    check_eq(passwd(["-c", path, "alice"], "wonderland").returncode, 0, "-c right password")
    check_eq(passwd(["-c", path, "alice"], "builder").returncode, 1, "-c wrong password")
    check_eq(passwd(["-c", path, "alice"], "wonderlan").returncode, 1, "-c prefix of password")
    check_eq(passwd(["-c", path, "carol"], "wonderland").returncode, 1, "-c unknown user")


@suite.test("hopsocks-passwd replaces a password and -d deletes a user, keeping the others and 0600")
def t_passwd_replace_delete(ctx):
    path = write_users(ctx, {"alice": "wonderland", "bob": "builder"})
    check_eq(passwd([path, "alice"], "looking-glass").returncode, 0, "replace exit status")
    check_eq(passwd(["-c", path, "alice"], "looking-glass").returncode, 0, "-c new password")
    check_eq(passwd(["-c", path, "alice"], "wonderland").returncode, 1, "-c old password")
    check_eq(sum(1 for l in _read(path).splitlines() if l.startswith("alice:")), 1,
             "alice lines after replace")
    check_eq(passwd(["-d", path, "alice"]).returncode, 0, "-d exit status")
    check(not any(l.startswith("alice:") for l in _read(path).splitlines()), "alice still in file")
    check_eq(passwd(["-c", path, "alice"], "looking-glass").returncode, 1, "-c deleted user")
    check_eq(passwd(["-c", path, "bob"], "builder").returncode, 0, "-c bob after deleting alice")
    check_eq(oct(stat.S_IMODE(os.stat(path).st_mode)), oct(0o600), "mode after rewrite")


@suite.test("hopsocks-passwd: 16 adds run at once on one file lose none (the edit is locked), "
            "three rounds")
def t_passwd_parallel(ctx):
    import subprocess
    for round_ in range(3):
        path = os.path.join(ctx.tmpdir, "parallel-%d" % round_)
        procs = [subprocess.Popen([HOPSOCKS_PASSWD_BIN, path, "user%d" % i],
                                  stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE) for i in range(16)]
        for i, p in enumerate(procs):
            p.stdin.write(b"pw%d\n" % i)
            p.stdin.close()
        for p in procs:
            check_eq(p.wait(BOUND), 0, "round %d: exit status" % round_)
            p.stderr.close()
        with open(path) as f:
            names = sorted(line.split(":", 1)[0] for line in f if line.strip())
        check_eq(names, sorted("user%d" % i for i in range(16)),
                 "round %d: users in the file" % round_)


@suite.test("hopsocks-passwd at a terminal: ^Z at the password prompt, then fg, and the "
            "password typed still does not echo")
def t_passwd_suspend_resume(ctx):
    import pty
    import select
    import subprocess
    import termios
    master, slave = pty.openpty()
    path = os.path.join(ctx.tmpdir, "tty-users")
    def job():
        """A process group of its own, in this session: not orphaned, so ^Z
        (SIGTSTP) stops it as a shell's job control would. It is not the
        terminal's foreground group where the pty became this session's
        controlling terminal (CI runs the suite as a session leader), so
        SIGTTOU is ignored, as for a job the shell has brought to the
        foreground: its tcsetattr calls must not stop it."""
        os.setpgrp()
        signal.signal(signal.SIGTTOU, signal.SIG_IGN)
    proc = subprocess.Popen([HOPSOCKS_PASSWD_BIN, path, "alice"], stdin=slave, stdout=slave,
                            stderr=slave, preexec_fn=job)
    os.close(slave)
    out = bytearray()

    def read_until(pred, what):
        end = time.monotonic() + BOUND
        while not pred() and time.monotonic() < end:
            if select.select([master], [], [], 0.2)[0]:
                try:
                    out.extend(os.read(master, 4096))
                except OSError:
                    break
        check(pred(), "%s: the terminal shows %r" % (what, bytes(out)))

    def state():
        with open("/proc/%d/stat" % proc.pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    try:
        read_until(lambda: b"assword" in out, "no password prompt")
        os.kill(proc.pid, signal.SIGTSTP)
        check(wait_until(lambda: state() == "T"), "hopsocks-passwd did not stop on ^Z")
        os.kill(proc.pid, signal.SIGCONT)
        check(wait_until(lambda: state() != "T"), "hopsocks-passwd did not go on after fg")
        # Type only once it has turned echo off again (it flushes what was
        # typed before, as any password prompt does).
        check(wait_until(lambda: not termios.tcgetattr(master)[3] & termios.ECHO),
              "echo was not turned off again after fg")
        mark = len(out)
        os.write(master, b"s3cret-typed\n")
        read_until(lambda: out.count(b"assword") >= 2, "no second (confirmation) prompt")
        check(b"s3cret-typed" not in out[mark:],
              "the password was echoed after the resume: %r" % bytes(out[mark:]))
        os.write(master, b"s3cret-typed\n")
        check_eq(proc.wait(BOUND), 0, "exit status")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)


if __name__ == "__main__":
    suite.run()
