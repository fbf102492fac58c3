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
    missing = [f for f in ("-c", "-l", "-U", "-w", "-D", "-p", "-t", "-T", "-v", "-q", "-V",
                           "-h", "--version")
               if f not in text]
    check(not missing, "--help does not mention %s" % ", ".join(missing))
    # Every short option has its long name beside it ("-c, --config FILE").
    for short, long_name in LONG_OPTIONS:
        check(re.search(r"^  %s, --%s\b" % (short, long_name), text, re.M),
              "--help has no line '  %s, --%s'" % (short, long_name))
    check("Report bugs to <dev@hopsocks.invalid>." in text, "--help names no bug address")


LONG_OPTIONS = [("-c", "config"), ("-l", "listen"), ("-U", "users"), ("-w", "workers"),
                ("-D", "daemon"), ("-p", "pid-file"), ("-t", "test"), ("-T", "dump-config"),
                ("-v", "verbose"), ("-q", "quiet"), ("-V", "version"), ("-h", "help")]


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
    ("host name in listen", "listen localhost:1080"),
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


# ------------------------------------------------- long options and -T

@suite.test("long options: --config --listen --users --workers --pid-file --verbose start a "
            "server that asks for a password, relays, and writes its pid; --test checks")
def t_long_options(ctx):
    echo = ctx.own(EchoServer())
    users = write_users(ctx, {"alice": "wonderland"})
    port = free_port()
    pidfile = os.path.join(ctx.tmpdir, "long.pid")
    conf = write(ctx, "long.conf", "log warn\n")
    run = run_hopsocks(["--test", "--config", conf, "--users", users])
    check_eq(run.returncode, 0, "--test exit status (%r)" % run.stderr)
    check_eq(run.stderr.decode(), "hopsocks: configuration %s is valid\n" % conf, "--test")
    hs = ctx.hopsocks(args=["--config", conf, "--listen", "127.0.0.1:%d" % port,
                            "--users", users, "--workers", "1", "--pid-file", pidfile,
                            "--verbose"], listen=())
    check(wait_until(lambda: port_accepts("127.0.0.1", port)), "--listen port not served")
    sock, _, _ = socks5_open(("127.0.0.1", port), echo.host, echo.port,
                             auth=("alice", "wonderland"))
    with sock:
        echo_roundtrip(sock, b"long options", "echo")
    check_eq(wait_until(lambda: _read(pidfile).strip()), str(hs.pid), "--pid-file content")
    text = hs.stderr_text()
    check("(1 worker, username/password required)" in text, "--workers/--users not in force: %s"
          % text[-500:])
    # "log warn" plus one --verbose is info: the start-up line is there.
    check(" info hopsocks 0.1.0 listening on 127.0.0.1:%d" % port in text,
          "--verbose did not raise 'log warn' to info")


DUMP_CONF = """# a config touching most directives
listen 127.0.0.1:{port}
listen [::1]:{port6}
workers 3
users {users}
timeout connect 1500ms
timeout idle 0
log warn
log-to file {tmp}/hopsocks.log
log-format json
access-log off
max-connections 500
outgoing 127.0.0.1
resolver 127.0.0.1:5353
resolver [::1]:53
address-order ipv6-first
dns-cache 0
udp-ports 40000-40100
udp-replies any
bind-peer any
max-connections-per-client 20
auth-throttle 3 30s 2h
destination-guard on
admin 127.0.0.1:{admin}
pid-file {tmp}/my.pid
drain 90s
chain up {{
    mode random
    length 1
    resolve local
    retry-dead 45s
    hop socks5://alice:s3cr3t-pw@127.0.0.1:1081
    hop "http://bob:an0ther-pw@[::1]:3128"
    hop socks4a://carol@127.0.0.1:1082
}}
route .corp.example port 443 via up
route 10.0.0.0/8 direct
route * via up
allow from 10.0.0.0/8 user * command connect,udp to .example port 80-443
deny from 2001:db8::/32
allow user alice port 22
allow *
"""


def dump(args):
    run = run_hopsocks(["-T"] + args)
    check_eq(run.returncode, 0, "-T exit status (stderr %r)" % run.stderr[-500:])
    return run.stdout.decode(), run.stderr.decode()


