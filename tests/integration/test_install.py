#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors.
"""`make install` for people who build by hand: with DESTDIR, every file
lands under the prefix (/usr/local: the units in /usr/local/lib/systemd/
system, the sysusers.d and tmpfiles.d entries beside them), only
--prefix=/usr puts the units where systemd says (pkg-config), the
--with-*dir options move or drop them, and `make uninstall` takes every
file away again. The sysusers.d and tmpfiles.d entries do what they say
(systemd-sysusers and systemd-tmpfiles on a scratch root). The Debian
package's own config passes -t and its changelog names the version.

The /usr/local install uses this build (its binaries); the other layouts
configure scratch build trees from the same source and install only the
data files, which need no compiler."""

import os
import shutil
import stat
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (BOUND, HOPSOCKS_BIN, SRCDIR, Skip, Suite, check,  # noqa: E402
                     check_eq, require_program)

suite = Suite()

BUILDDIR = os.path.dirname(os.path.dirname(os.path.abspath(HOPSOCKS_BIN)))
# configure and make take longer than a network exchange, on a loaded
# machine much longer: a generous bound of their own.
SLOW_BOUND = max(BOUND * 10, 300)

MANS = ["share/man/man1/hopsocks-passwd.1", "share/man/man5/hopsocks.conf.5",
        "share/man/man8/hopsocks.8"]


def run(cmd, what, cwd=None):
    """Run cmd; fail with its output unless it exits 0."""
    res = subprocess.run(cmd, cwd=cwd, capture_output=True, timeout=SLOW_BOUND,
                         stdin=subprocess.DEVNULL)
    out = (res.stdout + res.stderr).decode(errors="replace")
    check(res.returncode == 0, "%s: exit %d:\n%s" % (what, res.returncode, out[-3000:]))
    return out


def make(builddir, *args):
    return run(["make", "-s", "--no-print-directory", "-C", builddir] + list(args),
               "make %s" % " ".join(args))


def files_under(root):
    """Every file and symlink below root, as paths relative to it, sorted."""
    found = []
    for dirpath, _, names in os.walk(root):
        for name in names:
            found.append(os.path.relpath(os.path.join(dirpath, name), root))
    return sorted(found)


def makefile_var(builddir, name):
    """A variable's value as configure wrote it into builddir/Makefile."""
    with open(os.path.join(builddir, "Makefile")) as f:
        for line in f:
            key, sep, value = line.partition("=")
            if sep and key.strip() == name:
                return value.strip()
    return None


def configure_scratch(ctx, name, *args):
    """A build tree of SRCDIR in ctx.tmpdir/name configured with args (a
    cache shared by this file's trees makes the second configure quicker)."""
    if os.path.exists(os.path.join(SRCDIR, "config.status")):
        raise Skip("the source tree is configured in place (%s/config.status): configure "
                   "refuses a second build tree; build in a subdirectory to run this" % SRCDIR)
    check(os.access(os.path.join(SRCDIR, "configure"), os.X_OK),
          "%s/configure is missing (run ./autogen.sh)" % SRCDIR)
    builddir = os.path.join(ctx.tmpdir, name)
    os.mkdir(builddir)
    cache = os.path.join(os.path.dirname(ctx.tmpdir), "config.cache")
    run([os.path.join(SRCDIR, "configure"), "--cache-file=" + cache] + list(args),
        "configure %s" % " ".join(args), cwd=builddir)
    return builddir


def systemd_dir(variable, fallback):
    """Where systemd's pkg-config file says (relative to /), else fallback."""
    res = subprocess.run(["pkg-config", "--variable=" + variable, "systemd"],
                         capture_output=True, timeout=BOUND)
    value = res.stdout.decode().strip() if res.returncode == 0 else ""
    return (value or fallback).lstrip("/")


def unit_lines(path, key):
    with open(path) as f:
        return [line.strip()[len(key) + 1:] for line in f if line.startswith(key + "=")]


def check_uninstall(builddir, destdir, *args, prog_dirs=()):
    """make uninstall with the same settings leaves no file behind.
    prog_dirs: the programs' directories, which make install-data did not
    make, and without which make uninstall fails (it cd's into them)."""
    for d in prog_dirs:
        os.makedirs(os.path.join(destdir, d), exist_ok=True)
    make(builddir, "uninstall", "DESTDIR=" + destdir, *args)
    check_eq(files_under(destdir), [], "files left in DESTDIR after make uninstall")


@suite.test("make install DESTDIR=... prefix=/usr/local: binaries, man pages, the example "
            "config, both units in /usr/local/lib/systemd/system and the sysusers.d and "
            "tmpfiles.d entries in /usr/local/lib; make uninstall removes them all")
