#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors.
"""The layering of src/: each folder is a layer (tests/lint/layers lists
them, lowest first), a file includes only its own layer and lower ones, no
modules include each other in a circle, and a header declares only what its
own .c defines (layering.py says why).  No build is needed.

The self-tests run the same check on small trees written here, one per rule,
to show that it can fail and says where."""

import os
import sys
import tempfile

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))
sys.path.insert(0, HERE)
from harness import SRCDIR, Suite, check, check_eq  # noqa: E402
import layering  # noqa: E402

suite = Suite()
LAYERS_FILE = os.path.join(HERE, "layers")
SMALL_LAYERS = ["base", "net", "session"]

# A clean three-layer tree.  Its headers hold what rule c must let pass: a
# static inline function, a multi-line prototype with an attribute after
# its parameters, a pointer return type, a struct with a function pointer.
CLEAN = {
    "base/log.h": """\
/* Logging. */
#ifndef LOG_H
#define LOG_H
#include <stdarg.h>

struct buf {
	int (*flush)(struct buf *b);
	char data[64];
};

static inline int log_level_ok(int level)
{
	return level < 3;
}

void log_msg(int level, const char *where,
	     const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
struct buf *log_buf_get(void);
#define log_error(...) log_msg(0, __func__, __VA_ARGS__)

#endif
""",
    "base/log.c": """\
#include "base/log.h"
#include <stdio.h>

static int helper(void) { return 0; }

void log_msg(int level, const char *where,
	     const char *fmt, ...)
{
	(void)level; (void)where; (void)fmt;
	helper();
}

struct buf *log_buf_get(void)
{
	static struct buf b;
	return &b;
}
""",
    "net/loop.h": """\
#ifndef LOOP_H
#define LOOP_H
#include "base/log.h"
int loop_run(void);
#endif
""",
    "net/loop.c": """\
#include "loop.h"
int loop_run(void)
{
	return log_level_ok(1);
}
""",
    "session/s.c": """\
#include "net/loop.h"
void s_start(void);
void s_start(void) { loop_run(); }
""",
    "main.c": """\
#include "net/loop.h"
int main(void) { return loop_run(); }
""",
}


