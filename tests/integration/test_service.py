#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors.
"""hopsocks as a system service: the systemd notification protocol (READY=1
on a NOTIFY_SOCKET once listening, RELOADING=1/READY=1 around SIGHUP,
STOPPING=1 on SIGTERM), socket activation (LISTEN_FDS), the privilege drop
(`user nobody`, started as root), the systemd units (systemd-analyze
verify), and the example configs in contrib/ (hopsocks -t, and the
proxychains4 configs used for real).

The parts that need main.c to call src/service.c skip, with a message
saying what is missing, only while hopsocks does not use src/service.c at
all (the static library links service.o into the binary as soon as main.c
calls any of it), and socket activation also while hopsocks ignores
LISTEN_FDS and binds the address itself. Otherwise they fail."""

import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (BOUND, HOPSOCKS_BIN, SRCDIR, Skip, Suite, TestFailure,  # noqa: E402
                     check, check_eq, echo_roundtrip, fmt_addr, free_port, log_lines,
                     port_accepts, run_client, socks5_open, wait_until, write_users)
from harness import missing, require_program  # noqa: E402
from servers import EchoServer, HttpServer, echo_transfer  # noqa: E402

suite = Suite()

CONTRIB = os.path.join(SRCDIR, "contrib")
PROXYCHAINS = "/usr/bin/proxychains4"

# Directives that the access-control and service work adds to the config
# language. An example config using one of them before the parser knows it
# is reported as a skip (naming it); any other error fails.
PENDING_DIRECTIVES = ("allow", "deny", "max-connections-per-client", "max-connections-per-user",
                      "auth-throttle", "destination-guard", "admin", "user", "group", "drain")


# ------------------------------------------------------------------ helpers

def binary_has(*needles):
    """True if the hopsocks binary contains every byte string in needles.
    Strings of src/service.c are there once main.c calls any function of
    it (the linker takes the whole object file from the library), so their
    absence means "not wired in yet", a skip; their presence proves nothing
    about one particular function."""
    try:
        with open(HOPSOCKS_BIN, "rb") as f:
            data = f.read()
    except OSError:
        raise TestFailure("cannot read the hopsocks binary at %s" % HOPSOCKS_BIN)
    return all(n in data for n in needles)


class Daemon:
    """A hopsocks started here with full control of its environment and
    descriptors (the harness's Hopsocks inherits ours). Registered with the
    test's Context, which stops it; stop() returns the exit status."""

    def __init__(self, ctx, config_lines, env=None, pass_fds=(), shell_prefix=None):
        self.ctx = ctx
        index = ctx.next_index()
        self.conf = os.path.join(ctx.tmpdir, "svc-%d.conf" % index)
        self.err_path = os.path.join(ctx.tmpdir, "svc-%d.stderr" % index)
        with open(self.conf, "w") as f:
            f.write("\n".join(config_lines) + "\n")
        cmd = [HOPSOCKS_BIN, "-c", self.conf]
        if shell_prefix:
            # A shell that sets things up and then exec()s hopsocks, so the
            # shell's $$ is hopsocks' pid (LISTEN_PID needs it in advance).
            cmd = ["/bin/sh", "-c", shell_prefix + ' exec "$0" "$@"'] + cmd
        full_env = dict(os.environ)
        for var in ("NOTIFY_SOCKET", "LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"):
            full_env.pop(var, None)
        full_env.update(env or {})
        with open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                                         env=full_env, pass_fds=tuple(pass_fds))
        self.returncode = None
        ctx.own(self)

    @property
    def pid(self):
        return self.proc.pid

    def stderr_text(self):
        with open(self.err_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def alive(self):
        return self.proc.poll() is None

    def wait_listening(self, host, port):
        ok = wait_until(lambda: not self.alive() or port_accepts(host, port))
        if not self.alive():
            raise TestFailure("hopsocks exited with status %s before listening; stderr:\n%s"
                              % (self.proc.returncode, self.stderr_text()))
        check(ok, "hopsocks does not accept on %s within %.0fs" % (fmt_addr(host, port), BOUND))

    def stop(self, sig=signal.SIGTERM):
        if self.returncode is not None:
            return self.returncode
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            self.returncode = self.proc.wait(timeout=BOUND)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=BOUND)
            self.returncode = "killed"
            raise TestFailure("hopsocks did not exit within %.0fs of signal %d" % (BOUND, sig))
        return self.returncode


