"""Add plugins to a krakend.json: the root `plugin` block and each type's namespace; and the names
its plugins register, read by loading them, against those it uses.

The file (core/krakend/config.py) keeps every other key, its key order, its indentation and its final
newline; it is written atomically, after a `.bak` copy of the original, and only when something
changes (and KrakenD's own schema accepts the result, when a KrakenD is at hand).
"""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from krakend_tasks.core.krakend.config import parse_json, read_config, used_plugins
from krakend_tasks.core.plugin_types import NAMES, PluginType, plugin_type
from krakend_tasks.errors import ConfigError, KrakendConfigError

if TYPE_CHECKING:
    from krakend_tasks.core.krakend.lint import Krakend, Verdict
    from krakend_tasks.core.project.settings import Settings

DEFAULT_FOLDER = "/opt/krakend/plugins/"
DEFAULT_PATTERN = ".so"
TYPES = "|".join(NAMES)


class Placement(NamedTuple):
    """Where one plugin name goes: server plugins on the service, clients on a backend, modifiers and
    middleware (KrakenD Enterprise) on an endpoint (no backend given) or a backend."""

    kind: str  # server | client | modifier | middleware
    name: str
    endpoint: str | None = None  # the endpoint's path, e.g. /hello
    method: str | None = None  # needed only when several endpoints share the path
    backend: int | None = None  # index in the endpoint's backend list
    settings: dict[str, Any] | None = None  # the plugin's own configuration, under its name


class Outcome(NamedTuple):
    """What configure did: the changes, in words, and the backup when the file was rewritten."""

    path: Path
    changes: tuple[str, ...] = ()
    backup: Path | None = None
    linted: Verdict | None = None  # KrakenD's verdict on the new text (None: no KrakenD at hand, or unchanged)

    @property
    def changed(self) -> bool:
        return bool(self.changes)


def add_plugin(config: dict[str, Any], placement: Placement, folder: str = DEFAULT_FOLDER,
               pattern: str = DEFAULT_PATTERN) -> list[str]:
    """Add `placement` (and the root plugin block) to `config` in place; return what changed."""
    kind = plugin_type(placement.kind)
    if not placement.name:
        raise ConfigError("the plugin name is empty", hint="give the name the plugin registers")
    changes = []
    loading = _member(config, "plugin", dict, "the root")
    for key, value in (("folder", folder), ("pattern", pattern)):
        if loading.get(key) != value:
            changes.append(f"plugin.{key}: {loading.get(key)!r} -> {value!r}")
            loading[key] = value
    where, holder = _holder(config, placement)
    namespace = kind.namespace
    extra = _member(holder, "extra_config", dict, where)
    block = _member(extra, namespace, dict, f"{where} extra_config")
    if kind is PluginType.CLIENT:
        current = block.get("name")
        if current is not None and not isinstance(current, str):
            raise KrakendConfigError(f"{where}: {namespace} name is {current!r}, not a string",
                                     hint="a client plugin's name is a string: fix it by hand")
        if current not in (None, placement.name):
            raise ConfigError(f"{where} already uses the client plugin {current!r}",
                              hint="a backend has one client plugin: remove it first, or pick another backend")
        if current is None:
            block["name"] = placement.name
            changes.append(f"{where}: {namespace} {placement.name}")
    else:
        names = block.setdefault("name", [])
        if isinstance(names, str):
            names = block["name"] = [names]
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise KrakendConfigError(f"{where}: {namespace} name is {names!r}, not a list of names",
                                     hint='write it as a list of strings, e.g. "name": ["my-plugin"]')
        if placement.name not in names:
            names.append(placement.name)
            changes.append(f"{where}: {namespace} {placement.name}")
    wanted = placement.settings if placement.settings is not None else block.get(placement.name, {})
    if block.get(placement.name) != wanted:
        changes.append(f"{where}: {namespace} settings of {placement.name}")
    block[placement.name] = wanted
    return changes


