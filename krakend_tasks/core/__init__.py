"""Core API: plain Python, no nox or invoke. Adapters in krakend_tasks.nox/.invoke/.cli call it.

Its layers, bottom first (tests/test_architecture.py holds them): the ground at this folder's root
(files, findings, plugin_types, targets), golang, krakend, project, building, verifying, serving,
workflows. A module's path before the layers (`krakend_tasks.core.settings`) still imports it.
"""

from __future__ import annotations

import importlib
import sys
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from importlib.abc import Loader

MOVED = {  # the path a module had before the layers -> its path now
    "elf": "golang.elf", "moduledata": "golang.moduledata", "gomod": "golang.gomod", "semver": "golang.semver",
    "fingerprints": "golang.fingerprints", "releases": "krakend.releases", "krakend_deps": "krakend.deps",
    "krakend_run": "krakend.runner", "settings": "project.settings", "schema": "project.schema",
    "manifest": "project.manifest", "build": "building.build", "fidelity": "building.fidelity",
    "check": "verifying.check", "preflight": "verifying.preflight", "testload": "verifying.testload",
    "explain": "verifying.explain", "gateway": "serving.gateway", "specs": "serving.specs", "smoke": "serving.smoke",
    "dev": "serving.dev", "bench": "serving.bench", "configure": "workflows.configure",
    "scaffold": "workflows.scaffold", "ship": "workflows.ship", "matrix": "workflows.matrix",
}


class _Moved:
    """Finds `krakend_tasks.core.<old>` as the module it now is: one module under both names (a finder
    and loader by its methods alone: importlib.abc would import importlib.resources, tempfile and more)."""

    @classmethod
    def find_spec(cls, name: str, path: object = None, target: object = None) -> ModuleSpec | None:
        old = name.removeprefix(f"{__name__}.")
        return ModuleSpec(name, cast("Loader", cls())) if old != name and old in MOVED else None

    def create_module(self, spec: ModuleSpec) -> ModuleType:
        module = importlib.import_module(f"{__name__}.{MOVED[spec.name.removeprefix(f'{__name__}.')]}")
        spec.loader_state = module.__spec__  # the import system sets __spec__ to ours: given back below
        return module

    def exec_module(self, module: ModuleType) -> None:
        """Already executed under its own name: its own spec again."""
        if module.__spec__ is not None and module.__spec__.loader_state is not None:
            module.__spec__ = module.__spec__.loader_state


if _Moved not in sys.meta_path:
    sys.meta_path.append(_Moved)  # a finder by its find_spec classmethod