class NotifyListener:
    """The service manager's end of sd_notify: a datagram socket bound to a
    path (or an abstract name) that $NOTIFY_SOCKET will name."""

    def __init__(self, ctx, abstract=False):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if abstract:
            name = "hopsocks-it-%d-%d" % (os.getpid(), ctx.next_index())
            self.sock.bind("\0" + name)
            self.env = "@" + name
        else:
            self.env = os.path.join(ctx.tmpdir, "notify-%d" % ctx.next_index())
            self.sock.bind(self.env)
        self.messages = []
        ctx.own(self)

    def next(self, daemon, timeout=BOUND):
        """The next message as text; a failure if none arrives in time or the
        daemon exits first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.sock.settimeout(0.1)
            try:
                msg = self.sock.recv(65536).decode("utf-8", "replace")
                self.messages.append(msg)
                return msg
            except socket.timeout:
                if daemon is not None and not daemon.alive():
                    raise TestFailure("hopsocks exited (%s) without notifying; stderr:\n%s"
                                      % (daemon.proc.returncode, daemon.stderr_text()))
        raise TestFailure("no notification within %.0fs (got so far: %r)"
                          % (timeout, self.messages))

    def wait_for(self, daemon, pred, what, timeout=BOUND):
        """Messages until one satisfies pred; returns it."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TestFailure("no %s notification within %.0fs (got %r)"
                                  % (what, timeout, self.messages))
            msg = self.next(daemon, left)
            if pred(msg):
                return msg

    def stop(self):
        self.sock.close()


def fields(msg):
    """sd_notify text "A=1\\nB=2" as a dict."""
    out = {}
    for line in msg.split("\n"):
        key, sep, value = line.partition("=")
        if sep:
            out[key] = value
    return out


def need_service_c():
    if not binary_has(b"NOTIFY_SOCKET", b"LISTEN_FDNAMES"):
        raise Skip("hopsocks does not use src/service.c yet: main.c calls none of "
                   "service_notify(), service_listen_fds(), service_drop_privileges()")


# ------------------------------------------------------------------ sd_notify

def _ready_test(ctx, abstract):
    need_service_c()
    listener = NotifyListener(ctx, abstract=abstract)
    port = free_port()
    d = Daemon(ctx, ["listen 127.0.0.1:%d" % port, "workers 2"],
               env={"NOTIFY_SOCKET": listener.env})
    msg = listener.wait_for(d, lambda m: fields(m).get("READY") == "1", "READY=1")
    # READY=1 promises a listening server: no waiting after it.
    check(port_accepts("127.0.0.1", port),
          "READY=1 arrived but 127.0.0.1:%d does not accept connections (%r)" % (port, msg))
    check_eq(d.stop(), 0, "exit status after SIGTERM")


@suite.test("READY=1 reaches a NOTIFY_SOCKET path once hopsocks listens (and not before)")
def t_ready_path(ctx):
    _ready_test(ctx, abstract=False)


@suite.test("READY=1 reaches an abstract NOTIFY_SOCKET (@name)")
def t_ready_abstract(ctx):
    _ready_test(ctx, abstract=True)


@suite.test("SIGHUP: RELOADING=1 with MONOTONIC_USEC, then READY=1; SIGTERM: STOPPING=1")
def t_reload_and_stop(ctx):
    need_service_c()
    listener = NotifyListener(ctx)
    port = free_port()
    d = Daemon(ctx, ["listen 127.0.0.1:%d" % port, "workers 1"],
               env={"NOTIFY_SOCKET": listener.env})
    listener.wait_for(d, lambda m: fields(m).get("READY") == "1", "READY=1")

    before = int(time.clock_gettime(time.CLOCK_MONOTONIC) * 1e6)
    d.proc.send_signal(signal.SIGHUP)
    msg = listener.wait_for(d, lambda m: "RELOADING" in fields(m), "RELOADING=1")
    after = int(time.clock_gettime(time.CLOCK_MONOTONIC) * 1e6)
    f = fields(msg)
    check_eq(f.get("RELOADING"), "1", "RELOADING value")
    check(re.fullmatch(r"\d+", f.get("MONOTONIC_USEC", "")),
          "RELOADING=1 without a numeric MONOTONIC_USEC: %r" % msg)
    usec = int(f["MONOTONIC_USEC"])
    check(before <= usec <= after, "MONOTONIC_USEC %d not between %d and %d (the signal and "
          "its notification)" % (usec, before, after))
    listener.wait_for(d, lambda m: fields(m).get("READY") == "1", "READY=1 after the reload")
    check(port_accepts("127.0.0.1", port), "not listening after the reload")

    d.proc.send_signal(signal.SIGTERM)
    listener.wait_for(d, lambda m: fields(m).get("STOPPING") == "1", "STOPPING=1")
    check_eq(d.stop(), 0, "exit status after SIGTERM")


