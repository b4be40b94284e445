#!/usr/bin/env python3
"""Import-circle checker: no two files of one crate may depend on each other.

For every crate under crates/*/ (and the examples/ library), this builds the file-level
dependency graph of each target (lib, bins) from its module tree and reports every
strongly connected component of more than one file. Exit status: 0 when no crate has a
cycle, 1 when one does, 2 on a usage or parse problem.

What counts as a dependency (an edge from the file that writes it):
  * every `crate::...`, `$crate::...` or `super::...` path in a `use` declaration, with any
    visibility (`use`, `pub use`, `pub(crate) use`), at any depth (module level, function
    bodies, impl blocks, inline modules), including nested groups spread over several
    lines (`use crate::{a::B, c::{D, E}}`, `{self, ..}`, `as` renames, `*` globs);
  * the same paths written in code (`crate::scheme::hmac_key(&key)`), because a file that
    calls another through a qualified path depends on it just as much. `--uses-only`
    restricts the graph to `use` declarations, for comparison.
  Paths that start with `self::` or with the name of one of the module's own submodules
  (a facade's `pub use child::Type`) are not edges: they point into the module's own
  subtree. They are followed, though, when resolving re-exports.

How a path is resolved to a file: `crate::foo::Bar` walks the module tree
(src/foo.rs or src/foo/mod.rs, then src/foo/bar.rs when `bar` is a submodule) until a
segment is not a submodule; that segment is an item of the module reached. If the item is
defined there (fn/struct/enum/trait/type/const/static/union/macro_rules), the edge goes
to that module's file. If the module only imports it (`pub use foo::{Bar}` in lib.rs, a
private `use`, or a glob), the import is followed to the file that defines it, so
`crate::Bar` lands on src/foo.rs, not on lib.rs. Items of other crates give no edge. A
name found nowhere (e.g. made by a macro) is attributed to the module it was looked up in.
`super::` is relative to the module that writes it (an inline `mod presets { .. }` is a
module of its own); `#[path = ".."]` on `mod` declarations is honoured.

Test code: items under `#[cfg(test)]` (also `cfg(all(test, ..))`) are skipped, whatever
they are: inline `mod tests { .. }`, a `mod tests;` file (which is then left out of the
graph entirely), a test-only `use`, fn or impl. `cfg(any(test, feature = ..))` is not
test-only and is kept. This is done on tokens (comments, strings, char literals and
lifetimes are lexed away first), so `use crate::x;` inside a doc comment or a string
never counts.

THE ONE ALLOWED CYCLE: an error type and the types it names. `error.rs` usually names
other modules' types in its variants (`reason: crate::revocation::RevocationReason`)
while every module returns the error. So edges INTO a file named `error.rs` are ignored
when computing cycles (they are still counted and shown with `--verbose`); edges out of
error.rs count, so error.rs can still sit on a cycle that does not pass through it twice.

`--self-test` builds a small fake workspace in a temporary directory with known cycles
and a known acyclic layout and checks that exactly those are found (and that the exit
status follows), so the checker itself can fail.

Python 3 standard library only.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from collections import defaultdict, deque

try:
    import tomllib  # Python 3.11+
except ImportError:  # pragma: no cover - older Pythons fall back to a regex
    tomllib = None

ERROR_FILE = "error.rs"


class ParseError(Exception):
    pass


# ---------------------------------------------------------------------------------------
# Lexer: identifiers, `::`, single punctuation characters and string literals (kept for
# `#[path = ".."]`). Comments, char literals, lifetimes and numbers carry no paths.

IDENT_RE = re.compile(r"[^\W\d]\w*")
RAW_STR_RE = re.compile(r'(?:b|c)?r(#*)"')
NUM_RE = re.compile(r"\d[\w]*(?:\.\d[\w]*)?")


def tokenize(src: str):
    toks = []  # (kind, text, line); kind in {"id", "p", "str"}
    i, n, line = 0, len(src), 1
    while i < n:
        c = src[i]
        if c == "\n":
            line += 1
            i += 1
            continue
        if c.isspace():
            i += 1
            continue
        if src.startswith("//", i):
            j = src.find("\n", i)
            i = n if j < 0 else j
            continue
        if src.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if src.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif src.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    if src[j] == "\n":
                        line += 1
                    j += 1
            i = j
            continue
        m = RAW_STR_RE.match(src, i)
        if m:
            close = '"' + m.group(1)
            j = src.find(close, m.end())
            if j < 0:
                raise ParseError(f"line {line}: unterminated raw string")
            body = src[m.end():j]
            toks.append(("str", body, line))
            line += body.count("\n")
            i = j + len(close)
            continue
        if c == '"' or (c in "bc" and src.startswith('"', i + 1)):
            j = i + 1 if c == '"' else i + 2
            start = j
            while j < n and src[j] != '"':
                if src[j] == "\\":
                    j += 1
                j += 1
            if j >= n:
                raise ParseError(f"line {line}: unterminated string")
            body = src[start:j]
            toks.append(("str", body, line))
            line += body.count("\n")
            i = j + 1
            continue
        if c == "'" or (c == "b" and src.startswith("'", i + 1)):
            j = i + 1 if c == "'" else i + 2
            if j < n and src[j] == "\\":  # escaped char literal
                j += 2
                while j < n and src[j] != "'":
                    j += 1
                i = j + 1
                continue
            if j + 1 < n and src[j + 1] == "'":  # one-character literal
                i = j + 2
                continue
            # a lifetime or label: 'a, 'static
            m = IDENT_RE.match(src, j)
            i = m.end() if m else j
            continue
        if c == "r" and src.startswith("r#", i):
            m = IDENT_RE.match(src, i + 2)
            if m:  # raw identifier
                toks.append(("id", m.group(0), line))
                i = m.end()
                continue
        if c == "$" and src.startswith("$crate", i) and not re.match(r"\w", src[i + 6:i + 7]):
            toks.append(("id", "crate", line))
            i += 6
            continue
        m = IDENT_RE.match(src, i)
        if m:
            toks.append(("id", m.group(0), line))
            i = m.end()
            continue
        m = NUM_RE.match(src, i)
        if m:
            i = m.end()
            continue
        if src.startswith("::", i):
            toks.append(("p", "::", line))
            i += 2
            continue
        toks.append(("p", c, line))
        i += 1
    return toks


# ---------------------------------------------------------------------------------------
# Parser: module declarations, item names, `use` trees and qualified paths, per module.

ITEM_KW = {"fn", "struct", "enum", "trait", "type", "const", "static", "union"}
ITEM_START_KW = ITEM_KW | {"impl", "mod", "use", "extern", "macro_rules"}
QUALIFIERS = {"pub", "unsafe", "async", "default", "extern", "const", "crate"}
KEYWORDS = ITEM_START_KW | {
    "pub", "unsafe", "async", "default", "crate", "self", "super", "Self", "where", "for",
    "let", "mut", "ref", "move", "return", "if", "else", "match", "loop", "while", "in",
    "as", "dyn", "static",
}


class Module:
    def __init__(self, key, file, inline_dirs):
        self.key = key  # tuple of names from the crate root
        self.file = file  # the file that holds its body
        self.inline_dirs = inline_dirs  # inline module names between `file` and here
        self.children = {}  # name -> key
        self.defined = set()
        self.bindings = defaultdict(list)  # name -> [segments] (module-level uses)
        self.globs = []  # [segments]


class Reference:
    def __init__(self, file, module, segs, line, text, in_use):
        self.file, self.module, self.segs = file, module, segs
        self.line, self.text, self.in_use = line, text, in_use


class CrateTree:
    """The module tree of one target (a lib or a bin root) and every path it writes."""

    def __init__(self, root_file):
        self.root_file = os.path.abspath(root_file)
        self.modules = {}
        self.files = []  # files in the module tree, in discovery order
        self.test_files = []  # `#[cfg(test)] mod x;` files, left out
        self.refs = []
        self.warnings = []
        self._add_file_module((), self.root_file, is_root=True)

    # -- module tree ---------------------------------------------------------------------

    def _add_file_module(self, key, path, is_root=False):
        mod = Module(key, path, ())
        self.modules[key] = mod
        self.files.append(path)
        with open(path, encoding="utf-8") as f:
            src = f.read()
        try:
            toks = tokenize(src)
        except ParseError as e:
            raise ParseError(f"{path}: {e}") from None
        FileParser(self, mod, path, toks, is_root).run()

    def child_file(self, parent: Module, name, attr_path, line):
        f = parent.file
        mod_rs = f == self.root_file or os.path.basename(f) == "mod.rs"
        base = os.path.dirname(f)
        if attr_path is not None and not parent.inline_dirs:
            return os.path.normpath(os.path.join(base, attr_path))
        if not mod_rs:
            base = os.path.join(base, os.path.splitext(os.path.basename(f))[0])
        base = os.path.join(base, *parent.inline_dirs)
        if attr_path is not None:
            return os.path.normpath(os.path.join(base, attr_path))
        flat, nested = os.path.join(base, name + ".rs"), os.path.join(base, name, "mod.rs")
        if os.path.isfile(flat) and os.path.isfile(nested):
            self.warnings.append(f"{f}:{line}: both {flat} and {nested} exist; using {flat}")
        if os.path.isfile(flat):
            return flat
        if os.path.isfile(nested):
            return nested
        self.warnings.append(f"{f}:{line}: no file for `mod {name};`")
        return None

    def declare_file_child(self, parent, name, attr_path, line, test_only):
        path = self.child_file(parent, name, attr_path, line)
        if path is None:
            return
        key = parent.key + (name,)
        if test_only:
            self.test_files.append(path)
            return
        parent.children[name] = key
        self._add_file_module(key, path)

    def declare_inline_child(self, parent, name):
        key = parent.key + (name,)
        mod = Module(key, parent.file, parent.inline_dirs + (name,))
        self.modules[key] = mod
        parent.children[name] = key
        return mod

    # -- resolution ----------------------------------------------------------------------

    def resolve(self, ctx_key, segs, seen=None):
        """-> ("mod", key) | ("item", file) | ("extern", None) | ("unknown", file)"""
        seen = set() if seen is None else seen
        if not segs:
            return ("mod", ctx_key)
        first, rest = segs[0], list(segs[1:])
        if first == "crate":
            start = ()
        elif first == "::":
            return ("extern", None)
        elif first in ("super", "self"):
            start = ctx_key
            rest = list(segs)
            while rest and rest[0] in ("super", "self"):
                if rest[0] == "super":
                    if not start:
                        return ("unknown", self.modules[ctx_key].file)
                    start = start[:-1]
                rest.pop(0)
        else:
            ctx = self.modules[ctx_key]
            if first in ctx.children or first in ctx.defined or first in ctx.bindings:
                start, rest = ctx_key, list(segs)
            else:
                return ("extern", None)
        return self.walk(start, rest, seen)

    def _knows(self, key, name):
        m = self.modules[key]
        return name in m.children or name in m.defined or name in m.bindings

    def walk(self, key, rest, seen):
        mod = self.modules[key]
        if not rest:
            return ("mod", key)
        name = rest[0]
        if name == "self":
            return self.walk(key, rest[1:], seen)
        if name in mod.children:
            return self.walk(mod.children[name], rest[1:], seen)
        if name in mod.defined:
            return ("item", mod.file)
        if name in mod.bindings and (key, name) not in seen:
            seen.add((key, name))
            r = self.resolve(key, mod.bindings[name][0], seen)
            if r[0] == "mod":
                return self.walk(r[1], rest[1:], seen)
            return r
        for g in mod.globs:
            if (key, "*", tuple(g)) in seen:
                continue
            seen.add((key, "*", tuple(g)))
            r = self.resolve(key, g, seen)
            if r[0] == "mod" and self._knows(r[1], name):
                return self.walk(r[1], rest, seen)
        return ("unknown", mod.file)

    def target_file(self, ref):
        r = self.resolve(ref.module, ref.segs)
        if r[0] == "mod":
            return self.modules[r[1]].file
        if r[0] in ("item", "unknown"):
            return r[1]
        return None


class FileParser:
    def __init__(self, tree, mod, path, toks, is_root):
        self.tree, self.path, self.toks, self.n = tree, path, toks, len(toks)
        self.file_mod = mod
        self.scopes = [("mod", mod)]  # ("mod", Module) or ("block", None)

    def t(self, i):
        return self.toks[i][1] if i < self.n else None

    def k(self, i):
        return self.toks[i][0] if i < self.n else None

    def cur_mod(self):
        for kind, m in reversed(self.scopes):
            if kind == "mod":
                return m
        return self.file_mod

    def at_module_scope(self):
        return self.scopes[-1][0] == "mod"

    def matching(self, i, open_, close):
        depth = 0
        while i < self.n:
            if self.k(i) == "p":
                if self.t(i) == open_:
                    depth += 1
                elif self.t(i) == close:
                    depth -= 1
                    if depth == 0:
                        return i
            i += 1
        raise ParseError(f"{self.path}: unbalanced `{open_}`")

    def run(self):
        i = 0
        test_next = False
        path_attr = None
        while i < self.n:
            kind, t, line = self.toks[i]
            if kind == "p" and t == "#" and self.t(i + 1) in ("[", "!"):
                inner = self.t(i + 1) == "!"
                j = i + 2 if inner else i + 1
                if self.t(j) != "[":
                    i += 1
                    continue
                end = self.matching(j, "[", "]")
                attr = self.toks[j + 1:end]
                if is_test_cfg(attr):
                    if inner:
                        if len(self.scopes) == 1:
                            return  # `#![cfg(test)]` file: nothing in it counts
                        # inner attribute of an inline module: skip to its closing brace
                        depth, i = 1, end + 1
                        while i < self.n and depth:
                            if self.k(i) == "p" and self.t(i) == "{":
                                depth += 1
                            elif self.k(i) == "p" and self.t(i) == "}":
                                depth -= 1
                            i += 1
                        i -= 1  # let the loop see the closing brace
                        continue
                    test_next = True
                if (len(attr) >= 3 and attr[0][1] == "path" and attr[1][1] == "="
                        and attr[2][0] == "str"):
                    path_attr = attr[2][1]
                i = end + 1
                continue
            if test_next:
                decl = self.mod_decl(i)
                if decl and decl[1] == ";":
                    self.tree.declare_file_child(self.cur_mod(), decl[0], path_attr, line, True)
                i = self.skip_item(i)
                test_next, path_attr = False, None
                continue
            if kind == "id" and t == "mod" and self.k(i + 1) == "id":
                name, after = self.t(i + 1), self.t(i + 2)
                if after == ";":
                    self.tree.declare_file_child(self.cur_mod(), name, path_attr, line, False)
                    path_attr = None
                    i += 3
                    continue
                if after == "{":
                    child = self.tree.declare_inline_child(self.cur_mod(), name)
                    self.scopes.append(("mod", child))
                    path_attr = None
                    i += 3
                    continue
            if kind == "p" and t == "{":
                self.scopes.append(("block", None))
                path_attr = None
            elif kind == "p" and t == "}":
                if len(self.scopes) > 1:
                    self.scopes.pop()
                path_attr = None
            elif kind == "id" and t == "use":
                i = self.parse_use(i)
                continue
            elif kind == "id" and t in ("crate", "super") and self.t(i + 1) == "::" \
                    and self.t(i - 1) != "::" and not (i > 0 and self.t(i - 1) == "in"):
                i = self.code_path(i)
                continue
            elif kind == "id" and self.at_module_scope():
                if t in ITEM_KW and self.k(i + 1) == "id" and self.t(i + 1) not in KEYWORDS:
                    self.cur_mod().defined.add(self.t(i + 1))
                elif t == "macro_rules" and self.t(i + 1) == "!" and self.k(i + 2) == "id":
                    self.cur_mod().defined.add(self.t(i + 2))
            i += 1

    def mod_decl(self, i):
        """`[pub[(..)]] mod NAME ;|{` at i -> (NAME, ";"|"{") or None."""
        if self.t(i) == "pub":
            i += 1
            if self.t(i) == "(":
                i = self.matching(i, "(", ")") + 1
        if self.t(i) == "mod" and self.k(i + 1) == "id":
            return (self.t(i + 1), self.t(i + 2))
        return None

    def skip_item(self, i):
        """Skip one item/statement/field starting at i; return the index after it."""
        j = i
        while self.k(j) == "id" and self.t(j) in QUALIFIERS or self.k(j) == "str":
            j += 1
            if self.t(j) == "(" and self.t(j - 1) == "pub":
                j = self.matching(j, "(", ")") + 1
        is_item = self.k(j) == "id" and self.t(j) in ITEM_START_KW
        depth = 0
        while i < self.n:
            kind, t, _ = self.toks[i]
            if kind == "p":
                if t in "([{":
                    depth += 1
                elif t in ")]}":
                    if depth == 0:
                        return i  # end of the enclosing group; not ours
                    depth -= 1
                    if depth == 0 and t == "}":
                        if self.t(i + 1) in (";", ","):
                            return i + 2
                        return i + 1
                elif depth == 0 and (t == ";" or (t == "," and not is_item)):
                    return i + 1
            i += 1
        return i

    def parse_use(self, i):
        line = self.toks[i][2]
        end = i
        while end < self.n and self.t(end) != ";":
            end += 1
        body = self.toks[i + 1:end]
        trees = []
        parse_tree(body, 0, [], trees)
        mod = self.cur_mod()
        module_level = self.at_module_scope()
        for segs, alias, glob in trees:
            norm = list(segs)
            if norm and norm[-1] == "self" and len(norm) > 1:
                norm = norm[:-1]
            if module_level and norm:
                if glob:
                    mod.globs.append(norm)
                else:
                    name = alias if alias is not None else norm[-1]
                    if name != "_":
                        mod.bindings[name].append(norm)
            if norm and norm[0] in ("crate", "super"):
                text = "::".join(norm) + ("::*" if glob else "")
                self.tree.refs.append(Reference(self.path, mod.key, norm, line, text, True))
        return end + 1

    def code_path(self, i):
        line = self.toks[i][2]
        segs = [self.t(i)]
        j = i + 1
        while self.t(j) == "::" and self.k(j + 1) == "id":
            segs.append(self.t(j + 1))
            j += 2
        self.tree.refs.append(
            Reference(self.path, self.cur_mod().key, segs, line, "::".join(segs), False))
        return j


def parse_tree(toks, i, prefix, out):
    segs = list(prefix)
    if i < len(toks) and toks[i][1] == "::" and not prefix:
        segs.append("::")
        i += 1
    while i < len(toks):
        kind, t, _ = toks[i]
        if t == "{":
            i += 1
            while i < len(toks) and toks[i][1] != "}":
                before = i
                i = parse_tree(toks, i, segs, out)
                if i < len(toks) and toks[i][1] == ",":
                    i += 1
                if i == before:
                    i += 1
            return i + 1
        if t == "*":
            out.append((segs, None, True))
            return i + 1
        if kind == "id":
            segs = segs + [t]
            i += 1
            if i < len(toks) and toks[i][1] == "::":
                i += 1
                continue
            if i + 1 < len(toks) and toks[i][1] == "as":
                out.append((segs, toks[i + 1][1], False))
                return i + 2
            out.append((segs, None, False))
            return i
        return i
    return i


def is_test_cfg(attr):
    """`cfg(test)` or `cfg(all(test, ..))`: true only when the item exists in tests only."""
    if len(attr) < 2 or attr[0][1] != "cfg" or attr[1][1] != "(":
        return False

    def pred(i):  # -> (test_only, next index)
        t = attr[i][1] if i < len(attr) else None
        if t in ("all", "any", "not") and i + 1 < len(attr) and attr[i + 1][1] == "(":
            vals, i = [], i + 2
            while i < len(attr) and attr[i][1] != ")":
                v, i = pred(i)
                vals.append(v)
                if i < len(attr) and attr[i][1] == ",":
                    i += 1
            i += 1
            if t == "all":
                return any(vals), i
            if t == "any":
                return bool(vals) and all(vals), i
            return False, i
        if t == "test":
            return True, i + 1
        # `feature = "x"`, `unix`, ...: skip the predicate
        i += 1
        if i < len(attr) and attr[i][1] == "=":
            i += 2
        return False, i

    v, _ = pred(2)
    return v


# ---------------------------------------------------------------------------------------
# Graph


def tarjan(nodes, edges):
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = [0]
    sys.setrecursionlimit(max(10000, sys.getrecursionlimit()))

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(sorted(comp))

    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return out


def shortest_cycle(comp, edges):
    comp_set = set(comp)
    best = None
    for s in comp:
        prev, q = {s: None}, deque([s])
        found = None
        while q and found is None:
            v = q.popleft()
            for w in sorted(edges.get(v, ())):
                if w not in comp_set:
                    continue
                if w == s:
                    found = v
                    break
                if w not in prev:
                    prev[w] = v
                    q.append(w)
        if found is not None:
            path, v = [], found
            while v is not None:
                path.append(v)
                v = prev[v]
            path.reverse()
            if best is None or len(path) < len(best):
                best = path
    return (best or []) + (best[:1] if best else [])


class Result:
    def __init__(self, name, target, base, tree, uses_only):
        self.name, self.target, self.base = name, target, base
        self.tree = tree
        self.files = list(tree.files)
        self.edges = defaultdict(set)  # counted edges
        self.ignored = defaultdict(set)  # edges into error.rs
        self.evidence = {}
        for ref in tree.refs:
            if uses_only and not ref.in_use:
                continue
            dst = tree.target_file(ref)
            if dst is None or dst == ref.file or dst not in self.files:
                continue
            self.evidence.setdefault((ref.file, dst), ref)
            if os.path.basename(dst) == ERROR_FILE:
                self.ignored[ref.file].add(dst)
            else:
                self.edges[ref.file].add(dst)
        self.cycles = [c for c in tarjan(self.files, self.edges) if len(c) > 1]

    def rel(self, p):
        return os.path.relpath(p, self.base)

    def edge_count(self, which):
        return sum(len(v) for v in which.values())

    def report(self, verbose):
        lines = []
        status = "no cycle" if not self.cycles else f"{len(self.cycles)} CYCLE(S)"
        lines.append(
            f"{self.name} ({self.target}): {len(self.files)} files, "
            f"{self.edge_count(self.edges)} edges "
            f"(+{self.edge_count(self.ignored)} into error.rs, not counted): {status}")
        for n, comp in enumerate(self.cycles, 1):
            lines.append(f"  cycle {n}: {', '.join(self.rel(f) for f in comp)}")
            cyc = shortest_cycle(comp, self.edges)
            lines.append("    e.g. " + " -> ".join(self.rel(f) for f in cyc))
            cs = set(comp)
            for src in comp:
                for dst in sorted(self.edges.get(src, ())):
                    if dst in cs:
                        ref = self.evidence[(src, dst)]
                        what = "use" if ref.in_use else "path"
                        lines.append(f"    {self.rel(src)} -> {self.rel(dst)}   "
                                     f"({self.rel(ref.file)}:{ref.line} {what} {ref.text})")
        if verbose:
            for src in self.files:
                for dst in sorted(self.edges.get(src, ())):
                    ref = self.evidence[(src, dst)]
                    lines.append(f"  edge {self.rel(src)} -> {self.rel(dst)}  (:{ref.line} {ref.text})")
                for dst in sorted(self.ignored.get(src, ())):
                    lines.append(f"  edge {self.rel(src)} -> {self.rel(dst)}  (into error.rs, not counted)")
        for f in self.tree.test_files:
            lines.append(f"  test-only module file left out: {self.rel(f)}")
        for w in self.tree.warnings:
            lines.append(f"  warning: {w}")
        return lines


# ---------------------------------------------------------------------------------------
# Discovery


def read_manifest(path):
    with open(path, "rb") as f:
        data = f.read()
    if tomllib is not None:
        return tomllib.loads(data.decode("utf-8"))
    text = data.decode("utf-8")  # minimal fallback: package name, [lib] path, [[bin]] paths
    out = {"package": {}, "bin": []}
    section = None
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if line.startswith("[["):
            section = line.strip("[]")
            if section == "bin":
                out["bin"].append({})
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        m = re.match(r'(\w+)\s*=\s*"([^"]*)"', line)
        if not m:
            continue
        if section == "package":
            out["package"][m.group(1)] = m.group(2)
        elif section == "lib":
            out.setdefault("lib", {})[m.group(1)] = m.group(2)
        elif section == "bin" and out["bin"]:
            out["bin"][-1][m.group(1)] = m.group(2)
    return out


def targets(crate_dir):
    manifest = read_manifest(os.path.join(crate_dir, "Cargo.toml"))
    name = manifest.get("package", {}).get("name", os.path.basename(crate_dir))
    found = []
    lib = manifest.get("lib", {}).get("path", "src/lib.rs")
    if os.path.isfile(os.path.join(crate_dir, lib)):
        found.append(("lib", os.path.join(crate_dir, lib)))
    bins = [b.get("path") for b in manifest.get("bin", []) if b.get("path")]
    if os.path.isfile(os.path.join(crate_dir, "src/main.rs")):
        bins.append("src/main.rs")
    bindir = os.path.join(crate_dir, "src/bin")
    if os.path.isdir(bindir):
        for f in sorted(os.listdir(bindir)):
            if f.endswith(".rs"):
                bins.append(os.path.join("src/bin", f))
    for b in sorted(set(os.path.normpath(b) for b in bins)):
        found.append((f"bin {b}", os.path.join(crate_dir, b)))
    return name, found


def discover(root):
    dirs = []
    crates = os.path.join(root, "crates")
    if os.path.isdir(crates):
        for d in sorted(os.listdir(crates)):
            if os.path.isfile(os.path.join(crates, d, "Cargo.toml")):
                dirs.append(os.path.join(crates, d))
    ex = os.path.join(root, "examples")
    if os.path.isfile(os.path.join(ex, "Cargo.toml")):
        dirs.append(ex)  # only its library target is found unless it has bins
    return dirs


def analyze(root, uses_only=False):
    results = []
    for crate_dir in discover(root):
        name, tgts = targets(crate_dir)
        for target, path in tgts:
            tree = CrateTree(path)
            results.append(Result(name, target, crate_dir, tree, uses_only))
    return results


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                    help="workspace root (default: the parent of .ci/)")
    ap.add_argument("--uses-only", action="store_true",
                    help="count `use` declarations only, not qualified paths in code")
    ap.add_argument("--verbose", "-v", action="store_true", help="print every edge")
    ap.add_argument("--self-test", action="store_true", help="check the checker on a fake crate")
    args = ap.parse_args(argv)
    if args.self_test:
        return self_test()
    try:
        results = analyze(args.root, args.uses_only)
    except (ParseError, OSError) as e:
        print(f"import cycles: {e}", file=sys.stderr)
        return 2
    if not results:
        print(f"import cycles: no crates found under {args.root}", file=sys.stderr)
        return 2
    print("import cycles per crate (edges into error.rs are allowed; "
          + ("use declarations only" if args.uses_only else "use declarations and crate::/super:: paths in code")
          + ")")
    bad = []
    for r in results:
        for line in r.report(args.verbose):
            print(line)
        if r.cycles:
            bad.append(f"{r.name} ({r.target})")
    if bad:
        print(f"\nFAIL: import cycles in {len(bad)} target(s): {', '.join(bad)}")
        return 1
    print(f"\nok: no import cycles in {len(results)} target(s)")
    return 0


# ---------------------------------------------------------------------------------------
# Self-test

FAKE = {
    # A crate with three cycles: a <-> b (one of them through a root re-export), p <-> q
    # through a `use` inside a function body and a code path, and x -> y -> z -> x over a
    # nested module written as x.rs + x/ (no mod.rs) and `super::`.
    "crates/fake-cyclic/Cargo.toml": '[package]\nname = "fake-cyclic"\n',
    "crates/fake-cyclic/src/lib.rs": """
        //! Docs mentioning `use crate::c::C;` must not count.
        mod a;
        mod b;
        mod c;
        mod error;
        mod p;
        mod q;
        pub mod x;
        pub use a::A;
        pub use b::{
            B, // a comment
            Bee as Bee2,
        };
        pub use error::Error;
    """,
    "crates/fake-cyclic/src/a.rs": """
        use crate::B; // root re-export: lands on b.rs
        use crate::error::Error;
        pub struct A;
        const S: &str = "use crate::c::C;";
        const R: &str = r#"use crate::c::C;"#;
        fn f<'a>(x: &'a str) -> char { let _ = x; 'c' }
    """,
    "crates/fake-cyclic/src/b.rs": """
        use crate::{
            a::{A},
            error::Error,
        };
        pub struct B;
        pub struct Bee;
    """,
    "crates/fake-cyclic/src/c.rs": """
        pub struct C;
        #[cfg(test)]
        mod tests {
            use crate::a::A; // test-only: ignored
        }
    """,
    "crates/fake-cyclic/src/error.rs": """
        // error.rs names other modules' types: edges INTO error.rs are not counted,
        // so error <-> a and error <-> b are allowed.
        use crate::a::A;
        use crate::Bee2;
        pub enum Error { A(A) }
    """,
    "crates/fake-cyclic/src/p.rs": """
        pub fn p() {
            use crate::q::Q;
            let _ = Q;
        }
        pub struct P;
    """,
    "crates/fake-cyclic/src/q.rs": """
        pub struct Q;
        fn g() { let _ = crate::p::P; }
    """,
    "crates/fake-cyclic/src/x.rs": """
        pub mod y;
        pub struct X;
        fn h() { let _ = y::Y; } // a module naming its own child: not an edge
    """,
    "crates/fake-cyclic/src/x/y.rs": """
        pub use super::X;
        use crate::c::C;
        pub struct Y;
        pub mod z {
            pub struct Z;
        }
        pub(crate) use self::z::Z;
    """,
    "crates/fake-cyclic/src/z_unused.rs": "use crate::a::A;\n",
    # An acyclic crate that exercises everything that must NOT produce a cycle.
    "crates/fake-acyclic/Cargo.toml": '[package]\nname = "fake-acyclic"\n',
    "crates/fake-acyclic/src/lib.rs": """
        mod error;
        mod model;
        pub mod store;
        pub mod quota;
        mod util;
        pub use error::Error;
        pub use model::*;
        pub use store::{memory::MemoryStore, Store};
    """,
    "crates/fake-acyclic/src/error.rs": """
        use crate::model::Model; // error names a type, the type returns the error: allowed
        pub enum Error { Bad(Model) }
        #[cfg(test)]
        mod tests { use crate::store::Store; }
    """,
    "crates/fake-acyclic/src/model.rs": """
        use crate::Error;
        pub struct Model;
        pub fn check() -> Result<(), Error> { crate::util::helper(); Ok(()) }
        #[cfg(test)]
        mod tests;
        #[cfg(all(test, feature = "x"))]
        use crate::store::Store;
        #[cfg(test)]
        fn only_in_tests<A, B>() { let _ = crate::store::memory::MemoryStore; }
    """,
    "crates/fake-acyclic/src/model/tests.rs": """
        use crate::store::Store; // a test-only file: left out
        use super::*;
    """,
    "crates/fake-acyclic/src/store/mod.rs": """
        pub mod memory;
        use crate::Model; // through the glob re-export: lands on model.rs
        pub trait Store {}
        #[cfg(any(test, feature = "testing"))]
        pub fn fixture() -> crate::quota::Quota { crate::quota::Quota }
    """,
    "crates/fake-acyclic/src/store/memory.rs": """
        use super::Store;
        use crate::Model;
        pub struct MemoryStore;
    """,
    "crates/fake-acyclic/src/quota.rs": """
        pub struct Quota;
        pub mod presets {
            use super::Quota; // super of an inline module: quota.rs itself
            use crate::util::helper;
        }
    """,
    "crates/fake-acyclic/src/util.rs": """
        pub fn helper() {}
    """,
}

EXPECTED = {
    ("fake-cyclic", "lib"): [
        ["src/a.rs", "src/b.rs"],
        ["src/p.rs", "src/q.rs"],
    ],
    ("fake-acyclic", "lib"): [],
}


def write_fake(root, files):
    for rel, text in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        lines = text.split("\n")
        indent = min((len(l) - len(l.lstrip()) for l in lines if l.strip()), default=0)
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(l[indent:] for l in lines).lstrip("\n"))


def self_test():
    failures = []
    files = dict(FAKE)
    # a third cycle through a nested x.rs + x/ module: y -> c is fine, add c -> x
    files["crates/fake-cyclic/src/c.rs"] = files["crates/fake-cyclic/src/c.rs"] + \
        "\n        use crate::x::y::Y;\n        pub fn k() -> crate::x::y::Z { crate::x::y::z::Z }\n"
    expected = dict(EXPECTED)
    expected[("fake-cyclic", "lib")] = [
        ["src/a.rs", "src/b.rs"],
        ["src/c.rs", "src/x/y.rs"],
        ["src/p.rs", "src/q.rs"],
    ]
    with tempfile.TemporaryDirectory() as tmp:
        write_fake(tmp, files)
        results = analyze(tmp)
        got = {(r.name, r.target): [[r.rel(f) for f in c] for c in r.cycles] for r in results}
        if sorted(got) != sorted(expected):
            failures.append(f"targets: expected {sorted(expected)}, got {sorted(got)}")
        for key, want in expected.items():
            if sorted(got.get(key, [])) != sorted(want):
                failures.append(f"{key}: expected cycles {want}, got {got.get(key)}")
        by = {(r.name, r.target): r for r in results}
        cyc = by.get(("fake-cyclic", "lib"))
        acy = by.get(("fake-acyclic", "lib"))
        if cyc and acy:
            def edges(r):
                return {(r.rel(s), r.rel(d)) for s, ds in r.edges.items() for d in ds}

            def ignored(r):
                return {(r.rel(s), r.rel(d)) for s, ds in r.ignored.items() for d in ds}

            ce, ae = edges(cyc), edges(acy)
            checks = [
                (("src/a.rs", "src/b.rs") in ce, "root re-export `crate::B` resolves to b.rs"),
                (("src/error.rs", "src/b.rs") in ce, "`crate::Bee2` (renamed re-export) resolves to b.rs"),
                (("src/a.rs", "src/c.rs") not in ce, "uses in comments and strings are ignored"),
                (("src/c.rs", "src/a.rs") not in ce, "inline #[cfg(test)] mod tests is ignored"),
                (("src/a.rs", "src/error.rs") in ignored(cyc), "edges into error.rs are set aside"),
                (("src/x.rs", "src/x/y.rs") not in ce, "a module naming its own child is not an edge"),
                (("src/x/y.rs", "src/x.rs") in ce, "`super::` from x/y.rs resolves to x.rs"),
                ("z_unused.rs" not in " ".join(cyc.files), "files outside the module tree are not read"),
                (("src/store/mod.rs", "src/model.rs") in ae, "glob re-export resolves to model.rs"),
                (("src/store/memory.rs", "src/store/mod.rs") in ae, "`super::` from store/memory.rs"),
                (("src/model.rs", "src/util.rs") in ae, "a code path `crate::util::helper()` is an edge"),
                (("src/model.rs", "src/store/mod.rs") not in ae
                 and ("src/model.rs", "src/store/memory.rs") not in ae,
                 "#[cfg(test)] / cfg(all(test, ..)) items are ignored"),
                (("src/store/mod.rs", "src/quota.rs") in ae, "cfg(any(test, ..)) items are kept"),
                (("src/quota.rs", "src/util.rs") in ae, "uses in an inline module count"),
                (any(f.endswith("model/tests.rs") for f in acy.tree.test_files),
                 "`#[cfg(test)] mod tests;` file is left out"),
                (not any(f.endswith("model/tests.rs") for f in acy.files),
                 "`#[cfg(test)] mod tests;` file is not in the graph"),
            ]
            failures += [f"check failed: {what}" for ok, what in checks if not ok]
        # --uses-only drops the p <-> q cycle (one side is a code path)
        uo = {(r.name, r.target): [[r.rel(f) for f in c] for c in r.cycles]
              for r in analyze(tmp, uses_only=True)}
        if ["src/p.rs", "src/q.rs"] in uo.get(("fake-cyclic", "lib"), []):
            failures.append("--uses-only still counts the code path crate::p::P")
        # the exit status: 1 with the cyclic crate, 0 without it
        script = os.path.abspath(__file__)
        rc = subprocess.run([sys.executable, script, "--root", tmp],
                            capture_output=True, text=True).returncode
        if rc != 1:
            failures.append(f"exit status with a cycle: expected 1, got {rc}")
        import shutil
        shutil.rmtree(os.path.join(tmp, "crates/fake-cyclic"))
        proc = subprocess.run([sys.executable, script, "--root", tmp], capture_output=True, text=True)
        if proc.returncode != 0:
            failures.append(f"exit status without a cycle: expected 0, got {proc.returncode}\n{proc.stdout}")
    if failures:
        print("import cycles self-test FAILED:")
        for f in failures:
            print(f"  {f}")
        return 1
    print("import cycles self-test: ok (3 known cycles found, acyclic layout clean, exit status 1/0)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