@suite.test("-T prints the configuration in force: exact lines for what the file set, the "
            "defaults, hop passwords as ***, and the output read back gives the same output")
def t_dump_config(ctx):
    users = write_users(ctx, {"alice": "wonderland"})
    conf = write(ctx, "dump.conf", DUMP_CONF.format(port=free_port(), port6=free_port("::1"),
                                                     admin=free_port(), users=users,
                                                     tmp=ctx.tmpdir))
    out, err = dump(["-c", conf])
    check_eq(err, "hopsocks: configuration %s is valid\n" % conf, "-T's stderr")
    lines = out.splitlines()
    check_eq(lines[0], "# hopsocks 0.1.0: the configuration in force, read from %s" % conf,
             "first line")
    for want in ("workers 3", "users " + users, "socks4 off", "timeout handshake 10s",
                 "timeout connect 1500ms", "timeout idle 0s", "timeout udp-idle 2m",
                 "log warn", "log-to file %s/hopsocks.log" % ctx.tmpdir, "log-format json",
                 "access-log off", "max-connections 500", "splice-pipes 32",
                 "outgoing 127.0.0.1", "resolver 127.0.0.1:5353", "resolver [::1]:53",
                 "address-order ipv6-first", "dns-cache 0", "dns-cache-max-ttl 5m",
                 "udp-ports 40000-40100", "udp-replies any", "bind-peer any",
                 "max-connections-per-client 20", "max-connections-per-user 0",
                 "auth-throttle 3 30s 2h", "destination-guard on", "drain 90s",
                 "reload-keep-sessions off", "pid-file %s/my.pid" % ctx.tmpdir,
                 "chain up {", "\tmode random", "\tlength 1", "\tresolve local",
                 "\tretry-dead 45s", "\thop socks5://alice:***@127.0.0.1:1081",
                 "\thop http://bob:***@[::1]:3128", "\thop socks4a://carol@127.0.0.1:1082",
                 "route .corp.example port 443 via up", "route 10.0.0.0/8 direct",
                 "route * via up",
                 "allow from 10.0.0.0/8 user * command connect,udp to .example port 80-443",
                 "deny from 2001:db8::/32", "allow user alice port 22", "allow *"):
        check(want in lines, "-T output lacks the line %r:\n%s" % (want, out))
    for secret in ("s3cr3t-pw", "an0ther-pw"):
        check(secret not in out, "-T printed the hop password %r" % secret)
    # Rules and routes keep their order: the first match wins.
    check(lines.index("route .corp.example port 443 via up") < lines.index("route * via up"),
          "routes out of order")
    check(lines.index("deny from 2001:db8::/32") < lines.index("allow *"), "rules out of order")
    # The output is a configuration file meaning the same thing.
    again = write(ctx, "dump-again.conf", out)
    out2, _ = dump(["-c", again])
    check_eq(out2.splitlines()[1:], lines[1:], "-T of -T's output")


@suite.test("-T with the built-in configuration names every directive of the parser's table, "
            "with its default or as a comment when it is unset")
def t_dump_defaults(ctx):
    out, _ = dump([])
    named = set()
    for line in out.splitlines()[1:]:
        words = line.lstrip("# ").split()
        if words:
            named.update(w.rstrip(":,") for w in words[:2])
    # The directive table of the parser itself: every name it accepts.
    src = os.path.join(os.environ.get("HOPSOCKS_SRCDIR", "."), "src", "config", "config_load.c")
    with open(src) as f:
        text = f.read()
    table = text[text.index("directives[] = {"):]
    table = table[:table.index("};")]
    directives = set(re.findall(r'\{ "([a-z0-9-]+)", \d+, \d+,', table))
    check(len(directives) > 30, "found only %d directives in %s" % (len(directives), src))
    # run-as is another name of user, printed as user.
    skip = {"run-as"}
    missing = sorted(directives - skip - named)
    check(not missing, "-T does not name %s:\n%s" % (", ".join(missing), out))
    for want in ("listen 127.0.0.1:1080", "workers auto", "socks4 on", "log info",
                 "log-to auto", "log-format text",
                 "access-log on", "admin off", "# users: none (no authentication)"):
        check(want in out.splitlines(), "built-in -T lacks %r" % want)


# ----------------------------------------- errors that name FILE:LINE

