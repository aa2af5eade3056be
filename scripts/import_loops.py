#!/usr/bin/env python3
"""Fails when modules of one crate import each other in a loop.

For every crate of the workspace this reads each source file's module path
(`src/a/b.rs` is `crate::a::b`), collects the paths it names (`use crate::…`,
`super::…`, `crate::x::f()` in expressions, brace groups expanded) and draws an
arrow between the two sibling modules that separate the importer from what it
imports. A cycle among the siblings of any one parent is an import loop: those
modules cannot be read, tested or moved one at a time.

Inline modules (`mod m { … }`) are modules like any other, and a path through
an ancestor's re-export (`use crate::Thing` where the crate root has
`pub use a::Thing`) is an arrow to where the item lives (`a`).

Test code is left out: `tests.rs` files, `tests/` directories, and every item
marked `#[cfg(test)]`, since a module's tests may reach anywhere. Comments are
dropped and string literals emptied before anything is read.

Usage: scripts/import_loops.py [ROOT], or --self-test to check the script on
small made-up crates.
"""

import re
import sys
from pathlib import Path

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
MOD_DECL = re.compile(rf"^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+({IDENT})\s*;", re.M)
USE_STMT = re.compile(r"\buse\s+((?:crate|super|self)\b[^;]*);", re.S)
INLINE_PATH = re.compile(rf"\b((?:crate|(?:super::)*super)(?:::{IDENT})+)")


def crate_roots(root):
    """(crate name, src dir, root files) for each workspace member."""
    for manifest in sorted(root.glob("*/Cargo.toml")) + sorted(root.glob("*/*/Cargo.toml")):
        src = manifest.parent / "src"
        if "target" in manifest.parts or "node_modules" in manifest.parts or not src.is_dir():
            continue
        roots = [p for p in (src / "lib.rs", src / "main.rs") if p.exists()]
        roots += sorted((src / "bin").glob("*.rs")) if (src / "bin").is_dir() else []
        yield manifest.parent.name, src, roots


CHAR_LITERAL = re.compile(r"'(?:\\.[^']*|[^\\'\n])'")
RAW_STRING = re.compile(r'[bc]?r(#*)"')
CFG_TEST = re.compile(r"#\[cfg\(test\)\]")


def strip_comments_and_strings(text):
    """The source with comments removed and every string literal emptied
    (`"…"` becomes `""`), so neither can look like a path or a brace."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif text.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
        elif (raw := RAW_STRING.match(text, i)) and (i == 0 or not text[i - 1].isalnum()):
            close = '"' + raw.group(1)
            end = text.find(close, raw.end())
            out.append('""')
            i = n if end < 0 else end + len(close)
        elif c == '"':
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            out.append('""')
            i += 1
        elif c == "'" and (lit := CHAR_LITERAL.match(text, i)):
            out.append("' '")
            i = lit.end()
        else:
            out.append(c)
            i += 1
    return "".join(out)


ITEM_START = re.compile(
    r"\s*(?:#\[[^\]]*\]\s*)*(?:pub(?:\([^)]*\))?\s+)?"
    r"(?:(?:async|unsafe|const|extern(?:\s+\"[^\"]*\")?)\s+)*"
    r"(?:fn|impl|mod|use|struct|enum|const|static|type|trait|union|macro_rules!)\b"
)


def item_end(text, start):
    """Where what starts at `start` ends. An item (`fn`, `impl`, `mod`, …)
    ends after its `;` or after the brace block that closes it; anything
    else an attribute may mark (a field, a variant, a match arm, a
    statement) ends after its `,` or `;`, or before the bracket that closes
    the list it stands in. Brackets of every kind nest: a `;` in `[u8; 4]`
    ends nothing."""
    item = ITEM_START.match(text, start) is not None
    depth, i = 0, start
    while i < len(text):
        c = text[i]
        if c in "([{":
            depth += 1
        elif c in ")]}":
            if depth == 0:
                return i
            depth -= 1
            if depth == 0 and c == "}" and item:
                return i + 1
        elif depth == 0 and (c == ";" or (c == "," and not item)):
            return i + 1
        i += 1
    return len(text)


def without_test_items(text):
    """`text` without the items marked `#[cfg(test)]`."""
    while (m := CFG_TEST.search(text)) :
        text = text[: m.start()] + text[item_end(text, m.end()) :]
    return text


def production_text(path):
    return without_test_items(strip_comments_and_strings(path.read_text()))


INLINE_MOD = re.compile(rf"(?:pub(?:\([^)]*\))?\s+)?mod\s+({IDENT})\s*\{{")


def split_inline_modules(text):
    """(text outside inline modules, [(name, body)]) for one module's text."""
    inline = []
    while (m := INLINE_MOD.search(text)):
        end = item_end(text, m.start())
        inline.append((m.group(1), text[m.end() : end - 1]))
        text = text[: m.start()] + text[end:]
    return text, inline


