"""Go's module data: the record the runtime keeps of a Go file, read from the file itself.

plugin.Open checks a plugin with two fields of the plugin's module data (`runtime.moduledata`):
`pkghashes`, the fingerprint of every package the plugin was linked with, in the order it checks
them, and `ptab`, the symbols the plugin exports. Both are data, not symbols, so
`-ldflags="-s -w"` and `strip --strip-all` leave them. The module data is found as GoReSym finds
it: its first word points at the pclntab (whose header starts with a magic number) and its second
at the function names inside it; its field offsets are those of the file's Go version.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from elftools.elf.elffile import ELFFile  # pyelftools ships no type hints

    from krakend_tasks.core.golang.elf import Buffer

PF_W = 2
RELATIVE = {"EM_X86_64": 8, "EM_AARCH64": 1027}  # R_X86_64_RELATIVE, R_AARCH64_RELATIVE
# pclntab magic -> the Go minor version it first appeared in (1.16, 1.18, 1.20 and later)
MAGICS = {0xFFFFFFFA: 16, 0xFFFFFFF0: 18, 0xFFFFFFF1: 20}
# first Go minor -> (offset of textsectmap, offset of types) in a 64-bit moduledata: the fields
# before them grew in Go 1.18 (rodata, gofunc), 1.20 (covctrs), 1.26 (epclntab), 1.27 (typedesclen)
LAYOUTS = {16: (296, 280), 18: (312, 280), 20: (328, 296), 26: (336, 296), 27: (344, 296)}
MAX_PACKAGES = 1 << 16


class ModuleData(NamedTuple):
    pluginpath: str
    pkghashes: tuple[tuple[str, str], ...]  # (package, fingerprint as hex), in the order plugin.Open checks them
    exported: tuple[str, ...]  # ptab: the names plugin.Lookup finds ("HandlerRegisterer"; functions start with ".")


class Memory:
    """A file's loaded segments by virtual address, relative relocations applied (64-bit only)."""

    def __init__(self, elf: ELFFile, data: Buffer) -> None:
        self.elf, self.data = elf, data
        self.order = "<" if elf.little_endian else ">"
        self.segments = [(s["p_vaddr"], s["p_filesz"], s["p_offset"], s["p_flags"])
                         for s in elf.iter_segments() if s["p_type"] == "PT_LOAD"]
        self._relocations: dict[int, int] | None = None

    def read(self, address: int, length: int) -> bytes:
        for vaddr, size, offset, _ in self.segments:
            if vaddr <= address and address + length <= vaddr + size:
                start = offset + address - vaddr
                return bytes(self.data[start:start + length])
        raise ValueError(f"address {address:#x} (+{length}) is outside the file's data")

    def word(self, address: int) -> int:
        """A pointer-sized word; where a linker left it to the loader (a relative relocation), its value."""
        relocated = self.relocations().get(address)
        return relocated if relocated is not None else struct.unpack(self.order + "Q", self.read(address, 8))[0]

    def words(self, address: int, count: int) -> tuple[int, ...]:
        return tuple(self.word(address + 8 * i) for i in range(count))

    def string(self, address: int, limit: int = 4096) -> bytes:
        pointer, length = self.words(address, 2)
        if length > limit:
            raise ValueError(f"a string of {length} bytes at {address:#x}")
        return self.read(pointer, length) if length else b""

    def relocations(self) -> dict[int, int]:
        """offset -> addend of every relative relocation (lld, unlike GNU ld, leaves the word 0)."""
        if self._relocations is None:
            found: dict[int, int] = {}
            kind = RELATIVE.get(self.elf["e_machine"])
            for header in _headers(self.elf):
                if header["sh_type"] != "SHT_RELA" or header["sh_entsize"] != 24 or kind is None:
                    continue
                raw = self.data[header["sh_offset"]:header["sh_offset"] + header["sh_size"]]
                rows = struct.iter_unpack(self.order + "QQq", raw[: len(raw) - len(raw) % 24])
                found.update((offset, addend) for offset, info, addend in rows if info & 0xFFFFFFFF == kind)
            self._relocations = found
        return self._relocations

    def writable(self) -> list[tuple[int, int, int]]:
        return [(vaddr, size, offset) for vaddr, size, offset, flags in self.segments if flags & PF_W]


def read_moduledata(elf: ELFFile, data: Buffer, go: str) -> ModuleData | None:
    """The module data of a 64-bit Go ELF file built by `go` ("1.25.12"); None where none is found."""
    if elf.elfclass != 64:
        return None
    memory = Memory(elf, data)
    minor = _minor(go)
    for pclntab, first in _pclntabs(elf, data, memory):
        for address in _pointers_to(memory, pclntab):
            header_at = 32 if first >= 18 else 24  # funcnameOffset: textStart came before it in Go 1.18
            try:
                if memory.word(address + 8) != pclntab + memory.word(pclntab + header_at):
                    continue
                found = _fields(memory, address, minor or first)
            except (ValueError, struct.error):
                continue
            if found is not None:
                return found
    return None


