"""What passed the settings' schema, remembered by source and exact input (a file's text, the
variables, the arguments): an unchanged source is neither parsed nor checked again, until
krakend-tasks' checking code (or the settings declared) changes."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from krakend_tasks.core.files import cache_dir, load_json, write_cache
from krakend_tasks.core.project.setting_table import SETTINGS

MEMO_ENTRIES = 64
_memo: dict[str, Any] = {}


def remembered(source: str, given: str, check: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """What `check` gives for this source and input: remembered on disk when it passed, so that the
    same input is never checked (nor parsed) again until krakend-tasks' checking code changes."""
    if not _memo:
        _memo.update(_read_memo())
    key = f"{source}\x00{given}"
    if isinstance(known := _memo["passed"].get(key), dict):  # anything else: a damaged entry, checked anew
        return known
    result = check()
    kept = list(_memo["passed"].items())[-MEMO_ENTRIES + 1:]
    _memo["passed"] = {**dict(kept), key: json.loads(json.dumps(result))}
    write_cache(_memo_path(), json.dumps(_memo))
    passed: dict[str, Any] = _memo["passed"][key]
    return passed


def _read_memo() -> dict[str, Any]:
    stamp = _checking_code()
    try:
        memo: dict[str, Any] = load_json(_memo_path().read_bytes())  # JSON: checked below
        if memo["stamp"] == stamp and isinstance(memo["passed"], dict):
            return memo
    except (OSError, ValueError, TypeError, KeyError):  # none yet, or damaged: start again
        pass
    return {"stamp": stamp, "passed": {}}


def _memo_path() -> Path:
    return cache_dir() / "settings-checked.json"


CHECKING = ("project.settings", "project.schema", "targets", "project.setting_table", "project.validated")


def _checking_code() -> str:
    """The version and files of the code that checks settings: an entry is valid while they are."""
    from importlib.util import find_spec

    from krakend_tasks import __version__

    files = [os.stat(str(spec.origin)) for name in CHECKING if (spec := find_spec(f"krakend_tasks.core.{name}"))]
    declared = ",".join(s.key for s in SETTINGS)  # one declared from outside changes what passes
    return " ".join([__version__, *(f"{s.st_size}:{s.st_mtime_ns}" for s in files), declared])
