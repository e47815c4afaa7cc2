"""Project settings with one precedence: call arguments > environment > file > defaults.

The file is `[tool.krakend-tasks]` in the plugin's pyproject.toml, or `krakend-tasks.toml`
beside its go.mod; per-target recipe overrides go in `[tool.krakend-tasks.target.<name>]`.
Environment variables are `KRAKEND_TASKS_<FIELD>` (upper case). Every source is checked against
one schema (`Raw`, msgspec) as it is read: a wrong type, an unknown key or an empty value is an
error naming the source, never ignored and never a traceback.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec

from krakend_tasks.core.files import read_regular
from krakend_tasks.core.gomod import GoMod, plugin_name, read_go_mod
from krakend_tasks.core.releases import Release, resolve
from krakend_tasks.core.targets import ALL_TARGETS, Recipe, Target, parse_target, select_targets
from krakend_tasks.errors import ConfigError

ENV_PREFIX = "KRAKEND_TASKS_"
# What each value may hold: never a control character (a newline would become a new line of a
# Dockerfile or a workflow), never a leading dash where it becomes an argument (it would be a flag).
Text = Annotated[str, msgspec.Meta(pattern=r"^(?=.*\S)[^\x00-\x1f\x7f]*\Z")]  # something printable
Script = Annotated[str, msgspec.Meta(pattern=r"^(?=[\s\S]*\S)[^\x00]*\Z")]  # several lines allowed
Argument = Annotated[str, msgspec.Meta(pattern=r"^[^\x00-\x20\x7f-][^\x00-\x1f\x7f]*\Z")]  # not a flag
Word = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.:+-]*\Z")]  # a tag, a network, a label
Anything = Annotated[str, msgspec.Meta(pattern=r"^[^\x00]*\Z")]  # but a NUL byte
Name = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*\Z")]  # a file name's stem
AbsolutePath = Annotated[str, msgspec.Meta(pattern=r"^/[^\x00-\x1f\x7f]*\Z")]
EnvName = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z_][A-Za-z0-9_]*\Z")]
# image references, as Docker's reference grammar has them
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REPOSITORY = rf"(?:[A-Za-z0-9.-]+(?::[0-9]+)?/)?{_COMPONENT}(?:/{_COMPONENT})*"
REPOSITORY = rf"^{_REPOSITORY}\Z"
IMAGE = rf"^{_REPOSITORY}(?::[A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}})?(?:@sha256:[0-9a-f]{{64}})?\Z"
Repository = Annotated[str, msgspec.Meta(pattern=REPOSITORY)]
Image = Annotated[str, msgspec.Meta(pattern=IMAGE)]
Texts = Annotated[list[Text], msgspec.Meta(min_length=1)]
Engine = Literal["auto", "docker", "local"]
Pull = Literal["missing", "always", "never"]


class RawTarget(msgspec.Struct, forbid_unknown_fields=True):
    """`[target.<name>]`: one target's recipe overrides."""

    image: Image | None = None
    cc: Argument | None = None
    host_cc: Argument | None = None
    env: dict[EnvName, Anything] = {}
    ldflags: Anything | None = None
    package: Argument | None = None
    tags: list[Word] | None = None
    build_flags: list[Text] | None = None
    before_build: Script | None = None


class Raw(msgspec.Struct, forbid_unknown_fields=True):
    """The settings as any source gives them: what is allowed, and its type."""

    # several versions are "2.12,2.13": msgspec 0.22 crashes at exit (in garbage collection) when a
    # second field is a string-or-list union like `targets`
    version: Text | None = None
    targets: Text | Texts | None = None
    engine: Engine | None = None
    dist: Argument | None = None
    name: Name | None = None
    builder: Repository | None = None
    pull: Pull | None = None
    network: Word | None = None
    krakend_image: Repository | None = None
    runner: Word | None = None
    modcache: AbsolutePath | None = None
    package: Argument | None = None
    tags: list[Word] | None = None
    build_flags: list[Text] | None = None
    before_build: Script | None = None
    pass_env: list[EnvName] | None = None
    netrc: bool | None = None
    ssh_agent: bool | None = None
    plugins: list[Argument] | None = None
    plugin: Text | None = None
    smoke: list[SmokeRequest] | None = None  # [[smoke]] requests
    target: dict[str, Any] | None = None  # [target.<name>] tables: RawTarget, checked one by one


