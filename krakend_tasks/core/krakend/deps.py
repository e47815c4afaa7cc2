"""KrakenD's side of a compatibility check: its Go version, libc string and linked modules.

Sources, best first: a KrakenD binary (Go build info read from the ELF, never run), the modules a
release links as shipped with krakend-tasks (data/krakend/<version>/), a KrakenD image, by default
`<krakend-image>:<version>` (the binary copied out through the Docker SDK), the release's go.mod
through the Go module proxy (GOPROXY respected; it lists more modules than KrakenD links). Results
are cached on disk.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import NamedTuple

from krakend_tasks.core.files import cache_dir, load_json, write_cache
from krakend_tasks.core.golang.gomod import read_go_mod
from krakend_tasks.core.krakend.fingerprints import bundled_modules
from krakend_tasks.core.krakend.releases import Release
from krakend_tasks.errors import DependencySourceError, KrakendTasksError, NotAPlugin

LURA_CORE = "github.com/luraproject/lura/v2/core"


class Descriptor(NamedTuple):
    """One side of the comparison, as KrakenD's check-plugin models it."""

    go: str
    libc: str
    deps: Mapping[str, str] = {}
    source: str = ""  # where this came from, said to the user


def from_binary(path: str | Path) -> Descriptor:
    """A KrakenD binary's Go, libc and linked modules, cached on disk by its sha256 (files.identity)."""
    from krakend_tasks.core.files import identity, open_regular

    path = Path(path)
    try:
        open_regular(path).close()
    except OSError as exc:
        raise NotAPlugin(f"cannot read {path}: {exc.strerror or exc}",
                         hint="pass the path of the krakend executable (--krakend-bin)") from exc
    cached = cache_dir() / "deps" / f"binary-sha256-{identity(path)}.json"
    try:
        data = load_json(cached.read_text())
        return Descriptor(str(data["go"]), str(data["libc"]), dict(data["deps"]), source=f"binary {path}")
    except (OSError, ValueError, TypeError, KeyError):  # not cached yet, or a damaged entry
        pass
    found = read_binary(path)
    write_cache(cached, json.dumps(found._asdict()))
    return found


def read_binary(path: str | Path) -> Descriptor:
    """Read a KrakenD binary's build info, and its lura core.GoVersion/GlibcVersion variables."""
    from krakend_tasks.core.golang.elf import read_build_info, read_go_string

    info = read_build_info(path)  # a file that is not Go: NotAPlugin
    go = read_go_string(path, f"{LURA_CORE}.GoVersion") or info.go
    libc = read_go_string(path, f"{LURA_CORE}.GlibcVersion")
    if libc is None:
        libc = _libc_from_version_command(path)
    return Descriptor(go=go, libc=libc or "", deps=info.versions(), source=f"binary {path}")


def parse_version_output(text: str) -> dict[str, str]:
    """`krakend version` lines -> {"krakend": ..., "go": ..., "libc": ...}."""
    keys = {"KrakenD Version": "krakend", "Go Version": "go", "Glibc Version": "libc"}
    out = {}
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name.strip() in keys:
            out[keys[name.strip()]] = value.strip()
    return out


def _libc_from_version_command(path: str | Path) -> str | None:
    from krakend_tasks.engines import process

    try:
        done = process.run([str(path), "version"], timeout=20)
    except (OSError, process.ProcessTimedOut):
        return None
    return parse_version_output(done.output).get("libc")


def from_proxy(release: Release, libc: str) -> Descriptor:
    """The release's go.mod requirements through the module proxy protocol ($GOPROXY)."""
    import tempfile

    text, url = fetch_go_mod(release.module, release.tag)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "go.mod"
        path.write_text(text)
        mod = read_go_mod(path)
    deps = {r.path: r.version for r in mod.requires.values()}
    return Descriptor(go=release.go, libc=libc, deps=deps, source=f"go.mod of {release.module}@{release.tag} ({url})")


def escape_module(path: str) -> str:
    return re.sub(r"[A-Z]", lambda m: "!" + m.group(0).lower(), path)


