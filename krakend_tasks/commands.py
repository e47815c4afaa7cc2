"""What each session/task does, once for every adapter: compute with the core, render, exit status.

Adapters (nox, invoke, cli) only translate their arguments into these calls and the returned
status (or a raised KrakendTasksError) into their own way of failing.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

FORMATS = ("table", "json", "krakend")


def build(project: str | Path, *, json: bool = False, **settings: Any) -> int:
    """Build the selected targets; print the artifacts. Returns 0 (failures raise)."""
    from krakend_tasks.core.build import build as run_build
    from krakend_tasks.core.settings import load_settings
    from krakend_tasks.render import print_artifacts

    print_artifacts(run_build(load_settings(project, **settings)), as_machine=json)
    return 0


def check(project: str | Path, *, output: str = "table", fix: bool = False, apply: bool = False,
          go: str | None = None, libc: str | None = None, krakend_bin: str | None = None,
          image: str | None = None, **settings: Any) -> int:
    """Check go.sum against KrakenD for each selected target. 0: compatible, 1: not."""
    from krakend_tasks.core.check import apply_fixes, check_project
    from krakend_tasks.core.settings import load_settings
    from krakend_tasks.errors import ConfigError
    from krakend_tasks.render import check_json, krakend_text, print_check

    if output not in FORMATS:
        raise ConfigError(f"unknown format {output!r}", hint=f"use one of: {', '.join(FORMATS)}")
    loaded = load_settings(project, **settings)
    targets = loaded.selected_targets()
    if output == "krakend":
        targets = targets[:1]  # KrakenD's check knows no targets; its libc is compared as given
    options = dict(go=go, libc=libc, krakend_bin=krakend_bin, image=image, krakend_format=output == "krakend")
    reports = {t.name: check_project(loaded, t, **options) for t in targets}
    if apply:
        first = next(iter(reports.values()))
        for command in apply_fixes(first, loaded.project, loaded.release.go):
            print(f"ran: {command}", file=sys.stderr)
        reports = {t.name: check_project(loaded, t, **options) for t in targets}
    if output == "krakend":
        sys.stderr.write(krakend_text(next(iter(reports.values())), fix=fix))
    elif output == "json":
        print(check_json(reports))
    else:
        print_check(reports)
        if fix:
            commands = sorted({c for r in reports.values() for c in r.fix_commands()})
            print("\n".join(commands) if commands else "nothing to fix")
    return 0 if all(r.ok for r in reports.values()) else 1
