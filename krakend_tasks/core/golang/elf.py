"""Read a Go ELF file (plugin .so or KrakenD binary) without loading it, with pyelftools."""

from __future__ import annotations

import mmap
import stat
import struct
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, TypeVar

from krakend_tasks.core.files import open_regular
from krakend_tasks.core.plugin_types import PluginType, enterprise_only
from krakend_tasks.core.targets import ALL_TARGETS, TARGET_NAMES, Arch, Libc, Target
from krakend_tasks.errors import NotAPlugin

if TYPE_CHECKING:
    from elftools.elf.elffile import ELFFile  # pyelftools ships no type hints: its objects are Any to mypy

Buffer = bytes | mmap.mmap  # a file's bytes, read or mapped

MAGIC = b"\xff Go buildinf:"
REGISTERERS = tuple(t.registerer for t in PluginType)
MACHINES = {"EM_X86_64": "amd64", "EM_AARCH64": "arm64", "EM_386": "386", "EM_ARM": "arm"}


class Module(NamedTuple):
    path: str
    version: str
    replace: Module | None = None


class BuildInfo(NamedTuple):
    """What `go version -m` prints: Go version, main package, modules and build settings."""

    go: str  # "1.25.12"
    path: str
    main: Module | None
    deps: tuple[Module, ...]
    settings: Mapping[str, str] = {}

    def versions(self) -> dict[str, str]:
        """Module path -> version, as KrakenD's check reads its own deps (replacements ignored)."""
        return {m.path: m.version for m in self.deps}

    def compiled(self) -> dict[str, str]:
        """Module path -> the version compiled: a `=>` line's when a replace holds the module."""
        return {m.path: (m.replace.version or f"{m.replace.path} (local folder)") if m.replace else m.version
                for m in self.deps}


class ElfFile(NamedTuple):
    path: Path
    elf_class: int  # 32 or 64
    arch: str  # amd64, arm64, ...
    elf_type: str  # ET_DYN, ET_EXEC
    libc: str  # musl, glibc, none
    needed: tuple[str, ...]
    glibc_max: str | None  # highest GLIBC_x.y symbol version required
    build_info: BuildInfo | None
    registerers: tuple[str, ...]

    @property
    def plugin_types(self) -> list[PluginType]:
        """The plugin types the file exports a registerer for."""
        return [t for t in PluginType if t.registerer in self.registerers]

    @property
    def enterprise_only(self) -> list[str]:
        """The Enterprise-only registerers it exports, when it exports no type KrakenD CE loads."""
        return enterprise_only(self.registerers)

    def target(self) -> Target | None:
        """The builder-matrix target this file was built for, or None (another architecture)."""
        if self.arch not in (Arch.AMD64, Arch.ARM64):
            return None
        return Target(Arch(self.arch), Libc.ALPINE if self.libc == "musl" else Libc.GENERIC)


def registerers(path: Path) -> tuple[str, ...]:
    """The registerers a Go plugin exports (read_elf's, remembered)."""
    return read_elf(path).registerers


def program_target(path: str | Path) -> Target | None:
    """The target a program runs as (arch from the header, musl from its interpreter), remembered by
    the file's identity: a warm smoke or check imports no ELF reader for a KrakenD it has seen. None
    for another architecture or anything not a regular ELF file."""
    path = Path(path)
    if not _regular(path):
        return None  # a FIFO, a device, a folder or nothing: never hashed, never opened
    return _remembered(path, "program-target", lambda: _read_program_target(path),
                       lambda found: found.name if found else None,
                       lambda name: None if name is None else ALL_TARGETS[TARGET_NAMES.index(name)])


T = TypeVar("T")


def _regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(path.stat().st_mode)
    except OSError:
        return False


def _remembered(path: Path, kind: str, read: Callable[[], T], encode: Callable[[T], Any],
                decode: Callable[[Any], T]) -> T:
    """read(), remembered as JSON under `kind` by the file's identity (files.identity): a changed file
    is read anew, never answered from an old entry; a file that changed while it was read is not
    remembered."""
    import json

    from krakend_tasks.core.files import cache_dir, identity, load_json, write_cache

    try:
        cached = cache_dir() / kind / f"sha256-{identity(path)}.json"
        before = path.stat()
    except OSError:  # unreadable: read() says why
        return read()
    try:
        return decode(load_json(cached.read_text()))
    except (OSError, ValueError, TypeError, KeyError, IndexError):  # not remembered yet, or a damaged entry
        pass
    value = read()
    after = path.stat()
    if (before.st_size, before.st_mtime_ns, before.st_ino) == (after.st_size, after.st_mtime_ns, after.st_ino):
        write_cache(cached, json.dumps(encode(value)))
    return value


