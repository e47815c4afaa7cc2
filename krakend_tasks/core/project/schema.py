"""What each setting may hold (one msgspec schema for every source), and its errors in our words.

Imported only when a source is checked: settings.py remembers what passed (by its exact input),
so that a run whose settings did not change needs neither msgspec nor a TOML parser.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Annotated, Any, Literal

import msgspec

from krakend_tasks.core.project.setting_table import SETTINGS, Setting, by_key
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


KINDS: dict[str, Any] = {  # what a value may hold, by the kind core/project/setting_table.py names
    "text": Text, "bool": bool, "targets": Text | Texts, "argument": Argument, "name": Name,
    "repository": Repository, "word": Word, "path": AbsolutePath, "script": Script, "words": list[Word],
    "texts": list[Text], "names": list[EnvName], "arguments": list[Argument], "requests": list[RawSmoke],
}


def _kind(setting: Setting) -> Any:
    if setting.holds == "choice":
        return Literal[setting.choices]  # each choice exactly
    return KINDS[setting.holds]


@cache
def _raw(keys: tuple[str, ...]) -> type[msgspec.Struct]:
    """The settings as any source gives them: every declared setting, and the [target.<name>] tables."""
    fields = [(s.key, _kind(s) | None, None) for s in SETTINGS]
    return msgspec.defstruct("Raw", [*fields, ("target", dict[str, Any] | None, None)], forbid_unknown_fields=True)


def raw_struct() -> type[msgspec.Struct]:
    return _raw(tuple(s.key for s in SETTINGS))


def scalars() -> set[str]:
    """The settings' names, as every source gives them."""
    return {s.key for s in SETTINGS}


RECIPE_KEYS = set(RawTarget.__struct_fields__)
RECIPE_HINTS = {
    "image": 'an image reference, e.g. "krakend/builder:2.13.8" or "registry.example.com/builder@sha256:..."',
    "env": "a table of strings, e.g. env = { CGO_CFLAGS = \"-O2\" }",
    "cc": 'a C compiler, e.g. "aarch64-linux-gnu-gcc"', "host_cc": 'a C compiler, e.g. "aarch64-linux-gnu-gcc"',
}


def hint(key: str) -> str:
    """How to write `key`: a setting's declared hint, or a recipe key's (a same-named setting's)."""
    declared = by_key().get(key)
    return RECIPE_HINTS.get(key) or (declared.hint if declared else "")


def validate(values: dict[str, Any], source: str) -> dict[str, Any]:
    """`values` as Settings fields, in JSON's types, or a ConfigError naming the source, the key,
    the value and the expected type. `target` (per-target overrides) becomes `target_overrides`."""
    raw = _convert(values, raw_struct(), source)
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
        raise ConfigError(f"{source} is not JSON: {exc}", hint=hint("smoke")) from exc


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
             else sorted({*scalars(), "target.<name>"}))
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
        declared = by_key().get(str(keys[-1])) if keys else None
        near = declared.near(value) if declared else ""
        problem = "not one of the choices" + (f": {near}" if near else "")
    problem = problem.replace(" | null", "").replace("Expected", "expected").replace("`object`", "a table")
    last = next((k for k in reversed([prefix.rpartition(".")[2], *keys]) if isinstance(k, str) and k), "")
    hint_text = hint("smoke") if smoke else hint(str(last)) or (
        "give it a value, or leave it out" if problem == "an empty value"
        else "remove that from the value" if problem.startswith("it ")
        else "write it as a table: [target.<name>] with keys " + ", ".join(sorted(RECIPE_KEYS))
        if "a table" in problem else 'write it as a quoted string, e.g. version = "2.13"')
    return ConfigError(f"{source}: {place} = {value!r}: {problem}", hint=hint_text)


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
