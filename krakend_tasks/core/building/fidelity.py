"""Build fidelity: the packages a plugin shares with KrakenD must compile exactly as KrakenD's did.

KrakenD's releases are built in golang images: GOPATH=/go, so modules compile from /go/pkg/mod,
and no -trimpath. Go fingerprints each package with its source path, so a plugin built any other
way fails to load with `plugin was built with a different version of package X`. The engines
reproduce the official build; `refuse_unloadable` stops a build that would not.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from pathlib import Path

from krakend_tasks.core.golang.gomod import GoMod
from krakend_tasks.errors import ConfigError, UnloadableBuild


def refuse_unloadable(env: Mapping[str, str], project: Path, gomod: GoMod,
                      krakend_modules: set[str] | None, build_flags: tuple[str, ...] = ()) -> list[str]:
    """Raise UnloadableBuild for what changes shared packages' fingerprints; return warnings.

    `env` is the Go environment the build runs with, `build_flags` the `go build` flags of the
    settings; `krakend_modules` the modules KrakenD links (None when unknown: a local replace is
    then only a warning).
    """
    try:
        goflags = shlex.split(env.get("GOFLAGS", ""))
    except ValueError as exc:
        raise ConfigError(f"GOFLAGS cannot be read: {exc} in {env.get('GOFLAGS', '')!r}",
                          hint="balance its quotes (environment, go env -w, or the target's env)") from exc
    if any(_sets_trimpath(flag) for flag in goflags):
        raise UnloadableBuild("GOFLAGS has -trimpath: it changes the fingerprint of every package, the standard "
                              "library included, so KrakenD refuses the plugin",
                              hint="remove -trimpath from GOFLAGS (environment, go env -w, or the target's env)")
    refuse_build_flags(build_flags)
    goflags += build_flags
    mod_flag = next((f.split("=", 1)[1] for f in goflags if f.startswith("-mod=")), None)
    if mod_flag == "vendor" or (mod_flag is None and (project / "vendor" / "modules.txt").is_file()):
        raise UnloadableBuild(f"{project / 'vendor'} is in use: vendored packages compile from another path than "
                              "KrakenD's module cache, so the packages it shares with KrakenD will not load",
                              hint="delete vendor/ (or build with GOFLAGS=-mod=mod)")
    warnings = []
    for replace in gomod.replaces:
        if not replace.is_local:
            continue
        if krakend_modules is None:
            warnings.append(f"{replace.old} is replaced by the local folder {replace.new}: if KrakenD links "
                            f"{replace.old}, the plugin will not load")
        elif replace.old in krakend_modules:
            raise UnloadableBuild(f"{replace.old} is replaced by the local folder {replace.new}, but KrakenD links "
                                  f"{replace.old}: its packages compile from another path and will not load",
                                  hint=f"go mod edit -dropreplace {replace.old}")
    return warnings


OWN_FLAGS = {"-o": "dist/ is where the plugin goes", "-buildmode": "a plugin is -buildmode=plugin",
             "-ldflags": "use the `ldflags` setting", "-tags": "use the `tags` setting"}


def refuse_build_flags(flags: tuple[str, ...]) -> None:
    """`build_flags` may not undo what makes a loadable plugin, nor set what other settings own."""
    for flag in flags:
        name = "-" + flag.lstrip("-").partition("=")[0]
        if _sets_trimpath(flag) or name == "-linkshared":
            raise UnloadableBuild(f"build_flags has {flag}: it changes the fingerprint of the packages the plugin "
                                  "shares with KrakenD, so KrakenD refuses the plugin",
                                  hint=f"remove {flag} from build_flags")
        if name in OWN_FLAGS:
            raise UnloadableBuild(f"build_flags has {flag}", hint=f"remove it: {OWN_FLAGS[name]}")


def _sets_trimpath(flag: str) -> bool:
    name, _, value = flag.lstrip("-").partition("=")
    return name == "trimpath" and value.lower() in ("", "1", "t", "true")