def read_elf(path: str | Path) -> ElfFile:
    """Describe an ELF file; anything that is not a readable ELF raises NotAPlugin. Remembered by the
    file's identity: an unchanged plugin is read once, and a warm build, inspect or smoke imports no
    ELF reader."""
    path = Path(path)
    if not _regular(path):
        return _read_elf(path)
    return _remembered(path, "elf", lambda: _read_elf(path), _elf_json, lambda found: _elf_from_json(path, found))


def _elf_json(elf: ElfFile) -> dict[str, Any]:
    info = elf.build_info
    return {"class": elf.elf_class, "arch": elf.arch, "type": elf.elf_type, "libc": elf.libc,
            "needed": list(elf.needed), "glibc_max": elf.glibc_max, "registerers": list(elf.registerers),
            "build_info": None if info is None else {
                "go": info.go, "path": info.path, "main": _module_json(info.main),
                "deps": [_module_json(m) for m in info.deps], "settings": dict(info.settings)}}


def _module_json(module: Module | None) -> list[Any] | None:
    return None if module is None else [module.path, module.version, _module_json(module.replace)]


def _module(found: Any) -> Module | None:
    return None if found is None else Module(str(found[0]), str(found[1]), _module(found[2]))


def _elf_from_json(path: Path, found: dict[str, Any]) -> ElfFile:
    info = found["build_info"]
    build_info = None if info is None else BuildInfo(str(info["go"]), str(info["path"]), _module(info["main"]),
                                    tuple(m for m in map(_module, info["deps"]) if m),
                                    {str(k): str(v) for k, v in info["settings"].items()})
    return ElfFile(path, int(found["class"]), str(found["arch"]), str(found["type"]), str(found["libc"]),
                   tuple(map(str, found["needed"])), found["glibc_max"], build_info,
                   tuple(map(str, found["registerers"])))


def _read_elf(path: Path) -> ElfFile:
    """read_elf, read."""
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile

    try:
        with open_regular(path) as f:
            if f.read(4) != b"\x7fELF":
                raise NotAPlugin(f"{path} is not an ELF file",
                                 hint="pass the .so that `go build -buildmode=plugin` wrote")
            data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)  # pages read only where needed
    except OSError as exc:
        raise NotAPlugin(f"cannot read {path}: {exc.strerror or exc}", hint="check the path") from exc
    try:
        elf = ELFFile(data)  # type: ignore[arg-type]
        check_bounds(elf, len(data))
        arch = MACHINES.get(elf["e_machine"], str(elf["e_machine"]))
        needed, glibc, interp = _dynamic(elf)
        info = build_info_of(elf, data)
        registerers = _registerers(elf, info.path if info else None)
        if not registerers and info is not None and section_named(elf, ".symtab") is None:
            registerers = _exported_registerers(elf, data, info.go)  # stripped: what plugin.Lookup finds
        elf_type = elf["e_type"]
        elf_class = elf.elfclass
    except (ELFError, ArithmeticError, LookupError, ValueError, AssertionError, OSError, TypeError) as exc:
        raise NotAPlugin(f"{path} is a damaged ELF file: {exc}", hint="rebuild it; the file may be truncated") from exc
    libc = ("musl" if "musl" in interp or any("musl" in n or n == "libc.so" for n in needed)
            else "glibc" if glibc or "libc.so.6" in needed else "none")
    return ElfFile(path, elf_class, arch, elf_type, libc, tuple(needed), glibc, info, registerers)


def _read_program_target(path: Path) -> Target | None:
    """program_target, read: the headers only (cheap for a 134 MB KrakenD, but pyelftools' import)."""
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile

    try:
        with open_regular(path) as f:
            elf = ELFFile(f)
            arch = MACHINES.get(elf["e_machine"])
            interp = next((str(seg.get_interp_name()) for seg in elf.iter_segments()  # type: ignore[attr-defined]
                           if seg["p_type"] == "PT_INTERP"), "")
    except (OSError, ELFError, ValueError, LookupError, struct.error):
        return None
    if arch not in (Arch.AMD64, Arch.ARM64):
        return None
    return Target(Arch(arch), Libc.ALPINE if "musl" in interp else Libc.GENERIC)


def check_bounds(elf: ELFFile, size: int) -> None:
    """Reject headers that point outside the file or claim impossible counts (corrupt or truncated)."""
    if elf["e_shoff"] + elf["e_shnum"] * elf["e_shentsize"] > size:
        raise ValueError("section header table lies outside the file")
    for index, header in section_headers(elf):
        if header["sh_type"] != "SHT_NOBITS" and header["sh_offset"] + header["sh_size"] > size:
            raise ValueError(f"section {index} lies outside the file")
        if header["sh_type"] in ("SHT_SYMTAB", "SHT_DYNSYM", "SHT_DYNAMIC") and header["sh_entsize"] == 0:
            raise ValueError(f"section {index} has entries of size 0")
        if header["sh_type"] == "SHT_GNU_verneed" and header["sh_info"] * 16 > header["sh_size"]:
            raise ValueError("version-needed section claims more entries than it holds")
    for segment in elf.iter_segments():
        if segment["p_offset"] + segment["p_filesz"] > size:
            raise ValueError("a segment lies outside the file")


