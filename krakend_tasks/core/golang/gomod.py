"""go.mod and go.sum, read the way Go (and KrakenD's check-plugin) read them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, NamedTuple

from krakend_tasks.core.files import read_regular
from krakend_tasks.core.golang import semver
from krakend_tasks.errors import GoModuleError


class Require(NamedTuple):
    path: str
    version: str
    indirect: bool = False


class Replace(NamedTuple):
    old: str
    old_version: str | None
    new: str
    new_version: str | None  # None: a local directory

    @property
    def is_local(self) -> bool:
        return self.new_version is None


class GoMod(NamedTuple):
    path: Path
    module: str
    go: str | None
    toolchain: str | None
    requires: dict[str, Require]
    replaces: list[Replace]
    excludes: list[tuple[str, str]]

    def indirect(self) -> set[str]:
        return {r.path for r in self.requires.values() if r.indirect}

    def replacement(self, path: str, version: str) -> Replace | None:
        """The replace directive that applies to path@version, if any (version-specific wins)."""
        exact = [r for r in self.replaces if r.old == path and r.old_version == version]
        found = exact or [r for r in self.replaces if r.old == path and r.old_version is None]
        return found[-1] if found else None


_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|`[^`]*`|\(|\)|=>|[^\s()"`]+(?:=>)?')
_BLOCK_VERBS = {"require", "replace", "exclude", "retract", "godebug", "tool", "ignore"}
_VERBS = _BLOCK_VERBS | {"module", "go", "toolchain"}


def read_go_mod(path: str | Path) -> GoMod:
    """Parse a go.mod; a syntax error names the file and line."""
    path = Path(path)
    text = _read(path, "go.mod")
    mod: dict[str, Any] = {"module": "", "go": None, "toolchain": None, "requires": {}, "replaces": [],
                           "excludes": []}
    block: str | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        code, _, comment = raw.partition("//")
        tokens = [_unquote(t) for t in _TOKEN.findall(code)]
        if stray := _TOKEN.sub("", code).strip():  # what no token took: an unclosed quote, most often
            what = "an unclosed quote" if stray[0] in "\"`" else f"unexpected {stray[:20]!r}"
            raise GoModuleError(f"{path}:{number}: {what}", hint="fix the go.mod (go build refuses it too)")
        indirect = comment.strip().startswith("indirect")
        if not tokens:
            continue
        where = f"{path}:{number}"
        if block is not None:
            if tokens == [")"]:
                block = None
                continue
            _directive(mod, block, tokens, indirect, where)
            continue
        verb = tokens[0]
        if verb not in _VERBS:
            raise GoModuleError(f"{where}: unknown directive {verb!r}", hint="fix the go.mod, or run `go mod tidy`")
        if tokens[1:] == ["("] and verb in _BLOCK_VERBS:
            block = verb
            continue
        _directive(mod, verb, tokens[1:], indirect, where)
    if block is not None:
        raise GoModuleError(f"{path}: {block} block is not closed", hint="add the closing ')'")
    if not mod["module"]:
        raise GoModuleError(f"{path}: no module directive", hint="start the go.mod with `module <path>`")
    return GoMod(path, **mod)


def _directive(mod: dict[str, Any], verb: str, args: list[str], indirect: bool, where: str) -> None:
    def need(n: int, usage: str) -> None:
        if len(args) != n:
            raise GoModuleError(f"{where}: usage: {verb} {usage}", hint="fix the go.mod, or run `go mod tidy`")

    if verb == "module":
        need(1, "module/path")
        mod["module"] = args[0]
    elif verb == "go":
        need(1, "1.23.0")
        if not GO_VERSION.fullmatch(args[0]):
            raise GoModuleError(f"{where}: invalid go version {args[0]!r}", hint="use a version like 1.25.3")
        mod["go"] = args[0]
    elif verb == "toolchain":
        need(1, "go1.25.3")
        mod["toolchain"] = args[0]
    elif verb == "require":
        need(2, "module/path v1.2.3")
        _check_version(args[1], where)
        mod["requires"][args[0]] = Require(args[0], args[1], indirect)
    elif verb == "exclude":
        need(2, "module/path v1.2.3")
        mod["excludes"].append((args[0], args[1]))
    elif verb == "replace":
        if "=>" not in args:
            raise GoModuleError(f"{where}: usage: replace old [v] => new [v]", hint="fix the go.mod")
        arrow = args.index("=>")
        old, new = args[:arrow], args[arrow + 1:]
        if not 1 <= len(old) <= 2 or not 1 <= len(new) <= 2:
            raise GoModuleError(f"{where}: usage: replace old [v] => new [v]", hint="fix the go.mod")
        mod["replaces"].append(Replace(old[0], old[1] if len(old) == 2 else None,
                                       new[0], new[1] if len(new) == 2 else None))
    # retract, godebug, tool and ignore do not change which versions are linked


GO_VERSION = re.compile(r"1\.([0-9]+)(?:\.([0-9]+))?(?:(beta|rc)([0-9]+))?")  # ASCII digits, as Go reads them


def go_version_key(version: str) -> tuple[int, int, int, int]:
    """Go's order of go-line versions: 1.25 < 1.26beta1 < 1.26rc1 < 1.26.0 < 1.26.1."""
    match = GO_VERSION.fullmatch(version)
    if not match:
        raise GoModuleError(f"invalid go version {version!r}", hint="use a version like 1.25.3")
    minor, patch, pre, number = match.groups()
    if pre:
        return (int(minor), 0 if pre == "beta" else 1, int(number), 0)
    return (int(minor), 2 if patch is not None else -1, int(patch or 0), 0)


