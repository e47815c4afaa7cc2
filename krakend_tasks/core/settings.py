"""Project settings with one precedence: call arguments > environment > file > defaults.

The file is `[tool.krakend-tasks]` in the plugin's pyproject.toml, or `krakend-tasks.toml`
beside its go.mod; per-target recipe overrides go in `[tool.krakend-tasks.target.<name>]`.
Environment variables are `KRAKEND_TASKS_<FIELD>` (upper case).
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from krakend_tasks.core.releases import Release, resolve
from krakend_tasks.core.targets import Recipe, Target, parse_target, select_targets
from krakend_tasks.errors import ConfigError

ENV_PREFIX = "KRAKEND_TASKS_"
RECIPE_KEYS = {"image", "cc", "host_cc", "env", "ldflags"}


@dataclass(frozen=True)
class Settings:
    """Everything a session or task needs; build one with `load_settings`."""

    project: Path = Path(".")  # the plugin's folder (with go.mod)
    version: str = "latest"  # KrakenD release: full, minor, major or latest
    targets: str = "all"  # target spec, see targets.select_targets
    engine: str = "auto"  # auto | docker | local
    dist: Path = Path("dist")  # relative to project
    name: str | None = None  # plugin file name; default: last element of the module path
    builder: str = "krakend/builder"  # image repository of the builder images
    pull: str = "missing"  # missing | always | never
    network: str | None = None  # docker network mode for builds (None: the daemon's default)
    go: str | None = None  # Go version the plugin is built with (check); default: the release's
    krakend_image: str = "krakend"  # repository of KrakenD's own images (ship, CI matrix)
    runner: str = "ubuntu-24.04"  # CI runner label of the matrix (builders are amd64 images)
    modcache: str = "/go/pkg/mod"  # the module cache KrakenD was compiled from (its GOPATH/pkg/mod)
    target_overrides: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def release(self) -> Release:
        return resolve(self.version)

    @property
    def dist_dir(self) -> Path:
        return self.project / self.dist

    def selected_targets(self) -> list[Target]:
        return select_targets(self.targets)

    def recipe(self, target: Target) -> Recipe:
        """The target's build recipe, with this project's overrides applied."""
        over = self.target_overrides.get(target.name, {})
        return Recipe(
            target=target,
            image=over.get("image") or self.release.image(target, self.builder),
            cc=over.get("cc", target.builder_cc),
            host_cc=over.get("host_cc", target.host_cc),
            env=dict(over.get("env", {})),
            ldflags=over.get("ldflags"),
        )


def cache_dir() -> Path:
    """krakend-tasks' on-disk cache ($XDG_CACHE_HOME/krakend-tasks, else ~/.cache/krakend-tasks)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "krakend-tasks"


SCALARS = {f.name for f in fields(Settings)} - {"target_overrides"}


def load_settings(project: str | Path = ".", **arguments: Any) -> Settings:
    """Settings for the plugin in `project`; `arguments` that are None are ignored."""
    root = Path(project)
    values: dict[str, Any] = {}
    values.update(_from_file(root))
    values.update(_from_env())
    values.update({k: v for k, v in arguments.items() if v is not None})
    unknown = set(values) - SCALARS - {"target_overrides"}
    if unknown:
        raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}",
                          hint=f"known settings: {', '.join(sorted(SCALARS))}, target.<name>")
    _refuse_bad_values(values)
    values["project"] = root
    for key in ("dist",):
        if key in values:
            values[key] = Path(values[key])
    if isinstance(values.get("targets"), (list, tuple)):
        values["targets"] = ",".join(values["targets"])
    settings = replace(Settings(), **values)
    settings.release  # noqa: B018 - validate the version early
    settings.selected_targets()
    return settings


CHOICES = {"engine": ("auto", "docker", "local"), "pull": ("missing", "always", "never")}
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def _refuse_bad_values(values: dict[str, Any]) -> None:
    """An empty value (an unset shell variable) never widens the job; choices and names are checked."""
    for key, value in values.items():
        if isinstance(value, str) and not value.strip():
            raise ConfigError(f"setting {key!r} is empty", hint="give it a value, or leave it out for its default")
    for key, allowed in CHOICES.items():
        if key in values and values[key] not in allowed:
            raise ConfigError(f"unknown {key} {values[key]!r}", hint=f"use one of: {', '.join(allowed)}")
    name = values.get("name")
    if name is not None and not (isinstance(name, str) and SAFE_NAME.match(name) and ".." not in name):
        raise ConfigError(f"invalid plugin file name {name!r}",
                          hint="letters, digits, '.', '_' and '-' only: it names files inside dist/")


def _from_env() -> dict[str, str]:
    return {
        name: os.environ[ENV_PREFIX + name.upper()]
        for name in SCALARS - {"project"}
        if os.environ.get(ENV_PREFIX + name.upper())
    }


def _from_file(root: Path) -> dict[str, Any]:
    pyproject, own = root / "pyproject.toml", root / "krakend-tasks.toml"
    if own.is_file():
        table, path = _read_toml(own), own
    elif pyproject.is_file():
        table, path = _read_toml(pyproject).get("tool", {}).get("krakend-tasks", {}), pyproject
    else:
        return {}
    table = dict(table)
    if "target" in table:
        table["target_overrides"] = _target_overrides(table.pop("target"), path)
    return table


def _target_overrides(raw: dict[str, Any], path: Path) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, over in raw.items():
        target = parse_target(name)
        bad = set(over) - RECIPE_KEYS
        if bad:
            raise ConfigError(f"{path}: unknown key(s) {', '.join(sorted(bad))} for target {name}",
                              hint=f"per-target keys are {', '.join(sorted(RECIPE_KEYS))}")
        out[target.name] = dict(over)
    return out


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"cannot parse {path}: {exc}", hint="fix the TOML syntax") from None
