"""explain: what KrakenD's log lines about plugins mean, when all a user has is the log.

A table of KrakenD's own messages (lura's plugin loaders, Go's plugin.Open and the dynamic linker,
as KrakenD CE 2.x writes them: FACTS of docs/troubleshooting.md) to their cause, their fix and the
command of this tool that proves it. Lines are read as a stream, bounded (a line's first 64 KiB, the
first 256 MiB of a log): a `krakend run` log, `docker logs` output, or one pasted line. With the
plugin (`path`) and KrakenD's binary or image at hand, a package fingerprint line is compared for
real (core/golang/fingerprints) and names the exact module and versions. A line of KrakenD's about plugins
that the table does not know is said to be unknown; nothing is guessed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import BinaryIO, NamedTuple

LINE_LIMIT = 64 << 10  # bytes of a line kept (a longer one is cut, and said)
READ_LIMIT = 256 << 20  # bytes of a log read
TELLING = (b"lugin", b"fatal error", b"symbol not found", b"ELF", b"shared object", b"GLIBC_", b"relocation")


class Explained(NamedTuple):
    """One line of KrakenD's, and what it means."""

    number: int  # 1-based, in the input
    line: str
    kind: str  # the rule's name; "unknown" when no rule knows the line
    severity: str  # error | warning | info
    cause: str
    fix: str = ""
    proof: str = ""  # the command of krakend-tasks that proves it
    details: tuple[str, ...] = ()  # what the plugin and KrakenD's data say for sure
    repeats: int = 0  # later lines with the same explanation (another loader saying the same of the file)


class Reading(NamedTuple):
    """What was read: the plugin lines explained, and how much of the input was read."""

    explained: list[Explained]
    lines: int
    read_bytes: int
    cut_lines: int  # lines longer than LINE_LIMIT, cut
    truncated: bool  # the input was longer than READ_LIMIT
    binary: bool  # the input holds NUL bytes: not a text log

    @property
    def failed(self) -> bool:
        return any(e.severity == "error" for e in self.explained)


class Context(NamedTuple):
    """What explains a line further: the plugin file, KrakenD's binary or image, the release."""

    path: Path | None = None
    krakend_bin: str | None = None
    image: str | None = None
    version: str = ""
    linked: Mapping[str, str] = MappingProxyType({})  # module -> the version KrakenD links (the release's bundled data)
    compare: Callable[[], list[str]] | None = None  # the fingerprint comparison's sentences, when possible


REGISTERERS = ("HandlerRegisterer", "ClientRegisterer", "ModifierRegisterer")  # what KrakenD CE's loaders look up
PLUGIN_LINE = re.compile(r"plugin #\d+ \((?P<file>[^)]*)\): (?P<error>.*)$")
TEST = "krakend-tasks test-load --path PLUGIN.so --krakend-bin KRAKEND"
INSPECT = "krakend-tasks inspect --path PLUGIN.so --krakend-bin KRAKEND"


def _file(line: str) -> str:
    found = PLUGIN_LINE.search(line)
    return found["file"] if found else "PLUGIN.so"


def _proof(template: str, line: str, context: Context) -> str:
    plugin = str(context.path) if context.path else _file(line)
    krakend = f"--krakend-bin {context.krakend_bin}" if context.krakend_bin else (
        f"--image {context.image}" if context.image else "--krakend-bin KRAKEND")
    return template.replace("--path PLUGIN.so", f"--path {plugin}").replace("--krakend-bin KRAKEND", krakend)


def _package(match: re.Match[str], line: str, context: Context) -> Explained:
    package = match["package"]
    top = package.split("/")[0]
    if "." not in top:  # the standard library, runtime/... included
        cause = (f"{package} is a package of Go's standard library: the plugin was built with another Go "
                 "version than KrakenD (or with -trimpath, which changes every package's fingerprint)")
        fix = ("build with KrakenD's exact Go (krakend-tasks build does: the builder image, or GOTOOLCHAIN with "
               "the local engine) and without -trimpath")
    else:
        module = max((m for m in context.linked if package == m or package.startswith(m + "/")), key=len,
                     default=None)
        version = f" KrakenD {context.version} links {module} {context.linked[module]};" if module else ""
        cause = (f"{package} is a package KrakenD links too, and the plugin's copy is not KrakenD's:{version} "
                 "either the plugin requires another version of its module, or the same version was compiled "
                 "from another path (a module cache other than /go/pkg/mod, -trimpath, vendor/, a local replace)")
        fix = ("align the module's version (krakend-tasks check --apply), then rebuild with krakend-tasks build "
               "(modules compiled from /go/pkg/mod, as KrakenD's release is)")
    details = tuple(context.compare()) if context.compare else ()
    return Explained(0, line, "package-fingerprint", "error", cause, fix, _proof(TEST, line, context), details)


