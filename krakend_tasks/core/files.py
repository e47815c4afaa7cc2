"""Files written so that nothing is lost: atomically, under a lock when read-modify-write, and
through symlinks to the file they name."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def write_atomic(path: Path, data: str | bytes, mode: int = 0o644) -> None:
    """Write `data` to `path` through a temporary file in the same folder: all or nothing.

    A symlink at `path` is kept and the file it points to is replaced.
    """
    path = Path(os.path.realpath(path))
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def locked(path: Path, timeout: float = 300) -> Iterator[None]:
    """Hold an exclusive lock for a read-modify-write of `path`, so that concurrent runs of
    krakend-tasks serialise instead of losing each other's changes. The lock file lives in our
    cache folder (named after the real path), never beside the user's file."""
    from filelock import FileLock

    from krakend_tasks.core.settings import cache_dir

    real = os.path.realpath(path)
    folder = cache_dir() / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    with FileLock(folder / f"{hashlib.sha256(real.encode()).hexdigest()[:32]}.lock", timeout=timeout):
        yield


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def identity(path: Path) -> str:
    """The sha256 of a (large) file, hashed once: later calls find it by path, size, mtime and inode
    in an index of our cache, so a changed file is hashed anew and never answered from an old entry."""
    import json

    from krakend_tasks.core.settings import cache_dir

    stat = path.stat()
    key = f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}:{stat.st_ino}"
    index_file = cache_dir() / "fingerprints" / "index.json"
    try:
        index = dict(json.loads(index_file.read_text()))
    except (OSError, ValueError, TypeError):
        index = {}
    digest = index.get(key)
    if not isinstance(digest, str):
        digest = sha256(path)
        index_file.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(index_file, json.dumps({**index, key: digest}, indent=1))
    return digest
