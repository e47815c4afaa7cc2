"""test-load: prove a built plugin loads, with KrakenD's `test-plugin` output format.

Where no KrakenD is at hand, a small Go loader (krakend_tasks/data/go/loader.go) is built with
the release's exact Go for the plugin's target and runs plugin.Open, Lookup, the type
assertion and the Register call. arm64 loaders run under qemu user emulation on amd64 hosts.
That loader links the standard library only, so it proves Go version, architecture, libc and
registerers, not the packages a plugin shares with KrakenD: each result also carries the
comparison of the plugin's package fingerprints with KrakenD's (core/golang/fingerprints.py).
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import krakend_tasks.engines.process as process
from krakend_tasks.core.files import cache_dir, sha256
from krakend_tasks.core.golang.fingerprints import Comparison
from krakend_tasks.core.krakend.fingerprints import findings_for
from krakend_tasks.core.krakend.releases import Release
from krakend_tasks.core.krakend.runner import emulator, run_krakend
from krakend_tasks.core.plugin_types import NEVER_LOOKED_UP, TEST_ORDER, PluginType, plugin_type
from krakend_tasks.core.project.settings import Settings
from krakend_tasks.core.targets import Recipe, Target
from krakend_tasks.data import DATA
from krakend_tasks.engines.process import ProcessTimedOut
from krakend_tasks.errors import BuildFailed, ConfigError, KrakendTasksError, LoadTimedOut, require_go

NO_MODULE_DATA = "runtime: no plugin module data"


class Check(NamedTuple):
    ok: bool
    kind: str  # SERVER, CLIENT, MODIFIER, MIDDLEWARE, or OPEN
    path: str
    detail: str = ""

    @property
    def names(self) -> list[str]:
        """The plugin names a passing check registered (our loader prints `registered: a,b`)."""
        listed = self.detail.removeprefix("registered:").strip() if self.detail.startswith("registered:") else ""
        return [n for n in listed.split(",") if n]


class LoadResult(NamedTuple):
    """Parsed `[OK]`/`[KO]` lines of a loader run (KrakenD's test-plugin or ours), and the package
    fingerprint comparison that tells whether KrakenD itself would accept what the loader opened."""

    ok: bool
    checks: tuple[Check, ...] = ()
    fatal: str | None = None  # the loader died (e.g. "runtime: no plugin module data")
    output: str = ""
    loader: str = ""  # what loaded it: "Go loader", "binary ...", "image ..."
    packages: Comparison | None = None  # None: KrakenD's fingerprints unknown, not compared
    packages_summary: str = ""

    def compare_packages(self, plugin: Path, arch: str, version: str, **sources: Any) -> LoadResult:
        """This result with the plugin's package fingerprints compared with KrakenD's (`sources`:
        findings_for's krakend_bin, image, pull, modcache); a difference fails it."""
        try:
            packages, summary = findings_for(plugin, arch, version, **sources)
        except KrakendTasksError as exc:
            packages, summary = None, f"package fingerprints not compared: {exc.message}"
        return self._replace(ok=self.ok and (packages is None or packages.ok), packages=packages,
                             packages_summary=summary)


_LINE = re.compile(r"\[(OK|KO)\] (SERVER|CLIENT|MODIFIER|MIDDLEWARE)\t([^\t:]+)(?::\s*(.*)|\t(.*))?$")
_OPEN = re.compile(r"\[KO\] Unable to open the plugin (.+)\.$")


def parse_output(output: str, exit_code: int, loader: str = "") -> LoadResult:
    """Read test-plugin style output; a crash without a summary line is a failure with its reason."""
    checks, fatal = [], None
    lines = output.splitlines()
    for i, line in enumerate(lines):
        if m := _LINE.match(line):
            checks.append(Check(m[1] == "OK", m[2], m[3], (m[4] or m[5] or "").strip()))
        elif m := _OPEN.match(line):
            detail = lines[i + 1].strip() if i + 1 < len(lines) and lines[i + 1].startswith("\t") else ""
            checks.append(Check(False, "OPEN", m[1], detail))
        elif line.startswith("fatal error:"):
            fatal = line.removeprefix("fatal error:").strip()
    if not checks and not fatal:  # nothing said about any plugin: not a pass
        fatal = "the loader printed no [OK]/[KO] line (is it KrakenD's test-plugin?)"
    ok = exit_code == 0 and not fatal and all(c.ok for c in checks)
    return LoadResult(ok, tuple(checks), fatal, output, loader)


def loader_source() -> str:
    return DATA.joinpath("go/loader.go").read_text()


def build_loader(recipe: Recipe, release: Release) -> Path:
    """The Go loader for this Go version and target, built once and cached."""
    require_go("to test-load without KrakenD, or pass --krakend-bin / --image")
    work = cache_dir() / "loader" / f"go{release.go}-{recipe.target.name}"
    binary, digest = work / "loader", work / "loader.sha256"
    source = loader_source()
    with contextlib.suppress(OSError, UnicodeDecodeError):  # reused only when whole: a cut loader says KO
        if (work / "main.go").read_text() == source and digest.read_text() == sha256(binary):
            return binary
    work.mkdir(parents=True, exist_ok=True)
    (work / "main.go").write_text(source)
    (work / "go.mod").write_text("module krakend-tasks/loader\n\ngo 1.17\n")
    env = {**os.environ, **recipe.environment(on_host=True), "GOTOOLCHAIN": f"go{release.go}",
           "GOFLAGS": "-buildvcs=false"}
    ldflags = recipe.linker_flags(on_host=True)
    cmd = ["go", "build", *([f"-ldflags={ldflags}"] if ldflags else []), "-o", "loader.partial", "."]
    done = process.run(cmd, cwd=work, env=env)
    if done.status != 0:
        raise BuildFailed(f"could not build the plugin loader for {recipe.target}:\n{done.output}",
                          hint="check the cross compiler for this target (see docs/troubleshooting.md)")
    os.replace(work / "loader.partial", binary)
    digest.write_text(sha256(binary))
    return binary


LOAD_TIMEOUT = 30.0  # seconds a load may take: a plugin's init() or registerer that never returns


@contextlib.contextmanager
def _bounded(plugins: list[Path], timeout: float) -> Iterator[None]:
    """A load past its time limit, in words (the loader and its group are killed by then)."""
    try:
        yield
    except ProcessTimedOut as exc:
        raise LoadTimedOut(f"loading {', '.join(map(str, plugins))} did not finish within {timeout:g} s: a plugin's "
                           "init() or its registerer never returned (KrakenD would hang the same way at start)",
                           hint="find what init() waits on (a network call, a lock, a channel); if it is only slow "
                                "(arm64 under qemu), raise the limit: --load-timeout S") from exc


def load_with_krakend(plugins: list[Path], kinds: Sequence[str], krakend: str | Path,
                      timeout: float = LOAD_TIMEOUT) -> LoadResult:
    """Run a local KrakenD binary's `test-plugin` and parse its result."""
    with _bounded(plugins, timeout):
        code, output = run_krakend(["test-plugin", *_flags(kinds), *map(str, plugins)], krakend_bin=krakend,
                                   timeout=timeout)
    return parse_output(output, code, f"binary {krakend}")


def load_in_image(plugins: list[Path], kinds: Sequence[str], image: str, recipe: Recipe, pull: str = "missing",
                  command: str = "krakend", timeout: float = LOAD_TIMEOUT) -> LoadResult:
    """Run `krakend test-plugin` in a KrakenD image, arm64 under the daemon's emulation."""
    with _bounded(plugins, timeout):
        code, output = run_krakend(["test-plugin", *_flags(kinds), *plugins], image=image, pull=pull,
                                   command=command, platform=f"linux/{recipe.target.arch.value}", timeout=timeout)
    return parse_output(output, code, f"image {image}")


def _flags(kinds: Sequence[str]) -> list[str]:
    if not kinds:
        raise ConfigError("no plugin type to test", hint="use server, client, modifier and/or middleware")
    return [plugin_type(k).flag for k in kinds]


def load(plugins: list[Path], kinds: Sequence[str], recipe: Recipe, release: Release, *,
         krakend_bin: str | Path | None = None, image: str | None = None, pull: str = "missing",
         timeout: float = LOAD_TIMEOUT) -> LoadResult:
    """Load plugins in a KrakenD binary's or image's `test-plugin`, or, with neither, in the Go loader.
    KrakenD CE's test-plugin never looks up an Enterprise type (middleware): against a CE release that
    kind gets CE's verdict, against an Enterprise one the Go loader checks it as Enterprise calls it."""
    if not krakend_bin and not image:
        return load_local(plugins, kinds, recipe, release, timeout)
    results = []
    if ce := [k for k in kinds if not plugin_type(k).enterprise]:
        results.append(load_with_krakend(plugins, ce, krakend_bin, timeout) if krakend_bin
                       else load_in_image(plugins, ce, str(image), recipe, pull, timeout=timeout))
    if enterprise := [k for k in kinds if plugin_type(k).enterprise]:
        results.append(load_local(plugins, enterprise, recipe, release, timeout) if release.edition == "ee"
                       else never_looked_up(plugins, enterprise, f"binary {krakend_bin}" if krakend_bin
                                            else f"image {image}"))
    return LoadResult(all(r.ok for r in results), tuple(c for r in results for c in r.checks),
                      next((r.fatal for r in results if r.fatal), None), "\n".join(r.output for r in results),
                      " and ".join(r.loader for r in results))


def never_looked_up(plugins: list[Path], kinds: Sequence[str], loader: str) -> LoadResult:
    """What KrakenD CE does with an Enterprise plugin type: nothing, which loads no plugin of it."""
    checks = tuple(Check(False, plugin_type(k).label, str(path),
                         NEVER_LOOKED_UP.format(symbol=plugin_type(k).registerer, kind=plugin_type(k).value))
                   for path in plugins for k in kinds)
    return LoadResult(False, checks, loader=loader)


def load_local(plugins: list[Path], kinds: Sequence[str], recipe: Recipe, release: Release,
               timeout: float = LOAD_TIMEOUT) -> LoadResult:
    """Load plugins with the Go loader built for their target; return the parsed result."""
    flags = _flags(kinds)
    loader = build_loader(recipe, release)
    with _bounded(plugins, timeout):
        done = process.run([*emulator(recipe.target), str(loader), *flags, *map(str, plugins)], timeout=timeout)
    return parse_output(done.output, done.status, "Go loader")

def as_krakend_says(error: str) -> str:
    """An error as KrakenD's test-plugin prints it: its loader says `plugin #0 (<path>): <error>` and
    test-plugin keeps what a greedy `\\(.*\\): (.*)` leaves, the text after the last `): `
    (so `plugin.Open("<path>"): ` goes too)."""
    return error.rsplit("): ", 1)[-1]


def krakend_lines(path: Path, kinds: Sequence[str], settings: Settings, krakend_bin: str | Path | None = None,
                  ) -> tuple[list[str], bool]:
    """The lines KrakenD's `test-plugin` prints for one file, and whether it passed.

    With `krakend_bin`, that KrakenD's own lines. Otherwise our loader for the file's target (or the
    one --target names) decides Go, arch, libc and registerers, and the fingerprint comparison
    decides shared packages, said in the words KrakenD would print for them.
    """
    from krakend_tasks.core.golang.elf import read_elf
    from krakend_tasks.core.targets import parse_target

    if not path.is_file():  # missing, or a FIFO or device that plugin.Open would block on for ever
        return [f"[KO] Unable to open the plugin {path}."], False
    name = path.name
    path = Path(os.path.normpath(path))  # KrakenD opens filepath.Join(folder, name): the path Go's errors name
    if krakend_bin:
        result = load_with_krakend([path], kinds, krakend_bin)
        return [line for line in result.output.splitlines() if line.startswith(("[OK] ", "[KO] "))
                and " tested plugin(s) in " not in line], result.ok
    named = list(settings.targets)
    try:
        found = read_elf(path).target()
    except KrakendTasksError:
        found = None
    target = named[0] if len(named) == 1 else found or parse_target("amd64-generic")
    result = load_local([path], kinds, settings.recipe(target), settings.release)
    result = result.compare_packages(path, target.arch.value, settings.release.version, pull=settings.pull,
                                     official=settings.official_image, modcache=settings.modcache)
    ordered = [t for t in TEST_ORDER if t in kinds]
    if result.fatal:
        return [f"fatal error: {result.fatal}"], False
    opened = [c for c in result.checks if c.kind == "OPEN"]
    packages = result.packages
    if opened or (packages is not None and not packages.ok):
        reason = opened[0].detail if opened else (packages.error if packages is not None else None) or ""
        return [f"[KO] {t.label}\t{name}: {as_krakend_says(reason)}" for t in ordered], False
    lines = []
    for check in result.checks:
        lines.append(f"[OK] {check.kind}\t{name}" if check.ok
                     else f"[KO] {check.kind}\t{name}: {as_krakend_says(check.detail)}")
    if packages is None:
        lines.append(f"note: {result.packages_summary}")
    return lines, result.ok


def provided_plugins(paths: list[Path], settings: Settings) -> dict[str, set[str]]:
    """kind -> names the plugins register, read by loading them (the test-load loader).

    Plugins of several targets register the same names: the files of one target are loaded,
    amd64 first (no emulation needed).
    """
    from krakend_tasks.core.golang.elf import read_elf

    groups: dict[Target, list[tuple[Path, list[PluginType]]]] = {}
    for path in paths:
        elf = read_elf(path)
        if elf.plugin_types and (target := elf.target()) is not None:  # another architecture: no loader of ours
            groups.setdefault(target, []).append((path, elf.plugin_types))
    provided: dict[str, set[str]] = {kind: set() for kind in PluginType}
    if not groups:
        return provided
    target = min(groups, key=lambda t: (t.arch.value != "amd64", t.name))
    for path, kinds in groups[target]:
        result = load_local([path], kinds, settings.recipe(target), settings.release)
        for check in result.checks:
            if check.ok and check.kind.lower() in provided:
                provided[check.kind.lower()].update(check.names)
    return provided