@suite.test("an unreachable NOTIFY_SOCKET does not stop hopsocks from serving")
def t_notify_socket_gone(ctx):
    need_service_c()
    port = free_port()
    d = Daemon(ctx, ["listen 127.0.0.1:%d" % port, "workers 1"],
               env={"NOTIFY_SOCKET": os.path.join(ctx.tmpdir, "nobody-listens-here")})
    d.wait_listening("127.0.0.1", port)
    check_eq(d.stop(), 0, "exit status after SIGTERM")


# ---------------------------------------------------------- socket activation

@suite.test("socket activation: hopsocks serves on the inherited socket (LISTEN_FDS=1), "
            "including a client that connected before it started")
def t_socket_activation(ctx):
    need_service_c()
    echo = ctx.own(EchoServer())
    # What systemd would do: bind and listen, without SO_REUSEPORT, so a
    # hopsocks that ignored the socket and bound its own would fail.
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(16)
    port = lsock.getsockname()[1]
    # The shell moves it to descriptor 3; from anywhere but 3 itself.
    fd = lsock.fileno() if lsock.fileno() != 3 else os.dup(lsock.fileno())
    # A client that arrives while the service is still starting waits in
    # the queue: the point of socket activation.
    early = socket.create_connection(("127.0.0.1", port), timeout=BOUND)
    try:
        d = Daemon(ctx, ["listen 127.0.0.1:%d" % port, "workers 2"],
                   pass_fds=(fd,),
                   shell_prefix="exec 3<&%d %d<&-; LISTEN_PID=$$ LISTEN_FDS=1 "
                                "LISTEN_FDNAMES=socks; export LISTEN_PID LISTEN_FDS "
                                "LISTEN_FDNAMES;" % (fd, fd))
        if fd != lsock.fileno():
            os.close(fd)
        lsock.close()  # hopsocks holds it now
        # A hopsocks that ignores LISTEN_FDS binds the address itself, which
        # fails (the inherited socket has no SO_REUSEPORT), and exits.
        # (Connecting proves nothing here: the kernel accepts into the
        # inherited socket's queue whoever holds it. The start-up line
        # "hopsocks VERSION listening on ..." does.)
        wait_until(lambda: not d.alive() or " listening on " in d.stderr_text(), timeout=BOUND)
        if not d.alive() and re.search(r"in use", d.stderr_text(), re.I):
            raise Skip("hopsocks ignores LISTEN_FDS and binds 127.0.0.1:%d itself: main.c "
                       "does not call service_listen_fds() and hand the sockets to the "
                       "workers yet (src/service.h)" % port)
        early.sendall(b"\x05\x01\x00")
        early.settimeout(BOUND)
        check_eq(early.recv(2), b"\x05\x00", "method selection for the early client")
        d.wait_listening("127.0.0.1", port)
        sock, _, _ = socks5_open(("127.0.0.1", port), *echo.addr)
        echo_roundtrip(sock, b"through the inherited socket" * 100)
        sock.close()
        check(not re.search(r"in use", d.stderr_text(), re.I),
              "hopsocks tried to bind the address itself: %s" % d.stderr_text())
        check_eq(d.stop(), 0, "exit status after SIGTERM")
    finally:
        early.close()


# ------------------------------------------------------------ privilege drop

def proc_ids(pid):
    """{tid: (uid line, gid line, groups line)} for every thread of pid."""
    out = {}
    for status in glob.glob("/proc/%d/task/*/status" % pid):
        tid = int(status.split("/")[4])
        want = {}
        with open(status) as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("Uid", "Gid", "Groups"):
                    want[key] = value.split()
        out[tid] = want
    return out