@suite.test("a missing user file: 'FILE:LINE: users: PATH: No such file or directory' with "
            "how to create it; -U says -U; a broken line in it names its own FILE:LINE")
def t_users_missing(ctx):
    missing = os.path.join(ctx.tmpdir, "no-such-users")
    conf = write(ctx, "users.conf", "log info\nusers %s\n" % missing)
    run = run_hopsocks(["-t", "-c", conf])
    check_eq(run.returncode, 1, "exit status")
    check_eq(run.stderr.decode(),
             "hopsocks: %s:2: users: %s: No such file or directory (create it with "
             "hopsocks-passwd(1): hopsocks-passwd FILE USER)\n" % (conf, missing), "message")
    run = run_hopsocks(["-t", "-U", missing])
    check_eq(run.stderr.decode(),
             "hopsocks: -U: %s: No such file or directory (create it with "
             "hopsocks-passwd(1): hopsocks-passwd FILE USER)\n" % missing, "-U message")
    bad = write(ctx, "bad-users", "alice:not-a-hash\n")
    os.chmod(bad, 0o600)
    conf = write(ctx, "users2.conf", "\n\nusers %s\n" % bad)
    run = run_hopsocks(["-t", "-c", conf])
    err = run.stderr.decode()
    check(run.returncode == 1 and err.startswith("hopsocks: %s:3: users: %s:1: " % (conf, bad)),
          "a broken user file: %r" % err)


@suite.test("a user file others can read gets a warning naming FILE:LINE and its mode; 0600 "
            "and 0640 get none")
def t_users_mode_warning(ctx):
    users = write_users(ctx, {"alice": "wonderland"})
    conf = write(ctx, "mode.conf", "users %s\n" % users)
    for mode, warned in ((0o600, False), (0o640, False), (0o644, True), (0o606, True)):
        os.chmod(users, mode)
        run = run_hopsocks(["-t", "-c", conf])
        err = run.stderr.decode()
        check_eq(run.returncode, 0, "exit status with mode %o" % mode)
        line = ("warn %s:1: users: %s can be %s by every local user (mode %04o): chmod o-rwx it"
                % (conf, users, "changed" if mode & 0o002 else "read", mode))
        check((line in err) == warned, "mode %o: warning %s expected: %r"
              % (mode, "is" if warned else "not", err))


@suite.test("cross-directive errors name FILE:LINE: admin on a listen port, socks4 known-user "
            "without users, an open listen address")
def t_cross_directive_lines(ctx):
    cases = [
        ("log info\nlisten 127.0.0.1:7001\nadmin 127.0.0.1:7001\n",
         "%s:3: admin: 127.0.0.1:7001 is also a listen address (the one from %s:2); the "
         "admin listener needs a port of its own"),
        ("\n\n\nsocks4 known-user\n", "%s:4: socks4 known-user needs a user file (users or -U)"),
        ("log info\n\nlisten 0.0.0.0:7002\n",
         "%s:3: listen 0.0.0.0:7002 accepts clients beyond loopback without authentication "
         "or an allow rule"),
    ]
    for i, (text, want) in enumerate(cases):
        conf = write(ctx, "cross-%d.conf" % i, text)
        run = run_hopsocks(["-t", "-c", conf])
        want = want.replace("%s", conf)
        err = run.stderr.decode()
        check(run.returncode == 1 and err.startswith("hopsocks: " + want),
              "want %r, got %r" % (want, err))


def _low_free_port():
    for port in range(1023, 900, -1):
        if not port_accepts("127.0.0.1", port):
            return port
    return None


@suite.test("a port below 1024 without CAP_NET_BIND_SERVICE: the error says how to get it, "
            "and a failed start prints no stats line")
def t_low_port_hint(ctx):
    setpriv = "/usr/bin/setpriv"
    if not os.path.exists(setpriv):
        from harness import Skip
        raise Skip("setpriv (util-linux) is missing")
    port = _low_free_port()
    run = run_client([setpriv, "--reuid=65534", "--regid=65534", "--clear-groups",
                      "--inh-caps=-all", "--bounding-set=-all", HOPSOCKS_BIN, "-l",
                      "127.0.0.1:%d" % port])
    err = run.stderr.decode()
    check_eq(run.returncode, 1, "exit status (%r)" % err)
    check("listen 127.0.0.1:%d: Permission denied (a port below 1024 needs "
          "CAP_NET_BIND_SERVICE: " % port in err, "no hint: %r" % err)
    check(" stats " not in err, "a failed start logged a stats line: %r" % err)


