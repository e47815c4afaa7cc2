"""dist/manifest.json: what was built, for which target and KrakenD, with its digest."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import NamedTuple

from krakend_tasks.core.files import load_json, locked, read_regular, remove_stale, write_atomic
from krakend_tasks.errors import ConfigError

MANIFEST = "manifest.json"
PARTIAL = r"\..+\.(\d+)(?:-[0-9a-f]{12})?\.partial"  # an engine's output while it builds: .<file>.<pid>[-id].partial


class Artifact(NamedTuple):
    """A built plugin and its record in dist/manifest.json."""

    path: str  # file name inside dist/
    target: str
    krakend: str
    go: str
    sha256: str
    size: int
    engine: str
    duration: float


WRITABLE = "set `dist` to a folder you can write"


def prepare_dist(dist: Path) -> None:
    """Create the output folder, or say why it cannot be used, before anything is built."""
    try:
        dist.mkdir(parents=True, exist_ok=True)
    except FileExistsError as exc:
        raise ConfigError(f"{dist} is a file, not a folder", hint="move it away, or set another `dist`") from exc
    except OSError as exc:
        raise ConfigError(f"cannot create {dist}: {exc.strerror}", hint=WRITABLE) from exc
    if not os.access(dist, os.W_OK | os.X_OK):
        raise ConfigError(f"{dist} is not writable", hint=f"fix its permissions, or {WRITABLE}")
    remove_stale(dist, PARTIAL)  # what a killed build left


def read_manifest(dist: Path) -> list[Artifact]:
    path = dist / MANIFEST
    if not path.exists():
        return []
    try:
        return [Artifact(**entry) for entry in load_json(read_regular(path))["artifacts"]]
    except (ValueError, KeyError, TypeError) as exc:
        malformed = type(exc) in (json.JSONDecodeError, ValueError)  # not JSON, or nested too deeply
        reason = exc if malformed else "its entries are not what krakend-tasks writes"
        raise ConfigError(f"cannot read {path}: {reason}", hint="delete it and build again") from exc
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}", hint="delete it and build again") from exc


def record(dist: Path, artifact: Artifact) -> None:
    """Add or replace the artifact's entry in dist/manifest.json: atomically, under a lock, so that
    builds running at once into one dist/ all keep their entry."""
    _update(dist, artifact.path, artifact)


def forget(dist: Path, path: str) -> None:
    """Remove the entry of a file that is no longer there (a build that was refused)."""
    if (dist / MANIFEST).exists():
        _update(dist, path, None)


def _update(dist: Path, path: str, artifact: Artifact | None) -> None:
    with locked(dist / MANIFEST):
        entries = [a for a in read_manifest(dist) if a.path != path] + ([artifact] if artifact else [])
        entries.sort(key=lambda a: a.path)
        artifacts = [a._asdict() for a in entries]
        write_atomic(dist / MANIFEST, json.dumps({"artifacts": artifacts}, indent=2) + "\n")
