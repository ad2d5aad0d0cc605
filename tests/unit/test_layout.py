"""The package's shape: no import circle, modules of a readable size, tests that mirror it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "collector"
MAX_LINES = 500


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imported(name: str, path: Path, *, everything: bool = False) -> set[str]:
    """The project modules a module imports, anywhere in it but under ``if TYPE_CHECKING``.

    With ``everything``, every ``collector...`` name it imports, found or not.
    """
    tree = ast.parse(path.read_text())
    skipped = {
        id(node)
        for stmt in ast.walk(tree)
        if isinstance(stmt, ast.If) and "TYPE_CHECKING" in ast.unparse(stmt.test)
        for inner in stmt.body
        for node in ast.walk(inner)
    }
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the module's own package
                base = ".".join(
                    [*package.split(".")[: len(package.split(".")) - node.level + 1], base]
                )
            for alias in node.names:
                child = f"{base}.{alias.name}"
                found.add(child if child in MODULES or everything else base)
    if everything:
        return {m for m in found if m.split(".")[0] == "collector"}
    return {m for m in found if m in MODULES and m != name}


GRAPH = {name: _imported(name, path) for name, path in MODULES.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for child in graph[node]:
            if child not in index:
                visit(child)
                low[node] = min(low[node], low[child])
            elif child in on_stack:
                low[node] = min(low[node], index[child])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_no_import_circle():
    assert _cycles(GRAPH) == []


def test_every_import_of_the_package_exists():
    """A lazy import of a module that moved would only fail when its command runs."""
    sources = [*MODULES.items()]
    sources += [
        (p.stem, p)
        for folder in ("plugins", "bench", "tests")
        for p in (ROOT / folder).rglob("*.py")
    ]
    for name, path in sources:
        for imported in _imported(name, path, everything=True):
            module, _, attribute = imported.rpartition(".")
            assert imported in MODULES or (
                module in MODULES and _defines(MODULES[module], attribute)
            ), f"{path.relative_to(ROOT)} imports {imported}, which does not exist"


def _defines(path: Path, name: str) -> bool:
    text = path.read_text()
    return any(
        marker in text
        for marker in (f"def {name}(", f"class {name}", f"\n{name} =", f"\n{name}: ", f'"{name}"')
    )


def test_the_cycle_finder_finds_one():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_graph_is_the_real_one():
    assert "collector.store.writer" in GRAPH["collector.store.experiment"]
    assert "collector.measurements.registry" in GRAPH["collector.config.plan"]
    # a lazy import inside a function counts too
    assert "collector.running.run" in GRAPH["collector.cli"]


@pytest.mark.parametrize("name", sorted(MODULES))
def test_modules_stay_readable(name):
    lines = MODULES[name].read_text().splitlines()
    head = "\n".join(lines[:15]).lower()
    assert len(lines) <= MAX_LINES or "longer than" in head, (
        f"{name} has {len(lines)} lines: split it, or say in its first lines why it is longer "
        f"than {MAX_LINES}"
    )


def test_layers_do_not_reach_upwards():
    """The store knows nothing of runs or results; measurements nothing of runs or results."""
    below = {
        "collector.store": ("collector.running", "collector.results", "collector.cli"),
        "collector.measurements": ("collector.running", "collector.results", "collector.cli"),
        "collector.config": ("collector.running", "collector.results", "collector.cli"),
    }
    for name, imports in GRAPH.items():
        for layer, forbidden in below.items():
            if name.startswith(layer):
                wrong = {i for i in imports if i.startswith(forbidden)}
                assert not wrong, f"{name} imports {sorted(wrong)}"


def test_unit_tests_mirror_the_subpackages():
    subpackages = {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    tests = {p.name for p in (ROOT / "tests" / "unit").iterdir() if p.is_dir()}
    assert subpackages <= tests
