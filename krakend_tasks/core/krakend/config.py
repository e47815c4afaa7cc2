"""A krakend.json as a document: read as KrakenD reads it (no NaN, no key twice, a flexible-config
template refused), written back as it was written (its keys, their order, its indentation, numbers as
written, its final newline), and the plugin names it uses, wherever they are.
"""

from __future__ import annotations

import json
import re
import secrets
from pathlib import Path
from typing import Any, NamedTuple

from krakend_tasks.core.files import load_json, read_regular
from krakend_tasks.core.plugin_types import PluginType
from krakend_tasks.errors import KrakendConfigError

TEMPLATE_MARKS = ("{{", "{%")


class ConfigFile(NamedTuple):
    """A parsed krakend.json and how it was written, so that it can be written back alike."""

    path: Path
    data: dict[str, Any]
    text: str
    indent: str | int | None = 4

    def render(self) -> str:
        """The data as JSON, written as the file was: its indent, line endings and final newline."""
        text = _NUMBER.sub(r"\1", json.dumps(self.data, indent=self.indent, ensure_ascii=False))
        text = _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)  # a lone \ud800 stays escaped
        text = text + "\n" if self.text.endswith("\n") or not self.text else text
        return text.replace("\n", "\r\n") if "\r\n" in self.text else text


# A JSON number with a fraction or exponent is kept as written (1e3 stays 1e3, 1e400 stays 1e400):
# parsed into a marked string, rendered back without quotes. The mark is a NUL (json.dumps writes
# \u0000) and a token of this process, so that no string of the document can pass for one.
_TOKEN = secrets.token_hex(8)
_MARK = f"\x00{_TOKEN}:"
_SURROGATE = re.compile("[\ud800-\udfff]")
_NUMBER = re.compile(rf'"\\u0000{_TOKEN}:([-+.eE0-9]+)"')


def parse_json(text: str) -> Any:
    """JSON as KrakenD reads it, refusing what is not JSON (NaN, Infinity) or is ambiguous
    (a key twice in one object); numbers keep their text."""
    def constant(name: str) -> Any:
        raise ValueError(f"{name} is not a JSON value")

    def unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [k for k, _ in pairs]
        twice = sorted({k for k in keys if keys.count(k) > 1})
        if twice:
            raise ValueError(f"the key {twice[0]!r} appears twice in one object (only one would count)")
        return dict(pairs)

    # -0 is kept as written too: as an int it would become 0
    return load_json(text, parse_float=lambda number: _MARK + number, parse_constant=constant,
                     parse_int=lambda number: _MARK + number if number == "-0" else int(number),
                     object_pairs_hook=unique)


def read_config(path: str | Path) -> ConfigFile:
    """Parse a krakend.json; a flexible-config template or invalid JSON is refused, clearly."""
    path = Path(path)
    try:
        text = read_regular(path).decode()
    except FileNotFoundError as exc:
        raise KrakendConfigError(f"{path} does not exist",
                                 hint="create one (krakend-tasks new writes an example), or give its path") from exc
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise KrakendConfigError(f"cannot read {path}: {reason}", hint="give the path of a UTF-8 JSON file") from exc
    try:
        data = parse_json(text)
    except ValueError as exc:
        if path.suffix == ".tmpl" or any(mark in text for mark in TEMPLATE_MARKS):
            raise KrakendConfigError(
                f"{path} is a KrakenD flexible-config template, not plain JSON ({exc})",
                hint="edit the template by hand, or run configure on the rendered file "
                     "(FC_ENABLE=1 FC_OUT=out.json krakend check -c ...)") from exc
        deep = "nested too deeply" in str(exc)
        raise KrakendConfigError(f"{path} is not valid JSON: {exc}" if not deep else f"cannot read {path}: {exc}",
                                 hint="flatten it, or edit it by hand" if deep
                                 else "fix the syntax at that line and column, then run again") from exc
    if not isinstance(data, dict):
        raise KrakendConfigError(f"{path} holds a JSON {type(data).__name__}, not an object",
                                 hint="a KrakenD configuration is a JSON object with version and endpoints")
    return ConfigFile(path, data, text, _indent(text))


def _indent(text: str) -> str | int | None:
    m = re.search(r"\n([ \t]+)\S", text)
    if not m:
        return None
    unit = m[1]
    return len(unit) if set(unit) == {" "} else unit


def used_plugins(config: dict[str, Any]) -> dict[str, set[str]]:
    """kind -> plugin names the configuration refers to, wherever they are."""
    used: dict[str, set[str]] = {kind: set() for kind in PluginType}
    holders = [("service", config)]
    for endpoint in config.get("endpoints", []) or []:
        if isinstance(endpoint, dict):
            holders.append(("endpoint", endpoint))
            holders += [("backend", b) for b in endpoint.get("backend", []) or [] if isinstance(b, dict)]
    for _, holder in holders:
        extra = holder.get("extra_config") or {}
        for kind in PluginType:
            block = extra.get(kind.namespace) if isinstance(extra, dict) else None
            names = block.get("name") if isinstance(block, dict) else None
            if isinstance(names, str):
                used[kind].add(names)
            elif isinstance(names, list):
                used[kind].update(n for n in names if isinstance(n, str))
    return used


def without_plugins(config: dict[str, Any], names: dict[str, set[str]]) -> dict[str, Any]:
    """A copy of `config` with the plugins `names` (kind -> names) taken out wherever they are named:
    a namespace left naming none goes, and so does the root `plugin` block once no namespace uses
    any plugin (what KrakenD runs without these plugins)."""
    out: dict[str, Any] = json.loads(json.dumps(config))

    def strip(holder: dict[str, Any]) -> None:
        extra = holder.get("extra_config")
        if not isinstance(extra, dict):
            return
        for kind in PluginType:
            block = extra.get(kind.namespace)
            listed = block.get("name") if isinstance(block, dict) else None
            if isinstance(listed, str) and listed in names.get(kind, set()):
                del extra[kind.namespace]
            elif isinstance(listed, list) and isinstance(block, dict):
                kept = [n for n in listed if n not in names.get(kind, set())]
                if not kept:
                    del extra[kind.namespace]
                else:
                    extra[kind.namespace] = {k: v for k, v in block.items()
                                             if k not in set(listed) - set(kept)} | {"name": kept}

    strip(out)
    for endpoint in out.get("endpoints") or []:
        if isinstance(endpoint, dict):
            strip(endpoint)
            for backend in endpoint.get("backend") or []:
                if isinstance(backend, dict):
                    strip(backend)
    if not any(used_plugins(out).values()):
        out.pop("plugin", None)
    return out