def t_install_usr_local(ctx):
    require_program("make", "make")
    prefix = makefile_var(BUILDDIR, "prefix")
    if prefix is None:
        raise Skip("no Makefile in %s (the build directory of HOPSOCKS_BIN)" % BUILDDIR)
    if prefix != "/usr/local":
        # An install with another prefix given to make would still put the
        # units where this build's configure decided (e.g. /lib/systemd/system
        # for --prefix=/usr): the test below is the one for that layout.
        raise Skip("this build was configured with --prefix=%s, not the default" % prefix)
    destdir = os.path.join(ctx.tmpdir, "dest")
    make(BUILDDIR, "install", "DESTDIR=" + destdir, "prefix=/usr/local")
    want = ["usr/local/" + p for p in
            ["bin/hopsocks-passwd", "etc/hopsocks/hopsocks.conf.example",
             "lib/systemd/system/hopsocks.service", "lib/systemd/system/hopsocks.socket",
             "lib/sysusers.d/hopsocks.conf", "lib/tmpfiles.d/hopsocks.conf", "sbin/hopsocks"]
            + MANS]
    check_eq(files_under(destdir), sorted(want), "files installed")
    for prog in ("usr/local/sbin/hopsocks", "usr/local/bin/hopsocks-passwd"):
        mode = os.stat(os.path.join(destdir, prog)).st_mode
        check(stat.S_IMODE(mode) & 0o111 == 0o111, "%s is not executable (%o)" % (prog, mode))
    unit = os.path.join(destdir, "usr/local/lib/systemd/system/hopsocks.service")
    check_eq(unit_lines(unit, "ExecStart"),
             ["/usr/local/sbin/hopsocks -c /usr/local/etc/hopsocks/hopsocks.conf"],
             "the installed unit's ExecStart")
    check_eq(unit_lines(unit, "ExecReload")[0],
             "/usr/local/sbin/hopsocks -t -c /usr/local/etc/hopsocks/hopsocks.conf",
             "the installed unit's first ExecReload")
    for rel, src in (("lib/systemd/system/hopsocks.socket", "systemd/hopsocks.socket"),
                     ("lib/sysusers.d/hopsocks.conf", "sysusers.d/hopsocks.conf"),
                     ("lib/tmpfiles.d/hopsocks.conf", "tmpfiles.d/hopsocks.conf")):
        with open(os.path.join(destdir, "usr/local", rel), "rb") as a, \
                open(os.path.join(SRCDIR, "contrib", src), "rb") as b:
            check(a.read() == b.read(), "%s differs from contrib/%s" % (rel, src))
    check_uninstall(BUILDDIR, destdir, "prefix=/usr/local")


@suite.test("--prefix=/usr --sysconfdir=/etc: the units go where systemd's pkg-config says "
            "(/lib/systemd/system on Debian 12), sysusers.d and tmpfiles.d too, and the "
            "unit names /usr/sbin/hopsocks and /etc/hopsocks/hopsocks.conf")
def t_install_usr(ctx):
    require_program("make", "make")
    require_program("pkg-config", "pkg-config")
    builddir = configure_scratch(ctx, "build-usr", "--prefix=/usr", "--sysconfdir=/etc")
    unitdir = systemd_dir("systemdsystemunitdir", "usr/lib/systemd/system")
    want = sorted(["etc/hopsocks/hopsocks.conf.example",
                   unitdir + "/hopsocks.service", unitdir + "/hopsocks.socket",
                   systemd_dir("sysusersdir", "usr/lib/sysusers.d") + "/hopsocks.conf",
                   systemd_dir("tmpfilesdir", "usr/lib/tmpfiles.d") + "/hopsocks.conf"]
                  + ["usr/" + p for p in MANS])
    destdir = os.path.join(ctx.tmpdir, "dest")
    # The data files only: the programs' install is automake's own and
    # would need a second compile of everything.
    make(builddir, "install-data", "DESTDIR=" + destdir)
    check_eq(files_under(destdir), want, "data files installed")
    unit = os.path.join(destdir, unitdir, "hopsocks.service")
    check_eq(unit_lines(unit, "ExecStart"), ["/usr/sbin/hopsocks -c /etc/hopsocks/hopsocks.conf"],
             "the installed unit's ExecStart")
    check_eq(unit_lines(unit, "ExecReload"),
             ["/usr/sbin/hopsocks -t -c /etc/hopsocks/hopsocks.conf", "/bin/kill -HUP $MAINPID"],
             "the installed unit's ExecReload lines")
    check_uninstall(builddir, destdir, prog_dirs=("usr/bin", "usr/sbin"))