def _holder(config: dict[str, Any], placement: Placement) -> tuple[str, dict[str, Any]]:
    """The object whose extra_config receives the plugin, and a description of it."""
    if placement.kind == PluginType.SERVER:
        return "service", config
    if not placement.endpoint:
        raise ConfigError(f"a {placement.kind} plugin goes on an endpoint", hint="give --endpoint /path")
    endpoints = [e for e in _member(config, "endpoints", list, "the root", create=False) if isinstance(e, dict)]
    matches = [e for e in endpoints if e.get("endpoint") == placement.endpoint
               and (placement.method is None or e.get("method", "GET").upper() == placement.method.upper())]
    if not matches:
        known = ", ".join(f"{e.get('method', 'GET')} {e.get('endpoint')}" for e in endpoints) or "none"
        wanted = f"{placement.method.upper()} {placement.endpoint}" if placement.method else placement.endpoint
        raise ConfigError(f"no endpoint {wanted} in the configuration", hint=f"endpoints: {known}")
    if len(matches) > 1:
        raise ConfigError(f"several endpoints {placement.endpoint}", hint="choose one with --method")
    endpoint = matches[0]
    where = f"{endpoint.get('method', 'GET')} {placement.endpoint}"
    backends = _member(endpoint, "backend", list, where, create=False)
    index = placement.backend
    if index is None and placement.kind == PluginType.CLIENT:
        if len(backends) != 1:
            raise ConfigError(f"{where} has {len(backends)} backends", hint="choose one with --backend N (0-based)")
        index = 0
    if index is None:
        return where, endpoint
    if not 0 <= index < len(backends):
        raise ConfigError(f"{where} has no backend {index}", hint=f"backends are 0..{len(backends) - 1}")
    if not isinstance(backends[index], dict):
        raise KrakendConfigError(f"{where} backend {index} is {backends[index]!r}, not an object",
                                 hint="fix the backend in the configuration")
    return f"{where} backend {index}", backends[index]


def _member(holder: dict[str, Any], key: str, kind: type, where: str, create: bool = True) -> Any:
    """holder[key], made empty when absent (if `create`), refused when it has another JSON type."""
    value = holder.setdefault(key, kind()) if create else holder.get(key, kind())
    if not isinstance(value, kind):
        shape = "an object" if kind is dict else "a list"
        raise KrakendConfigError(f"{where}: {key!r} is {json.dumps(value)[:60]}, not {shape}",
                                 hint=f"KrakenD expects {shape} there: fix the configuration by hand")
    return value


def configure(path: str | Path, placements: list[Placement], folder: str = DEFAULT_FOLDER,
              pattern: str = DEFAULT_PATTERN, krakend: Krakend | None = None) -> Outcome:
    """Add the placements to the file at `path`: atomic, with a backup, and idempotent. With `krakend`,
    the new text is linted by KrakenD's own schema first, and a refused one is not written."""
    from krakend_tasks.core.files import locked, write_atomic

    path = Path(path)
    with locked(path):  # read, change and write as one step: concurrent runs keep every change
        config = read_config(path)
        changes = tuple(change for placement in placements
                        for change in add_plugin(config.data, placement, folder, pattern))
        text = config.render()
        if text == config.text:
            return Outcome(config.path)
        verdict = None
        if krakend is not None:
            from krakend_tasks.core.krakend.lint import lint_text, refuse

            verdict = lint_text(text, str(path), krakend)
            refuse(verdict, f"{path} with {', '.join(changes)}")
        real = Path(os.path.realpath(path))  # a symlink stays a symlink; the file it names is updated
        mode = real.stat().st_mode & 0o7777
        if not mode & stat.S_IWUSR or not os.access(real, os.W_OK) or not os.access(real.parent, os.W_OK):
            raise KrakendConfigError(f"{path} is read-only (or its folder is): nothing was changed",
                                     hint="make it writable (chmod u+w), or pass --config with a writable copy")
        backup = real.with_name(real.name + ".bak")
        if backup.is_dir() or (backup.exists() and not backup.is_file()):
            raise KrakendConfigError(f"{backup} is a {'folder' if backup.is_dir() else 'special file'}, not a backup: "
                                     f"nothing was changed", hint=f"move {backup} away, then run again")
        write_atomic(backup, real.read_bytes(), mode=mode | 0o200, like=real)
        write_atomic(real, text, mode=mode)
    return Outcome(config.path, changes, backup, verdict)