def low_free_port():
    """A free port below 1024 on 127.0.0.1 (only root can bind one)."""
    for port in range(1023, 600, -1):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise Skip("no free port below 1024 on 127.0.0.1")


@suite.test("privilege drop: started as root with `user nobody`, every thread runs as "
            "nobody (Uid/Gid/Groups), after binding a port below 1024, and still serves")
def t_privilege_drop(ctx):
    if os.geteuid() != 0:
        raise Skip("needs root: the drop can only be tested by a process that has privileges "
                   "to drop (run the suite as root, as CI does)")
    try:
        import pwd
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        raise Skip("this system has no user 'nobody'")
    port = low_free_port()
    conf = ["listen 127.0.0.1:%d" % port, "workers 2", "user nobody"]
    path = os.path.join(ctx.tmpdir, "drop-check.conf")
    with open(path, "w") as f:
        f.write("\n".join(conf) + "\n")
    run = run_client([HOPSOCKS_BIN, "-t", "-c", path])
    if run.returncode != 0 and b"unknown directive" in run.stderr:
        raise Skip("the config language has no `user` directive yet: %s"
                   % run.stderr.decode(errors="replace").strip())
    check_eq(run.returncode, 0, "hopsocks -t on a config with `user nobody`")

    echo = ctx.own(EchoServer())
    d = Daemon(ctx, conf)
    d.wait_listening("127.0.0.1", port)
    # The port accepts as soon as it is bound, which is before the drop:
    # wait (bounded) for the drop, then look at every thread.
    wait_until(lambda: proc_ids(d.pid).get(d.pid, {}).get("Uid", ["0"])[0] != "0")
    ids = proc_ids(d.pid)
    check(ids, "no /proc/%d/task entries" % d.pid)
    main = ids.get(d.pid, {})
    if main.get("Uid", ["0"])[0] == "0":
        need_service_c()
    uid, gid = str(nobody.pw_uid), str(nobody.pw_gid)
    for tid, f in sorted(ids.items()):
        check_eq(f.get("Uid"), [uid] * 4, "thread %d Uid (real, effective, saved, fs)" % tid)
        check_eq(f.get("Gid"), [gid] * 4, "thread %d Gid (real, effective, saved, fs)" % tid)
        check("0" not in f.get("Groups", []),
              "thread %d kept root's group 0: Groups %s" % (tid, f.get("Groups")))
    sock, _, _ = socks5_open(("127.0.0.1", port), *echo.addr)
    echo_roundtrip(sock, b"served by nobody" * 64)
    sock.close()
    check_eq(d.stop(), 0, "exit status after SIGTERM")


@suite.test("numeric ids: `user 65534` and `group 65533` drop every thread to those ids (no "
            "user database entry needed); `group 65533` alone keeps uid 0 and says so in a warning")
def t_privilege_drop_numeric(ctx):
    if os.geteuid() != 0:
        raise Skip("needs root (see the privilege drop test)")
    echo = ctx.own(EchoServer())
    for conf, uid, gid, warn in ((["user 65534", "group 65533"], "65534", "65533", False),
                                 (["group 65533"], "0", "65533", True)):
        port = free_port()
        d = Daemon(ctx, ["listen 127.0.0.1:%d" % port, "workers 2"] + conf)
        d.wait_listening("127.0.0.1", port)
        check(wait_until(lambda: proc_ids(d.pid).get(d.pid, {}).get("Gid", ["0"])[0] == gid),
              "%s: the gid never became %s: %s" % (conf, gid, d.stderr_text()[-400:]))
        for tid, f in sorted(proc_ids(d.pid).items()):
            check_eq((f.get("Uid"), f.get("Gid")), ([uid] * 4, [gid] * 4),
                     "%s: thread %d Uid and Gid" % (conf, tid))
            check_eq(f.get("Groups"), [gid], "%s: thread %d Groups" % (conf, tid))
        check(("still running as root" in d.stderr_text()) == warn,
              "%s: the root warning %s: %r" % (conf, "missing" if warn else "unexpected",
                                              d.stderr_text()[-400:]))
        sock, _, _ = socks5_open(("127.0.0.1", port), *echo.addr)
        echo_roundtrip(sock, b"numeric ids")
        sock.close()
        check_eq(d.stop(), 0, "%s: exit status after SIGTERM" % conf)


@suite.test("privilege drop to a user that does not exist: exit 1 naming the user, before "
            "serving anyone")
