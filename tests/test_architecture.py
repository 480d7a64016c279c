"""The package map as a test: data flows one way through ganbench's packages.

Every import between two packages of ``ganbench/`` must go from a higher layer to a strictly
lower one, so no package imports upward and no two packages import each other (directly or in a
loop). Imports inside functions and under ``TYPE_CHECKING`` count too. The README's
"Architecture" section draws the same layers.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "ganbench"

LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "text", "kinds", "fileio", "version"),
    ("registry", "knobs", "tomlguard", "arrayguard"),
    ("data", "models", "objectives"),
    ("metrics",),
    ("references", "extractors"),
    ("train", "diagnostics", "results"),
    ("evaluation",),
    ("config",),
    ("run",),
    ("report",),
    ("api",),
    ("cli",),
)
"""Lowest first. A package (or a top-level module such as ``text.py``) may import only from
layers below its own."""

RANK = {name: i for i, layer in enumerate(LAYERS) for name in layer}

ROOT_MODULE = "<ganbench>"
"""The package root (``import ganbench``, ``from ganbench import __version__``): the public API's
entry, above every layer, so no module inside the package may import it."""
RANK[ROOT_MODULE] = len(LAYERS)

NO_FILE_IO = ("train",)
"""Packages that stay pure computation: no file or process I/O (the run package does that)."""


def _unit(path: Path) -> str:
    """The package a file belongs to (its top-level folder, or its module name at the top)."""
    return path.relative_to(ROOT).with_suffix("").parts[0]


def _imports(path: Path, root: Path = ROOT) -> set[str]:
    """The ganbench units a file imports, by absolute or relative import."""
    tree = ast.parse(path.read_text())
    here = list(path.relative_to(root).parts[:-1])
    found: set[str] = set()
    for node in ast.walk(tree):
        modules: list[str] = []
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - (node.level - 1)]
                modules.append(".".join(base + ([node.module] if node.module else [])))
            elif node.module and node.module.startswith("ganbench."):
                modules.append(node.module.removeprefix("ganbench."))
            elif node.module == "ganbench":
                # ``from ganbench import x``: the root package, unless x is a module of it.
                for alias in node.names:
                    is_module = (root / alias.name).is_dir() or (root / f"{alias.name}.py").exists()
                    modules.append(alias.name if is_module else ROOT_MODULE)
        elif isinstance(node, ast.Import):
            modules += [
                a.name.removeprefix("ganbench.")
                for a in node.names
                if a.name.startswith("ganbench.")
            ]
            if any(a.name == "ganbench" for a in node.names):
                modules.append(ROOT_MODULE)
        found |= {m.split(".")[0] for m in modules if m}
    return found


def _edges() -> list[tuple[str, str, Path]]:
    edges = []
    for path in sorted(ROOT.rglob("*.py")):
        unit = _unit(path)
        for target in _imports(path):
            if target != unit and target in RANK:
                edges.append((unit, target, path))
    return edges


def test_every_unit_has_a_layer():
    units = {_unit(p) for p in ROOT.rglob("*.py")} - {"__init__", "__main__"}
    assert units - set(RANK) == set(), "add new packages to LAYERS (and to the README's map)"


def test_nothing_inside_imports_the_package_root():
    """The root package re-exports the public API (which imports almost everything), so an
    import of it from inside is an upward arrow (the version lives in ganbench/version.py)."""
    found = [
        f"{path.relative_to(ROOT.parent)}"
        for path in sorted(ROOT.rglob("*.py"))
        if path.parent != ROOT or path.name != "__init__.py"
        if ROOT_MODULE in _imports(path)
    ]
    assert found == []


def test_imports_only_go_down():
    upward = [
        f"{path.relative_to(ROOT.parent)}: {unit} (layer {RANK[unit]}) imports {target} "
        f"(layer {RANK[target]})"
        for unit, target, path in _edges()
        if unit in RANK and RANK[target] >= RANK[unit]
    ]
    assert upward == []


def test_no_package_import_loop():
    graph: dict[str, set[str]] = {}
    for unit, target, _ in _edges():
        graph.setdefault(unit, set()).add(target)
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                pytest.fail("package import loop: " + " -> ".join([*stack, node, nxt]))
            if nxt not in state:
                visit(nxt, [*stack, node])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [])


@pytest.mark.parametrize("package", NO_FILE_IO)
def test_pure_packages_do_no_file_io(package):
    banned = {"open", "subprocess", "pathlib", "shutil", "os", "tempfile", "io"}
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "open":
                found.append(f"{path.name}:{node.lineno}: open()")
            names = []
            if isinstance(node, ast.Import):
                names = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names = [node.module.split(".")[0]]
            found += [f"{path.name}:{node.lineno}: import {n}" for n in names if n in banned]
    assert found == []


def test_the_check_sees_an_upward_import(tmp_path):
    """The graph walker itself: a planted upward import is found (absolute, relative, lazy)."""
    pkg = tmp_path / "ganbench"
    (pkg / "metrics").mkdir(parents=True)
    (pkg / "metrics" / "a.py").write_text(
        "def f():\n    from ganbench.report import x\n    from ..run import y\n"
    )
    assert _imports(pkg / "metrics" / "a.py", pkg) == {"report", "run"}
    (pkg / "run").mkdir()
    (pkg / "metrics" / "b.py").write_text(
        "import ganbench\nfrom ganbench import __version__\nfrom ganbench import run\n"
    )
    assert _imports(pkg / "metrics" / "b.py", pkg) == {ROOT_MODULE, "run"}
