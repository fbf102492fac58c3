#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors.
"""Static checks the project holds itself to: cppcheck finds nothing in the
server's sources, the fuzz targets' or the benchmark's (warning, style,
performance and portability checks). The compiler's -Wall -Wextra -Werror is the build's
own business (configure --enable-werror)."""

import glob
import os
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))
from harness import HOPSOCKS_BIN, SRCDIR, Suite, check  # noqa: E402

suite = Suite()
CHECKS = "warning,style,performance,portability"


def cppcheck(files, *extra):
    """cppcheck's findings for files, one per line ("" when there are none)."""
    check(shutil.which("cppcheck"), "cppcheck is not installed (scripts/deps installs it)")
    # autoconfig.h is generated in the build tree, next to src/hopsocks.
    builddir = os.path.dirname(os.path.dirname(HOPSOCKS_BIN))
    cmd = ["cppcheck", "--enable=" + CHECKS, "--std=c11", "--quiet", "--inline-suppr",
           "-D_GNU_SOURCE", "-I", os.path.join(SRCDIR, "src"), "-I", builddir,
           "--template={file}:{line}: {severity}: {message} [{id}]", *extra, *files]
    run = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)
    return run.stderr.decode(errors="replace").strip()


@suite.test("cppcheck (%s) reports nothing in src/**/*.c" % CHECKS)
def t_src(ctx):
    files = sorted(glob.glob(os.path.join(SRCDIR, "src", "**", "*.c"), recursive=True))
    check(len(files) > 20, "found only %d sources under %s/src" % (len(files), SRCDIR))
    found = cppcheck(files)
    check(found == "", "cppcheck findings:\n" + found)


@suite.test("cppcheck (%s) reports nothing in bench/*.c" % CHECKS)
def t_bench(ctx):
    files = sorted(glob.glob(os.path.join(SRCDIR, "bench", "*.c")))
    check(len(files) >= 3, "found only %d sources under %s/bench" % (len(files), SRCDIR))
    found = cppcheck(files)
    check(found == "", "cppcheck findings:\n" + found)


@suite.test("cppcheck (%s) reports nothing in tests/fuzz/*.c" % CHECKS)
def t_fuzz(ctx):
    files = sorted(glob.glob(os.path.join(SRCDIR, "tests", "fuzz", "*.c")))
    check(len(files) >= 8, "found only %d sources under %s/tests/fuzz" % (len(files), SRCDIR))
    found = cppcheck(files)
    check(found == "", "cppcheck findings:\n" + found)


if __name__ == "__main__":
    suite.run()
