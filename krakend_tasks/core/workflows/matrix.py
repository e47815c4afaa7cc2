"""The builder matrix as a CI matrix: GitHub Actions' `strategy.matrix` include form."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from krakend_tasks.core.project.settings import Settings
from krakend_tasks.core.targets import Target


def matrix(settings: Settings, sessions: Callable[[Target], dict[str, str]]) -> dict[str, list[dict[str, Any]]]:
    """One row per selected target: what a CI job needs to build, check and load it alone.
    `sessions` names the target's build and test sessions (krakend_tasks.nox.session_names)."""
    release = settings.release
    rows = []
    for target in settings.targets:
        rows.append({
            "target": target.name,
            "arch": target.arch.value,
            "libc": target.libc.value,
            "image": settings.recipe(target).image,
            "krakend": release.version,
            "go": release.go,
            "runner": settings.runner,  # builder images are amd64: every target builds on amd64
            "runner_arch": "X64",
            "platform": f"linux/{target.arch.value}",  # where the plugin runs
            **sessions(target),
            "krakend_image": f"{settings.krakend_image}:{release.version}",
        })
    return {"include": rows}
