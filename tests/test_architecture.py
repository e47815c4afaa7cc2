"""The layering holds: adapters -> commands -> core -> engines; inside core, each sub-package imports
only its own layer and those below it; no import cycle among our modules; and the Docker SDK is
imported only by engines/sdk.py, for engines/containers.py."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "krakend_tasks"


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every module `path` imports, at its top or inside a function (TYPE_CHECKING blocks excluded)."""
    tree = ast.parse(path.read_text())
    skipped = {id(node) for block in ast.walk(tree) if isinstance(block, ast.If)
               and "TYPE_CHECKING" in ast.unparse(block.test) for node in ast.walk(block)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


SOURCES = {_module(p): p for p in PACKAGE.rglob("*.py") if "data" not in p.relative_to(PACKAGE).parts}
GRAPH = {name: {m for m in _imports(path) if m in SOURCES and m != name} for name, path in SOURCES.items()}


def test_no_import_cycle():
    """Depth-first search over every import, lazy ones included."""
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        assert name not in path, "import cycle: " + " -> ".join([*path[path.index(name):], name])
        if name in done:
            return
        for imported in sorted(GRAPH[name]):
            visit(imported, [*path, name])
        done.add(name)

    for name in sorted(GRAPH):
        visit(name, [])


def test_layers_point_down():
    """core never imports an adapter or commands; engines import nothing of core."""
    adapters = {"krakend_tasks.nox", "krakend_tasks.invoke", "krakend_tasks.cli", "krakend_tasks.commands"}
    for name, imported in GRAPH.items():
        if name.startswith("krakend_tasks.core"):
            assert not imported & adapters, (name, imported & adapters)
            assert not any(m.split(".")[0] in ("nox", "invoke") for m in _imports(SOURCES[name])), name
        if name.startswith("krakend_tasks.engines"):
            assert not {m for m in imported if m.startswith("krakend_tasks.core")}, name


CORE_LAYERS = ("golang", "krakend", "project", "building", "verifying", "serving", "workflows")  # bottom first


def _layer(name: str) -> int:
    """A core module's layer: the modules at core's root (files, findings, plugin_types, targets) are
    the ground every layer stands on."""
    parts = name.split(".")
    return CORE_LAYERS.index(parts[2]) + 1 if len(parts) > 3 else 0


def test_core_layers_point_down():
    core = {name for name in GRAPH if name.startswith("krakend_tasks.core.")}
    assert {name.split(".")[2] for name in core if name.count(".") > 2} == set(CORE_LAYERS)
    for name in core:
        for imported in GRAPH[name] & core:
            assert _layer(imported) <= _layer(name), f"{name} imports {imported}, a layer above it"


def test_every_core_package_says_what_it_holds():
    for layer in CORE_LAYERS:
        doc = ast.get_docstring(ast.parse((PACKAGE / "core" / layer / "__init__.py").read_text()))
        assert doc and len(doc) > 40, layer


def test_the_docker_sdk_is_imported_only_by_the_containers_module():
    users = sorted(name for name, path in SOURCES.items()
                   if any(m == "docker" or m.startswith("docker.") for m in _imports(path)))
    assert users == ["krakend_tasks.engines.sdk"]
    through = sorted(name for name, path in SOURCES.items() if "krakend_tasks.engines.sdk" in _imports(path))
    assert through == ["krakend_tasks.engines.containers"]


def test_every_child_process_starts_through_the_process_helper():
    """One way to start a process (engines/process.py): no other module imports subprocess (or
    starts one with os.system, os.spawn*, os.exec*, pty)."""
    starters = ("os.system", "os.popen", "os.spawn", "os.exec", "os.fork", "pty.spawn")
    for name, path in SOURCES.items():
        if name == "krakend_tasks.engines.process":
            continue
        imported = _imports(path)
        assert not any(m == "subprocess" or m.startswith("subprocess.") for m in imported), name
        text = path.read_text()
        assert not any(f"{call}" in text for call in starters), name


def test_a_module_path_from_before_the_layers_still_imports_it():
    import importlib

    from krakend_tasks.core import MOVED

    for old, new in MOVED.items():
        module = importlib.import_module(f"krakend_tasks.core.{old}")
        assert module is importlib.import_module(f"krakend_tasks.core.{new}"), old
        where = PACKAGE / "core" / f"{new.replace('.', '/')}.py"
        assert module.__spec__ is not None and module.__spec__.origin == str(where)