def modules(src, root_file):
    """Maps each module path (tuple) of one crate to (its file, its own
    production text, inline children removed)."""
    found = {}

    def walk(path, file, text, child_dir):
        text, inline = split_inline_modules(text)
        found[path] = (file, text)
        for name, body in inline:
            walk(path + (name,), file, body, child_dir / name)
        for name in MOD_DECL.findall(text):
            for candidate in (child_dir / f"{name}.rs", child_dir / name / "mod.rs"):
                if candidate.exists():
                    walk(path + (name,), candidate, production_text(candidate), dir_of(candidate))
                    break

    walk((), root_file, production_text(root_file), dir_of(root_file))
    return found


def dir_of(file):
    """Where the files of `file`'s child modules are."""
    if file.name in ("lib.rs", "main.rs", "mod.rs") or file.parent.name == "bin":
        return file.parent
    return file.with_suffix("")


def expand_use(tree):
    """`crate::{a, b::{c, d}}` -> ['crate::a', 'crate::b::c', 'crate::b::d']."""
    tree = re.sub(r"\s+as\s+", " as ", tree.strip())
    tree = re.sub(r"\s*([{},:])\s*", r"\1", tree)
    depth, start = 0, None
    for i, ch in enumerate(tree):
        if ch == "{":
            if depth == 0:
                start = i
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                prefix, inner = tree[:start], tree[start + 1 : i]
                parts, level, last = [], 0, 0
                for j, c in enumerate(inner + ","):
                    if c in "{":
                        level += 1
                    elif c == "}":
                        level -= 1
                    elif c == "," and level == 0:
                        if inner[last:j]:
                            parts.append(inner[last:j])
                        last = j + 1
                out = []
                for part in parts:
                    out += expand_use(prefix + part if part != "self" else prefix.rstrip(":"))
                return out
    return [tree.strip()]


def split_alias(path):
    """`a::b as c` -> ('a::b', 'c'); `a::b` -> ('a::b', 'b')."""
    path, _, alias = path.partition(" as ")
    return path.strip(), (alias.strip() or path.strip().split("::")[-1])


PUB_USE = re.compile(r"(?<![A-Za-z0-9_:])use\s+([^;]*);", re.S)


def reexports_of(known):
    """For each module, the names its `use` declarations bring in and the
    path, read from that module, of what each names. Private ones count too:
    a module's descendants may name them (`use crate::Thing` where the crate
    root has `use a::Thing`)."""
    out = {}
    for here, (_, text) in known.items():
        for stmt in PUB_USE.findall(text):
            for path in expand_use(stmt):
                path, name = split_alias(path)
                first = path.split("::")[0]
                if first in ("crate", "super", "self"):
                    out.setdefault(here, {})[name] = path
                elif here + (first,) in known:
                    out.setdefault(here, {})[name] = "self::" + path
    return out


def resolve(path, here, known, reexports, depth=0):
    """The module a path names, as a tuple: the deepest module it walks
    through, or, when it goes on through a module's re-export, the module
    the re-exported item comes from."""
    parts = path.split("::")
    if parts[0] == "crate":
        base, rest = (), parts[1:]
    else:
        base = here
        while parts and parts[0] in ("super", "self"):
            if parts[0] == "super":
                base = base[:-1]
            parts = parts[1:]
        rest = parts
    target, taken = base, 0
    for part in rest:
        if target + (part,) not in known:
            break
        target, taken = target + (part,), taken + 1
    remaining = rest[taken:]
    through = reexports.get(target, {}).get(remaining[0]) if remaining else None
    if through and depth < 8:
        onward = "::".join([through] + remaining[1:])
        return resolve(onward, target, known, reexports, depth + 1)
    return target


def loops_in(crate, src, root_file):
    known = modules(src, root_file)
    reexports = reexports_of(known)
    edges = {}
    for here, (file, text) in known.items():
        if file.name == "tests.rs" or "tests" in file.relative_to(src).parts:
            continue
        paths = []
        for stmt in USE_STMT.findall(text):
            paths += [split_alias(p)[0] for p in expand_use(stmt)]
        paths += INLINE_PATH.findall(text)
        for path in paths:
            there = resolve(path, here, known, reexports)
            common = 0
            while common < min(len(here), len(there)) and here[common] == there[common]:
                common += 1
            if common == len(here) or common == len(there):
                continue  # an ancestor or a descendant: not a sibling import
            parent = here[:common]
            a, b = here[common], there[common]
            edges.setdefault(parent, {}).setdefault(a, {}).setdefault(b, set()).add(
                f"{file.relative_to(src.parent)} uses {path}"
            )
    problems = []
    for parent, graph in sorted(edges.items()):
        for cycle in cycles(graph):
            name = "::".join(("crate",) + parent)
            steps = " -> ".join(cycle + [cycle[0]])
            why = []
            for x, y in zip(cycle, cycle[1:] + [cycle[0]]):
                why.append(sorted(graph[x][y])[0])
            problems.append(f"{crate}: {name}: {steps}\n    " + "\n    ".join(why))
    return problems


