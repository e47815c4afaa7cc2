"""KrakenD's editions: Community (CE), whose releases are data here, and Enterprise (EE), whose Go,
libc and modules are read from the user's own EE binary or image and never guessed from CE's.

An Enterprise release without its binary or image at hand still names its builder and KrakenD images
(`krakend/builder-ee:<version>`, `krakend/krakend-ee:<version>`); what needs its data says how to give it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from krakend_tasks.core.krakend.releases import DEBIAN, Release
from krakend_tasks.errors import ConfigError, EditionMismatch

if TYPE_CHECKING:
    from krakend_tasks.core.golang.fingerprints import Fingerprints

CE_MODULES = ("github.com/krakend/krakend-ce", "github.com/devopsfaith/krakend-ce")  # the main module of a CE binary
BUILDER, KRAKEND_IMAGE = "krakend/builder-ee", "krakend/krakend-ee"  # Enterprise's images (CE's: the defaults)
VERSION = re.compile(r"v?([0-9]+)\.([0-9]+)(?:\.([0-9]+))?\Z")


def edition_of(main_module: str) -> str:
    """"ce" for a binary whose main module is krakend-ce's, "ee" for any other KrakenD."""
    return "ce" if main_module.startswith(CE_MODULES) else "ee"


def enterprise(version: str, krakend_bin: str | None = None, image: str | None = None,
               pull: str = "missing") -> Release:
    """The KrakenD Enterprise release to work with: read from the EE binary or image when one is at
    hand (its Go, libc, modules and version, as that binary says them), else named by `version` only
    (its data then unknown: `Release.require_data` says how to give it)."""
    if not krakend_bin and not image:
        if not VERSION.match(version.strip()):
            raise ConfigError(f"version {version!r}: KrakenD Enterprise's releases are not listed here, so a "
                              "version of it is a number", hint="name it (--version 2.13 or 2.13.3), or pass "
                              "your EE binary (--krakend-bin) or image (--image), which say it themselves")
        return Release(version.strip().removeprefix("v"), "", "", "", "", "-", "", "", edition="ee")
    if krakend_bin:
        return _from_binary(Path(krakend_bin), f"binary {krakend_bin}")
    import tempfile

    from krakend_tasks.engines.containers import copy_from_image

    with tempfile.TemporaryDirectory() as tmp:
        return _from_binary(copy_from_image(str(image), "/usr/bin/krakend", Path(tmp), pull=pull),
                            f"image {image}", source=f"image {image}")


def _from_binary(path: Path, said: str, source: str = "") -> Release:
    from krakend_tasks.core.golang.elf import read_build_info, read_go_string
    from krakend_tasks.core.krakend.deps import LURA_CORE, from_binary

    info = read_build_info(path)  # not a Go program: NotAPlugin
    module = info.main.path if info.main else info.path
    version = (read_go_string(path, f"{LURA_CORE}.KrakendVersion")  # as `krakend version` prints it
               or (info.main.version if info.main else "")).removeprefix("v")
    if edition_of(module) == "ce":
        raise EditionMismatch(f"the {said} is KrakenD CE {version or '(version unknown)'} ({module}), not "
                              "KrakenD Enterprise", hint="pass your EE binary or image, or --edition ce to work "
                                                          "with this CE binary")
    data = from_binary(path)
    alpine = re.search(r"alpine-(\d+\.\d+)", data.libc)
    debian = re.search(r"debian-(\d+)", data.libc)
    codename = next((name for name, (number, _) in DEBIAN.items() if debian and number == debian[1]), None)
    return Release(version or "0.0.0", "", module, data.go,
                   alpine[1] if alpine else "", f"debian-{codename}" if codename else "-", "", "",
                   edition="ee", source=source or f"binary {path}")


def refuse_in_ce(release: Release, enterprise_only: list[str], what: str) -> None:
    """EditionMismatch when plugins of a type only KrakenD Enterprise loads would run in KrakenD CE."""
    if release.edition == "ce" and enterprise_only:
        raise EditionMismatch(f"{what}: {'; '.join(enterprise_only)}: only KrakenD Enterprise loads such a plugin, "
                              f"and KrakenD CE {release.version} never looks it up, so the run would prove nothing",
                              hint="run it in your EE gateway: --edition ee with --krakend-bin PATH or --image "
                                   f"{KRAKEND_IMAGE}:<version>")


def fingerprints_for(release: Release, arch: str) -> Fingerprints | None:
    """KrakenD's package fingerprints for `arch`: CE's from the table and caches, Enterprise's from its
    binary (of that architecture) or image only; None when no source has them."""
    from krakend_tasks.core.krakend import fingerprints

    if release.edition == "ce":
        return fingerprints.for_krakend(release.version, arch)
    found = fingerprints.for_krakend(release.version, arch, **release.sources()) if release.source else None
    return found if found is not None and found.arch == arch else None