def read_build_info(path: str | Path) -> BuildInfo:
    """The Go build info of an ELF file; NotAPlugin when it has none."""
    elf = read_elf(path)
    if elf.build_info is None:
        raise without_build_info(path)
    return elf.build_info


def without_build_info(path: str | Path) -> NotAPlugin:
    """The error for an ELF file without Go build info; a Go plugin without it (Go 1.19 and older wrote
    none into plugins) is named as such, found by its module data."""
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile

    from krakend_tasks.core.golang.moduledata import read_moduledata

    found = None
    try:
        with open_regular(Path(path)) as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
            found = read_moduledata(ELFFile(data), data, "")  # type: ignore[arg-type]
    except (ELFError, OSError, ValueError, LookupError, TypeError, struct.error):  # damaged: the plain message
        pass
    if found is not None and found.pkghashes:
        return NotAPlugin(f"{path} is a Go plugin without Go build info (as Go 1.19 and older build plugins): its Go "
                          "version and modules cannot be read",
                          hint="rebuild it with the Go of a current KrakenD release (Go 1.21 and later write it)")
    return NotAPlugin(f"{path} is not a Go program or plugin (no Go build info)",
                      hint="pass a plugin built with go build -buildmode=plugin, or the KrakenD binary itself")


def read_go_string(path: str | Path, symbol: str) -> str | None:
    """The value of a Go string variable (e.g. one set with -ldflags -X) from the symbol table."""
    from elftools.elf.elffile import ELFFile

    with open_regular(Path(path)) as f:
        elf = ELFFile(f)
        symbols = find_symbols(elf, [symbol])
        if symbol not in symbols:
            return None
        size = 8 if elf.elfclass == 64 else 4
        header = _read_at(elf, symbols[symbol][0], 2 * size)
        if header is None:
            return None
        order: Literal["little", "big"] = "little" if elf.little_endian else "big"
        pointer, length = int.from_bytes(header[:size], order), int.from_bytes(header[size:], order)
        value = _read_at(elf, pointer, length) if length < 1 << 16 else None
        return value.decode(errors="replace") if value is not None else None


def _read_at(elf: ELFFile, address: int, length: int) -> bytes | None:
    for segment in elf.iter_segments():
        if segment["p_type"] == "PT_LOAD" and segment["p_vaddr"] <= address < segment["p_vaddr"] + segment["p_filesz"]:
            offset = segment["p_offset"] + address - segment["p_vaddr"]
            elf.stream.seek(offset)
            return elf.stream.read(length)
    return None


def section_headers(elf: ELFFile) -> Iterator[tuple[int, Any]]:
    """(index, header) of every section, without building pyelftools' section objects (which parse
    whole tables, such as the GNU hash section, as they are made)."""
    for index in range(elf.num_sections()):
        yield index, elf._get_section_header(index)


def section_named(elf: ELFFile, name: str) -> Any:
    """The section called `name`, or None; only that one is built (get_section_by_name builds
    every section before it, the GNU hash table included)."""
    for index, header in section_headers(elf):
        if elf._get_section_name(header) == name:
            return elf.get_section(index)
    return None


WANTED_SECTIONS = ("SHT_DYNAMIC", "SHT_GNU_verneed", "SHT_PROGBITS")


def _dynamic(elf: ELFFile) -> tuple[list[str], str | None, str]:
    from elftools.elf.dynamic import DynamicSection
    from elftools.elf.gnuversions import GNUVerNeedSection

    needed: list[str] = []
    versions: list[tuple[int, ...]] = []
    interp = ""
    sections = (elf.get_section(i) for i, header in section_headers(elf) if header["sh_type"] in WANTED_SECTIONS
                and (header["sh_type"] != "SHT_PROGBITS" or elf._get_section_name(header) == ".interp"))
    for section in sections:
        if isinstance(section, DynamicSection):
            needed += [t.needed for t in section.iter_tags()  # type: ignore[attr-defined]
                       if t.entry.d_tag == "DT_NEEDED"]
        elif isinstance(section, GNUVerNeedSection):
            for _, auxes in section.iter_versions():
                for aux in auxes:
                    name = aux.name
                    if name.startswith("GLIBC_") and name[6:].replace(".", "").isdigit():
                        versions.append(tuple(int(p) for p in name[6:].split(".")))
        elif section.name == ".interp":
            interp = section.data().rstrip(b"\0").decode(errors="replace")
    glibc = ".".join(map(str, max(versions))) if versions else None
    return needed, glibc, interp