def t_privilege_drop_unknown_user(ctx):
    if os.geteuid() != 0:
        raise Skip("needs root (see the privilege drop test)")
    need_service_c()
    port = free_port()
    d = Daemon(ctx, ["listen 127.0.0.1:%d" % port, "user no-such-user-hopsocks"])
    try:
        rc = d.proc.wait(timeout=BOUND)
    except subprocess.TimeoutExpired:
        raise TestFailure("hopsocks kept running with an unknown user")
    d.returncode = rc
    check_eq(rc, 1, "exit status")
    check("no-such-user-hopsocks" in d.stderr_text(),
          "the error does not name the user: %r" % d.stderr_text())


# ------------------------------------------------------------------- units

def render_unit(ctx, sbindir, sysconfdir):
    """contrib/systemd/hopsocks.service.in with the directories filled in,
    as the Makefile's sed does, plus the socket unit, in a fresh directory."""
    unitdir = os.path.join(ctx.tmpdir, "units")
    os.mkdir(unitdir)
    with open(os.path.join(CONTRIB, "systemd", "hopsocks.service.in")) as f:
        text = f.read()
    placeholders = set(re.findall(r"@(\w+)@", text))
    check_eq(placeholders, {"sbindir", "sysconfdir"}, "placeholders in hopsocks.service.in")
    text = text.replace("@sbindir@", sbindir).replace("@sysconfdir@", sysconfdir)
    with open(os.path.join(unitdir, "hopsocks.service"), "w") as f:
        f.write(text)
    shutil.copy(os.path.join(CONTRIB, "systemd", "hopsocks.socket"), unitdir)
    return unitdir, text


def unit_settings(text):
    """{key: [values]} of a unit file's assignments."""
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;[":
            continue
        key, _, value = line.partition("=")
        out.setdefault(key.strip(), []).append(value.strip())
    return out


@suite.test("systemd-analyze verify passes on hopsocks.service (ExecStart = the built "
            "binary) and hopsocks.socket, with no warning at all")
def t_units_verify(ctx):
    analyze = require_program("systemd-analyze", "systemd")
    unitdir, _ = render_unit(ctx, os.path.dirname(os.path.abspath(HOPSOCKS_BIN)),
                             os.path.join(ctx.tmpdir, "etc"))
    cmd = [analyze, "verify"]
    env = None
    if shutil.which("man"):
        # Documentation=man:... pages are checked with man(1): point it at
        # the source tree's pages, as if they were installed.
        mandir = os.path.join(ctx.tmpdir, "man")
        for section, page in (("8", "hopsocks.8"), ("5", "hopsocks.conf.5")):
            os.makedirs(os.path.join(mandir, "man" + section), exist_ok=True)
            shutil.copy(os.path.join(SRCDIR, "man", page), os.path.join(mandir, "man" + section))
        env = dict(os.environ, MANPATH=mandir)
    else:
        cmd.append("--man=no")
    cmd += [os.path.join(unitdir, "hopsocks.service"), os.path.join(unitdir, "hopsocks.socket")]
    run = subprocess.run(cmd, capture_output=True, timeout=BOUND, env=env)
    out = (run.stdout + run.stderr).decode(errors="replace").strip()
    check(run.returncode == 0, "systemd-analyze verify: exit %d: %s" % (run.returncode, out))
    # verify exits 0 on unknown keys and bad values too; it only warns.
    check(out == "", "systemd-analyze verify warned: %s" % out)


@suite.test("hopsocks.service: Type=notify, reload by hopsocks -t then SIGHUP, no -D, the "
            "hardening the issue asks for, one consistent privilege model; the built copy "
            "has no @placeholder@")
def t_unit_contents(ctx):
    _, text = render_unit(ctx, "/usr/sbin", "/etc")
    s = unit_settings(text)
    check_eq(s.get("Type"), ["notify"], "Type")
    check_eq(s.get("ExecStart"), ["/usr/sbin/hopsocks -c /etc/hopsocks/hopsocks.conf"],
             "ExecStart")
    # A reload checks the config first: systemd runs the ExecReload= lines
    # in order and stops at the first that fails, so a broken config fails
    # "systemctl reload" before hopsocks gets the SIGHUP.
    check_eq(s.get("ExecReload"), ["/usr/sbin/hopsocks -t -c /etc/hopsocks/hopsocks.conf",
                                   "/bin/kill -HUP $MAINPID"], "ExecReload")
    # The directory of "log-to file", the one place it may write.
    check_eq(s.get("LogsDirectory"), ["hopsocks"], "LogsDirectory")
    check_eq(s.get("LogsDirectoryMode"), ["0750"], "LogsDirectoryMode")
    for key, want in (("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"),
                      ("ProtectHome", "yes"), ("PrivateTmp", "yes"), ("PrivateDevices", "yes"),
                      ("ProtectKernelTunables", "yes"), ("ProtectKernelModules", "yes"),
                      ("ProtectControlGroups", "yes"), ("LimitNOFILE", "65536"),
                      ("Restart", "on-failure"),
                      ("RestrictAddressFamilies", "AF_UNIX AF_INET AF_INET6")):
        check_eq(s.get(key), [want], key)
    # Started as the unprivileged user with only the capability to bind low
    # ports (the experimental kernel relay's are in a comment, with bpf(2):
    # t_kernel_relay_caps runs them); nothing that could setuid.
    check_eq(s.get("User"), ["hopsocks"], "User")
    check_eq(s.get("CapabilityBoundingSet"), ["CAP_NET_BIND_SERVICE"], "CapabilityBoundingSet")
    check_eq(s.get("AmbientCapabilities"), ["CAP_NET_BIND_SERVICE"], "AmbientCapabilities")
    check_eq(s.get("SystemCallFilter"), ["@system-service", "~@privileged"], "SystemCallFilter")
    check("#SystemCallFilter=bpf" in text and "CAP_BPF CAP_PERFMON CAP_NET_ADMIN" in text,
          "the unit no longer says how to allow relay kernel")
    check("-D" not in s["ExecStart"][0].split(), "ExecStart must not daemonize")
    # The unit make generated, when this build has one.
    built = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(HOPSOCKS_BIN))),
                         "contrib", "systemd", "hopsocks.service")
    if os.path.exists(built):
        with open(built) as f:
            check(not re.search(r"@\w+@", f.read()), "%s still has a @placeholder@" % built)


