"""Compatibility of a plugin's modules, Go and libc with a KrakenD release.

`compare` is KrakenD's own check-plugin comparison, exactly; `check` adds what KrakenD's check
misses (upgrade or downgrade, replace directives, the go.mod `go`/`toolchain` lines).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import NamedTuple

from krakend_tasks.core.findings import Finding
from krakend_tasks.core.golang import semver
from krakend_tasks.core.golang.gomod import GoMod, Replace, go_line_problem, krakend_go_sum, read_go_mod, read_go_sum
from krakend_tasks.core.krakend import fingerprints as krakend_fingerprints
from krakend_tasks.core.krakend.deps import Descriptor, for_release, from_binary
from krakend_tasks.core.project.manifest import read_manifest
from krakend_tasks.core.project.settings import Settings
from krakend_tasks.core.targets import Target
from krakend_tasks.errors import require_go


class Diff(NamedTuple):
    """One incompatibility: the plugin has `have`, KrakenD wants `want`."""

    name: str  # "libc", "go" or a module path
    have: str
    want: str

    @property
    def is_module(self) -> bool:
        return self.name not in ("libc", "go")

    @property
    def direction(self) -> str:
        """What the plugin must do: upgrade, downgrade or change (not ordered)."""
        if not self.is_module:
            return "change"
        order = semver.compare(self.have, self.want)
        return "upgrade" if order < 0 else "downgrade" if order > 0 else "change"


class Report(NamedTuple):
    krakend: Descriptor
    plugin: Descriptor
    diffs: list[Diff]
    findings: tuple[Finding, ...] = ()
    indirect: frozenset[str] = frozenset()
    replaced: Mapping[str, Replace] = MappingProxyType({})  # module -> the replace the build applies
    direct: frozenset[str] | None = None  # go.mod's direct requirements; None: no go.mod was read

    @property
    def ok(self) -> bool:
        return not self.diffs and not any(f.severity == "error" for f in self.findings)

    def krakend_fix(self, diff: Diff) -> str:
        """KrakenD's `check-plugin -f` command for a module diff."""
        return fix_command(diff, diff.name in self.indirect)

    def fix(self, diff: Diff) -> str:
        """The command that moves a module to KrakenD's version and survives `go mod tidy`: the
        replace that holds it is edited (`go get` would change a requirement the replace overrides);
        a direct requirement is moved with `go get`; any other module (indirect, or only in the
        module graph) is replaced, since tidy drops a requirement nothing imports."""
        if replace := self.replaced.get(diff.name):
            return replace_fix(replace, diff.want)
        return fix_command(diff, indirect=self.direct is not None and diff.name not in self.direct)

    def fixes(self) -> dict[str, str]:
        """One command per module (and for the go line) that makes the plugin match KrakenD."""
        fixes = {d.name: self.fix(d) for d in self.diffs if d.is_module}
        for f in self.findings:
            if f.severity == "error" and f.fix.startswith("go mod edit"):
                fixes.setdefault(f.subject, f.fix)
        return fixes

    def fix_commands(self) -> list[str]:
        return list(self.fixes().values())


def compare(krakend: Descriptor, plugin: Descriptor) -> list[Diff]:
    """KrakenD's comparison: modules both sides list, by string, sorted; then go; then libc first."""
    diffs = sorted((Diff(path, plugin.deps[path], want) for path, want in krakend.deps.items()
                    if path in plugin.deps and plugin.deps[path] != want), key=lambda d: d.name)
    if krakend.go != plugin.go:
        diffs.insert(0, Diff("go", plugin.go, krakend.go))
    if krakend.libc != plugin.libc:
        diffs.insert(0, Diff("libc", plugin.libc, krakend.libc))
    return diffs


def fix_command(diff: Diff, indirect: bool) -> str:
    if indirect:
        return f"go mod edit --replace {diff.name}={diff.name}@{diff.want}"
    return f"go get {diff.name}@{diff.want}"


def replace_fix(replace: Replace, want: str) -> str:
    old = f"{replace.old}@{replace.old_version}" if replace.old_version else replace.old
    return f"go mod edit --replace {old}={replace.old}@{want}"


def check(go_sum: str | Path, krakend: Descriptor, go: str | None = None, libc: str = "",
          release_go: str | None = None, need_go_mod: bool = False, exact: bool = False) -> Report:
    """Check the plugin whose go.sum is given (its go.mod beside it) against KrakenD's side.

    `go` defaults to KrakenD's own Go and `libc` to "", as in KrakenD's check-plugin, which reads
    no go.mod; `need_go_mod` makes a missing one an error. `exact` reads the go.sum as KrakenD does
    (lines it skips are skipped); otherwise a malformed line is an error naming it.
    """
    go_sum = Path(go_sum)
    if exact:
        return Report(krakend, plugin := Descriptor(go=go or krakend.go, libc=libc, deps=krakend_go_sum(go_sum),
                                                    source=str(go_sum)), compare(krakend, plugin))
    go_mod = go_sum.with_name("go.mod")
    mod = read_go_mod(go_mod) if need_go_mod or go_mod.exists() else None
    # a plugin with no requirements (standard library only) has no go.sum and nothing to compare
    deps = {} if mod and not mod.requires and not go_sum.exists() else read_go_sum(go_sum)
    plugin = Descriptor(go=go or krakend.go, libc=libc, deps=deps, source=str(go_sum))
    diffs = compare(krakend, plugin)
    if not mod:
        return Report(krakend, plugin, diffs)
    indirect = frozenset(mod.indirect())
    replaced = {path: replace for path, req in mod.requires.items() if (replace := mod.replacement(path, req.version))}
    return Report(krakend, plugin, diffs, tuple(beyond_krakend(mod, krakend, release_go or krakend.go)), indirect,
                  replaced, frozenset(mod.requires) - indirect)


