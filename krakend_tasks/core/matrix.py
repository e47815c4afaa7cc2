"""The builder matrix as a CI matrix: GitHub Actions' `strategy.matrix` include form."""

from __future__ import annotations

from typing import Any

from krakend_tasks.core.settings import Settings


def matrix(settings: Settings) -> dict[str, list[dict[str, Any]]]:
    """One row per selected target: what a CI job needs to build, check and load it alone."""
    release = settings.release
    rows = []
    for target in settings.selected_targets():
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
            "build_session": f"build_{target.ident}",
            "test_session": f"test_plugin_{target.ident}",
            "krakend_image": f"{settings.krakend_image}:{release.version}",
        })
    return {"include": rows}