def _caps(pid):
    """CapEff, CapPrm and CapAmb of a process, as integers."""
    with open("/proc/%d/status" % pid) as f:
        fields = dict(line.split(":", 1) for line in f if line.startswith("Cap"))
    return tuple(int(fields[k].strip(), 16) for k in ("CapEff", "CapPrm", "CapAmb"))


CAP_NET_BIND_SERVICE = 10


@suite.test("the unit's privilege model for relay kernel: started as an unprivileged user with "
            "ambient CAP_NET_BIND_SERVICE, CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN (as the unit "
            "grants), "
            "hopsocks loads the kernel relay, keeps only CAP_NET_BIND_SERVICE, and a session "
            "goes through it (relay=kernel, 256 KiB echo exact); without CAP_BPF it says why "
            "and relays with splice")
def t_kernel_relay_caps(ctx):
    setpriv = "/usr/bin/setpriv"
    if os.geteuid() != 0 or not os.path.exists(setpriv):
        raise Skip("needs root and setpriv (util-linux) to start hopsocks with given capabilities")
    probe = ctx.hopsocks(config=["relay kernel"])
    # The line comes after the listeners accept (they are opened before
    # the privileges are dropped, the relay checked after): wait for it.
    if not wait_until(lambda: log_lines(probe, " relay: ")) or \
            not log_lines(probe, "relay: kernel ("):
        raise Skip("the kernel relay does not load here, even as root: %s"
                   % log_lines(probe, "relay: "))
    probe.stop()
    # The unprivileged user must read the generated config.
    os.chmod(os.path.dirname(ctx.tmpdir), 0o711)
    os.chmod(ctx.tmpdir, 0o755)
    echo = ctx.own(EchoServer())

    def start(caps):
        wrapper = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups",
                   "--inh-caps=-all," + caps, "--ambient-caps=-all," + caps,
                   "--bounding-set=-all," + caps]
        return ctx.hopsocks(config=["relay kernel after 0"], wrapper=wrapper)

    hs = start("+net_bind_service,+bpf,+perfmon,+net_admin")
    check(wait_until(lambda: log_lines(hs, " relay: ")) and log_lines(hs, "relay: kernel ("),
          "no 'relay: kernel' line: %s" % hs.stderr_text())
    only_bind = 1 << CAP_NET_BIND_SERVICE
    check_eq(_caps(hs.pid), (only_bind, only_bind, only_bind),
             "CapEff, CapPrm, CapAmb after start (only CAP_NET_BIND_SERVICE)")
    sock, _, _ = socks5_open(hs.addr, "127.0.0.1", echo.port)
    with sock:
        echo_transfer(sock, 256 * 1024)
    check(wait_until(lambda: [r for r in hs.access() if r.get("relay") == "kernel"]),
          "no access line with relay=kernel: %s" % hs.access())

    hs2 = start("+net_bind_service")
    wait_until(lambda: log_lines(hs2, " relay: "))
    why = log_lines(hs2, "relay: splice (the kernel relay is not available: ")
    check(why and "Operation not permitted" in why[0],
          "no fallback line naming EPERM: %s" % log_lines(hs2, "relay: "))
    sock, _, _ = socks5_open(hs2.addr, "127.0.0.1", echo.port)
    with sock:
        echo_transfer(sock, 256 * 1024)
    check(wait_until(lambda: [r for r in hs2.access() if r.get("relay") in ("splice", "copy")]),
          "no access line with relay=splice or copy: %s" % hs2.access())