def check_small_tree(files, layers=SMALL_LAYERS):
    """The problems layering finds in a tree made of files ({path under
    src/: text}), written to a temporary directory."""
    with tempfile.TemporaryDirectory(prefix="hopsocks-layers-") as tmp:
        root = os.path.join(tmp, "src")
        for rel, text in files.items():
            path = os.path.join(root, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(text)
        return layering.check_tree(root, layers)


def listing(problems):
    return "\n".join(problems) if problems else "(none)"


def expect_count(problems, count, what):
    check(len(problems) == count, "%s: want %d problem(s), got %d:\n%s"
          % (what, count, len(problems), listing(problems)))


def expect_in(text, *parts):
    for part in parts:
        check(part in text, "%r is not in the problem %r" % (part, text))


@suite.test("src/ keeps its layering (tests/lint/layers): no upward include, "
            "no circle, every header's functions defined in its own .c")
def t_real_tree(ctx):
    layers = layering.read_layers(LAYERS_FILE)
    src = os.path.join(SRCDIR, "src")
    missing = [name for name in layers if not os.path.isdir(os.path.join(src, name))]
    check(not missing, "layers named in %s but not folders of %s: %s"
          % (LAYERS_FILE, src, ", ".join(missing)))
    problems = layering.check_tree(src, layers)
    check(not problems, "%d layering problem(s) in %s:\n%s"
          % (len(problems), src, listing(problems)))


@suite.test("self-test: a clean three-layer tree has no problems (static inline, "
            "multi-line attribute prototypes, relative includes, a program)")
def t_clean(ctx):
    problems = check_small_tree(CLEAN)
    expect_count(problems, 0, "clean tree")
    # Rule c passed because the prototypes are defined where they belong,
    # not because it did not see them.
    found = layering.prototypes(CLEAN["base/log.h"])
    check_eq(found, [(16, "log_msg"), (19, "log_buf_get")], "prototypes of base/log.h")
    check_eq(layering.definitions(CLEAN["base/log.c"]), {"log_msg", "log_buf_get"},
             "non-static definitions of base/log.c")


@suite.test("self-test: one upward include (base/log.c includes net/loop.h) is "
            "reported with file, line and both layers")
def t_upward(ctx):
    tree = dict(CLEAN)
    tree["base/log.c"] = CLEAN["base/log.c"].replace(
        "#include <stdio.h>\n", '#include <stdio.h>\n#include "net/loop.h"\n')
    problems = check_small_tree(tree)
    upward = [p for p in problems if not p.startswith("circle:")]
    expect_count(upward, 1, "upward include")
    expect_in(upward[0], 'src/base/log.c:3: includes "net/loop.h"',
              "base may not include net (a higher layer)")
    # net/loop.h includes base/log.h, so the same include also closes a circle.
    circles = [p for p in problems if p.startswith("circle:")]
    expect_count(circles, 1, "circle made by the upward include")
    check_eq(circles[0], "circle: base/log -> net/loop (src/base/log.c:3) -> "
             "base/log (src/net/loop.h:3)", "the circle")


@suite.test("self-test: a circle within one layer (session/a <-> session/b) is "
            "reported with both includes")
def t_circle(ctx):
    tree = dict(CLEAN)
    tree["session/a.h"] = "void a_run(void);\n"
    tree["session/a.c"] = '#include "session/a.h"\n#include "session/b.h"\nvoid a_run(void) {}\n'
    tree["session/b.h"] = "void b_run(void);\n"
    tree["session/b.c"] = '#include "b.h"\n\n#include "session/a.h"\nvoid b_run(void) {}\n'
    problems = check_small_tree(tree)
    expect_count(problems, 1, "circle")
    check_eq(problems[0], "circle: session/a -> session/b (src/session/a.c:2) -> "
             "session/a (src/session/b.c:3)", "the circle")


@suite.test("self-test: an include of a file that does not exist is reported")
def t_missing(ctx):
    tree = dict(CLEAN)
    tree["net/loop.c"] = '#include "loop.h"\n#include "net/nothere.h"\n' + \
        CLEAN["net/loop.c"].split("\n", 1)[1]
    problems = check_small_tree(tree)
    expect_count(problems, 1, "missing include")
    expect_in(problems[0], 'src/net/loop.c:2: includes "net/nothere.h"', "no such file")


@suite.test("self-test: a folder that is not a layer, and a layer including a "
            "program, are reported")
def t_outside(ctx):
    tree = dict(CLEAN)
    tree["extra/x.h"] = "#define X 1\n"
    tree["session/s.c"] = '#include "extra/x.h"\n#include "main.c"\n' + CLEAN["session/s.c"]
    problems = check_small_tree(tree)
    expect_count(problems, 3, "unlisted folder and program include")
    expect_in(problems[0], "src/extra/x.h:1:", "extra/", "not a layer")
    expect_in(problems[1], 'src/session/s.c:1: includes "extra/x.h"', "extra/", "not a layer")
    expect_in(problems[2], 'src/session/s.c:2: includes "main.c"', "is a program")


@suite.test("self-test: a header declaring another file's function "
            "(session/a_int.h declares b_run, defined in session/b.c) is reported")
def t_declaration(ctx):
    tree = dict(CLEAN)
    tree["session/a_int.h"] = """\
#include "base/log.h"
static inline int a_ready(void) { return 1; }
void a_log(const char *fmt,
	   ...) __attribute__((format(printf, 1, 2)));
void b_run(void);
"""
    tree["session/a.c"] = '#include "session/a_int.h"\nvoid a_log(const char *fmt, ...)\n{\n}\n'
    tree["session/b.c"] = '#include "session/a_int.h"\nvoid b_run(void) { a_log("x"); }\n'
    problems = check_small_tree(tree)
    expect_count(problems, 1, "misplaced declaration")
    expect_in(problems[0], "src/session/a_int.h:5: declares b_run()", "session/a",
              "not in src/session/a.c", "defined in src/session/b.c")

    # The multi-line prototype passed above because a.c defines it: once
    # a.c does not, it is reported too, under its own name.
    tree["session/a.c"] = '#include "session/a_int.h"\n'
    problems = check_small_tree(tree)
    expect_count(problems, 2, "two misplaced declarations")
    expect_in(problems[0], "src/session/a_int.h:3: declares a_log()", "defined in no .c")
    expect_in(problems[1], "src/session/a_int.h:5: declares b_run()")

    # A header with no .c of its own may declare no function at all.
    tree = dict(CLEAN)
    tree["base/types.h"] = "struct t { int x; };\nstatic inline int t_x(struct t *t)\n" \
        "{\n\treturn t->x;\n}\nint t_parse(const char *s);\n"
    problems = check_small_tree(tree)
    expect_count(problems, 1, "prototype in a header-only module")
    expect_in(problems[0], "src/base/types.h:6: declares t_parse()", "header-only",
              "src/base/types.c")


@suite.test("self-test: the layers file format: first word a line, # comments, "
            "a name listed twice is an error")
def t_read_layers(ctx):
    with tempfile.TemporaryDirectory(prefix="hopsocks-layers-") as tmp:
        path = os.path.join(tmp, "layers")
        with open(path, "w") as f:
            f.write("# comment\n\nbase   helpers, counters\nnet the loop  # trailing\n")
        check_eq(layering.read_layers(path), ["base", "net"], "layers read")
        with open(path, "a") as f:
            f.write("base again\n")
        try:
            layering.read_layers(path)
        except ValueError as e:
            expect_in(str(e), "base is listed twice")
        else:
            check(False, "a layer listed twice was accepted")


if __name__ == "__main__":
    suite.run()
