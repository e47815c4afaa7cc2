"""Files written so that nothing is lost and nothing lands elsewhere: atomically, under a lock when
read-modify-write, keeping the owner and mode of the file replaced, never through a symlink."""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import stat
import sys
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from krakend_tasks import logs


def cache_dir() -> Path:
    """krakend-tasks' on-disk cache ($XDG_CACHE_HOME/krakend-tasks, else ~/.cache/krakend-tasks)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "krakend-tasks"


TEXT_LIMIT = 64 << 20  # settings, configs, go.mod, go.sum, manifests: far below this


def open_regular(path: Path) -> BinaryIO:
    """Open a regular file for reading; anything else (a FIFO, which would block for ever, a device
    such as /dev/zero, which never ends, a folder) is an OSError saying so, before any read."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        kind = os.fstat(fd).st_mode
        if stat.S_ISDIR(kind):
            raise OSError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        if not stat.S_ISREG(kind):
            raise OSError(errno.EINVAL, "not a regular file (a FIFO or a device)", str(path))
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: Path, limit: int = TEXT_LIMIT) -> bytes:
    """A regular file's bytes, at most `limit` of them (a larger file is an OSError saying so)."""
    with open_regular(path) as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise OSError(errno.EFBIG, f"larger than {limit >> 20} MiB", str(path))
    return data


def load_json(text: str | bytes, **hooks: Any) -> Any:
    """Every JSON document krakend-tasks reads (config, manifest, caches, specs) goes through here:
    too deep a nesting is a ValueError in words, like any other malformed JSON, not a RecursionError."""
    import json

    try:
        return json.loads(text, **hooks)
    except RecursionError as exc:
        raise ValueError("it is nested too deeply for krakend-tasks to read (thousands of levels)") from exc


def write_atomic(path: Path, data: str | bytes, mode: int | None = None, like: Path | None = None) -> None:
    """Write `data` to `path` through a temporary file in the same folder: all or nothing.

    A symlink at `path` is replaced, never written through (a caller that means the file a link
    names passes its real path). The file replaced keeps its mode (else `mode`, else 0644) and its
    owner; a new file written by root belongs to the owner of `like`, else of its folder.
    """
    path = Path(path)
    remove_stale(path.parent, re.escape(f".{path.name}.") + r"(\d+)\.[a-z0-9_]{8}")
    try:
        before = path.lstat()
        if not stat.S_ISREG(before.st_mode):
            raise FileNotFoundError(path)
    except FileNotFoundError:
        before = (like or path.parent).stat()
        mode = 0o644 if mode is None else mode
    tmp = ""
    try:
        fd, tmp = _create_temporary(path)
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, stat.S_IMODE(before.st_mode) if mode is None else mode)
        if os.geteuid() == 0 and (before.st_uid, before.st_gid) != (0, 0):
            os.chown(tmp, before.st_uid, before.st_gid)
        os.replace(tmp, path)
    except OSError as exc:
        if tmp:
            Path(tmp).unlink(missing_ok=True)
        raise OSError(exc.errno, exc.strerror, str(path)) from exc  # named after the file meant
    except BaseException:
        if tmp:
            Path(tmp).unlink(missing_ok=True)
        raise


def _create_temporary(path: Path) -> tuple[int, str]:
    """A new file beside `path`, named `.<name>.<pid>.<8 random hex>` (what remove_stale finds)."""
    while True:
        tmp = str(path.parent / f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600), tmp
        except FileExistsError:
            continue


def write_cache(path: Path, data: str | bytes) -> None:
    """Write a cache entry when it can be written: a full disk or an unwritable cache folder makes
    the next run slower, never this one fail (entries are checked when read)."""
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, data)


def remove_stale(folder: Path, pattern: str) -> None:
    """Remove the temporaries in `folder` whose name matches `pattern` (its group 1: the pid of the
    run that made it) and whose run is gone (killed with SIGKILL, or the machine stopped)."""
    try:
        found = [m for entry in os.scandir(folder) if (m := re.fullmatch(pattern, entry.name))]
    except OSError:
        return
    for match in found:
        if not _alive(int(match.group(1))):
            stale = folder / match.group(0)
            if stale.is_dir() and not stale.is_symlink():
                shutil.rmtree(stale, ignore_errors=True)
                continue
            with contextlib.suppress(OSError):
                stale.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def locked(path: Path, timeout: float = 300) -> Iterator[None]:
    """Hold an exclusive lock for a read-modify-write of `path`, so that concurrent runs of
    krakend-tasks serialise instead of losing each other's changes. The lock file lives in our
    cache folder (named after the real path), never beside the user's file. A run that has to wait
    says for whom, and for how long at most."""
    import fcntl

    from krakend_tasks.errors import ConfigError

    real = os.path.realpath(path)
    folder = cache_dir() / "locks"
    name = folder / f"{zlib.crc32(real.encode()):08x}-{os.path.basename(real)[:64]}"  # two files sharing one: waits
    owner = Path(f"{name}.owner")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(f"{name}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)  # closing it releases the lock
    except OSError:  # a cache that cannot be written (full, read-only, not a folder): lock the file's folder
        fd = os.open(os.path.dirname(real) or ".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)

    def acquired() -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False

    try:
        if not acquired():
            holder = _read_owner(owner)
            logs.to_stderr(logs.progress(f"waiting up to {timeout:.0f} s for {real}: {holder} is changing it"))
            deadline = time.monotonic() + timeout
            while not acquired():
                if time.monotonic() > deadline:
                    raise ConfigError(f"{real} is still locked by {holder} after {timeout:.0f} s",
                                      hint="let that run finish, or stop it")
                time.sleep(0.05)
        with contextlib.suppress(OSError):
            owner.write_text(f"{os.getpid()} {time.time():.0f} {' '.join(sys.argv)[:200]}")
        yield
    finally:
        os.close(fd)


def _read_owner(owner: Path) -> str:
    try:
        pid, started, command = [*owner.read_text().split(" ", 2), "", ""][:3]
        return f"krakend-tasks (pid {pid}, for {time.time() - float(started):.0f} s: {command})"
    except (OSError, ValueError):
        return "another krakend-tasks run"


def sha256(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with open_regular(path) as f:  # a FIFO or a device is an OSError, not a read that never ends
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def identity(path: Path) -> str:
    """The sha256 of a (large) file, hashed once: later runs find it by path, size, mtime and inode
    (one small cache entry per path), so a changed file is hashed anew and never answered from an
    old entry."""
    stat = path.stat()
    resolved = str(path.resolve())
    key = f"{resolved}:{stat.st_size}:{stat.st_mtime_ns}:{stat.st_ino}"
    if key in _identities:
        return _identities[key]
    entry = cache_dir() / "identity" / f"{zlib.crc32(resolved.encode(errors='surrogateescape')):08x}-{path.name}"
    try:
        known, _, digest = entry.read_text().partition("\n")
    except (OSError, UnicodeDecodeError):
        known = digest = ""
    if known != key or len(digest) != 64:  # none yet, another file at that path, or a damaged entry
        digest = sha256(path)
        write_cache(entry, f"{key}\n{digest}")
    _identities[key] = digest
    return digest


_identities: dict[str, str] = {}  # this process's answers