def _rule(kind: str, severity: str, cause: str, fix: str = "", proof: str = "") -> Callable[..., Explained]:
    def explain(match: re.Match[str], line: str, context: Context) -> Explained:
        fields = {k: v for k, v in match.groupdict().items() if v is not None}
        return Explained(0, line, kind, severity, cause.format(**fields), fix.format(**fields),
                         _proof(proof, line, context) if proof else "")
    return explain


RULES: tuple[tuple[re.Pattern[str], Callable[..., Explained]], ...] = (
    (re.compile(r"plugin was built with a different version of package (?P<package>\S+)"), _package),
    (re.compile(r"runtime: no plugin module data"), _rule(
        "no-module-data", "error",
        "the plugin was built by another Go (or another KrakenD version's Go) than this KrakenD: Go finds no "
        "module data it can use, and KrakenD dies at start",
        "build with KrakenD's exact Go: krakend-tasks build --version <KrakenD's version>", TEST)),
    (re.compile(r"(?P<symbol>__\w+_chk): symbol not found|symbol not found|unsupported relocation type"), _rule(
        "libc", "error",
        "a glibc plugin in a musl KrakenD (the official Docker image), or the reverse: the plugin needs C library "
        "symbols this KrakenD's libc does not have",
        "build for KrakenD's flavour: an -alpine target for the Docker image, -generic for deb/rpm/tarball installs",
        INSPECT)),
    (re.compile(r"libc\.so: invalid ELF header"), _rule(
        "libc", "error",
        "a musl plugin (an -alpine build) in a glibc KrakenD: the dynamic linker tried to open musl's libc.so",
        "build the -generic target for KrakenD's deb, rpm or tarball installs", INSPECT)),
    (re.compile(r"version `(?P<glibc>GLIBC_[\d.]+)' not found"), _rule(
        "glibc-version", "error",
        "the plugin needs {glibc}, newer than the glibc of the machine KrakenD runs on",
        "build in KrakenD's builder image (krakend-tasks build --engine docker), whose glibc is KrakenD's", INSPECT)),
    (re.compile(r"wrong ELF class"), _rule(
        "elf-class", "error", "the plugin is not a 64-bit file of KrakenD's architecture",
        "build for KrakenD's target: krakend-tasks build --target amd64|arm64", INSPECT)),
    (re.compile(r"\((?P<file>[^)]*\.so)\): plugin\.Open\(\"[^\"]*\"\): (?P=file): cannot open shared object file"),
     _rule("architecture", "error",
           "{file} exists but the dynamic linker cannot open it: a plugin of another architecture (an arm64 plugin "
           "in an amd64 KrakenD, or the reverse)",
           "build the target of KrakenD's machine: krakend-tasks build --target amd64 (or arm64)", INSPECT)),
    (re.compile(r"cannot open shared object file"), _rule(
        "missing-file", "error", "a file the plugin needs (or the plugin itself) is not where the dynamic linker "
        "looked: a plugin of another architecture, or a shared library the plugin links that this machine lacks",
        "build the plugin for KrakenD's target with krakend-tasks build", INSPECT)),
    (re.compile(r"invalid ELF header|file too short|not an ELF file"), _rule(
        "not-a-plugin", "error", "the file in KrakenD's plugin folder is not a Go plugin (not an ELF shared object)",
        "put only `go build -buildmode=plugin` output in the folder, or narrow plugin.pattern", INSPECT)),
    (re.compile(r"plugin already loaded"), _rule(
        "already-loaded", "warning",
        "two files in the plugin folder are the same plugin (one plugin path: a copy under another name, or two "
        "builds of one module's main package): Go loads a plugin path once, and KrakenD skips the second file",
        "keep one file per plugin in the folder (an old build left beside the new one is the usual cause)",
        "krakend-tasks inspect --path FOLDER/*.so")),
    (re.compile(r"symbol (?P<symbol>\w+Registerer) not found in plugin (?P<plugin>\S+)"), _rule(
        "other-type", "info",
        "KrakenD's {symbol} loader looked in {plugin} and found none: normal for a plugin of another type "
        "(each loader opens every file); a problem only when no loader loaded it",
        "", "krakend-tasks inspect --path PLUGIN.so")),
    (re.compile(r"(?P<loader>[\w-]+) plugin loader: unknown type"), _rule(
        "registerer-type", "error",
        "the plugin exports the registerer symbol KrakenD's {loader} loader looks up, but of the wrong type: not a "
        "value whose Register method has the signature KrakenD calls",
        "declare it as the plugin type's registerer, e.g. var HandlerRegisterer = registerer(\"name\") with "
        "RegisterHandlers(f func(string, func(context.Context, map[string]interface{{}}, http.Handler) (http.Handler, "
        "error)))", TEST)),
    (re.compile(r"No plugin registered as (?P<name>\S+)"), _rule(
        "unregistered-name", "error",
        "the config names the plugin {name!r}, and no loaded plugin registered that name: a typo in the config, "
        "a plugin that did not load (see the lines above), or a folder/pattern that found no file",
        "make the config's name the one the plugin registers, or fix the load", "krakend-tasks configure --validate")),
    (re.compile(r"\[PLUGIN: (?P<type>\w+)\] No plugins registered for the module"), _rule(
        "none-registered", "error",
        "KrakenD's {type} plugins: none registered at all: the plugin folder is missing, empty for its pattern, or "
        "every file in it failed to load",
        "check the root plugin block (folder and pattern) against the files KrakenD's container or host holds",
        "krakend-tasks smoke")),
    (re.compile(r"\[SERVICE: (?P<service>[\w ]+Plugin)\] Total plugins loaded: 0"), _rule(
        "none-loaded", "warning",
        "KrakenD's {service} loader loaded no plugin: none of this type in the folder, or the folder or pattern "
        "finds no file", "check plugin.folder and plugin.pattern; the lines above say what each file gave",
        "krakend-tasks smoke")),
    (re.compile(r"open (?P<folder>\S+): no such file or directory"), _rule(
        "no-folder", "error", "the plugin folder {folder} does not exist where KrakenD runs",
        "set plugin.folder to where the plugins are (in KrakenD's image: where the Dockerfile copies them)",
        "krakend-tasks smoke")),
)
UNREMARKABLE = re.compile(r"Total plugins loaded: [1-9]|Starting loading process|Loading process completed|"
                          r"\[PLUGIN: [^\]]+\] (?!No plugin)|Injecting plugin|logger loaded")