def configure_project(settings: Settings, path: Path, *, kind: str | None = None, name: str | None = None,
                      endpoint: str | None = None, method: str | None = None, backend: int | str | None = None,
                      folder: str | None = None, pattern: str | None = None,
                      plugin_settings: str | None = None, krakend: Krakend | None = None) -> Outcome:
    """What `configure` does for a project: what is not given is inferred (the type from the built
    plugin's registerers, the name from go.mod, the endpoint when there is only one); then `configure`."""
    try:
        extra = parse_json(plugin_settings) if plugin_settings else None
    except ValueError as exc:
        raise ConfigError(f"--settings is not JSON: {exc}", hint='e.g. --settings \'{"path": "/hi"}\'') from exc
    if extra is not None and not isinstance(extra, dict):
        raise ConfigError(f"--settings is a JSON {type(extra).__name__}, not an object",
                          hint='the plugin\'s configuration is an object, e.g. --settings \'{"path": "/hi"}\'')
    kind = kind or built_type(settings)
    if kind != PluginType.SERVER and not endpoint:
        endpoint = only_endpoint(path)
    if backend is not None and not (str(backend).isascii() and str(backend).isdigit()):
        raise ConfigError(f"--backend {backend!r} is not an index", hint="give 0 for the first backend, 1 for the next")
    if folder is not None:
        from krakend_tasks.core.workflows.ship import dockerfile_path

        hint = f'KrakenD reads plugins from it in its image, e.g. "{DEFAULT_FOLDER}"'
        if not dockerfile_path(folder, "--folder", hint).startswith("/"):
            raise ConfigError(f"--folder {folder!r} is not an absolute folder", hint=hint)
    if pattern is not None and re.search(r"[\x00-\x1f\x7f]", pattern):
        raise ConfigError(f"--pattern {pattern!r} holds a control character", hint=f'e.g. "{DEFAULT_PATTERN}"')
    placement = Placement(kind, settings.plugin_name() if name is None else name, endpoint, method,
                          None if backend is None else int(backend), extra)
    return configure(path, [placement], folder or DEFAULT_FOLDER, pattern or DEFAULT_PATTERN, krakend)


def built_type(settings: Settings) -> PluginType:
    """The plugin type of the built artifacts, read from their exported registerers."""
    from krakend_tasks.core.golang.elf import read_elf
    from krakend_tasks.core.project.manifest import read_manifest

    artifacts = [a for a in read_manifest(settings.dist_dir) if a.path.startswith(f"{settings.plugin_name()}-")]
    if not artifacts:
        raise ConfigError("which plugin type? nothing is built yet", hint=f"pass --type {TYPES}")
    elf = read_elf(settings.dist_dir / artifacts[0].path)
    if len(elf.plugin_types) != 1:
        raise ConfigError(f"{artifacts[0].path} exports {', '.join(elf.registerers) or 'no registerer'}",
                          hint=f"pass --type {TYPES}")
    return elf.plugin_types[0]


def only_endpoint(path: Path) -> str:
    """The configuration's endpoint when it has exactly one."""
    endpoints = [e.get("endpoint") for e in read_config(path).data.get("endpoints") or [] if isinstance(e, dict)]
    if len(endpoints) != 1:
        raise ConfigError(f"{path} has {len(endpoints)} endpoints: which one?", hint="pass --endpoint /path")
    return str(endpoints[0])


def validate_names(settings: Settings, path: Path, plugins: Path, pattern: str = DEFAULT_PATTERN) -> list[str]:
    """Every plugin name the configuration uses that none of the plugins in `plugins` registers."""
    files = sorted(p for p in plugins.glob("*.so") if pattern in p.name)
    from krakend_tasks.core.verifying.testload import provided_plugins

    return missing_plugins(read_config(path).data, provided_plugins(files, settings))


def missing_plugins(config: dict[str, Any], provided: dict[str, set[str]]) -> list[str]:
    """What the configuration uses that no plugin provides, one sentence each."""
    problems = []
    for kind, names in used_plugins(config).items():
        for name in sorted(names - provided[kind]):
            have = ", ".join(sorted(provided[kind])) or "none"
            problems.append(f"{plugin_type(kind).namespace} uses {name!r}, which no plugin registers "
                            f"({kind} plugins found: {have})")
    return problems
