"""The builder matrix: architecture x libc, with each target's compiler, environment and flags."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import NamedTuple

from krakend_tasks.errors import ConfigError, did_you_mean


class Arch(StrEnum):
    AMD64 = "amd64"
    ARM64 = "arm64"


class Libc(StrEnum):
    ALPINE = "alpine"  # musl, the official Docker image
    GENERIC = "generic"  # glibc, deb/rpm/tarball installs


ARCH_SYNONYMS: dict[str, Arch] = {
    "amd64": Arch.AMD64, "x86_64": Arch.AMD64, "x86-64": Arch.AMD64, "x64": Arch.AMD64,
    "arm64": Arch.ARM64, "aarch64": Arch.ARM64, "armv8": Arch.ARM64,
}
LIBC_SYNONYMS: dict[str, Libc] = {
    "alpine": Libc.ALPINE, "musl": Libc.ALPINE,
    "generic": Libc.GENERIC, "linux-generic": Libc.GENERIC, "glibc": Libc.GENERIC,
    "gnu": Libc.GENERIC, "debian": Libc.GENERIC,
}


class Target(NamedTuple):
    """One cell of the builder matrix, such as `arm64-alpine`."""

    arch: Arch
    libc: Libc

    @property
    def name(self) -> str:
        return f"{self.arch.value}-{self.libc.value}"

    @property
    def ident(self) -> str:
        """The name as an identifier, for session names: `arm64_alpine`."""
        return self.name.replace("-", "_")

    @property
    def image_suffix(self) -> str:
        return "" if self.libc is Libc.ALPINE else "-linux-generic"

    @property
    def builder_cc(self) -> str | None:
        """C compiler inside the KrakenD builder image (None: the image's own `gcc`)."""
        if self.arch is Arch.AMD64:
            return None
        return "aarch64-linux-musl-gcc" if self.libc is Libc.ALPINE else "aarch64-linux-gnu-gcc"

    @property
    def host_cc(self) -> str:
        """C compiler on a Debian-like amd64 host (Debian packages musl-tools, gcc-aarch64-linux-gnu)."""
        if self.arch is Arch.AMD64:
            return "musl-gcc" if self.libc is Libc.ALPINE else "gcc"
        return self.builder_cc  # type: ignore[return-value]

    def __str__(self) -> str:
        return self.name


ALL_TARGETS: tuple[Target, ...] = tuple(Target(a, lc) for a in Arch for lc in Libc)
TARGET_NAMES: tuple[str, ...] = tuple(t.name for t in ALL_TARGETS)


def parse_target(text: str) -> Target:
    """Parse one full target name, allowing synonyms: `aarch64-musl`, `x86_64-linux-generic`."""
    word = text.strip().lower().replace("_", "-")
    for arch_word, arch in ARCH_SYNONYMS.items():
        if word.startswith(arch_word + "-") and word[len(arch_word) + 1:] in LIBC_SYNONYMS:
            return Target(arch, LIBC_SYNONYMS[word[len(arch_word) + 1:]])
    if word in ARCH_SYNONYMS or word in LIBC_SYNONYMS or word == "all":  # several targets, where one is meant
        raise ConfigError(f"{text!r} names several targets, and one is meant here",
                          hint=f"use a full name: {', '.join(TARGET_NAMES)}")
    raise _unknown(text)


def select_targets(spec: str | Iterable[str] | None = None) -> list[Target]:
    """Targets named by a spec: `all`, an arch (`arm64`), a libc (`alpine`), or full names.

    A string may hold several comma- or space-separated words. Order follows the matrix.
    """
    if spec is None:
        return list(ALL_TARGETS)
    words = spec.replace(",", " ").split() if isinstance(spec, str) else list(spec)
    if not words:
        raise ConfigError(f"targets {spec!r} names no target", hint=_unknown("").hint)
    chosen: set[Target] = set()
    for raw in words:
        word = raw.strip().lower().replace("_", "-")
        if word == "all":
            chosen.update(ALL_TARGETS)
        elif word in ARCH_SYNONYMS:
            chosen.update(t for t in ALL_TARGETS if t.arch is ARCH_SYNONYMS[word])
        elif word in LIBC_SYNONYMS:
            chosen.update(t for t in ALL_TARGETS if t.libc is LIBC_SYNONYMS[word])
        else:
            chosen.add(parse_target(raw))
    return [t for t in ALL_TARGETS if t in chosen]


def _unknown(text: str) -> ConfigError:
    near = did_you_mean(text, [*TARGET_NAMES, "amd64", "arm64", "alpine", "generic", "all"]) if text else ""
    return ConfigError(
        f"unknown target {text!r}" + (f": {near}" if near else ""),
        hint=f"use one of {', '.join(TARGET_NAMES)}, an arch (amd64, arm64), a libc (alpine, generic) or 'all'",
    )


class Recipe(NamedTuple):
    """How to build for one target: image, compilers, environment and linker flags.

    Every field can be overridden per project and per target (see Settings.recipe).
    """

    target: Target
    image: str
    cc: str | None
    host_cc: str
    env: Mapping[str, str] = {}
    ldflags: str | None = None
    package: str = "."  # the main package to build
    tags: tuple[str, ...] = ()
    build_flags: tuple[str, ...] = ()
    before_build: str | None = None  # shell command run before `go build`, where it runs

    def environment(self, on_host: bool) -> dict[str, str]:
        """The Go build environment; `on_host` picks the host compiler instead of the builder's."""
        cc = self.host_cc if on_host else self.cc
        env = {"CGO_ENABLED": "1", "GOOS": "linux", "GOARCH": self.target.arch.value}
        if self.target.arch is Arch.ARM64:
            env["GOHOSTARCH"] = "amd64"
        if cc:
            env["CC"] = cc
        env.update(self.env)
        return env

    def linker_flags(self, on_host: bool) -> str:
        """`-ldflags` value: KrakenD's cross-compile flags for arm64, none for amd64."""
        if self.ldflags is not None:
            return self.ldflags
        if self.target.arch is Arch.ARM64:
            cc = self.environment(on_host)["CC"]
            return f"-extldflags=-fuse-ld=bfd -extld={cc}"
        return ""