@suite.test("logrotate accepts contrib/logrotate.d/hopsocks (logrotate -d): the log-to file "
            "and the rsyslog stanzas")
def t_logrotate(ctx):
    logrotate = require_program("logrotate", "logrotate")
    state = os.path.join(ctx.tmpdir, "logrotate.state")
    run = subprocess.run([logrotate, "-d", "-s", state,
                          os.path.join(CONTRIB, "logrotate.d", "hopsocks")],
                         capture_output=True, timeout=BOUND)
    out = (run.stdout + run.stderr).decode(errors="replace")
    check(run.returncode == 0, "logrotate -d: exit %d: %s" % (run.returncode, out))
    bad = [line for line in out.splitlines() if re.match(r"(error|warning)", line, re.I)
           and "debug mode" not in line]  # -d's own note that it changes nothing
    for pattern in ("/var/log/hopsocks/*.log", "/var/log/hopsocks.log"):
        check("rotating pattern: %s " % pattern in out,
              "logrotate -d did not read the %s block: %s" % (pattern, out))
    check(not bad, "logrotate -d complained: %s" % bad)


# --------------------------------------------------------- example configs

def example_copy(ctx, name, subst=()):
    """An example config from contrib/examples, with (old, new) replacements
    (paths that exist on a real server but not here)."""
    with open(os.path.join(CONTRIB, "examples", name)) as f:
        text = f.read()
    for old, new in subst:
        check(old in text, "%s no longer contains %r" % (name, old))
        text = text.replace(old, new)
    path = os.path.join(ctx.tmpdir, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def check_parses(path, name):
    run = run_client([HOPSOCKS_BIN, "-t", "-c", path])
    err = run.stderr.decode(errors="replace").strip()
    if run.returncode != 0:
        m = re.search(r"unknown directive '([^']+)'", err)
        if m and m.group(1) in PENDING_DIRECTIVES:
            raise Skip("%s uses '%s', which the config parser does not know yet: %s"
                       % (name, m.group(1), err))
    check(run.returncode == 0, "hopsocks -t -c %s: exit %d: %s" % (name, run.returncode, err))


def _example_test(name, subst_fn=None):
    def test(ctx):
        subst = subst_fn(ctx) if subst_fn else ()
        check_parses(example_copy(ctx, name, subst), name)
    return test


def _team_subst(ctx):
    return [("/etc/hopsocks/users", write_users(ctx, {"alice": "a-pass", "bob": "b-pass"}))]


EXAMPLES = [("local-socks.conf", None), ("team-auth.conf", _team_subst), ("gateway.conf", None)]

for _name, _subst in EXAMPLES:
    suite.test("contrib/examples/%s passes hopsocks -t" % _name)(_example_test(_name, _subst))


@suite.test("every file in contrib/examples is covered by the -t tests above")
def t_examples_listed(ctx):
    present = sorted(os.path.basename(p)
                     for p in glob.glob(os.path.join(CONTRIB, "examples", "*.conf")))
    check_eq(present, sorted(n for n, _ in EXAMPLES), "contrib/examples/*.conf")


@suite.test("local-socks.conf serves: SOCKS5 on its listen address (moved to a free port)")
def t_local_example_runs(ctx):
    port = free_port()
    path = example_copy(ctx, "local-socks.conf",
                        [("listen 127.0.0.1:1080", "listen 127.0.0.1:%d" % port),
                         ("listen [::1]:1080\n", "")])
    echo = ctx.own(EchoServer())
    with open(path) as f:
        d = Daemon(ctx, f.read().splitlines())
    d.wait_listening("127.0.0.1", port)
    sock, _, _ = socks5_open(("127.0.0.1", port), *echo.addr)
    echo_roundtrip(sock, b"local socks example")
    sock.close()
    check_eq(d.stop(), 0, "exit status after SIGTERM")


# ---------------------------------------------------- proxychains examples

def proxychains_run(ctx, conf_name, proxy_port, subst=()):
    """curl under proxychains4 with one of contrib/proxychains/*.conf, its
    proxy moved to 127.0.0.1:proxy_port; returns (curl result, web server)."""
    if not os.access(PROXYCHAINS, os.X_OK):
        raise missing("proxychains4", "proxychains4")
    require_program("curl", "curl")
    with open(os.path.join(CONTRIB, "proxychains", conf_name)) as f:
        text = f.read()
    entries = [line for line in text.splitlines() if re.match(r"(socks5|http)\s", line)]
    check_eq(len(entries), 1, "%s: active [ProxyList] entries" % conf_name)
    for old, new in subst:
        check(old in text, "%s no longer contains %r" % (conf_name, old))
        text = text.replace(old, new)
    text = re.sub(r"^(socks5|http)(\s+)\S+(\s+)1080", r"\g<1>\g<2>127.0.0.1\g<3>%d" % proxy_port,
                  text, flags=re.M)
    path = os.path.join(ctx.tmpdir, conf_name)
    with open(path, "w") as f:
        f.write(text)
    web = ctx.own(HttpServer())
    run = run_client([PROXYCHAINS, "-q", "-f", path, "curl", "-sS", "--max-time",
                      str(int(BOUND)), web.url("/hello")])
    return run, web


def _check_curl(run, web, what):
    check(run.returncode == 0, "%s: curl exit %d: %s"
          % (what, run.returncode, run.stderr.decode(errors="replace")))
    check_eq(run.stdout, HttpServer.HELLO, what + ": body")
    check_eq(len(web.requests), 1, what + ": requests the web server saw")


@suite.test("contrib/proxychains/hopsocks-socks5.conf and hopsocks-http.conf carry curl "
            "through hopsocks")
def t_proxychains_plain(ctx):
    port = free_port()
    d = Daemon(ctx, ["listen 127.0.0.1:%d" % port, "workers 1"])
    d.wait_listening("127.0.0.1", port)
    for conf in ("hopsocks-socks5.conf", "hopsocks-http.conf"):
        run, web = proxychains_run(ctx, conf, port)
        _check_curl(run, web, conf)
    ok_lines = lambda: re.findall(r" access .*cmd=connect.*result=ok", d.stderr_text())  # noqa
    wait_until(lambda: len(ok_lines()) >= 2)
    check(len(ok_lines()) >= 2, "hopsocks logged %d successful CONNECTs, want 2:\n%s"
          % (len(ok_lines()), d.stderr_text()))
    check_eq(d.stop(), 0, "exit status after SIGTERM")


@suite.test("contrib/proxychains/hopsocks-auth.conf logs in (SOCKS5 user/password) and "
            "carries curl through hopsocks")
def t_proxychains_auth(ctx):
    port = free_port()
    users = write_users(ctx, {"alice": "secret"})
    d = Daemon(ctx, ["listen 127.0.0.1:%d" % port, "workers 1", "users %s" % users])
    d.wait_listening("127.0.0.1", port)
    run, web = proxychains_run(ctx, "hopsocks-auth.conf", port)
    _check_curl(run, web, "hopsocks-auth.conf")
    # The access line is written when the session ends, just after curl.
    wait_until(lambda: re.search(r"user=alice", d.stderr_text()))
    check(re.search(r"user=alice", d.stderr_text()),
          "no access-log line for user alice:\n%s" % d.stderr_text())
    check_eq(d.stop(), 0, "exit status after SIGTERM")


if __name__ == "__main__":
    suite.run()