class SmokeRequest(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """`[[smoke]]`: one request of the smoke run, and what its answer must be."""

    path: Annotated[str, msgspec.Meta(pattern=r"^/[\x21-\x7e]*\Z")]  # an absolute path, no spaces
    method: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{1,16}\Z")] = "GET"
    headers: dict[Annotated[str, msgspec.Meta(pattern=r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+\Z")],
                  Annotated[str, msgspec.Meta(pattern=r"^[^\r\n\x00]*\Z")]] = {}
    body: str | None = None
    status: Annotated[int, msgspec.Meta(ge=100, le=599)] = 200
    contains: str | None = None  # the answer's body must contain it


RECIPE_KEYS = set(RawTarget.__struct_fields__)


class Settings(msgspec.Struct, frozen=True):
    """Everything a session or task needs, parsed into types; build one with `load_settings`."""

    project: Path = Path(".")  # the plugin's folder (with go.mod)
    release: Release = msgspec.field(default_factory=lambda: resolve("latest"))  # from the `version` setting
    releases: tuple[Release, ...] = ()  # every version asked for ("2.12,2.13"); `release` is the first
    targets: tuple[Target, ...] = ALL_TARGETS  # selected by the `targets` setting
    engine: Engine = "auto"
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
    plugins: tuple[str, ...] = ()  # several plugins: their folders (each with its go.mod), relative to project
    plugin: str | None = None  # of those, the one to work on (its folder or its name); None: all
    smoke: tuple[SmokeRequest, ...] = ()  # the smoke run's requests
    target_overrides: dict[str, dict[str, Any]] = {}

    @property
    def dist_dir(self) -> Path:
        return self.project / self.dist

    @property
    def official_image(self) -> str:
        """KrakenD's own image of the release: `<krakend_image>:<version>`."""
        return f"{self.krakend_image}:{self.release.version}"

    def per_release(self) -> list[Settings]:
        """These settings once per KrakenD version asked for (`version = "2.12,2.13"`)."""
        return [msgspec.structs.replace(self, release=r, releases=(r,)) for r in self.releases or (self.release,)]

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
        own = msgspec.structs.replace(self, dist=self.dist_dir.absolute(), plugins=(), plugin=None,
                      name=_from_file(place).get("name"))  # a plugin folder's own name
        if (place / "go.mod").is_file():
            return msgspec.structs.replace(own, project=place)
        root = module_root(place, self.project)
        return msgspec.structs.replace(own, project=root, package="./" + place.relative_to(root).as_posix(),
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


SCALARS = set(Raw.__struct_fields__) - {"target"}  # the settings' names, as every source gives them
LISTS = {"tags", "build_flags", "pass_env", "plugins", "smoke"}  # lists (tuples in Settings)
SPLIT = LISTS - {"smoke"}  # in KRAKEND_TASKS_* variables, comma-separated; KRAKEND_TASKS_SMOKE is JSON
BOOLS = {"netrc", "ssh_agent"}  # in KRAKEND_TASKS_* variables: 1/0, true/false, yes/no
HINTS = {
    "engine": "one of: auto, docker, local", "pull": "one of: missing, always, never",
    "name": "a plain file name: letters, digits, '.', '_' and '-' (it names files inside dist/)",
    "targets": 'a string ("arm64") or a list of strings (["amd64-alpine", "arm64-alpine"])',
    "env": "a table of strings, e.g. env = { CGO_CFLAGS = \"-O2\" }",
    "tags": 'a list of build tags (letters, digits, _ and .), e.g. tags = ["production"]',
    "builder": 'an image repository, e.g. "krakend/builder" or "registry.example.com:5000/team/builder"',
    "krakend_image": 'an image repository, e.g. "krakend" or "registry.example.com/krakend"',
    "image": 'an image reference, e.g. "krakend/builder:2.13.8" or "registry.example.com/builder@sha256:..."',
    "network": 'a Docker network mode, e.g. "host"', "runner": 'a CI runner label, e.g. "ubuntu-24.04"',
    "modcache": 'an absolute path, e.g. "/go/pkg/mod"', "package": 'a Go package path, e.g. "./cmd/plugin"',
    "dist": 'a folder, e.g. "dist"', "cc": 'a C compiler, e.g. "aarch64-linux-gnu-gcc"',
    "host_cc": 'a C compiler, e.g. "aarch64-linux-gnu-gcc"',
    "build_flags": 'a list of strings, e.g. build_flags = ["-v"]',
    "pass_env": 'a list of variable names, e.g. pass_env = ["GITHUB_TOKEN"]',
    "netrc": "true or false", "ssh_agent": "true or false",
    "plugins": 'a list of folders, e.g. plugins = ["plugins/auth", "plugins/rate"] (modules, or packages of one)',
    "smoke": '[[smoke]] tables: path = "/x" (required), method, headers = { X-A = "1" }, body, status = 200, '
             'contains = "text"; in KRAKEND_TASKS_SMOKE, a JSON list of such objects',
}


def load_settings(project: str | Path = ".", /, **arguments: Any) -> Settings:
    """Settings for the plugin in `project`; `arguments` that are None are ignored."""
    root = Path(project)
    values: dict[str, Any] = {}
    values.update(_from_file(root))
    values.update(_from_env())
    values.update(checked({k: v for k, v in arguments.items() if v is not None}, "arguments"))
    values["project"] = root
    versions = values.pop("version", "latest")
    releases = tuple(dict.fromkeys(resolve(v.strip()) for v in versions.split(",") if v.strip()))  # in order
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
    values |= {key: tuple(values[key]) for key in LISTS if key in values}
    return msgspec.structs.replace(Settings(), **values)


def checked(values: Mapping[str, Any], source: str) -> dict[str, Any]:
    """`values` as Settings fields, or a ConfigError naming the source, the key, the value and the
    expected type. `target` (per-target overrides) becomes `target_overrides`."""
    plain = {k: str(v) if isinstance(v, Path) else v for k, v in values.items()}
    raw = _convert(plain, Raw, source)
    out = {k: getattr(raw, k) for k in plain if k != "target"}
    if raw.target is not None:
        overrides: dict[str, dict[str, Any]] = {}
        named: dict[str, str] = {}
        for name, table in raw.target.items():
            target = parse_target(name).name
            if target in named:
                raise ConfigError(f"{source}: [target.{named[target]}] and [target.{name}] are both {target}",
                                  hint="merge them into one table")
            over = _convert(table, RawTarget, source, f"target.{name}")
            named[target] = name
            overrides[target] = {k: getattr(over, k) for k in table if getattr(over, k) is not None}
        out["target_overrides"] = overrides
    return out


def _convert(values: Any, schema: type[msgspec.Struct], source: str, prefix: str = "") -> Any:
    try:
        return msgspec.convert(values, schema)
    except msgspec.ValidationError as exc:
        raise _config_error(str(exc), values, source, prefix) from None


def _config_error(error: str, values: Any, source: str, prefix: str) -> ConfigError:
    """msgspec's `Expected `str`, got `float` - at `$.version`` in our words."""
    problem, _, where = error.partition(" - at `")
    where = where.removeprefix("$")
    if where.startswith("key` in `$"):  # a table's key: "- at `key` in `$.smoke[0].headers`"
        problem, where = "a key is not allowed (a header name: letters, digits, -)", where.removeprefix("key` in `$")
    steps = re.findall(r"\.([\w-]+)|\[(\d+)\]", where)
    keys: list[str | int] = [name or int(index) for name, index in steps]
    smoke = bool(keys) and keys[0] == "smoke"
    known = (sorted(RECIPE_KEYS) if prefix else sorted(SmokeRequest.__struct_fields__) if smoke
             else sorted({*SCALARS, "target.<name>"}))
    unknown = re.match(r"Object contains unknown field `(.+)`", problem)
    if unknown:
        place = "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in [*keys, unknown.group(1)])
        place = f"{prefix}{place}".lstrip(".")
        return ConfigError(f"{source}: unknown setting {place!r}", hint=f"known: {', '.join(known)}")
    value = values
    for key in keys:
        if isinstance(value, dict):
            value = value.get(key)
        elif isinstance(value, list) and isinstance(key, int):
            value = value[key]
    place = "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in keys)
    place = (prefix + place).lstrip(".") or "settings"
    if problem.startswith("Expected `str` matching regex"):
        problem = _what_is_wrong(value)
    problem = re.sub(r"Invalid enum value .*", "not one of the choices", problem)
    problem = problem.replace(" | null", "").replace("Expected", "expected").replace("`object`", "a table")
    last = next((k for k in reversed([prefix.rpartition(".")[2], *keys]) if isinstance(k, str) and k), "")
    hint = HINTS["smoke"] if smoke else HINTS.get(str(last)) or (
        "give it a value, or leave it out" if problem == "an empty value"
        else "remove that from the value" if problem.startswith("it ")
        else "write it as a table: [target.<name>] with keys " + ", ".join(sorted(RECIPE_KEYS))
        if "a table" in problem else 'write it as a quoted string, e.g. version = "2.13"')
    return ConfigError(f"{source}: {place} = {value!r}: {problem}", hint=hint)


def _what_is_wrong(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        return "an empty value"
    if "\x00" in value:
        return "it holds a NUL byte"
    if any(ord(c) < 0x20 or ord(c) == 0x7f for c in value):
        return "it holds a control character (a newline, a tab...)"
    if value.startswith("-"):
        return "it starts with '-', so a command would read it as a flag"
    return "not allowed"


def _from_env() -> dict[str, Any]:
    """`KRAKEND_TASKS_*` variables; an unknown one (a typo) is an error, an empty one is unset."""
    given: dict[str, Any] = {k[len(ENV_PREFIX):].lower(): v for k, v in os.environ.items()
                             if k.startswith(ENV_PREFIX) and v}
    unknown = sorted(set(given) - SCALARS)
    if unknown:
        raise ConfigError(f"unknown environment variable {ENV_PREFIX}{unknown[0].upper()}",
                          hint=f"known: {', '.join(ENV_PREFIX + k.upper() for k in sorted(SCALARS))}")
    for key in SPLIT & set(given):
        given[key] = [item.strip() for item in given[key].split(",") if item.strip()]
    if "smoke" in given:
        try:
            given["smoke"] = msgspec.json.decode(given["smoke"])
        except msgspec.DecodeError as exc:
            raise ConfigError(f"environment: {ENV_PREFIX}SMOKE is not JSON: {exc}", hint=HINTS["smoke"]) from None
    for key in BOOLS & set(given):
        given[key] = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}.get(
            given[key].strip().lower(), given[key])
    return checked(given, "environment")


def _from_file(root: Path) -> dict[str, Any]:
    own, pyproject = root / "krakend-tasks.toml", root / "pyproject.toml"
    for path in (own, pyproject):
        if path.is_symlink() and not path.exists():
            raise ConfigError(f"{path} is a symbolic link to nothing (dangling, or a loop)",
                              hint="point it at a settings file, or remove it")
    if own.exists():
        return checked(_read_toml(own), str(own))
    if pyproject.exists():
        tool = _read_toml(pyproject).get("tool", {})
        table = tool.get("krakend-tasks", {}) if isinstance(tool, dict) else None
        if not isinstance(table, dict):
            what = "[tool.krakend-tasks]" if isinstance(tool, dict) else "[tool]"
            raise ConfigError(f"{pyproject}: {what} is not a table", hint="write it as a TOML table")
        return checked(table, f"{pyproject} [tool.krakend-tasks]")
    return {}


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(read_regular(path).decode("utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"cannot parse {path}: {exc}", hint="fix the TOML syntax") from None
    except RecursionError:
        raise ConfigError(f"cannot parse {path}: its tables or arrays are nested too deeply",
                          hint="settings are a few keys deep: fix the file") from None
    except UnicodeDecodeError:
        raise ConfigError(f"cannot parse {path}: not UTF-8 text", hint="save it as UTF-8 (TOML requires it)") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}",
                          hint="it must be a readable file (settings live in krakend-tasks.toml or pyproject.toml)"
                          ) from None