def fetch_go_mod(module: str, version: str) -> tuple[str, str]:
    """GET <proxy>/<module>/@v/<version>.mod from each GOPROXY entry in turn."""
    import urllib.error
    import urllib.request

    goproxy = os.environ.get("GOPROXY") or _go_env("GOPROXY") or "https://proxy.golang.org,direct"
    errors = []
    for base in re.split(r"[,|]", goproxy):
        base = base.strip().rstrip("/")
        if base in ("direct", ""):
            continue
        if base == "off":
            errors.append("GOPROXY=off")
            break
        url = f"{base}/{escape_module(module)}/@v/{version}.mod"
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                return response.read().decode(), url
        except urllib.error.HTTPError as exc:
            errors.append(f"{url}: HTTP {exc.code}")
        except (urllib.error.URLError, OSError) as exc:
            errors.append(f"{url}: {getattr(exc, 'reason', exc)}")
    raise DependencySourceError(
        f"cannot fetch the go.mod of {module}@{version}: {'; '.join(errors) or 'no proxy in GOPROXY'}",
        hint="set GOPROXY to a reachable proxy, pass a KrakenD binary (--krakend-bin), or fill the cache once "
             "on a connected machine",
    )


def _go_env(name: str) -> str | None:
    from krakend_tasks.engines import process

    try:
        return process.run(["go", "env", name], timeout=20).output.strip() or None
    except (OSError, process.ProcessTimedOut):
        return None


def from_image(image: str, binary: str = "/usr/bin/krakend", pull: str = "never") -> Descriptor:
    """Copy the KrakenD binary out of an image (Docker SDK, never run) and read it."""
    import tempfile

    from krakend_tasks.engines.containers import copy_from_image

    with tempfile.TemporaryDirectory() as tmp:
        found = from_binary(copy_from_image(image, binary, Path(tmp), pull=pull))
    return Descriptor(found.go, found.libc, found.deps, source=f"image {image}:{binary}")


def cache_path(release: Release) -> Path:
    return cache_dir() / "deps" / f"krakend-{release.version}.json"


def for_release(release: Release, libc: str, image: str | None = None, official: str | None = None,
                pull: str = "missing") -> Descriptor:
    """KrakenD's dependency set for a release: the modules shipped with krakend-tasks, the disk
    cache, `image` (pulled never), KrakenD's own image `official` (pulled per `pull`: the binary's
    exact modules), then the release's go.mod through the module proxy. An Enterprise release's come
    from its binary or image only (core/krakend/editions.py)."""
    if release.edition == "ee":
        release.require_data("comparing modules")
        given = release.sources() or {"image": image or ""}
        return from_binary(given["krakend_bin"]) if "krakend_bin" in given else from_image(given["image"], pull=pull)
    shipped = bundled_modules(release.version)
    if shipped is not None:
        return Descriptor(release.go, libc, shipped, source=f"modules linked by KrakenD {release.version} (bundled)")
    cached = cache_path(release)
    try:
        data = load_json(cached.read_text())
        return Descriptor(str(data["go"]), libc, dict(data["deps"]), source=str(data["source"]) + " (cached)")
    except (OSError, ValueError, TypeError, KeyError):  # not cached yet, or a damaged entry
        pass
    problems: list[str] = []
    found: Descriptor | None = None
    attempts: list[Callable[[], Descriptor | None]] = [lambda: from_image(image) if image else None,
                lambda: from_image(official, pull=pull) if official else None, lambda: from_proxy(release, libc)]
    for attempt in attempts:
        try:
            found = attempt()
        except KrakendTasksError as exc:
            problems.append(exc.message)
        if found:
            break
    if not found:
        raise DependencySourceError(f"no source gave KrakenD {release.version}'s dependencies: {'; '.join(problems)}",
                                    hint="pass a KrakenD binary with --krakend-bin, or set GOPROXY to a proxy that "
                                         "serves github.com/krakend/krakend-ce")
    write_cache(cached, json.dumps({**found._asdict(), "libc": None}, indent=1))
    return found
