"""KrakenD's package fingerprints, best source first: its binary, its image, the disk cache, the tables
bundled for a release (data/krakend/<version>/), KrakenD's own image of the release; and a plugin's
comparison with them (core/golang/fingerprints reads and compares).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from krakend_tasks.core.golang.fingerprints import (
    OFFICIAL_MODCACHE,
    Comparison,
    Fingerprints,
    compare,
    plugin_fingerprints,
    read_fingerprints,
    read_table,
    write_table,
)
from krakend_tasks.data import DATA
from krakend_tasks.errors import NoFingerprints


def bundled_modules(version: str, arch: str = "amd64") -> dict[str, str] | None:
    """The modules a KrakenD release links (its `debug.ReadBuildInfo().Deps`), when shipped with us.

    They are what KrakenD's check-plugin compares, so they are the exact source; a release links the
    same modules on both architectures (the amd64 list serves arm64 when no arm64 list is shipped).
    """
    folder = DATA.joinpath("krakend", version)
    for name in (f"linked-modules-linux-{arch}.tsv", "linked-modules-linux-amd64.tsv"):
        table = folder.joinpath(name)
        if table.is_file():
            rows = (line.split("\t") for line in table.read_text().splitlines() if line and not line.startswith("#"))
            return {row[0]: row[1] for row in rows if len(row) >= 2}
    return None


def bundled(version: str, arch: str) -> Fingerprints | None:
    """The fingerprints shipped with krakend-tasks for a KrakenD release and architecture, if any."""
    from krakend_tasks.core.krakend.releases import resolve

    table = DATA.joinpath("krakend", version, f"pkghash-linux-{arch}.tsv")
    if not table.is_file():
        return None
    found = read_table(table, f"KrakenD {version} linux/{arch} (bundled table)", bundled_modules(version, arch))
    return Fingerprints(found.packages, found.source, resolve(version).go, arch, found.modules)


def from_binary(path: str | Path) -> Fingerprints:
    """A KrakenD binary's fingerprints, cached on disk by the binary's sha256 (files.identity)."""
    from krakend_tasks.core.files import cache_dir, identity
    from krakend_tasks.errors import ConfigError

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"KrakenD binary {path} is not a file", hint="pass the path of the krakend executable")
    digest = identity(path)
    cached = cache_dir() / "fingerprints" / f"sha256-{digest}.tsv"
    try:
        found = read_table(cached, complete=True)
    except (OSError, ValueError, NoFingerprints):  # not cached yet, or a damaged entry: read the binary again
        found = read_fingerprints(path)
        write_table(found, cached, f"fingerprints of {path}, sha256 {digest}")
    return Fingerprints(found.packages, f"binary {path}", found.go, found.arch, found.modules)


def from_image(image: str, arch: str, version: str, pull: str = "missing",
               binary: str = "/usr/bin/krakend", official: bool = False) -> Fingerprints:
    """The fingerprints of KrakenD inside an image, for one platform (Docker SDK; KrakenD never runs).

    KrakenD's own image of a release (`official`) is cached by version and architecture, so later runs
    need no daemon; any other image (a custom build, an Enterprise one) is never taken for the release.
    """
    import tempfile

    from krakend_tasks.engines.containers import copy_from_image

    with tempfile.TemporaryDirectory() as tmp:
        local = copy_from_image(image, binary, Path(tmp), platform=f"linux/{arch}", pull=pull)
        found = read_fingerprints(local)
    source = f"image {image} ({binary}, linux/{arch})"
    if official:
        write_table(found, version_cache(version, arch), source)
    return Fingerprints(found.packages, source, found.go, found.arch, found.modules)


def version_cache(version: str, arch: str) -> Path:
    from krakend_tasks.core.files import cache_dir

    return cache_dir() / "fingerprints" / f"krakend-{version}-linux-{arch}.tsv"


def for_krakend(version: str, arch: str, *, krakend_bin: str | Path | None = None, image: str | None = None,
                pull: str = "missing", official: str | None = None) -> Fingerprints | None:
    """KrakenD's fingerprints, best source first: its binary, its image, the cache, the bundled table,
    then KrakenD's own image of the release (`official`, pulled per `pull`, cached).

    None when no source knows this version and architecture: the comparison cannot be made.
    """
    if krakend_bin:
        return from_binary(krakend_bin)
    if image:
        return from_image(image, arch, version, pull)
    cached = version_cache(version, arch)
    try:
        table = read_table(cached, complete=True)
        return Fingerprints(table.packages, f"{table.source} (cached)", table.go, table.arch, table.modules)
    except (OSError, ValueError, NoFingerprints):  # not cached, or a damaged entry: the next source
        pass
    found = _bundled(version, arch)
    if found is None and official:
        return from_image(official, arch, version, pull, official=True)
    return found


@lru_cache(maxsize=8)
def _bundled(version: str, arch: str) -> Fingerprints | None:
    return bundled(version, arch)


def findings_for(path: str | Path, target_arch: str, version: str, *, krakend_bin: str | Path | None = None,
                 image: str | None = None, pull: str = "missing", official: str | None = None,
                 modcache: str = OFFICIAL_MODCACHE) -> tuple[Comparison | None, str]:
    """Compare a plugin file with KrakenD's fingerprints for its architecture.

    Returns the comparison (None when KrakenD's fingerprints are unknown) and a sentence saying
    what was compared. `modcache` is where KrakenD compiled its modules (the `modcache` setting);
    `official` is KrakenD's image of the release, read when nothing else knows its fingerprints.
    """
    from krakend_tasks.errors import KrakendTasksError

    try:
        krakend = for_krakend(version, target_arch, krakend_bin=krakend_bin, image=image, pull=pull,
                              official=official)
    except KrakendTasksError as exc:
        if krakend_bin or image:
            raise
        return None, (f"package fingerprints not compared: none bundled for KrakenD {version} linux/{target_arch}, "
                      f"and {official}: {exc.message} (pass --krakend-bin or --image)")
    if krakend is None:
        return None, (f"package fingerprints not compared: none known for KrakenD {version} linux/{target_arch} "
                      "(pass --krakend-bin or --image)")
    plugin = plugin_fingerprints(Path(path))
    if krakend.arch and plugin.arch != krakend.arch:
        return None, (f"package fingerprints not compared: the plugin is {plugin.arch}, {krakend.source} is "
                      f"{krakend.arch}")
    result = compare(plugin, krakend, modcache)
    if result.ok:
        return result, f"{result.shared} shared packages have KrakenD's fingerprints ({result.krakend_source})"
    return result, f"{result.error} ({len(result.mismatches)} of {result.shared} shared packages differ)"
