# SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors.
"""The layering of src/, as a pure function over a source tree.

src/ is one folder per layer, lowest first as tests/lint/layers lists them;
the two programs sit directly in src/.  check_tree() returns what breaks the
layering, one human-readable line per problem, so a test can print them all:

  a. includes: a file includes only its own layer and lower ones; every
     #include "..." names a file that exists in a listed layer folder (a
     program in src/ may include anything, and nothing may include it);
  b. circles: no two modules (folder/stem, a trailing _int dropped) reach
     each other through includes, even within one layer;
  c. declarations follow definitions: a prototype in X.h or X_int.h is
     defined in X.c of the same folder.  Without (c), a shared header could
     declare another file's functions and the call would hide a circle that
     (b) cannot see, since (b) only follows #include lines.

Only the Python standard library is used; nothing here needs a build.
"""

import os
import re

INCLUDE_RE = re.compile(r'^[ \t]*#[ \t]*include[ \t]*"([^"\n]+)"', re.M)
IDENT_AT_END_RE = re.compile(r"([A-Za-z_]\w*)\s*$")
FIRST_WORD_RE = re.compile(r"[A-Za-z_]\w*")
EXTERN_C_RE = re.compile(r'extern\s*"\s*"\s*$')  # extern "C" once string insides are blanked

# A file-scope statement starting with one of these is not a prototype
# (struct X { ... } is told apart by its body; struct buf *buf_get(...) is one).
NOT_PROTOTYPE = {"static", "typedef", "extern", "enum", "union",
                 "_Static_assert", "static_assert"}


# ------------------------------------------------------------ layers file

def read_layers(path):
    """The layer folders named in a layers file, lowest first: the first
    word of each line that is not blank or a # comment.  Raises ValueError
    on a name that is not a plain folder name or is listed twice, so a typo
    in the one place the order is written cannot pass silently."""
    layers = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            words = line.split("#", 1)[0].split()
            if not words:
                continue
            name = words[0]
            if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", name):
                raise ValueError("%s:%d: %r is not a folder name" % (path, number, name))
            if name in layers:
                raise ValueError("%s:%d: %s is listed twice" % (path, number, name))
            layers.append(name)
    if not layers:
        raise ValueError("%s names no layer" % path)
    return layers


# ------------------------------------------------------------- C text

