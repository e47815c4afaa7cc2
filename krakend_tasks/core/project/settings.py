"""Project settings with one precedence: call arguments > environment > file > defaults.

The file is `[tool.krakend-tasks]` in the plugin's pyproject.toml, or `krakend-tasks.toml`
beside its go.mod; per-target recipe overrides go in `[tool.krakend-tasks.target.<name>]`.
Environment variables are `KRAKEND_TASKS_<FIELD>` (upper case). Every source is checked against
one schema (core/project/schema.py) as it is read: a wrong type, an unknown key or an empty value is an
error naming the source, never ignored and never a traceback. What passed is remembered by its
exact input (core/project/validated.py), so an unchanged source is not checked again.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any, Literal, NamedTuple

from krakend_tasks.core.files import read_regular
from krakend_tasks.core.golang.gomod import GoMod, plugin_name, read_go_mod
from krakend_tasks.core.krakend.releases import Release, select
from krakend_tasks.core.project.setting_table import SETTINGS
from krakend_tasks.core.project.validated import remembered
from krakend_tasks.core.targets import ALL_TARGETS, Recipe, Target, select_targets
from krakend_tasks.errors import DEBUG, ConfigError, did_you_mean

ENV_PREFIX = "KRAKEND_TASKS_"
EngineName = Literal["auto", "docker", "local"]
Edition = Literal["ce", "ee"]
Pull = Literal["missing", "always", "never"]
TRUTH = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}  # a bool in a variable


class SmokeRequest(NamedTuple):
    """`[[smoke]]`: one request of the smoke run, and what its answer must be (schema.RawSmoke)."""

    path: str  # an absolute path
    method: str = "GET"
    headers: Mapping[str, str] = {}
    body: str | None = None
    status: int = 200
    contains: str | None = None  # the answer's body must contain it
    response_headers: Mapping[str, str | list[str]] = {}  # each header's whole list of values; "": absent
    response_body: Any = None  # a string: these bytes exactly; any other value: equal as parsed JSON
    schema: Mapping[str, Any] | None = None  # a JSON Schema the body must hold


class Settings(NamedTuple):
    """Everything a session or task needs, parsed into types; build one with `load_settings`."""

    release: Release  # from the `version` and `edition` settings (an Enterprise one: from its binary or image)
    project: Path = Path(".")  # the plugin's folder (with go.mod)
    releases: tuple[Release, ...] = ()  # every version asked for ("2.12,2.13"); `release` is the first
    targets: tuple[Target, ...] = ALL_TARGETS  # selected by the `targets` setting
    engine: EngineName = "auto"
    edition: Edition = "ce"  # KrakenD Community or Enterprise (core/krakend/editions.py)
    dist: Path = Path("dist")  # relative to project
    name: str | None = None  # plugin file name; default: last element of the module path
    builder: str = "krakend/builder"  # image repository of the builder images
    pull: Pull = "missing"
    network: str | None = None  # docker network mode for builds (None: the daemon's default)
    krakend_image: str = "krakend"  # repository of KrakenD's own images (ship, CI matrix)
    runner: str = "ubuntu-24.04"  # CI runner label of the matrix (builders are amd64 images)
    modcache: str = "/go/pkg/mod"  # the module cache KrakenD was compiled from (its GOPATH/pkg/mod)
    package: str = "."  # the plugin's main package, e.g. ./cmd/plugin
    tags: tuple[str, ...] = ()  # build tags
    build_flags: tuple[str, ...] = ()  # more `go build` flags
    before_build: str | None = None  # a shell command run where the build runs, before it (go generate ./...)
    pass_env: tuple[str, ...] = ()  # host variables passed into the builder container, besides PASSED_ENV
    netrc: bool = False  # mount ~/.netrc (or $NETRC) read-only into the builder container
    ssh_agent: bool = False  # forward $SSH_AUTH_SOCK into the builder container (git over SSH)
    keep_failed_container: bool = False  # keep a failed build's container for a look (the next build removes it)
    plugins: tuple[str, ...] = ()  # several plugins: their folders (each with its go.mod), relative to project
    plugin: str | None = None  # of those, the one to work on (its folder or its name); None: all
    smoke: tuple[SmokeRequest, ...] = ()  # the smoke run's requests
    smoke_specs: str | None = None  # a folder of KrakenD integration specs (*.json), relative to project
    target_overrides: Mapping[str, Mapping[str, Any]] = {}
    extra: Mapping[str, Any] = {}  # settings declared from outside (setting_table.declare_setting), by key

    @property
    def dist_dir(self) -> Path:
        return self.project / self.dist

    @property
    def official_image(self) -> str | None:
        """KrakenD's own image of the release, `<krakend_image>:<version>`, as a source of its data: CE's
        only (an Enterprise release's data comes from the binary or image given, core/krakend/editions.py)."""
        return f"{self.krakend_image}:{self.release.version}" if self.release.edition == "ce" else None

    def per_release(self) -> list[Settings]:
        """These settings once per KrakenD version asked for (`version = "2.12,2.13"`)."""
        return [self._replace(release=r, releases=(r,)) for r in self.releases or (self.release,)]

    def per_plugin(self) -> list[Settings]:
        """These settings once per plugin of the repository (`plugins`), or for the project itself:
        every plugin builds into this project's dist/. An entry with its own go.mod is its own project;
        any other is a package of the module around it, named after its folder."""
        if not self.plugins:
            if self.plugin is not None and self.plugin not in (self.project.resolve().name, self.plugin_name()):
                raise ConfigError(f"no plugin {self.plugin!r} here: this project is the plugin "
                                  f"{self.plugin_name()!r}", hint="leave --only out, or name this plugin")
            return [self]
        every = {folder: self._plugin(folder) for folder in self.plugins}
        named: dict[str, str] = {}
        for folder, plugin in every.items():
            name = plugin.plugin_name()
            if name in named:
                raise ConfigError(f"plugins {named[name]!r} and {folder!r} are both named {name!r}: their builds "
                                  "would overwrite each other in dist/",
                                  hint=f'give one its own name: name = "..." in {folder}/krakend-tasks.toml')
            named[name] = folder
        if self.plugin is None:
            return list(every.values())
        chosen = [s for folder, s in every.items()
                  if self.plugin in (Path(folder).name, folder, s.plugin_name())]
        if not chosen:
            raise ConfigError(f"no plugin {self.plugin!r} among {', '.join(self.plugins)}",
                              hint="name one of the `plugins` folders, or a plugin's name")
        return chosen

    def _plugin(self, folder: str) -> Settings:
        place = self.project / folder
        own = self._replace(dist=self.dist_dir.absolute(), plugins=(), plugin=None,
                      name=_from_file(place).get("name"))  # a plugin folder's own name
        if (place / "go.mod").is_file():
            return own._replace(project=place)
        root = module_root(place, self.project)
        return own._replace(project=root, package="./" + place.relative_to(root).as_posix(),
                       name=own.name or place.name)

    def one_plugin(self, command: str) -> Settings:
        """The plugin to work on when the repository has several: --only, or ConfigError."""
        plugins = self.per_plugin()
        if len(plugins) > 1:
            raise ConfigError(f"{command} works on one plugin, and this repository has {len(plugins)}",
                              hint=f"pass --only with one of: {', '.join(self.plugins)}")
        return plugins[0]

    def one_release(self, command: str) -> Settings:
        """These settings, when one KrakenD version is asked for; ConfigError otherwise."""
        if len(self.releases) > 1:
            raise ConfigError(f"{command} works on one KrakenD version, not {len(self.releases)}",
                              hint=f"pass --version with one of: {', '.join(r.version for r in self.releases)}")
        return self

    def plugin_name(self, gomod: GoMod | None = None) -> str:
        """The `name` setting, else the last element of the module path (go.mod read if not given)."""
        if self.name:
            return self.name
        return plugin_name(gomod or read_go_mod(self.project / "go.mod"))

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
            package=over.get("package", self.package),
            tags=tuple(over.get("tags", self.tags)),
            build_flags=tuple(over.get("build_flags", self.build_flags)),
            before_build=over.get("before_build", self.before_build),
        )