@suite.test("a start that fails (port taken by a listener without SO_REUSEPORT) exits 1 with "
            "the reason, FILE:LINE when the address is from the file, and no stats line")
def t_failed_start_no_stats(ctx):
    import socket
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    with taken:
        port = taken.getsockname()[1]
        run = run_hopsocks(["-l", "127.0.0.1:%d" % port])
        err = run.stderr.decode()
        check_eq(run.returncode, 1, "exit status (%r)" % err)
        check_eq(err, "hopsocks: listen 127.0.0.1:%d: Address already in use\n" % port,
                 "stderr with -l")
        # From the file, the message names the line; the admin address too.
        conf = write(ctx, "taken.conf", "log info\nlisten 127.0.0.1:%d\n" % port)
        run = run_hopsocks(["-c", conf])
        check_eq(run.stderr.decode(), "hopsocks: %s:2: listen 127.0.0.1:%d: Address already "
                 "in use\n" % (conf, port), "stderr with listen in the file")
        conf = write(ctx, "taken-admin.conf", "listen 127.0.0.1:%d\n\nadmin 127.0.0.1:%d\n"
                     % (free_port(), port))
        run = run_hopsocks(["-c", conf])
        check_eq(run.stderr.decode(), "hopsocks: %s:3: admin 127.0.0.1:%d: Address already "
                 "in use\n" % (conf, port), "stderr with admin in the file")


# ------------------------------------------------------ the pid file

@suite.test("the pid file is locked: a second hopsocks with the same -p (on another port) "
            "exits 1 naming the first one's pid, and the first keeps its file and serves")
def t_pid_lock(ctx):
    echo = ctx.own(EchoServer())
    pidfile = os.path.join(ctx.tmpdir, "shared.pid")
    first = ctx.hopsocks(args=["-p", pidfile])
    check_eq(wait_until(lambda: _read(pidfile).strip()), str(first.pid), "first pid file")
    second_port = free_port()
    run = run_hopsocks(["-l", "127.0.0.1:%d" % second_port, "-p", pidfile])
    err = run.stderr.decode()
    check_eq(run.returncode, 1, "the second instance's exit status (%r)" % err)
    check("pid file %s is locked by a running hopsocks (pid %d)" % (pidfile, first.pid) in err,
          "message: %r" % err)
    check(" stats " not in err, "the refused start logged a stats line")
    check_eq(_read(pidfile).strip(), str(first.pid), "pid file after the refused start")
    sock, _, _ = socks5_open(first.addr, echo.host, echo.port)
    with sock:
        echo_roundtrip(sock, b"first still serves", "echo")
    first.stop_expect_zero()
    check(not os.path.exists(pidfile), "the pid file outlived its server")
    # Free again: a new instance takes it.
    third = ctx.hopsocks(args=["-p", pidfile])
    check_eq(wait_until(lambda: _read(pidfile).strip()), str(third.pid), "pid file reused")


@suite.test("-D with a relative -p writes the pid file in the starting directory, not in /")
def t_pid_relative_daemon(ctx):
    import subprocess
    port = free_port()
    name = "rel-%d.pid" % port
    proc = subprocess.run([HOPSOCKS_BIN, "-D", "-l", "127.0.0.1:%d" % port, "-p", name],
                          cwd=ctx.tmpdir, capture_output=True, timeout=BOUND)
    check_eq(proc.returncode, 0, "hopsocks -D (%r)" % proc.stderr)
    path = os.path.join(ctx.tmpdir, name)
    pid_text = wait_until(lambda: _read(path).strip(), timeout=BOUND)
    try:
        check(pid_text.isdigit(), "no pid file at %s (%r)" % (path, pid_text))
        check(not os.path.exists("/" + name), "the pid file went to /%s" % name)
    finally:
        if pid_text and pid_text.isdigit():
            pid = int(pid_text)
            os.kill(pid, signal.SIGTERM)
            wait_until(lambda: not os.path.exists("/proc/%d" % pid) or _zombie(pid))


if __name__ == "__main__":
    suite.run()