@suite.test("--with-systemdsystemunitdir=DIR moves the units, --without-tmpfilesdir drops the "
            "tmpfiles.d entry, the sysusers.d entry stays under the prefix (/opt/hopsocks)")
def t_install_dirs_given(ctx):
    require_program("make", "make")
    builddir = configure_scratch(ctx, "build-opt", "--prefix=/opt/hopsocks",
                                 "--with-systemdsystemunitdir=/etc/systemd/system",
                                 "--without-tmpfilesdir")
    destdir = os.path.join(ctx.tmpdir, "dest")
    make(builddir, "install-data", "DESTDIR=" + destdir)
    want = sorted(["etc/systemd/system/hopsocks.service", "etc/systemd/system/hopsocks.socket",
                   "opt/hopsocks/etc/hopsocks/hopsocks.conf.example",
                   "opt/hopsocks/lib/sysusers.d/hopsocks.conf"]
                  + ["opt/hopsocks/" + p for p in MANS])
    check_eq(files_under(destdir), want, "data files installed")
    check_uninstall(builddir, destdir, prog_dirs=("opt/hopsocks/bin", "opt/hopsocks/sbin"))


@suite.test("contrib/sysusers.d and contrib/tmpfiles.d on a scratch root: the system user "
            "hopsocks (nologin shell) and /var/log/hopsocks owned by it, mode 0750")
def t_sysusers_tmpfiles(ctx):
    sysusers = require_program("systemd-sysusers", "systemd")
    tmpfiles = require_program("systemd-tmpfiles", "systemd")
    if os.geteuid() != 0:
        raise Skip("needs root (the directory is given to the user hopsocks)")
    root = os.path.join(ctx.tmpdir, "root")
    os.makedirs(os.path.join(root, "etc"))
    os.makedirs(os.path.join(root, "var", "log"))
    run([sysusers, "--root=" + root, os.path.join(SRCDIR, "contrib/sysusers.d/hopsocks.conf")],
        "systemd-sysusers")
    with open(os.path.join(root, "etc", "passwd")) as f:
        users = [line.rstrip("\n").split(":") for line in f]
    entry = [u for u in users if u[0] == "hopsocks"]
    check_eq(len(entry), 1, "hopsocks lines in the root's /etc/passwd")
    uid, gid, shell = int(entry[0][2]), int(entry[0][3]), entry[0][6]
    check_eq(shell, "/usr/sbin/nologin", "the user's shell")
    check(uid < 1000, "uid %d is not a system uid" % uid)
    run([tmpfiles, "--root=" + root, "--create",
         os.path.join(SRCDIR, "contrib/tmpfiles.d/hopsocks.conf")], "systemd-tmpfiles --create")
    st = os.lstat(os.path.join(root, "var", "log", "hopsocks"))
    check(stat.S_ISDIR(st.st_mode), "/var/log/hopsocks is not a directory")
    check_eq((st.st_uid, st.st_gid, oct(stat.S_IMODE(st.st_mode))), (uid, gid, "0o750"),
             "owner, group and mode of /var/log/hopsocks")
    shutil.rmtree(root)


@suite.test("debian/: the packaged /etc/hopsocks/hopsocks.conf passes hopsocks -t and listens "
            "on 127.0.0.1:1080 only, without users; debian/changelog's version is the "
            "program's (hopsocks --version)")
def t_debian_files(ctx):
    conf = os.path.join(SRCDIR, "debian", "conf", "hopsocks.conf")
    res = subprocess.run([HOPSOCKS_BIN, "-t", "-c", conf], capture_output=True, timeout=BOUND)
    check(res.returncode == 0, "hopsocks -t -c debian/conf/hopsocks.conf: exit %d: %s"
          % (res.returncode, res.stderr.decode(errors="replace")))
    with open(conf) as f:
        words = [line.split() for line in f if line.strip() and not line.lstrip().startswith("#")]
    check_eq([w for w in words if w[0] == "listen"], [["listen", "127.0.0.1:1080"]],
             "listen lines of the packaged config")
    check_eq([w for w in words if w[0] == "users"], [], "users lines of the packaged config")
    with open(os.path.join(SRCDIR, "debian", "changelog")) as f:
        first = f.readline()
    # "hopsocks (0.1.0-1) unstable; urgency=medium": upstream version 0.1.0
    version = first.split("(", 1)[1].split(")", 1)[0].rsplit("-", 1)[0]
    res = subprocess.run([HOPSOCKS_BIN, "--version"], capture_output=True, timeout=BOUND)
    check_eq(res.stdout.decode().strip(), "hopsocks " + version,
             "hopsocks --version against debian/changelog's upstream version")


if __name__ == "__main__":
    suite.run()