def beyond_krakend(mod: GoMod, krakend: Descriptor, release_go: str) -> list[Finding]:
    findings = []
    for replace in mod.replaces:
        required = mod.requires.get(replace.old)
        if replace.old not in krakend.deps or not required or mod.replacement(replace.old, required.version) != replace:
            continue  # a replace the build does not apply (left over in go.mod) changes nothing
        want = krakend.deps[replace.old]
        if replace.is_local:
            findings.append(Finding("error", replace.old, f"replaced by the local folder {replace.new}: the plugin "
                                    f"links that copy, KrakenD links {want} (KrakenD's check does not see replaces)",
                                    replace_fix(replace, want)))
        elif (replace.new, replace.new_version) != (replace.old, want):
            findings.append(Finding("error", replace.old, f"replaced by {replace.new}@{replace.new_version}: the "
                                    f"plugin links that, KrakenD links {replace.old}@{want}",
                                    replace_fix(replace, want)))
    if problem := go_line_problem(mod, release_go):
        findings.append(Finding("error", "go.mod go line", problem, f"go mod edit -go={release_go}"))
    if mod.toolchain and semver.compare("v" + mod.toolchain.removeprefix("go"), f"v{release_go}") > 0:
        findings.append(Finding("warning", "go.mod toolchain line", f"asks for {mod.toolchain}; the builder has "
                                f"Go {release_go} and GOTOOLCHAIN=local", "go mod edit -toolchain=none"))
    return findings


def check_project(settings: Settings, target: Target, *, go: str | None = None, libc: str | None = None,
                  krakend_bin: str | None = None, image: str | None = None, krakend_format: bool = False) -> Report:
    """Check the project's go.sum for one target of the release in `settings`.

    With `krakend_format`, defaults are KrakenD's (go: KrakenD's own, libc: ""); otherwise they are
    what krakend-tasks builds with (the release's Go and the target's libc).
    """
    release = settings.release
    target_libc = release.libc(target)
    krakend = from_binary(krakend_bin) if krakend_bin else for_release(
        release, target_libc, image, official=settings.official_image, pull=settings.pull)
    if not krakend_format:
        go = go or release.go
        libc = target_libc if libc is None else libc
    report = check(settings.project / "go.sum", krakend, go=go, libc=libc or "", release_go=release.go,
                   need_go_mod=not krakend_format)  # KrakenD's check reads no go.mod
    if not krakend_format:
        report = report._replace(findings=(*report.findings, *built_plugin_findings(
            settings, target, krakend_bin=krakend_bin, image=image)))
    return report


def built_plugin_findings(settings: Settings, target: Target, krakend_bin: str | None = None,
                          image: str | None = None) -> list[Finding]:
    """The package fingerprints of the target's built plugin (dist/) against KrakenD's, if one is built."""
    findings = []
    for artifact in read_manifest(settings.dist_dir):
        if artifact.target != target.name or artifact.krakend != settings.release.version:
            continue
        comparison, summary = krakend_fingerprints.findings_for(settings.dist_dir / artifact.path, target.arch.value,
                                                        settings.release.version, pull=settings.pull,
                                                        modcache=settings.modcache, krakend_bin=krakend_bin,
                                                        image=image, official=settings.official_image)
        if comparison is None:
            findings.append(Finding("warning", artifact.path, summary, "pass --krakend-bin or --image"))
        else:
            findings += comparison.findings or [Finding("info", artifact.path, summary)]
    return findings


TRANSIENT = ("unexpected EOF", "connection reset", "i/o timeout", "TLS handshake timeout", "502 Bad Gateway",
             "503 Service Unavailable", "504 Gateway Timeout", "connection refused", "no such host")


class Unapplied(NamedTuple):
    """A fix `go` would not take: the module, the command a person should run, and go's words."""

    module: str
    command: str
    said: str


