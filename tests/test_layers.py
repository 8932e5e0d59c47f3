"""The package graph points down: every import of `hub/` and `connectors/` goes to a lower layer.

The layers, bottom to top (docs/architecture.md explains what each owns):

    connectors            stands alone, never imports hub
    hub core              hub.errors, hub.model (canonical model), hub.settings, and the
                          primitives they and everything above share: hub.canonical_json,
                          hub.clock, hub.jws, hub.party_token, hub.letter_signing,
                          hub.report_signing (a party's countersignature of a report)
    hub.store             the index and every table (one MetaData)
    hub.client            a party's client (hub core only; nothing imports it)
    hub.federation        identity, sync, linking, live fetch, merge
    hub.policy / hub.contracts / hub.audit   decisions over plain values (no cycle between them)
    hub.exchange          the shared ledger
    hub.reconcile         two-way reconciliation (双向对账, 撞库), beside hub.exchange
    hub.api               the GraphQL layer
    console               官员工作台, a party's web client: hub.client and hub core only
    hub.app / hub.cli / hub.demo / hub.__main__   wiring and entry points

The test reads the source as text (`ast`), so it sees imports inside functions and under
TYPE_CHECKING too: a lazy import is still a dependency. It fails on an import that runs back up
a layer, on a cycle between packages of one layer, and on a cross-package import of an
underscore module (a package's private module is its own business).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: package -> layer rank; a module may import its own package or any package of a lower rank
LAYERS: dict[str, int] = {
    "connectors": 0,
    "hub.errors": 1, "hub.model": 1, "hub.settings": 1,
    "hub.canonical_json": 1, "hub.clock": 1, "hub.jws": 1, "hub.party_token": 1,
    "hub.letter_signing": 1, "hub.report_signing": 1,
    "hub.store": 2, "hub.client": 2,
    "hub.federation": 3,
    "hub.policy": 4, "hub.contracts": 4, "hub.audit": 4,
    "hub.exchange": 5, "hub.reconcile": 5,
    "hub.api": 6, "console": 6,
    "hub.app": 7, "hub.cli": 7, "hub.demo": 7, "hub.__main__": 7, "hub": 7,
}


def package_of(module: str) -> str:
    """The layer package a dotted module name belongs to (longest match in LAYERS)."""
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        candidate = ".".join(parts[:n])
        if candidate in LAYERS:
            return candidate
    raise AssertionError(f"{module} belongs to no layer: add it to LAYERS in {__file__}")


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> Iterator[tuple[int, str]]:
    """(line, imported module) for every import of hub/connectors in one file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    here = module_name(path)
    is_package = path.name == "__init__.py"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here.split(".")
                base = base if is_package else base[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            yield node.lineno, target
            for alias in node.names:  # `from hub.x import _private` names a module too
                yield node.lineno, f"{target}.{alias.name}"


def source_files() -> list[Path]:
    return sorted(
        p for top in ("hub", "connectors", "console") for p in (ROOT / top).rglob("*.py")
        if "migrations" not in p.parts or p.name != "env.py"
    )


def ours(module: str) -> bool:
    return module in {"hub", "console"} or module.startswith(("hub.", "connectors", "console."))


def edges() -> list[tuple[str, int, str, str]]:
    found = []
    for path in source_files():
        here = module_name(path)
        for line, target in imports(path):
            if ours(target):
                found.append((str(path.relative_to(ROOT)), line, here, target))
    return found


def test_imports_only_point_down() -> None:
    back_edges: dict[tuple[str, int], str] = {}  # one line per import statement
    for where, line, here, target in edges():
        src, dst = package_of(here), package_of(target)
        if LAYERS[dst] > LAYERS[src]:
            back_edges.setdefault((where, line), f"{where}:{line}: {src} (layer {LAYERS[src]}) "
                                  f"imports {target} (layer {LAYERS[dst]})")
    assert not back_edges, "imports that run back up a layer:\n" + "\n".join(
        back_edges.values())


def test_no_cycles_between_packages() -> None:
    graph: dict[str, set[str]] = {}
    for _, _, here, target in edges():
        src, dst = package_of(here), package_of(target)
        if src != dst:
            graph.setdefault(src, set()).add(dst)

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for nxt in graph.get(start, ()):
            if nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt})):
                return True
        return False

    cycles = sorted({" <-> ".join(sorted((a, b))) for a in graph for b in graph[a]
                     if reaches(b, a, {b})})
    assert not cycles, "packages that import each other:\n" + "\n".join(cycles)


def test_no_cross_package_private_imports() -> None:
    private: list[str] = []
    for where, line, here, target in edges():
        parts = target.split(".")
        for i, part in enumerate(parts):
            if part.startswith("_") and not part.startswith("__"):
                owner = ".".join(parts[:i])
                if not here.startswith(owner + ".") and here != owner:
                    private.append(f"{where}:{line}: {here} imports private {target}")
                break
    assert not private, "imports of another package's private module:\n" + "\n".join(
        dict.fromkeys(private))


@pytest.mark.parametrize("module", ["hub.app", "connectors.rest"])
def test_the_checker_sees_imports(module: str) -> None:
    """A guard on the guard: the walker finds real edges (an empty graph would pass vacuously)."""
    assert any(here == module for _, _, here, _ in edges())


def test_every_package_is_placed() -> None:
    """Every module of hub/ and connectors/ belongs to a layer (package_of raises otherwise)."""
    for path in source_files():
        package_of(module_name(path))


#: what the console may import of the hub: the party client and the core it stands on. It is
#: built only on the public GraphQL schema, as a partner's front-end team would build it
#: (hub.letter_signing: a party signs its letters with its own key, as `yanxing letter sign`)
CONSOLE_MAY_IMPORT = ("hub.client", "hub.errors", "hub.party_token", "hub.jws", "hub.clock",
                      "hub.canonical_json", "hub.letter_signing", "hub.report_signing")


def test_the_console_uses_only_the_party_client() -> None:
    wrong = [f"{where}:{line}: {target}" for where, line, here, target in edges()
             if package_of(here) == "console" and ours(target)
             and package_of(target) not in {"console", *CONSOLE_MAY_IMPORT}]
    assert any(package_of(here) == "console" for _, _, here, _ in edges())
    assert not wrong, "the console reaches into the hub's server code:\n" + "\n".join(wrong)
