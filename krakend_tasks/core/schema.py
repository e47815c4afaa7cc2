"""What each setting may hold (one msgspec schema for every source), and its errors in our words.

Imported only when a source is checked: settings.py remembers what passed (by its exact input),
so that a run whose settings did not change needs neither msgspec nor a TOML parser.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

import msgspec

from krakend_tasks.core.targets import parse_target
from krakend_tasks.engines.registry import IMAGE, REPOSITORY
from krakend_tasks.errors import ConfigError, did_you_mean

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
# image references, as Docker's reference grammar has them (engines/registry.py)
Repository = Annotated[str, msgspec.Meta(pattern=REPOSITORY)]
Image = Annotated[str, msgspec.Meta(pattern=IMAGE)]
Texts = Annotated[list[Text], msgspec.Meta(min_length=1)]


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


JsonValue = str | int | float | bool | list[Any] | dict[str, Any]  # TOML dates are not JSON: refused by specs


class RawSmoke(msgspec.Struct, forbid_unknown_fields=True):
    """`[[smoke]]`: one request of the smoke run (settings.SmokeRequest), and what its answer must be."""

    path: Annotated[str, msgspec.Meta(pattern=r"^/[\x21-\x7e]*\Z")]  # an absolute path, no spaces
    method: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{1,16}\Z")] = "GET"
    headers: dict[Annotated[str, msgspec.Meta(pattern=r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+\Z")],
                  Annotated[str, msgspec.Meta(pattern=r"^[^\r\n\x00]*\Z")]] = {}
    body: str | None = None
    status: Annotated[int, msgspec.Meta(ge=100, le=599)] = 200
    contains: str | None = None  # the answer's body must contain it
    response_headers: dict[Annotated[str, msgspec.Meta(pattern=r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+\Z")],
                           str | Annotated[list[str], msgspec.Meta(min_length=1)]] = {}
    response_body: JsonValue | None = None  # a string: exactly; any other value: as parsed JSON
    schema: dict[str, JsonValue] | None = None  # a JSON Schema


class Raw(msgspec.Struct, forbid_unknown_fields=True):
    """The settings as any source gives them: what is allowed, and its type."""

    # several versions are "2.12,2.13": msgspec 0.22 crashes at exit (in garbage collection) when a
    # second field is a string-or-list union like `targets`
    version: Text | None = None
    targets: Text | Texts | None = None
    engine: Literal["auto", "docker", "local"] | None = None
    edition: Literal["ce", "ee"] | None = None
    dist: Argument | None = None
    name: Name | None = None
    builder: Repository | None = None
    pull: Literal["missing", "always", "never"] | None = None
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
    keep_failed_container: bool | None = None
    all_patches: bool | None = None
    ssh_agent: bool | None = None
    plugins: list[Argument] | None = None
    plugin: Text | None = None
    smoke: list[RawSmoke] | None = None  # [[smoke]] requests
    smoke_specs: Argument | None = None  # a folder of KrakenD integration specs
    target: dict[str, Any] | None = None  # [target.<name>] tables: RawTarget, checked one by one


RECIPE_KEYS = set(RawTarget.__struct_fields__)
SCALARS = set(Raw.__struct_fields__) - {"target"}  # the settings' names, as every source gives them
HINTS = {
    "engine": "one of: auto, docker, local", "edition": "one of: ce, ee", "pull": "one of: missing, always, never",
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
    "before_build": 'a shell command, e.g. before_build = "go generate ./..."',
    "netrc": "true or false", "ssh_agent": "true or false", "keep_failed_container": "true or false",
    "all_patches": "true or false",
    "plugins": 'a list of folders, e.g. plugins = ["plugins/auth", "plugins/rate"] (modules, or packages of one)',
    "smoke": '[[smoke]] tables: path = "/x" (required), method, headers = { X-A = "1" }, body, status = 200, '
             'contains = "text", response_headers = { X-B = ["2"] }, response_body, schema = { type = "object" }; '
             'in KRAKEND_TASKS_SMOKE, a JSON list of such objects',
    "smoke_specs": 'a folder of KrakenD integration specs (*.json), relative to the project, e.g. "specs"',
}


def validate(values: dict[str, Any], source: str) -> dict[str, Any]:
    """`values` as Settings fields, in JSON's types, or a ConfigError naming the source, the key,
    the value and the expected type. `target` (per-target overrides) becomes `target_overrides`."""
    raw = _convert(values, Raw, source)
    out = {k: getattr(raw, k) for k in values if k != "target"}
    if raw.smoke is not None:
        out["smoke"] = [msgspec.structs.asdict(request) for request in raw.smoke]
        for i, request in enumerate(out["smoke"]):
            for key in ("response_body", "schema"):
                _json_only(request[key], f"{source}: smoke[{i}].{key}")
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


def _json_only(value: Any, where: str) -> None:
    """A value JSON can hold all the way down (TOML's dates and times it cannot)."""
    if isinstance(value, dict):
        for key, item in value.items():
            _json_only(item, f"{where}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _json_only(item, f"{where}[{i}]")
    elif value is not None and not isinstance(value, (str, int, float, bool)):
        raise ConfigError(f"{where} = {value}: a {type(value).__name__}, which JSON cannot hold",
                          hint="write it as a string, a number, a boolean, an array or a table")


def json_list(text: str, source: str) -> Any:
    """A JSON value given as text (KRAKEND_TASKS_SMOKE), or a ConfigError."""
    try:
        return msgspec.json.decode(text)
    except msgspec.DecodeError as exc:
        raise ConfigError(f"{source} is not JSON: {exc}", hint=HINTS["smoke"]) from exc


def _convert(values: Any, schema: type[msgspec.Struct], source: str, prefix: str = "") -> Any:
    try:
        return msgspec.convert(values, schema)
    except msgspec.ValidationError as exc:
        raise _config_error(str(exc), values, source, prefix) from exc


def _config_error(error: str, values: Any, source: str, prefix: str) -> ConfigError:
    """msgspec's `Expected `str`, got `float` - at `$.version`` in our words."""
    problem, _, where = error.partition(" - at `")
    where = where.removeprefix("$")
    if where.startswith("key` in `$"):  # a table's key: "- at `key` in `$.smoke[0].headers`"
        problem, where = "a key is not allowed (a header name: letters, digits, -)", where.removeprefix("key` in `$")
    steps = re.findall(r"\.([\w-]+)|\[(\d+)\]", where)
    keys: list[str | int] = [name or int(index) for name, index in steps]
    smoke = bool(keys) and keys[0] == "smoke"
    known = (sorted(RECIPE_KEYS) if prefix else sorted(RawSmoke.__struct_fields__) if smoke
             else sorted({*SCALARS, "target.<name>"}))
    unknown = re.match(r"Object contains unknown field `(.+)`", problem)
    if unknown:
        place = "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in [*keys, unknown.group(1)])
        place = f"{prefix}{place}".lstrip(".")
        near = did_you_mean(unknown.group(1), [k.split(".")[0] for k in known])
        return ConfigError(f"{source}: unknown setting {place!r}" + (f": {near}" if near else ""),
                           hint=f"known: {', '.join(known)}")
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
    if problem.startswith("Invalid enum value") and isinstance(value, str):
        choices = re.findall(r"\w+", HINTS.get(str(keys[-1]) if keys else "", "").partition(":")[2])
        if keys and keys[-1] == "edition":
            from krakend_tasks.core.editions import spelling_hint

            near = spelling_hint(value)
        else:
            near = did_you_mean(value, choices)
        problem = "not one of the choices" + (f": {near}" if near else "")
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