def cycles(graph):
    """One representative cycle per strongly connected component (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]
    nodes = set(graph) | {b for a in graph for b in graph[a]}

    def connect(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, {}):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(path_through(graph, sorted(component)))

    for v in sorted(nodes):
        if v not in index:
            connect(v)
    return out


def path_through(graph, component):
    """A simple cycle inside one strongly connected component, for the report."""
    members, start = set(component), component[0]
    trail, seen = [start], {start}
    while True:
        nxt = sorted(w for w in graph.get(trail[-1], {}) if w in members)
        if start in nxt and len(trail) > 1:
            return trail
        fresh = [w for w in nxt if w not in seen]
        if not fresh:
            if start in nxt:
                return trail
            i = trail.index(nxt[0])
            return trail[i:]
        trail.append(fresh[0])
        seen.add(fresh[0])


# Made-up crates for --self-test: files by path, and whether a loop is expected.
SELF_TEST_CRATES = {
    "plain": (True, {
        "lib.rs": "mod a;\nmod b;\n",
        "a.rs": "use crate::b::B;\npub struct A;\n",
        "b.rs": "use super::a::A;\npub struct B;\n",
    }),
    "through_a_reexport": (True, {
        "lib.rs": "mod a;\nmod b;\npub use b::B;\n",
        "a.rs": "use crate::B;\npub struct A;\n",
        "b.rs": "pub struct B;\nfn f() -> crate::a::A { crate::a::A }\n",
    }),
    "inline_modules": (True, {
        "lib.rs": "mod a {\n    use crate::b::B;\n}\nmod b {\n    pub struct B(crate::a::A);\n}\n",
    }),
    "renamed_module": (True, {
        "lib.rs": "mod a;\nmod b;\n",
        "a.rs": "use crate::b as other;\n",
        "b.rs": "use crate::a::{self as first};\n",
    }),
    "code_after_a_url_string": (True, {
        "lib.rs": "mod a;\nmod b;\n",
        "a.rs": 'const U: &str = "http://x"; fn f() { crate::b::g() }\npub fn h() {}\n',
        "b.rs": "pub fn g() { super::a::h() }\n",
    }),
    "production_code_after_tests": (True, {
        "lib.rs": "mod a;\nmod b;\n",
        "a.rs": "#[cfg(test)]\nmod tests;\nuse crate::b::B;\npub struct A;\n",
        "b.rs": "use crate::a::A;\npub struct B;\n",
    }),
    "test_field_then_production_code": (True, {
        "lib.rs": "mod a;\nmod b;\n",
        "a.rs": "pub struct S { #[cfg(test)] x: u8, y: u8 }\nuse crate::b::B;\npub struct A;\n",
        "b.rs": "use crate::a::A;\npub struct B;\n",
    }),
    "private_use_in_an_ancestor": (True, {
        "lib.rs": "mod a;\nmod b;\nuse b::B;\n",
        "a.rs": "use crate::B;\npub struct A;\n",
        "b.rs": "pub struct B;\nfn f() -> crate::a::A { crate::a::A }\n",
    }),
    "test_fn_with_an_array_type": (False, {
        "lib.rs": "mod a;\nmod b;\n",
        "a.rs": "pub fn h() {}\n#[cfg(test)]\nfn t() -> [u8; 4] { crate::b::g(); [0; 4] }\n",
        "b.rs": "pub fn g() { crate::a::h() }\n",
    }),
    "lifetimes_and_char_literals": (True, {
        "lib.rs": "mod a;\nmod b;\n",
        "a.rs": "fn f<'x>(s: &'x str) -> char { let _ = '\"'; crate::b::g(); 'a' }\npub fn h() {}\n",
        "b.rs": "pub fn g() { super::a::h() }\n",
    }),
    "only_tests_loop": (False, {
        "lib.rs": "mod a;\nmod b;\n",
        "a.rs": "pub struct A;\n#[cfg(test)]\nmod tests {\n    use crate::b::B;\n}\n",
        "b.rs": "use crate::a::A;\npub struct B;\n",
    }),
    "paths_in_comments_and_strings": (False, {
        "lib.rs": "mod a;\nmod b;\n",
        "a.rs": "/* use crate::b::B; */ const S: &str = \"crate::b::B\";\n",
        "b.rs": "use crate::a::S; // and r\"x\" crate::a\n",
    }),
}


def self_test():
    """Checks the script on SELF_TEST_CRATES; exits non-zero on a miss."""
    import tempfile

    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, (expected, files) in SELF_TEST_CRATES.items():
            src = Path(tmp) / name / "src"
            src.mkdir(parents=True)
            for file, text in files.items():
                (src / file).write_text(text)
            found = bool(loops_in(name, src, src / "lib.rs"))
            if found != expected:
                failures.append(f"{name}: loop {'missed' if expected else 'reported'}")
    for failure in failures:
        print(f"import_loops self-test: {failure}")
    sys.exit(1 if failures else 0)


def main():
    if sys.argv[1:] == ["--self-test"]:
        self_test()
    root = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    problems = []
    for crate, src, roots in crate_roots(root):
        for root_file in roots:
            problems += loops_in(crate, src, root_file)
    for problem in problems:
        print(f"import loop in {problem}")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