def _check_version(version: str, where: str) -> None:
    if not semver.is_valid(version):
        raise GoModuleError(f"{where}: invalid version {version!r}", hint="versions look like v1.2.3")


def _unquote(token: str) -> str:
    if token[:1] in ('"', "`"):
        return token[1:-1]
    return token


def read_go_sum(path: str | Path) -> dict[str, str]:
    """Highest version per module in a go.sum, as KrakenD's check-plugin computes it.

    `/go.mod` lines count (their suffix is stripped). Lines that are not `module version hash`
    are errors naming the line (KrakenD skips them silently).
    """
    path = Path(path)
    text = _read(path, "go.sum")
    versions: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split(" ")
        if len(parts) != 3 or not parts[2].startswith("h1:") or not semver.is_valid(parts[1].removesuffix("/go.mod")):
            raise GoModuleError(
                f"{path}:{number}: malformed go.sum line {line[:80]!r}",
                hint="regenerate it with `go mod tidy`",
            )
        module, version = parts[0], parts[1].removesuffix("/go.mod")
        if semver.compare(versions.get(module, ""), version) < 0:
            versions[module] = version
    return versions


def krakend_go_sum(path: str | Path) -> dict[str, str]:
    """A go.sum read exactly as KrakenD's check-plugin reads it (krakend-cobra's plugin.Describe):
    lines split on single spaces, those with fewer than 2 fields skipped, a `/go.mod` suffix
    stripped, the highest version kept by Go's semver order (so an invalid version is never kept),
    nothing else checked. A line longer than bufio.Scanner's 64 KiB is Go's own error."""
    try:
        data = read_regular(Path(path))
    except FileNotFoundError as exc:
        raise GoModuleError(f"open {path}: no such file or directory", hint="pass the plugin's go.sum") from exc
    except OSError as exc:
        raise GoModuleError(f"cannot read {path}: {exc.strerror}", hint="pass the plugin's go.sum") from exc
    versions: dict[str, str] = {}
    for raw in data.split(b"\n"):
        if len(raw) > 64 * 1024:
            raise GoModuleError("bufio.Scanner: token too long", hint="KrakenD's check-plugin stops here too")
        parts = raw.removesuffix(b"\r").decode(errors="replace").split(" ")
        if len(parts) < 2:
            continue
        version = parts[1][:-7] if len(parts[1]) > 7 and parts[1].endswith("/go.mod") else parts[1]
        if semver.compare(versions.get(parts[0], ""), version) < 0:
            versions[parts[0]] = version
    return versions


def _read(path: Path, kind: str) -> str:
    """The file's text; a UTF-8 byte-order mark (some editors write one) is not part of it."""
    try:
        return read_regular(path).decode().removeprefix("\ufeff")
    except FileNotFoundError as exc:
        raise GoModuleError(f"{path} not found",
                            hint=f"run it in the plugin's folder, or create the {kind} (`go mod init`, `go mod tidy`)"
                            ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise GoModuleError(f"cannot read {path}: {reason}", hint=f"it must be a readable {kind} file") from exc


def plugin_name(gomod: GoMod) -> str:
    """The module path's last element: the plugin's default name."""
    return gomod.module.rstrip("/").rsplit("/", 1)[-1]


def go_line_problem(gomod: GoMod, go: str) -> str | None:
    """Why go.mod's `go` line cannot build with KrakenD's Go version `go`, or None."""
    if gomod.go and go_version_key(gomod.go) > go_version_key(go):
        return (f"{gomod.path} requires go {gomod.go}, but KrakenD is built with Go {go}: "
                "a plugin must use exactly that Go")
    return None