def module_root(folder: Path, project: Path) -> Path:
    """The folder of the go.mod that holds `folder`: itself or its nearest parent within `project`."""
    for place in (folder, *folder.parents):
        if (place / "go.mod").is_file():
            return place
        if place == project:
            break
    raise ConfigError(f"plugins: {folder.relative_to(project)} has no go.mod, nor has any folder above it in "
                      f"{project}", hint="each entry is a plugin's folder (with its go.mod), or a package of a "
                      "module of the project")


def load_settings(project: str | Path = ".", /, *, krakend_bin: str | None = None, image: str | None = None,
                  data_for: str | None = None, **arguments: Any) -> Settings:
    """Settings for the plugin in `project`; `arguments` that are None are ignored. `krakend_bin` or
    `image`, the KrakenD at hand, give an Enterprise release its data (core/krakend/editions.py); `data_for`,
    a command that needs that data, is refused when none gave it."""
    root = Path(project)
    values: dict[str, Any] = {}
    values.update(_from_file(root))
    values.update(_from_env())
    values.update(checked({k: v for k, v in arguments.items() if v is not None}, "arguments"))
    values["project"] = root
    versions = values.pop("version", "latest")
    all_patches = values.pop("all_patches", False)
    if values.get("edition") == "ee":
        from krakend_tasks.core.krakend.editions import BUILDER, KRAKEND_IMAGE, enterprise

        values.setdefault("builder", BUILDER)
        values.setdefault("krakend_image", KRAKEND_IMAGE)
        releases = tuple(enterprise(v.strip(), krakend_bin, image, values.get("pull", "missing"))
                         for v in ([versions] if krakend_bin or image else versions.split(",")))
        for release in releases:
            if data_for:
                release.require_data(data_for)
    else:
        releases = select(versions, all_patches)  # in order
    if not releases:
        raise ConfigError(f"version {versions!r} names no KrakenD version", hint="e.g. --version 2.13")
    values["release"], values["releases"] = releases[0], releases
    values["targets"] = tuple(select_targets(values.get("targets", "all")))
    if "dist" in values:
        values["dist"] = Path(values["dist"])
    if values.get("name") and values.get("plugins"):
        raise ConfigError("`name` names one plugin, and `plugins` lists several",
                          hint="leave `name` out: each plugin is named after its module")
    for folder in values.get("plugins", ()):
        place = root / folder
        if not place.resolve().is_relative_to(root.resolve()) or not place.is_dir():
            raise ConfigError(f"plugins: {folder!r} is not a folder of {root}",
                              hint="each entry is a plugin's folder or package, relative to the project")
        module_root(place, root)
    if "smoke" in values:
        values["smoke"] = [SmokeRequest(**request) for request in values["smoke"]]
    values |= {s.key: tuple(values[s.key]) for s in SETTINGS if s.listed and s.key in values}
    extra = {key: values.pop(key) for key in set(values) - set(Settings._fields)}
    return Settings(**values, extra=extra)


