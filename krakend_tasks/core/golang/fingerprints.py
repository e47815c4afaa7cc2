"""Package fingerprints: what Go compares, package by package, when it opens a plugin.

Go's linker stores in a plugin, and in a program that can open plugins, one fingerprint per
linked package: a hash of its compiled export data (ELF symbols `go:link.pkghashbytes.<package>`).
plugin.Open refuses a plugin when a package it shares with the program has another fingerprint:
`plugin was built with a different version of package <package>`. The fingerprint covers the
module version, the Go version and the absolute path the package was compiled from, so reading
both files predicts the load exactly, without loading (arm64 needs no emulation).
"""

from __future__ import annotations

import mmap
import struct
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from krakend_tasks.core.files import load_json, open_regular
from krakend_tasks.core.findings import Finding
from krakend_tasks.errors import NoFingerprints, NotAPlugin

if TYPE_CHECKING:
    from elftools.elf.elffile import ELFFile  # pyelftools ships no type hints

HASH = "go:link.pkghashbytes."
ORDER_NAME = "go:link.pkgname."  # plugins only: the packages in the order Go checks them
ORDER_HASH = "go:link.pkglinkhash."
STD = "std"
OFFICIAL_MODCACHE = "/go/pkg/mod"


class Package(NamedTuple):
    path: str
    module: str  # "std", or the module path the package belongs to
    version: str  # the module's version; "-" for std
    fingerprint: str  # 16 hex digits


class Fingerprints(NamedTuple):
    """The package fingerprints of one Go file: a plugin, a KrakenD binary, or a table of one."""

    packages: dict[str, Package]  # for a plugin: in the order Go checks them
    source: str  # said to the user: "binary /usr/bin/krakend", "KrakenD 2.13.8 linux/amd64 (bundled table)"
    go: str = ""
    arch: str = ""  # amd64, arm64: fingerprints differ between architectures
    modules: Mapping[str, str] = {}  # module -> version, as the file links them
    trimpath: bool = False  # built with -trimpath (read from the Go build info)
    replaced: frozenset[str] = frozenset()  # modules a replace directive swapped
    built: Mapping[str, str] = {}  # module -> the version compiled, where a replace differs
    read_from: str = ""  # "symbol table"; stripped: "module data" (a plugin), "dynamic symbols" (a program)

    def compiled(self, module: str) -> str:
        """The version of `module` that was compiled: a replace's target (`=>`), else the required one."""
        return self.built.get(module) or self.modules.get(module, "")

    def uncovered(self) -> set[str]:
        """Modules linked whose packages this table has no fingerprint of (a partial table)."""
        covered = {p.module for p in self.packages.values()}
        return set(self.modules) - covered


def read_fingerprints(path: str | Path) -> Fingerprints:
    """Read a Go ELF file's fingerprints and build info statically; clear errors for anything else."""
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile

    from krakend_tasks.core.golang.elf import MACHINES, build_info_of, check_bounds, section_named
    from krakend_tasks.core.golang.moduledata import read_moduledata

    path = Path(path)
    try:
        with open_regular(path) as f:
            if f.read(4) != b"\x7fELF":
                raise NotAPlugin(f"{path} is not an ELF file", hint="pass a Go plugin (.so) or a KrakenD binary")
            data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except OSError as exc:
        raise NotAPlugin(f"cannot read {path}: {exc.strerror or exc}", hint="check the path") from exc
    try:
        elf = ELFFile(data)  # type: ignore[arg-type]
        check_bounds(elf, len(data))
        info = build_info_of(elf, data)
        arch = MACHINES.get(elf["e_machine"], str(elf["e_machine"]))
        stripped = section_named(elf, ".symtab") is None
        symbols = _symbols(elf, data, ".dynsym" if stripped else ".symtab") if info is not None else {}
        hashes = {name[len(HASH):]: value.hex() for name, value in symbols.items() if name.startswith(HASH)}
        order = _check_order(symbols)
        read_from = "dynamic symbols" if stripped else "symbol table"
        if stripped and info is not None:  # what plugin.Open reads of a plugin: its module data
            found = read_moduledata(elf, data, info.go)
            if found is not None and found.pkghashes:
                hashes, order, read_from = dict(found.pkghashes), [name for name, _ in found.pkghashes], "module data"
    except (ELFError, ArithmeticError, LookupError, ValueError, AssertionError, OSError, TypeError) as exc:
        raise NotAPlugin(f"{path} is a damaged ELF file: {exc}", hint="rebuild it; the file may be truncated") from exc
    finally:
        data.close()
    if info is None:
        from krakend_tasks.core.golang.elf import without_build_info

        raise without_build_info(path)
    if not hashes:
        what = "a stripped Go file whose module data and dynamic symbols hold" if stripped else "a Go file that holds"
        raise NoFingerprints(f"{path} is {what} no package fingerprints ({HASH}*), built by Go {info.go} for {arch}",
                             hint="Go writes them only into plugins and into programs that import \"plugin\" "
                                  "with cgo; pass KrakenD's own binary")
    order = order or sorted(hashes)
    modules = {m.path: m.version for m in info.deps}
    main = info.main.path if info.main else ""
    packages = {}
    for name in order:
        module = module_of(name, modules, main)
        packages[name] = Package(name, module, "-" if module == STD else modules.get(module, "(main)"), hashes[name])
    return Fingerprints(
        packages, source=f"{path}", go=info.go, arch=arch, modules=modules,
        trimpath=info.settings.get("-trimpath") == "true",
        replaced=frozenset(m.path for m in info.deps if m.replace is not None),
        built={path: version for path, version in info.compiled().items() if modules[path] != version},
        read_from=read_from,
    )



