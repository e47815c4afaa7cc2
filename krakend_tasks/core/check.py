"""Compatibility of a plugin's modules, Go and libc with a KrakenD release.

`compare` is KrakenD's own check-plugin comparison, exactly; `check` adds what KrakenD's check
misses (upgrade or downgrade, replace directives, the go.mod `go`/`toolchain` lines).
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from krakend_tasks.core import fingerprints, semver
from krakend_tasks.core.findings import Finding
from krakend_tasks.core.gomod import GoMod, go_line_problem, krakend_go_sum, read_go_mod, read_go_sum
from krakend_tasks.core.krakend_deps import Descriptor, for_release, from_binary
from krakend_tasks.core.manifest import read_manifest
from krakend_tasks.core.settings import Settings
from krakend_tasks.core.targets import Target
from krakend_tasks.errors import GoModuleError, require_go


@dataclass(frozen=True)
class Diff:
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


@dataclass
class Report:
    krakend: Descriptor
    plugin: Descriptor
    diffs: list[Diff]
    findings: list[Finding] = field(default_factory=list)
    indirect: set[str] = field(default_factory=set)

    @property
    def ok(self) -> bool:
        return not self.diffs and not any(f.severity == "error" for f in self.findings)

    def fix(self, diff: Diff) -> str:
        """KrakenD's `check-plugin -f` command for a module diff."""
        return fix_command(diff, diff.name in self.indirect)

    def fix_commands(self) -> list[str]:
        return [self.fix(d) for d in self.diffs if d.is_module]


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
    report = Report(krakend, plugin, compare(krakend, plugin))
    if mod:
        report.indirect = mod.indirect()
        report.findings = beyond_krakend(mod, krakend, release_go or krakend.go)
    return report


def beyond_krakend(mod: GoMod, krakend: Descriptor, release_go: str) -> list[Finding]:
    findings = []
    for replace in mod.replaces:
        if replace.old not in krakend.deps or replace.old not in mod.requires:
            continue  # a replace of a module the build does not use (left over in go.mod) changes nothing
        want = krakend.deps[replace.old]
        if replace.is_local:
            findings.append(Finding("error", replace.old, f"replaced by the local folder {replace.new}: the plugin "
                                    f"links that copy, KrakenD links {want} (KrakenD's check does not see replaces)",
                                    f"go mod edit -dropreplace {replace.old}"))
        elif (replace.new, replace.new_version) != (replace.old, want):
            findings.append(Finding("error", replace.old, f"replaced by {replace.new}@{replace.new_version}: the "
                                    f"plugin links that, KrakenD links {replace.old}@{want}",
                                    f"go mod edit -replace {replace.old}={replace.old}@{want}"))
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
        report.findings += built_plugin_findings(settings, target, krakend_bin=krakend_bin, image=image)
    return report


def built_plugin_findings(settings: Settings, target: Target, krakend_bin: str | None = None,
                          image: str | None = None) -> list[Finding]:
    """The package fingerprints of the target's built plugin (dist/) against KrakenD's, if one is built."""
    findings = []
    for artifact in read_manifest(settings.dist_dir):
        if artifact.target != target.name or artifact.krakend != settings.release.version:
            continue
        comparison, summary = fingerprints.findings_for(settings.dist_dir / artifact.path, target.arch.value,
                                                        settings.release.version, pull=settings.pull,
                                                        modcache=settings.modcache, krakend_bin=krakend_bin,
                                                        image=image, official=settings.official_image)
        if comparison is None:
            findings.append(Finding("warning", artifact.path, summary, "pass --krakend-bin or --image"))
        else:
            findings += comparison.findings or [Finding("info", artifact.path, summary)]
    return findings


def apply_fixes(report: Report, project: Path, go_version: str) -> list[str]:
    """Run the fix commands and `go mod tidy` in `project`; on any failure restore go.mod/go.sum and raise."""
    require_go("to apply fixes, or run the printed commands")
    files = [project / "go.mod", project / "go.sum"]
    saved = {f: f.read_bytes() for f in files if f.exists()}
    commands = report.fix_commands()
    env_go = {"GOTOOLCHAIN": f"go{go_version}", "GOFLAGS": "-mod=mod"}
    # `go mod tidy` last: go.sum keeps the lines of a version `go get` moved away from, and
    # KrakenD's check reads the highest version in go.sum. Replace directives survive tidy.
    try:
        for command in [*commands, "go mod tidy"]:
            proc = subprocess.run(command.split(), cwd=project, capture_output=True, text=True,
                                  env={**os.environ, **env_go})
            if proc.returncode != 0:
                raise GoModuleError(f"`{command}` failed: {proc.stderr.strip() or proc.stdout.strip()}",
                                    hint="go.mod and go.sum were restored; fix the requirement by hand")
    except BaseException:
        for path, data in saved.items():
            path.write_bytes(data)
        raise
    return commands