def edits(reports: Mapping[str, Report]) -> tuple[list[str], list[str], list[str]]:
    """What makes every report's modules KrakenD's, as (go mod edit flags, go get queries for the
    downgrades, other commands): a module requirement is set to its version outright (`-require`:
    no package-path query, so a family whose packages moved between modules, such as OpenTelemetry's,
    converges), a module held by a replace or only in the module graph is replaced, and a downgrade
    goes through `go get`, which also lowers what requires the newer version."""
    flags: dict[str, str] = {}
    downgrades: dict[str, str] = {}
    others: list[str] = []
    for report in reports.values():
        for diff in (d for d in report.diffs if d.is_module):
            command = report.fix(diff)
            if command.startswith("go mod edit --replace "):
                flags[diff.name] = "-replace=" + command.removeprefix("go mod edit --replace ")
            elif diff.direction == "downgrade":
                downgrades[diff.name] = f"{diff.name}@{diff.want}"
            else:
                flags[diff.name] = f"-require={diff.name}@{diff.want}"
        others += [f.fix for f in report.findings if f.severity == "error" and f.fix.startswith("go mod edit")
                   and f.subject not in flags and f.fix not in others]
    return list(flags.values()), list(downgrades.values()), others


def apply_fixes(check_again: Callable[[], dict[str, Report]], project: Path, go_version: str,
                rounds: int = 5, log: Callable[[str], None] = lambda _: None,
                ) -> tuple[list[str], dict[str, Report], list[Unapplied]]:
    """Make the plugin's modules KrakenD's: every fix at once (`edits`), then `go mod tidy`; check
    again, and repeat while something is left and the last round changed go.mod or go.sum (tidy can
    bring in new differences). When `go` refuses the round, each fix is tried on its own and the ones
    it refuses are returned, with go's words and the command a person should run; go.mod and go.sum
    keep every fix that went in. Returns the commands run, the last reports and what was not applied."""
    require_go("to apply fixes, or run the printed commands")
    files = [project / "go.mod", project / "go.sum"]
    env = {**os.environ, "GOTOOLCHAIN": f"go{go_version}", "GOFLAGS": "-mod=mod"}
    ran: list[str] = []
    refused: list[Unapplied] = []
    saved = _contents(files)
    try:
        reports = check_again()
        for _ in range(rounds):
            flags, downgrades, others = edits(reports)
            given_up = {u.module for u in refused}
            flags = [f for f in flags if _module_of([f]) not in given_up]
            downgrades = [d for d in downgrades if _module_of([d]) not in given_up]
            if not (flags or downgrades or others):
                break
            before = _contents(files)
            commands = _round(flags, downgrades, others)
            failed = _run_all(commands, project, env, log)
            if failed is not None:  # one at a time, to name the fixes go refuses and keep the others
                _restore(before)
                singles = [_round([f], [], []) for f in flags] + [_round([], [d], []) for d in downgrades]
                for single in singles + [_round([], [], [o]) for o in others]:
                    kept = _contents(files)
                    if (said := _run_all(single, project, env, log)) is None:
                        ran += [" ".join(c) for c in single[:-1]]
                    else:
                        _restore(kept)
                        refused.append(Unapplied(_module_of(single[0]), _by_hand(single[0]), said))
            else:
                ran += [" ".join(c) for c in commands[:-1]]
            reports = check_again()
            if before == _contents(files):
                break  # no progress: what is left needs a person
    except BaseException:
        _restore(saved)
        raise
    return ran, reports, refused


def _round(flags: list[str], downgrades: list[str], others: list[str]) -> list[list[str]]:
    """The commands of one round: the edits, the downgrades, the rest, and `go mod tidy` last (go.sum
    keeps the lines of a version moved away from, and KrakenD's check reads the highest in go.sum;
    replace directives survive tidy)."""
    commands = [["go", "mod", "edit", *flags]] if flags else []
    commands += [["go", "get", *downgrades]] if downgrades else []
    return [*commands, *(o.split() for o in others), ["go", "mod", "tidy"]]


def _run_all(commands: list[list[str]], project: Path, env: Mapping[str, str],
             log: Callable[[str], None]) -> str | None:
    """Run each command in turn; None when all succeeded, else the failed one and go's words. A
    transient fault of the module proxy (the one error a retry cures) is retried once."""
    from krakend_tasks.engines import process

    for command in commands:
        done = process.run(command, cwd=project, env=env)
        if done.status != 0 and (fault := next((w for w in TRANSIENT if w in done.output), None)):
            log(f"the module proxy failed ({fault}): `{' '.join(command)}` once more")
            done = process.run(command, cwd=project, env=env)
        if done.status != 0:
            return f"`{' '.join(command)}` failed: {done.output.strip()}"
    return None


def _module_of(command: list[str]) -> str:
    word = command[-1].removeprefix("-require=").removeprefix("-replace=")
    return word.split("=", 1)[0].split("@", 1)[0]


def _by_hand(command: list[str]) -> str:
    """The command a person runs for one fix (a requirement as `go get`, which says more when it fails)."""
    word = command[-1]
    if word.startswith("-require="):
        return f"go get {word.removeprefix('-require=')} && go mod tidy"
    if word.startswith("-replace="):
        return f"go mod edit -replace={word.removeprefix('-replace=')} && go mod tidy"
    return " ".join(command) + " && go mod tidy"


def _contents(files: list[Path]) -> dict[Path, bytes | None]:
    return {f: f.read_bytes() if f.exists() else None for f in files}


def _restore(contents: dict[Path, bytes | None]) -> None:
    for path, data in contents.items():
        if data is None:
            path.unlink(missing_ok=True)
        else:
            path.write_bytes(data)