def _minor(go: str) -> int:
    parts = go.removeprefix("go").split(".")
    return int(parts[1]) if len(parts) > 1 and parts[0] == "1" and parts[1].isdigit() else 0


def _pclntabs(elf: ELFFile, data: Buffer, memory: Memory) -> Iterator[tuple[int, int]]:
    """(address, Go minor of its magic) of each place the pclntab may start: its section, else a scan."""
    section = next((h for h in _headers(elf) if elf._get_section_name(h) == ".gopclntab"), None)
    candidates = []
    if section is not None and section["sh_addr"]:
        candidates.append((section["sh_offset"], section["sh_addr"]))
    else:
        for magic in MAGICS:
            needle = struct.pack(memory.order + "I", magic) + b"\0\0"
            at = data.find(needle, 0)
            while at != -1:
                if at % 8 == 0 and data[at + 6] in (1, 2, 4) and data[at + 7] == 8:
                    vaddr = next((v + at - o for v, s, o, _ in memory.segments if o <= at < o + s), None)
                    if vaddr is not None:
                        candidates.append((at, vaddr))
                at = data.find(needle, at + 1)
    for offset, vaddr in candidates:
        magic = struct.unpack(memory.order + "I", data[offset:offset + 4])[0]
        if magic in MAGICS:
            yield vaddr, MAGICS[magic]


def _headers(elf: ELFFile) -> Iterator[Any]:
    """Every section header, without building pyelftools' section objects."""
    return (elf._get_section_header(index) for index in range(elf.num_sections()))


def _pointers_to(memory: Memory, target: int) -> Iterator[int]:
    """Addresses of 8-aligned words in writable data whose value is `target`."""
    needle = struct.pack(memory.order + "Q", target)
    for vaddr, size, offset in memory.writable():
        at = memory.data.find(needle, offset, offset + size)
        while at != -1:
            if (at - offset + vaddr) % 8 == 0:
                yield at - offset + vaddr
            at = memory.data.find(needle, at + 1, offset + size)
    yield from (address for address, addend in memory.relocations().items() if addend == target)


def _fields(memory: Memory, address: int, minor: int) -> ModuleData | None:
    """pluginpath, pkghashes and ptab of the module data at `address`, trying the layout of Go `minor`
    first; None when no layout reads as valid fields."""
    chosen = max((m for m in LAYOUTS if m <= minor), default=min(LAYOUTS))
    for first in [chosen, *(m for m in sorted(LAYOUTS, reverse=True) if m != chosen)]:
        textsectmap, types = LAYOUTS[first]
        try:
            return _read_fields(memory, address, textsectmap, memory.word(address + types), varint=minor >= 17)
        except (ValueError, struct.error, UnicodeDecodeError):
            continue
    return None


def _read_fields(memory: Memory, address: int, textsectmap: int, types: int, varint: bool) -> ModuleData:
    ptab, ptab_len, ptab_cap = memory.words(address + textsectmap + 72, 3)
    pluginpath = memory.string(address + textsectmap + 96).decode()
    pointer, length, capacity = memory.words(address + textsectmap + 112, 3)
    if length != capacity or length > MAX_PACKAGES or ptab_len != ptab_cap or ptab_len > MAX_PACKAGES:
        raise ValueError("not the slices of a module data")
    if length and not pluginpath:
        raise ValueError("package hashes without a plugin path")
    hashes = []
    for i in range(length):
        entry = pointer + 40 * i  # modulename string, linktimehash string, runtimehash *string
        name = memory.string(entry, 1024).decode()
        fingerprint = memory.string(entry + 16, 64)
        if not name or len(fingerprint) != 8 or not name.isprintable() or " " in name:
            raise ValueError("not a package hash")
        hashes.append((name, fingerprint.hex()))
    exported = []
    for i in range(ptab_len):
        name_off, _ = struct.unpack(memory.order + "ii", memory.read(ptab + 8 * i, 8))
        exported.append(_name(memory, types + name_off, varint))
    return ModuleData(pluginpath, tuple(hashes), tuple(exported))


def _name(memory: Memory, address: int, varint: bool) -> str:
    """A runtime name: a flags byte, the length (a varint since Go 1.17, two bytes before), the bytes."""
    head = memory.read(address, 11)
    length, start = uvarint(head, 1) if varint else (int.from_bytes(head[1:3], "big"), 3)
    if length > 4096:
        raise ValueError("a name longer than 4096 bytes")
    return memory.read(address + start, length).decode()


def uvarint(buf: bytes, at: int = 0) -> tuple[int, int]:
    """Go's unsigned varint at `at`: (value, the offset after it)."""
    value, shift = 0, 0
    while True:
        if at >= len(buf) or shift > 63:
            raise ValueError("a bad varint")
        byte = buf[at]
        value |= (byte & 0x7F) << shift
        at += 1
        shift += 7
        if byte < 0x80:
            return value, at