def strip_comments(text, keep_strings=True):
    """text with every comment replaced by spaces (newlines kept, so line
    numbers and columns stay right).  String and character literals are
    left alone when keep_strings (an include's "name" is one), else their
    insides are blanked too, so a "{" or ";" in a string cannot confuse the
    statement splitter."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        two = text[i:i + 2]
        if two == "/*":
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append(re.sub(r"[^\n]", " ", text[i:end]))
            i = end
        elif two == "//":
            end = text.find("\n", i)
            end = n if end < 0 else end
            out.append(" " * (end - i))
            i = end
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            literal = text[i:j]
            if not keep_strings and len(literal) >= 2:
                literal = literal[0] + re.sub(r"[^\n]", " ", literal[1:-1]) + literal[-1]
            out.append(literal)
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def blank_directives(text):
    """text with every preprocessor directive (and its backslash-continued
    lines) replaced by spaces: a macro body is not a file-scope statement."""
    lines = text.split("\n")
    out, in_directive = [], False
    for line in lines:
        if in_directive or line.lstrip().startswith("#"):
            in_directive = line.rstrip().endswith("\\")
            out.append(" " * len(line))
        else:
            out.append(line)
    return "\n".join(out)


def closing_paren(text, open_at):
    """The index of the ')' that closes the '(' at open_at (the last index
    when it is never closed)."""
    depth = 0
    for j in range(open_at, len(text)):
        if text[j] == "(":
            depth += 1
        elif text[j] == ")":
            depth -= 1
            if depth == 0:
                return j
    return len(text) - 1


def remove_attributes(text):
    """text without its __attribute__((...)) parts, so that
    `void f(const char *fmt, ...) __attribute__((format(printf, 1, 2)));`
    reads as the prototype of f and not of format."""
    while True:
        m = re.search(r"\b__attribute__\s*\(", text)
        if not m:
            return text
        j = closing_paren(text, m.end() - 1)
        text = text[:m.start()] + " " + text[j + 1:]


def file_scope_statements(text):
    """The file-scope statements of C source text (comments, strings and
    directives already blanked), as (offset, source, kind): kind is "decl"
    for a statement ending in ';' with no body, "body" for one with a
    braced part ending in ';' (struct, enum, initializer), "def" for a
    function definition (signature then { ... })."""
    statements = []
    start, brace, paren, has_body, is_function = None, 0, 0, False, False
    linkage = 0  # open extern "C" { blocks: their insides are file scope
    for i, c in enumerate(text):
        if start is None:
            if c.isspace() or c == ";":
                continue
            if c == "}" and linkage:
                linkage -= 1
                continue
            start, has_body, is_function = i, False, False
        if c == "(":
            paren += 1
        elif c == ")":
            paren = max(0, paren - 1)
        elif c == "{":
            if brace == 0 and paren == 0:
                if EXTERN_C_RE.match(text[start:i]):
                    linkage += 1
                    start = None
                    continue
                has_body = True
                is_function = text[start:i].rstrip().endswith(")")
            brace += 1
        elif c == "}":
            brace = max(0, brace - 1)
            if brace == 0 and paren == 0 and is_function:
                statements.append((start, text[start:i + 1], "def"))
                start = None
        elif c == ";" and brace == 0 and paren == 0:
            statements.append((start, text[start:i + 1], "body" if has_body else "decl"))
            start = None
    return statements


def function_name(signature):
    """The function a file-scope declaration or definition is about, or None
    when it is not one: the identifier right before the first '(' (after
    attributes are removed), which needs a return type in front of it (so a
    macro call such as FOO(x); is not taken for one), and whose parameter
    list ends the signature (so `int (*hook)(void);`, a pointer, is not)."""
    text = remove_attributes(signature)
    first = FIRST_WORD_RE.match(text)
    if not first or first.group(0) in NOT_PROTOTYPE:
        return None
    open_at = text.find("(")
    if open_at < 0 or "=" in text[:open_at]:
        return None
    m = IDENT_AT_END_RE.search(text[:open_at])
    if not m or not text[:m.start()].strip():
        return None
    if text[open_at + 1:].lstrip().startswith("*"):
        return None
    j = closing_paren(text, open_at)
    if text[j + 1:].strip() not in ("", ";", "{"):
        return None
    return m.group(1)


def line_and_column(text, offset):
    """1-based line and 0-based column of offset in text."""
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1)
    return line, column


def prototypes(text):
    """[(line, name)] of the function prototypes a header declares at file
    scope, each starting at column 0 (static inline functions have a body
    and are not prototypes)."""
    found = []
    for offset, source, kind in file_scope_statements(source_for_statements(text)):
        line, column = line_and_column(text, offset)
        if kind == "decl" and column == 0:
            name = function_name(source)
            if name:
                found.append((line, name))
    return found


def definitions(text):
    """The names of the non-static functions a .c file defines at column 0."""
    names = set()
    for offset, source, kind in file_scope_statements(source_for_statements(text)):
        if kind == "def" and line_and_column(text, offset)[1] == 0:
            name = function_name(source[:source.index("{")])
            if name:
                names.add(name)
    return names


def source_for_statements(text):
    """text as the statement splitter needs it: no comments, no string
    insides, no directives; same length and line breaks as text."""
    return blank_directives(strip_comments(text, keep_strings=False))


# ------------------------------------------------------------- the tree

class Tree:
    """The .c and .h files under a source root, with what the rules need to
    know about each: its layer, its module and its includes."""

    def __init__(self, src_root, layers, prefix):
        self.root = os.path.abspath(src_root)
        self.layers = list(layers)
        self.rank = {name: i for i, name in enumerate(self.layers)}
        self.prefix = prefix
        self.files = sorted(self._walk())
        self.texts = {}
        for rel in self.files:
            with open(os.path.join(self.root, rel), encoding="utf-8", errors="replace") as f:
                self.texts[rel] = f.read()

    def _walk(self):
        for folder, dirs, names in os.walk(self.root):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            for name in names:
                if name.endswith((".c", ".h")):
                    path = os.path.join(folder, name)
                    yield os.path.relpath(path, self.root).replace(os.sep, "/")

    def show(self, rel):
        """How a file is named in a problem: src/net/dial.c."""
        return "%s/%s" % (self.prefix, rel) if self.prefix else rel

    @staticmethod
    def folder(rel):
        """The layer folder of a file ("" for a program directly in src/)."""
        return rel.split("/", 1)[0] if "/" in rel else ""

    @staticmethod
    def module(rel):
        """folder/stem with a trailing _int dropped: session/session.c,
        session.h and session_int.h are one module."""
        folder, name = os.path.split(rel)
        stem = os.path.splitext(name)[0]
        if stem.endswith("_int") and len(stem) > 4:
            stem = stem[:-4]
        return "%s/%s" % (folder, stem) if folder else stem

    def includes(self, rel):
        """[(line, written name, resolved rel or None)] of a file's
        #include "..." lines: relative to the file's folder first, then to
        the source root, as the compiler with -I src looks."""
        text = strip_comments(self.texts[rel], keep_strings=True)
        found = []
        for m in INCLUDE_RE.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            found.append((line, m.group(1), self.resolve(rel, m.group(1))))
        return found

    def resolve(self, rel, name):
        """The rel path an include names, or None if no file under the root
        has that name."""
        here = os.path.dirname(os.path.join(self.root, rel))
        for base in (here, self.root):
            path = os.path.normpath(os.path.join(base, name))
            inside = path.startswith(self.root + os.sep)
            if inside and os.path.isfile(path):
                return os.path.relpath(path, self.root).replace(os.sep, "/")
        return None


# ---------------------------------------------------------- rule a

def include_problems(tree):
    """Rule a: includes go to the includer's own layer or a lower one, name
    an existing file in a listed layer, and never name a program; every
    .c/.h below src/ sits in a listed layer folder."""
    problems = []
    for rel in tree.files:
        mine = tree.folder(rel)
        if mine and mine not in tree.rank:
            problems.append("%s:1: sits in %s/, which is not a layer in the layer list (%s)"
                            % (tree.show(rel), mine, ", ".join(tree.layers)))
        for line, name, target in tree.includes(rel):
            where = '%s:%d: includes "%s"' % (tree.show(rel), line, name)
            if target is None:
                problems.append("%s: no such file under %s/ (looked next to the file and in %s/)"
                                % (where, tree.prefix or ".", tree.prefix or "."))
                continue
            theirs = tree.folder(target)
            if not theirs:
                if mine:
                    problems.append("%s: %s is a program; a layer may not include it"
                                    % (where, tree.show(target)))
                continue
            if theirs not in tree.rank:
                problems.append("%s: %s/ is not a layer in the layer list (%s)"
                                % (where, theirs, ", ".join(tree.layers)))
                continue
            if mine in tree.rank and tree.rank[theirs] > tree.rank[mine]:
                problems.append("%s: %s may not include %s (a higher layer)"
                                % (where, mine, theirs))
    return problems


# ---------------------------------------------------------- rule b

def module_graph(tree):
    """{module: {module: (file, line)}}: an edge A -> B when a file of A
    includes a file of B, with the first such include (files sorted, lines
    in order) as the evidence.  Programs are left out: nothing may include
    them (rule a), so they cannot close a circle."""
    graph = {}
    for rel in tree.files:
        if not tree.folder(rel):
            continue
        a = tree.module(rel)
        edges = graph.setdefault(a, {})
        for line, _name, target in tree.includes(rel):
            if target is None or not tree.folder(target):
                continue
            b = tree.module(target)
            graph.setdefault(b, {})
            if b != a and b not in edges:
                edges[b] = (rel, line)
    return graph


def strongly_connected(graph):
    """Tarjan's strongly connected components of graph, iteratively (no
    recursion limit to hit), nodes and neighbours visited in sorted order
    so the result does not depend on dict order."""
    index, low, on_stack, stack, components = {}, {}, set(), [], []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, neighbours = work[-1]
            advanced = False
            for nxt in neighbours:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    advanced = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(sorted(component))
    return sorted(components)


def shortest_cycle(graph, component):
    """One concrete circle through the component's first module: the
    shortest path (breadth first, sorted) from it back to itself."""
    members = set(component)
    start = component[0]
    parent = {start: None}
    queue = [start]
    for node in queue:
        for nxt in sorted(graph[node]):
            if nxt == start:
                path = [node]
                while parent[path[-1]] is not None:
                    path.append(parent[path[-1]])
                return list(reversed(path)) + [start]
            if nxt in members and nxt not in parent:
                parent[nxt] = node
                queue.append(nxt)
    return None  # not reached: a component is strongly connected


def circle_problems(tree):
    """Rule b: every strongly connected component of more than one module,
    shown as one circle with the include that makes each step."""
    graph = module_graph(tree)
    problems = []
    for component in strongly_connected(graph):
        if len(component) < 2:
            continue
        cycle = shortest_cycle(graph, component)
        text = "circle: " + cycle[0]
        for a, b in zip(cycle, cycle[1:]):
            rel, line = graph[a][b]
            text += " -> %s (%s:%d)" % (b, tree.show(rel), line)
        if len(component) > len(cycle) - 1:
            text += "; these modules all reach each other: " + ", ".join(component)
        problems.append(text)
    return problems


# ---------------------------------------------------------- rule c

def declaration_problems(tree):
    """Rule c: a prototype in X.h or X_int.h is defined in X.c of the same
    folder; a header with no X.c declares no functions at all.  Where the
    function is defined instead (if anywhere) is named, since that is
    where its declaration belongs."""
    defined_in = {}
    for rel in tree.files:
        if rel.endswith(".c"):
            for name in definitions(tree.texts[rel]):
                defined_in.setdefault(name, []).append(rel)
    problems = []
    for rel in tree.files:
        if not rel.endswith(".h"):
            continue
        module = tree.module(rel)
        own_c = module + ".c"
        for line, name in prototypes(tree.texts[rel]):
            if own_c in tree.texts and own_c in defined_in.get(name, ()):
                continue
            elsewhere = sorted(defined_in.get(name, ()))
            hint = ("defined in %s" % ", ".join(tree.show(r) for r in elsewhere)
                    if elsewhere else "defined in no .c")
            if own_c in tree.texts:
                problems.append("%s:%d: declares %s(), which its module %s does not define "
                                "(not in %s; %s)"
                                % (tree.show(rel), line, name, module, tree.show(own_c), hint))
            else:
                problems.append("%s:%d: declares %s(), but %s is a header-only module (no %s): "
                                "it may declare only types, macros and static inline "
                                "functions (%s)"
                                % (tree.show(rel), line, name, module, tree.show(own_c), hint))
    return problems


# ------------------------------------------------------------- entry

def check_tree(src_root, layers, prefix="src"):
    """Every layering problem of the tree under src_root, given its layer
    folders lowest first: include problems (rule a), then circles (b), then
    misplaced declarations (c).  [] means the tree keeps its layering.
    Files are named prefix/relative-path in the messages."""
    tree = Tree(src_root, layers, prefix)
    return include_problems(tree) + circle_problems(tree) + declaration_problems(tree)
