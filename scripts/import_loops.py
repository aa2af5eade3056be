#!/usr/bin/env python3
"""Fails when modules of one crate import each other in a loop.

For every crate of the workspace this reads each source file's module path
(`src/a/b.rs` is `crate::a::b`), collects the paths it names (`use crate::…`,
`super::…`, `crate::x::f()` in expressions, brace groups expanded) and draws an
arrow between the two sibling modules that separate the importer from what it
imports. A cycle among the siblings of any one parent is an import loop: those
modules cannot be read, tested or moved one at a time.

Test code is left out: `tests.rs` files, `tests/` directories, and everything
from `#[cfg(test)]` to the end of a file (unit tests come last in a file), since
a module's tests may reach anywhere. Usage: scripts/import_loops.py [ROOT].
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


def production_text(path):
    text = path.read_text()
    text = re.sub(r"//[^\n]*", "", text)
    cut = text.find("#[cfg(test)]\nmod tests")
    if cut < 0:
        cut = re.search(r"#\[cfg\(test\)\]\s*mod\s+tests\s*\{", text)
        cut = cut.start() if cut else -1
    return text if cut < 0 else text[:cut]


def modules(src, root_file):
    """Maps each module path (tuple) of one crate to its file."""
    found = {}

    def walk(path, file):
        found[path] = file
        text = production_text(file)
        if file.name in ("lib.rs", "main.rs", "mod.rs") or file.parent.name == "bin":
            child_dir = file.parent
        else:
            child_dir = file.with_suffix("")
        for name in MOD_DECL.findall(text):
            if name == "tests":
                continue
            for candidate in (child_dir / f"{name}.rs", child_dir / name / "mod.rs"):
                if candidate.exists():
                    walk(path + (name,), candidate)
                    break

    walk((), root_file)
    return found


def expand_use(tree):
    """`crate::{a, b::{c, d}}` -> ['crate::a', 'crate::b::c', 'crate::b::d']."""
    tree = re.sub(r"\s+", "", tree)
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
    return [tree.split(" as ")[0]]


def resolve(path, here, known):
    """The module a path names, as a tuple, or None when it leaves the crate."""
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
    target = base
    for part in rest:
        if target + (part,) in known:
            target = target + (part,)
        else:
            break
    return target


def loops_in(crate, src, root_file):
    known = modules(src, root_file)
    edges = {}
    for here, file in known.items():
        if file.name == "tests.rs" or "tests" in file.relative_to(src).parts:
            continue
        text = production_text(file)
        paths = []
        for stmt in USE_STMT.findall(text):
            paths += expand_use(stmt)
        paths += INLINE_PATH.findall(text)
        for path in paths:
            there = resolve(path, here, known)
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


def main():
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