def explain_line(line: str, context: Context) -> Explained | None:
    """The first rule that knows the line; "unknown" for a plugin line none knows; None otherwise."""
    for pattern, explain in RULES:
        if found := pattern.search(line):
            return explain(found, line, context)
    if UNREMARKABLE.search(line) or not any(word.decode() in line for word in TELLING):
        return None
    if "fatal error" in line or ("plugin" in line.lower() and ("error" in line.lower() or "plugin #" in line)):
        return Explained(0, line, "unknown", "warning", "a line about plugins that krakend-tasks does not know: "
                         "nothing is guessed (please report it with the plugin's build)")
    return None


def lines(stream: BinaryIO) -> Iterator[tuple[bytes, bool, int]]:
    """(line, was it cut, bytes consumed so far), each line's first LINE_LIMIT bytes, up to READ_LIMIT."""
    consumed = 0
    while consumed < READ_LIMIT:
        chunk = stream.readline(LINE_LIMIT)
        if not chunk:
            return
        consumed += len(chunk)
        cut = not chunk.endswith(b"\n") and len(chunk) == LINE_LIMIT
        while cut and consumed < READ_LIMIT:  # the rest of a long line: read and dropped
            rest = stream.readline(LINE_LIMIT)
            consumed += len(rest)
            if not rest or rest.endswith(b"\n"):
                break
        yield chunk, cut, consumed


def read_log(streams: Iterable[BinaryIO], context: Context) -> Reading:
    """Every plugin line of the streams explained, in order (one explanation per distinct line)."""
    explained: list[Explained] = []
    seen: dict[tuple[str, str], int] = {}  # (kind, cause) -> its index in `explained`
    missing: dict[str, dict[str, int]] = {}  # a plugin file -> each registerer its loader did not find, and where
    count = cut_lines = consumed = 0
    binary = truncated = False
    for stream in streams:
        for raw, cut, so_far in lines(stream):
            consumed = so_far
            count += 1
            cut_lines += cut
            binary = binary or b"\0" in raw
            if not any(word in raw for word in TELLING):
                continue
            text = raw.decode("utf-8", errors="replace").rstrip("\r\n").replace("\0", "")
            found = explain_line(text, context)
            if found is None:
                continue
            if found.kind == "other-type" and (symbol := re.search(r"symbol (\w+Registerer) not found", text)):
                missing.setdefault(_file(text), {}).setdefault(symbol[1], count)
            key = (found.kind, found.cause)
            if key in seen:
                first = explained[seen[key]]
                explained[seen[key]] = first._replace(repeats=first.repeats + 1)
                continue
            seen[key] = len(explained)
            explained.append(found._replace(number=count, line=text[:2000]))
        truncated = truncated or consumed >= READ_LIMIT
    for file, symbols in missing.items():  # every loader opened it and none found its registerer
        if set(symbols) >= set(REGISTERERS):
            explained.append(Explained(
                min(symbols.values()), f"{file}: {', '.join(sorted(symbols))} not found", "no-registerer", "error",
                f"{file} is a Go plugin that exports none of {', '.join(REGISTERERS)}: KrakenD loads nothing from "
                "it (a misnamed or unexported registerer variable, or a plugin of KrakenD Enterprise's middleware "
                "type, which KrakenD CE never looks up)",
                "export the registerer under its exact name, e.g. var HandlerRegisterer = registerer(\"name\")",
                _proof(INSPECT, f"plugin #0 ({file}): ", context)))
    explained.sort(key=lambda e: e.number)
    return Reading(explained, count, consumed, cut_lines, truncated, binary)