def _symbols(elf: ELFFile, data: mmap.mmap, name: str) -> dict[str, bytes]:
    """name -> contents of the fingerprint symbols (and the plugin's check order) of a symbol table:
    .symtab, or .dynsym, which stripping keeps: a program that can open plugins exports there the
    fingerprints plugin.Open compares a plugin's with."""
    from krakend_tasks.core.golang.elf import section_named

    table = section_named(elf, name)
    if table is None or table["sh_type"] not in ("SHT_SYMTAB", "SHT_DYNSYM"):
        return {}
    strings = elf.get_section(table["sh_link"]).data()
    wanted: dict[int, str] = {}
    for prefix in (HASH, ORDER_NAME, ORDER_HASH):
        needle = b"\0" + prefix.encode()
        at = strings.find(needle)
        while at != -1:
            end = strings.find(b"\0", at + 1)
            wanted[at + 1] = strings[at + 1:end].decode(errors="replace")
            at = strings.find(needle, end)
    if not wanted:
        return {}
    raw = table.data()
    is64 = elf.elfclass == 64
    entry = struct.Struct(("<" if elf.little_endian else ">") + ("IBBHQQ" if is64 else "IIIBBH"))
    count = len(raw) // entry.size
    if elf.little_endian:  # st_name is the first word of each entry: one C-speed slice finds them all
        names = memoryview(raw)[: count * entry.size].cast("I")[:: entry.size // 4].tolist()
    else:
        names = [fields[0] for fields in entry.iter_unpack(raw[: count * entry.size])]
    sections: dict[int, tuple[int, int, int]] = {}
    found = {}
    for index, name_at in enumerate(names):
        if name_at not in wanted:
            continue
        fields = entry.unpack_from(raw, index * entry.size)
        shndx, value, size = (fields[3], fields[4], fields[5]) if is64 else (fields[5], fields[1], fields[2])
        if shndx not in sections:
            header = elf.get_section(shndx).header
            sections[shndx] = (header["sh_addr"], header["sh_offset"], header["sh_size"])
        addr, offset, length = sections[shndx]
        if not (addr <= value and value + size <= addr + length and size <= 4096):
            raise ValueError(f"symbol {wanted[name_at]} lies outside its section")
        start = offset + value - addr
        found[wanted[name_at]] = bytes(data[start:start + size])
    return found


def _check_order(symbols: dict[str, bytes]) -> list[str]:
    """A plugin's packages in the order plugin.Open checks them (go:link.pkgname.<i>)."""
    numbered = {}
    for name, value in symbols.items():
        if name.startswith(ORDER_NAME) and name[len(ORDER_NAME):].isdigit():
            numbered[int(name[len(ORDER_NAME):])] = value.decode(errors="replace")
    return [numbered[i] for i in sorted(numbered) if HASH + numbered[i] in symbols]


def module_of(package: str, modules: dict[str, str], main: str = "") -> str:
    """The module a package belongs to: the longest module path that prefixes it, else std."""
    prefix = package
    while prefix:
        if prefix == main or prefix in modules:
            return prefix
        prefix = prefix.rpartition("/")[0]
    return STD if "." not in package.split("/", 1)[0] else package


def plugin_fingerprints(path: Path) -> Fingerprints:
    """read_fingerprints, cached by the file's sha256 (files.identity): a second check, test or
    inspect of an unchanged plugin reads no ELF."""
    import json

    from krakend_tasks.core.files import cache_dir, identity, write_cache

    cached = None
    try:
        cached = cache_dir() / "fingerprints" / f"plugin-sha256-{identity(path)}.json"
        data = load_json(cached.read_text())
        return Fingerprints({p[0]: Package(*p) for p in data["packages"]}, str(path), data["go"], data["arch"],
                            data["modules"], data["trimpath"], frozenset(data["replaced"]), data["built"],
                            data["read_from"])
    except (OSError, ValueError, TypeError, KeyError, IndexError):  # not a file, not cached, a damaged entry
        pass
    try:
        found = read_fingerprints(path)
    except NoFingerprints as exc:  # a Go program, not a plugin: Go writes fingerprints into every plugin
        raise NotAPlugin(f"{path} is not a plugin: a Go program without package fingerprints",
                         hint="pass the .so that `go build -buildmode=plugin` wrote") from exc
    if cached is None:
        return found
    write_cache(cached, json.dumps({
        "packages": [[p.path, p.module, p.version, p.fingerprint] for p in found.packages.values()],
        "go": found.go, "arch": found.arch, "modules": found.modules, "trimpath": found.trimpath,
        "replaced": sorted(found.replaced), "built": found.built, "read_from": found.read_from}))
    return found


# Fingerprint tables ------------------------------------------------------------------------------


def read_table(path: str | Path, source: str | None = None, modules: dict[str, str] | None = None,
               complete: bool = False) -> Fingerprints:
    """A fingerprint table: `#` comment lines, then package, module, version, fingerprint per line.
    `complete` requires the `# packages: N` line write_table ends with, and N lines: a cache cut
    short (a full disk, a killed run) is never taken for KrakenD's packages."""
    packages = {}
    meta = {"go": "", "arch": "", "packages": ""}
    for line in Path(path).read_text().splitlines():
        if line.startswith("#"):
            key, _, value = line.removeprefix("# ").partition(":")
            if key in meta:
                meta[key] = value.strip()
            continue
        fields = line.split("\t")
        if len(fields) == 4 and fields[0]:
            packages[fields[0]] = Package._make(fields)
        elif line.strip():
            raise NoFingerprints(f"{path}: {line[:60]!r} is not a fingerprint table line",
                                 hint="expected: package, module, version, fingerprint (tab-separated)")
    if complete and meta["packages"] != str(len(packages)):
        raise NoFingerprints(f"{path} is incomplete", hint="it is read again from its source")
    linked = dict(modules or {})
    for p in packages.values():
        if p.module != STD:
            linked.setdefault(p.module, p.version)
    return Fingerprints(packages, source=source or str(path), go=meta["go"], arch=meta["arch"], modules=linked)


def write_table(fingerprints: Fingerprints, path: Path, title: str) -> None:
    """Write a table `read_table` reads back, as a cache entry (best effort: see files.write_cache)."""
    from krakend_tasks.core.files import write_cache

    lines = [f"# {title}", f"# go: {fingerprints.go}", f"# arch: {fingerprints.arch}",
             "# Columns: package, module, version, fingerprint."]
    lines += ["\t".join((p.path, p.module, p.version, p.fingerprint)) for p in fingerprints.packages.values()]
    lines.append(f"# packages: {len(fingerprints.packages)}")
    write_cache(path, "\n".join(lines) + "\n")


# The comparison ------------------------------------------------------------------------------


class Mismatch(NamedTuple):
    package: str
    module: str
    plugin_version: str
    krakend_version: str


class Comparison(NamedTuple):
    """The fingerprints of a plugin against KrakenD's: what plugin.Open will decide."""

    krakend_source: str
    shared: int  # packages both have, compared
    mismatches: tuple[Mismatch, ...]  # in the order Go checks them: the first is the one Go names
    uncovered: tuple[str, ...] = ()  # modules the plugin links whose KrakenD fingerprints are unknown
    findings: tuple[Finding, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.mismatches

    @property
    def error(self) -> str | None:
        """Go's own words for the first mismatch, as plugin.Open reports it."""
        if not self.mismatches:
            return None
        return f"plugin was built with a different version of package {self.mismatches[0].package}"


def compare(plugin: Fingerprints, krakend: Fingerprints, modcache: str = OFFICIAL_MODCACHE) -> Comparison:
    """Compare every package both have; group the differences by module with cause and fix."""
    gaps = krakend.uncovered()
    # a module whose fingerprints KrakenD's table lacks, but whose version it knows: another version
    # compiled cannot have KrakenD's fingerprints, so its first package fails as Go would name it
    versions_differ = {m for m in gaps if m in plugin.modules and plugin.compiled(m) != krakend.modules[m]}
    mismatches = tuple(
        Mismatch(name, p.module, plugin.compiled(p.module) if p.module != STD else p.version,
                 krakend.packages[name].version if name in krakend.packages else krakend.modules[p.module])
        for name, p in plugin.packages.items()
        if (name in krakend.packages and p.fingerprint != krakend.packages[name].fingerprint)
        or (p.module in versions_differ and name not in krakend.packages)
    )
    shared = sum(1 for name, p in plugin.packages.items() if name in krakend.packages or p.module in versions_differ)
    uncovered = tuple(sorted({p.module for p in plugin.packages.values()} & (gaps - versions_differ)))
    findings = [_finding(group, plugin, krakend, modcache) for group in _by_module(mismatches)]
    findings += [Finding("warning", module, f"KrakenD's fingerprints of {module} are unknown ({krakend.source}): "
                         f"its packages were not compared (the same version, {krakend.modules[module]}, is linked)",
                         "pass --krakend-bin or --image for a full comparison")
                 for module in uncovered]
    return Comparison(krakend.source, shared, mismatches, uncovered, tuple(findings))


def _by_module(mismatches: Iterable[Mismatch]) -> list[list[Mismatch]]:
    groups: dict[str, list[Mismatch]] = {}
    for m in mismatches:
        groups.setdefault(m.module, []).append(m)
    return list(groups.values())


def _finding(group: list[Mismatch], plugin: Fingerprints, krakend: Fingerprints, modcache: str) -> Finding:
    first, module = group[0], group[0].module
    more = f" (and {len(group) - 1} more package(s) of {module})" if len(group) > 1 else ""
    said = f"plugin was built with a different version of package {first.package}{more}"
    if module == STD:
        if plugin.trimpath:
            cause, fix = "built with -trimpath, which changes every package", "build without -trimpath"
        elif krakend.go and plugin.go != krakend.go:
            cause, fix = (f"built with Go {plugin.go}, KrakenD with Go {krakend.go}",
                          f"build with Go {krakend.go} (krakend-tasks build --version <KrakenD version>)")
        else:
            cause, fix = ("the standard library was compiled differently (another Go toolchain, or -trimpath)",
                          "build with krakend-tasks in the builder image (--engine docker)")
    elif first.plugin_version != first.krakend_version and first.krakend_version not in ("", "(main)"):
        cause = f"the plugin links {module} {first.plugin_version}, KrakenD links {first.krakend_version}"
        held = f"go mod edit --replace {module}={module}@{first.krakend_version}"
        fix = (f"{held} (a replace holds it)" if module in plugin.replaced else
               f"go get {module}@{first.krakend_version} (for an indirect dependency: {held})")
    elif plugin.compiled(module).endswith("(local folder)"):
        cause, fix = (f"a replace directive compiles {module} from a local folder ({plugin.compiled(module)})",
                      f"go mod edit -dropreplace {module}")
    elif plugin.trimpath:
        cause, fix = "built with -trimpath, which changes every package", "build without -trimpath"
    else:
        cause = (f"same version, compiled from another path: KrakenD compiled its modules from {modcache}, the "
                 "plugin from another module cache (or a vendor/ folder)")
        fix = f"build with krakend-tasks (docker engine, or local engine with GOMODCACHE={modcache})"
    return Finding("error", module, f"{said}: {cause}", fix)