def checked(values: Mapping[str, Any], source: str) -> dict[str, Any]:
    """`values` as Settings fields (schema.validate), or a ConfigError naming the source, the key,
    the value and the expected type."""
    plain = {k: str(v) if isinstance(v, Path) else v for k, v in values.items()}
    return remembered(source, repr(plain), lambda: _schema().validate(plain, source)) if plain else {}


def _schema() -> ModuleType:
    """core/project/schema.py, imported only when a source is checked (it imports msgspec)."""
    from krakend_tasks.core.project import schema

    return schema


def _from_env() -> dict[str, Any]:
    """`KRAKEND_TASKS_*` variables; an unknown one (a typo) is an error, an empty one is unset."""
    given = {k[len(ENV_PREFIX):].lower(): v for k, v in os.environ.items()
             if k.startswith(ENV_PREFIX) and v and k != DEBUG}
    return remembered("environment", repr(sorted(given.items())), lambda: _env_values(given)) if given else {}


def _env_values(given: dict[str, Any]) -> dict[str, Any]:
    schema = _schema()
    declared = {s.key: s for s in SETTINGS}
    unknown = sorted(set(given) - set(declared))
    if unknown:
        near = did_you_mean(ENV_PREFIX + unknown[0].upper(), [s.env for s in SETTINGS])
        raise ConfigError(f"unknown environment variable {ENV_PREFIX}{unknown[0].upper()}"
                          + (f": {near}" if near else ""), hint=f"known: {', '.join(sorted(s.env for s in SETTINGS))}")
    for key in given:
        holds = declared[key].holds
        if holds == "requests":  # KRAKEND_TASKS_SMOKE: a JSON list
            given[key] = schema.json_list(given[key], f"environment: {declared[key].env}")
        elif declared[key].listed:  # comma-separated
            given[key] = [item.strip() for item in given[key].split(",") if item.strip()]
        elif holds == "bool":
            given[key] = TRUTH.get(given[key].strip().lower(), given[key])
    checked_values: dict[str, Any] = schema.validate(given, "environment")
    return checked_values


def _from_file(root: Path) -> dict[str, Any]:
    own, pyproject = root / "krakend-tasks.toml", root / "pyproject.toml"
    for path in (own, pyproject):
        if path.is_symlink() and not path.exists():
            raise ConfigError(f"{path} is a symbolic link to nothing (dangling, or a loop)",
                              hint="point it at a settings file, or remove it")
    found = own if own.exists() else pyproject if pyproject.exists() else None
    if found is None:
        return {}
    try:
        data = read_regular(found)
    except OSError as exc:
        raise ConfigError(f"cannot read {found}: {exc.strerror}",
                          hint="it must be a readable file (settings live in krakend-tasks.toml or pyproject.toml)"
                          ) from exc
    return remembered(str(found), data.decode("latin-1"), lambda: _file_values(found, data))


def _file_values(path: Path, data: bytes) -> dict[str, Any]:
    parsed = _parse_toml(path, data)
    if path.name != "pyproject.toml":
        values: dict[str, Any] = _schema().validate(parsed, str(path))
        return values
    tool = parsed.get("tool", {})
    table = tool.get("krakend-tasks", {}) if isinstance(tool, dict) else None
    if not isinstance(table, dict):
        what = "[tool.krakend-tasks]" if isinstance(tool, dict) else "[tool]"
        raise ConfigError(f"{path}: {what} is not a table", hint="write it as a TOML table")
    tool_values: dict[str, Any] = _schema().validate(table, f"{path} [tool.krakend-tasks]")
    return tool_values


def _parse_toml(path: Path, data: bytes) -> dict[str, Any]:
    import tomllib

    try:
        return tomllib.loads(data.decode("utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"cannot parse {path}: {exc}", hint="fix the TOML syntax") from exc
    except RecursionError as exc:
        raise ConfigError(f"cannot parse {path}: its tables or arrays are nested too deeply",
                          hint="settings are a few keys deep: fix the file") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"cannot parse {path}: not UTF-8 text", hint="save it as UTF-8 (TOML requires it)") from exc