def _registerers(elf: ELFFile, main_path: str | None) -> tuple[str, ...]:
    packages = ["main"] + ([main_path] if main_path else [])
    wanted = {f"{package}.{symbol}": symbol for package in packages for symbol in REGISTERERS}
    found = {wanted[name] for name, (_, kind) in find_symbols(elf, wanted).items() if kind == STT_OBJECT}
    return tuple(r for r in REGISTERERS if r in found)


def _exported_registerers(elf: ELFFile, data: Buffer, go: str) -> tuple[str, ...]:
    """The registerers a stripped plugin exports, from its module data's table of exported symbols."""
    from krakend_tasks.core.golang.moduledata import read_moduledata

    found = read_moduledata(elf, data, go)
    exported = set(found.exported) if found is not None else set()
    return tuple(r for r in REGISTERERS if r in exported)


STT_OBJECT = 1


def find_symbols(elf: ELFFile, names: Iterable[str]) -> dict[str, tuple[int, int]]:
    """name -> (value, type) for the named symbols of .symtab and .dynsym.

    Scans the raw string and symbol tables: pyelftools' per-symbol parsing costs seconds on a Go
    binary's tens of thousands of symbols.
    """
    found: dict[str, tuple[int, int]] = {}
    is64 = elf.elfclass == 64
    # Elf64_Sym: name, info, other, shndx, value, size; Elf32_Sym: name, value, size, info, other, shndx
    entry = struct.Struct(("<" if elf.little_endian else ">") + ("IBBHQQ" if is64 else "IIIBBH"))
    name_at, info_at, value_at = (0, 1, 4) if is64 else (0, 3, 1)
    for table in (section_named(elf, ".symtab"), section_named(elf, ".dynsym")):
        if table is None or table["sh_type"] not in ("SHT_SYMTAB", "SHT_DYNSYM"):
            continue
        strings = elf.get_section(table["sh_link"]).data()
        offsets = {}
        for name in names:
            needle = b"\0" + name.encode() + b"\0"
            at = strings.find(needle)
            while at != -1:
                offsets[at + 1] = name
                at = strings.find(needle, at + 1)
        if not offsets:
            continue
        data = table.data()
        for fields in entry.iter_unpack(data[: len(data) - len(data) % entry.size]):
            if fields[name_at] in offsets:
                found.setdefault(offsets[fields[name_at]], (fields[value_at], fields[info_at] & 0xF))
    return found


def build_info_of(elf: ELFFile, data: Buffer) -> BuildInfo | None:
    section = section_named(elf, ".go.buildinfo")
    blob = section.data() if section is not None else _scan(data)
    if blob is None or not blob.startswith(MAGIC) or len(blob) < 32:
        return None
    if not blob[15] & 2:
        raise ValueError("Go build info older than Go 1.18 (pointer format) is not supported")
    version, rest = _varint_string(blob[32:])
    modinfo, _ = _varint_string(rest)
    if len(modinfo) >= 33 and modinfo[-17] == "\n":
        modinfo = modinfo[16:-16]
    return parse_modinfo(version, modinfo)


def _scan(data: bytes | mmap.mmap) -> bytes | None:
    at = data.find(MAGIC, 0)
    while at != -1 and at % 16:
        at = data.find(MAGIC, at + 1)
    return None if at == -1 else data[at:at + 64 * 1024 * 16]


def _varint_string(buf: bytes) -> tuple[str, bytes]:
    from krakend_tasks.core.golang.moduledata import uvarint

    try:
        length, i = uvarint(buf)
    except ValueError as exc:
        raise ValueError("bad varint in Go build info") from exc
    if i + length > len(buf):
        raise ValueError("Go build info is truncated")
    return buf[i:i + length].decode(errors="replace"), buf[i + length:]


def parse_modinfo(version: str, modinfo: str) -> BuildInfo:
    """Parse the text `go version -m` prints (after the first line) into a BuildInfo."""
    path, main, deps, settings = "", None, [], {}
    for line in modinfo.splitlines():
        kind, _, rest = line.partition("\t")
        fields = rest.split("\t")
        if kind == "path":
            path = rest
        elif kind == "mod" and len(fields) >= 2:
            main = Module(fields[0], fields[1])
        elif kind == "dep" and len(fields) >= 2:
            deps.append(Module(fields[0], fields[1]))
        elif kind == "=>" and deps and len(fields) >= 1:
            last = deps.pop()
            deps.append(Module(last.path, last.version, Module(fields[0], fields[1] if len(fields) > 1 else "")))
        elif kind == "build":
            key, _, value = rest.partition("=")
            settings[key] = value
    return BuildInfo(version.removeprefix("go"), path, main, tuple(deps), settings)
