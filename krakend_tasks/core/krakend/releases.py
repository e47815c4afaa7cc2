"""KrakenD releases as data: Go version, libc and builder images of each version, and whether it
loads Go plugins at all (KrakenD CE 3.0 and later do not).

The table is `krakend_tasks/data/releases.tsv`; `nox -s refresh_releases` rewrites it. `latest`, a
major such as `2` and a range pick among the releases that load plugins; a CE version of major 3 or
more, listed or not, is refused with KrakenD's own reason (`PluginsDropped`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import NamedTuple

from krakend_tasks.core.golang import semver
from krakend_tasks.core.targets import Libc, Target
from krakend_tasks.data import DATA
from krakend_tasks.errors import ConfigError, EditionMismatch, PluginsDropped

COLUMNS = ("tag", "date", "module", "golang_version", "alpine_version", "builder_linux_base",
           "krakend_cobra", "lura")
# Libc of the builder bases: musl per Alpine branch, glibc per Debian release.
MUSL_OF_ALPINE = {"3.15": "1.2.2", "3.16": "1.2.3", "3.17": "1.2.3", "3.18": "1.2.4",
                  "3.19": "1.2.4", "3.20": "1.2.5", "3.21": "1.2.5", "3.22": "1.2.5", "3.23": "1.2.5"}
DEBIAN = {"bullseye": ("11", "2.31"), "bookworm": ("12", "2.36"), "trixie": ("13", "2.41")}
FIRST_WITHOUT_PLUGINS = 3  # the major of KrakenD CE that loads no Go plugins


class Release(NamedTuple):
    """One KrakenD release and what a plugin for it must match: a CE release of the table, or an
    Enterprise one read from its binary (core/krakend/editions.py)."""

    version: str  # "2.13.8"
    date: str
    module: str  # krakend-ce module path of this release
    go: str  # "1.25.12"
    alpine: str  # Alpine branch of the official image and builder, "3.23"
    builder_base: str  # base image of the generic builder, "-" when there is none
    cobra: str
    lura: str
    edition: str = "ce"  # "ee": KrakenD Enterprise, whose data comes from `source` only (core/krakend/editions.py)
    source: str = ""  # an Enterprise release's binary or image; "" when none is at hand (go is "" then)

    @property
    def loads_plugins(self) -> bool:
        """KrakenD CE loads Go plugins up to 2.x: 3.0 dropped them (krakend-ce's "Drop plugin support");
        KrakenD Enterprise loads them in every release."""
        return self.edition == "ee" or int(self.version.split(".")[0]) < FIRST_WITHOUT_PLUGINS

    @property
    def name(self) -> str:
        """How a person names it: "KrakenD 2.13.8", "KrakenD Enterprise 2.13"."""
        return f"KrakenD {'Enterprise ' if self.edition == 'ee' else ''}{self.version}"

    def sources(self) -> dict[str, str]:
        """An Enterprise release's binary or image, as the data functions take it (krakend_bin=, image=)."""
        kind, _, where = self.source.partition(" ")
        return {"krakend_bin" if kind == "binary" else "image": where} if where else {}

    def require_data(self, command: str) -> None:
        """EditionMismatch when `command` needs an Enterprise release's Go and modules and no EE binary
        or image gave them."""
        if self.edition == "ee" and not self.go:
            raise EditionMismatch(
                f"{command} needs KrakenD Enterprise {self.version}'s Go and module versions, which are not "
                "public and never guessed from CE's", hint="pass your EE binary (--krakend-bin PATH) or your EE "
                f"image (--image IMAGE, e.g. krakend/krakend-ee:{self.version})")

    @property
    def debian(self) -> str | None:
        """Debian codename of the generic builder; None before 2.1.3."""
        return _debian_of(self.builder_base)

    @property
    def tag(self) -> str:
        return f"v{self.version}"

    def image(self, target: Target, repo: str = "krakend/builder") -> str:
        return f"{repo}:{self.version}{target.image_suffix}"

    def has_builder(self, target: Target) -> bool:
        return target.libc is Libc.ALPINE or self.debian is not None or self.edition == "ee"

    def libc(self, target: Target) -> str:
        """The libc string as `krakend version` prints it (Alpine point release unknown: x.y)."""
        if target.libc is Libc.ALPINE:
            return f"MUSL-{MUSL_OF_ALPINE.get(self.alpine, '0.0.0')}_(alpine-{self.alpine})"
        if self.debian is None:
            return "UNKNOWN-0.0.0"
        number, glibc = DEBIAN[self.debian]
        return f"GLIBC-{glibc}_(debian-{number})"

    def glibc(self) -> str | None:
        """glibc version of the generic builder, the newest GLIBC_x.y a plugin may need."""
        return DEBIAN[self.debian][1] if self.debian else None


def _debian_of(base: str) -> str | None:
    if base == "-":
        return None
    for codename in DEBIAN:
        if base.endswith(f"-{codename}"):
            return codename
    return "bullseye"  # plain golang:<v> images of 2.1.3-2.4.2 were Debian 11


def parse_table(text: str) -> list[Release]:
    header, *lines = [line.split("\t") for line in text.splitlines() if line.strip()] or [list(COLUMNS)]
    if tuple(header) != COLUMNS:
        raise ConfigError(f"release table has columns {tuple(header)}, expected {COLUMNS}")
    releases = []
    for line in lines:
        if len(line) != len(COLUMNS):
            raise ConfigError(f"release table row {line[0]!r} has {len(line)} columns, expected {len(COLUMNS)}")
        row = dict(zip(COLUMNS, line, strict=True))
        releases.append(Release(
            version=row["tag"].removeprefix("v"), date=row["date"], module=row["module"],
            go=row["golang_version"], alpine=row["alpine_version"],
            builder_base=row["builder_linux_base"], cobra=row["krakend_cobra"], lura=row["lura"],
        ))
    return sorted(releases, key=lambda r: semver.sort_key(r.tag))


@cache
def all_releases() -> tuple[Release, ...]:
    text = DATA.joinpath("releases.tsv").read_text()
    return tuple(parse_table(text))


def with_plugins(releases: tuple[Release, ...] | None = None) -> tuple[Release, ...]:
    """The releases that load Go plugins (KrakenD CE 2.x), oldest first."""
    return tuple(r for r in releases or all_releases() if r.loads_plugins)


def plugins_dropped(asked: str, releases: tuple[Release, ...] | None = None) -> PluginsDropped:
    newest = with_plugins(releases)[-1].version
    return PluginsDropped(
        f"KrakenD CE {asked} loads no Go plugins: from 3.0 the Community Edition and Lura dropped plugin support "
        f"(KrakenD's announcement \"Dropping plugin support in KrakenD Open Source and Lura\"); the newest CE that "
        f"loads them is 2.13.x ({newest} here), and plugins go on in KrakenD Enterprise",
        hint=f"build for KrakenD CE {newest} (--version 2.13), or for KrakenD Enterprise (docs/editions.md)")


def _major(word: str) -> int | None:
    head = word.strip().lower().removeprefix("v").split(".")[0]
    return int(head) if head.isascii() and head.isdigit() else None  # ASCII digits only: ¹ is no major


RANGE_EXAMPLES = '">=2.12", ">=2.12,<2.14", "~=2.13" or "==2.13.*"'


def select(versions: str, all_patches: bool = False, releases: tuple[Release, ...] | None = None,
           log: Callable[[str], None] | None = None) -> tuple[Release, ...]:
    """The releases a `version` value names, in order: a range (a specifier set, with packaging:
    `>=2.12,<2.14`; the newest patch of each minor unless `all_patches`; releases that load no
    plugins left out, and said to `log`), or versions separated by commas (`2.12,2.13`, each
    resolved by `resolve`)."""
    if not any(char in versions for char in "<>=!~"):
        return tuple(dict.fromkeys(resolve(v.strip(), releases) for v in versions.split(",") if v.strip()))
    from packaging.specifiers import InvalidSpecifier, SpecifierSet
    from packaging.version import Version

    try:
        wanted = SpecifierSet(versions)
    except InvalidSpecifier as exc:
        raise ConfigError(f"version {versions!r} is not a range of versions: {exc}",
                          hint=f"write it as packaging's specifiers, e.g. {RANGE_EXAMPLES}") from exc
    releases = releases or all_releases()
    matching = [r for r in releases if Version(r.version) in wanted]
    dropped = [r for r in matching if not r.loads_plugins]
    if dropped and len(dropped) == len(matching):
        raise plugins_dropped(versions, releases)
    if dropped:
        matching = [r for r in matching if r.loads_plugins]
        from krakend_tasks import logs

        (log or logs.to_stderr)(logs.warning(
            f"version {versions!r}: {', '.join(r.version for r in dropped)} left out: KrakenD CE 3.0 and later load "
            "no Go plugins (docs/editions.md)"))
    if not matching:
        raise ConfigError(f"version {versions!r} matches no KrakenD release",
                          hint=f"known releases are {releases[0].version} (oldest) to {releases[-1].version} "
                               "(newest; run `nox -s refresh_releases` after a new KrakenD release)")
    if not all_patches:  # the newest patch of each minor
        newest = {tuple(r.version.split(".")[:2]): r for r in matching}
        matching = [r for r in matching if newest[tuple(r.version.split(".")[:2])] is r]
    return tuple(matching)


def resolve(spec: str | None = "latest", releases: tuple[Release, ...] | None = None) -> Release:
    """Resolve `latest`, a major (`2`), a minor (`2.13`) or a full version (`2.13.8`, `v2.13.8`) to a
    release that loads plugins; a major of 3 or more is PluginsDropped, whether the table lists it
    or not."""
    word = (spec or "latest").strip().lower()
    major = _major(word)
    if major is not None and major >= FIRST_WITHOUT_PLUGINS:
        raise plugins_dropped(spec or word, releases)
    releases = with_plugins(releases)
    if word == "latest" or spec is None:
        return releases[-1]
    word = word.removeprefix("v")
    parts = word.split(".")
    matches = [r for r in releases if r.version.split(".")[: len(parts)] == parts]
    if not matches or len(parts) > 3:
        raise _unknown(spec, releases)
    return matches[-1]


def _unknown(spec: str | None, releases: tuple[Release, ...]) -> ConfigError:
    first, last = releases[0].version, releases[-1].version
    return ConfigError(
        f"unknown KrakenD version {spec!r}",
        hint=f"known releases are {first} to {last}; use a full version, a minor (2.13), a major (2) "
             "or 'latest' (run `nox -s refresh_releases` after a new KrakenD release)",
    )


def refresh(source: str, path: Path | None = None) -> list[Release]:
    """Validate a release table (a file or an http(s) URL) and rewrite the bundled one from it."""
    if source.startswith(("http://", "https://")):
        from urllib.request import urlopen

        with urlopen(source, timeout=30) as response:
            text = response.read().decode()
    else:
        text = Path(source).read_text()
    releases = parse_table(text)
    if not releases:
        raise ConfigError(f"{source} holds no releases")
    target = path or DATA / "releases.tsv"
    write_table(releases, target)
    all_releases.cache_clear()
    return releases


def write_table(releases: list[Release], path: Path) -> None:
    """Write the table in canonical form (used by the refresh session)."""
    lines = ["\t".join(COLUMNS)]
    for r in sorted(releases, key=lambda r: semver.sort_key(r.tag)):
        lines.append("\t".join((r.tag, r.date, r.module, r.go, r.alpine, r.builder_base, r.cobra, r.lura)))
    path.write_text("\n".join(lines) + "\n")
