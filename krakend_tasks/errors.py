"""Typed errors: each names the problem, a hint of the fix, and its own exit status."""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Iterable


class KrakendTasksError(Exception):
    """Base of every error the tools report to a person; never shown as a traceback."""

    exit_code = 2

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\nhint: {self.hint}"


DEBUG = "KRAKEND_TASKS_DEBUG"  # set (1): an error is followed by its cause chain, tracebacks included


def described(exc: BaseException) -> str:
    """What an adapter prints for an error: its message and hint; with KRAKEND_TASKS_DEBUG=1, then the
    chain of exceptions that led to it (the SDK's, the OS's), with their tracebacks."""
    text = str(exc)
    from krakend_tasks import logs

    lines: tuple[str, ...] = getattr(exc, "lines", ())
    if lines and not logs.shown("output"):  # --quiet hid them as they came
        text = "".join(f"{line}\n" for line in lines[-40:]) + text
    if os.environ.get(DEBUG, "") not in ("", "0"):
        import traceback

        text += "\n\n" + "".join(traceback.format_exception(exc)).rstrip("\n")
    return text


class ConfigError(KrakendTasksError):
    """Invalid settings or arguments: an unknown target, version, engine or option."""

    exit_code = 2


class GoModuleError(KrakendTasksError):
    """A go.mod or go.sum is missing or cannot be parsed."""

    exit_code = 3


class DockerUnavailable(KrakendTasksError):
    """No Docker (or podman) daemon answers."""

    exit_code = 4


class ImageMissing(KrakendTasksError):
    """The builder or KrakenD image is neither present nor pullable."""

    exit_code = 5


class BuildFailed(KrakendTasksError):
    """`go build` ran and failed; `lines` are its last output lines (the compiler's errors among them)."""

    exit_code = 6

    def __init__(self, message: str, hint: str | None = None, lines: list[str] | tuple[str, ...] = ()) -> None:
        super().__init__(message, hint)
        self.lines = tuple(lines)


class ToolchainMissing(KrakendTasksError):
    """A host tool (go, a C cross compiler, qemu) is not installed."""

    exit_code = 7


def did_you_mean(word: str, known: Iterable[str]) -> str:
    """`did you mean 'x'?` for the known name closest to a misspelt one, or "" when none is close."""
    import difflib

    names = {name.lstrip("-"): name for name in known}  # flags: the dashes alike in all are no likeness
    near = difflib.get_close_matches(word.lstrip("-"), list(names), n=1, cutoff=0.6)
    return f"did you mean {names[near[0]]!r}?" if near else ""


def require_go(purpose: str) -> None:
    """Raise ToolchainMissing unless `go` is on PATH; `purpose` completes the hint."""
    import shutil

    if not shutil.which("go"):
        raise ToolchainMissing("`go` is not on PATH", hint=f"install Go (1.21+ fetches the exact toolchain) {purpose}")


class NotAPlugin(KrakendTasksError):
    """A file is not a Go plugin `.so` (not ELF, truncated, or no Go build info)."""

    exit_code = 8


class DependencySourceError(KrakendTasksError):
    """KrakenD's dependency set could not be obtained from any source."""

    exit_code = 9


class KrakendConfigError(KrakendTasksError):
    """A krakend.json cannot be read or edited: missing, invalid JSON, or a flexible-config template."""

    exit_code = 10


class DestinationExists(KrakendTasksError):
    """A file or folder would be overwritten (new, ship); nothing was written."""

    exit_code = 11


class NoFingerprints(KrakendTasksError):
    """A Go file has no package fingerprints to compare (stripped, not Go, or no plugin support)."""

    exit_code = 12


class UnloadableBuild(KrakendTasksError):
    """A build was refused: it would make a plugin KrakenD cannot load (-trimpath, vendor, local replace,
    a module cache other than KrakenD's)."""

    exit_code = 13


class DiskFull(KrakendTasksError):
    """A write failed for want of space (or quota); what was there before is kept."""

    exit_code = 14


class LoadTimedOut(KrakendTasksError):
    """Loading a plugin did not finish in time: its init() or registerer never returned."""

    exit_code = 15


class RegistryError(KrakendTasksError):
    """A registry that does not answer, is not a registry, or refuses a push or a login."""

    exit_code = 16


class GatewayFailed(KrakendTasksError):
    """KrakenD refused a plugin, would not start, or exited under load (bench): its own words."""

    exit_code = 17


class PluginsDropped(KrakendTasksError):
    """A KrakenD release that loads no Go plugins (KrakenD CE 3.0 and later)."""

    exit_code = 19


class EditionMismatch(KrakendTasksError):
    """KrakenD Enterprise's data is needed and no EE binary or image is at hand, or the one at hand
    is another edition; or a plugin type this edition never loads."""

    exit_code = 20


class ConfigRefused(KrakendTasksError):
    """KrakenD's own schema (`krakend check -n -c`) refuses a config the tool would write or run."""

    exit_code = 21


class ProjectGone(ConfigError):
    """The project folder was removed while the development loop watched it."""


class LoadNotHeld(KrakendTasksError):
    """This machine could not send the load asked for: the generator fell behind in every round."""

    exit_code = 18


def from_os_error(exc: OSError) -> KrakendTasksError:
    """An OSError no command expected, in words: which file, what happened, what to do."""
    where = f" {exc.filename}" if exc.filename else ""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return DiskFull(f"the disk is full: cannot write{where}; files written before were kept as they were",
                        hint="free some space on that file system (df -h), then run again")
    if exc.errno == errno.EROFS:
        return ConfigError(f"cannot write{where}: read-only file system", hint="run it where the files can be written")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return ConfigError(f"cannot write or read{where}: permission denied", hint="fix its permissions")
    return ConfigError(f"{exc.strerror or exc}{where and ':'}{where}", hint="check that path, then run again")


def check_registration(caller: str, project: object, keys: Iterable[str] = (), known: Iterable[str] = ()) -> None:
    """register() and collection() run while a noxfile or tasks.py loads, where an exception is a
    traceback: a project that is not a path, or an unknown setting, is one line and exit 2."""
    unknown = sorted(set(keys) - set(known)) if known else []
    if project is not None and not isinstance(project, str | os.PathLike):
        error = ConfigError(f"{caller}: project = {project!r}: not a folder path", hint='e.g. project="plugins/auth"')
    elif unknown:
        error = ConfigError(f"{caller}: unknown setting(s) {', '.join(unknown)}", hint=f"known: {', '.join(known)}")
    else:
        return
    print(error, file=sys.stderr)
    raise SystemExit(2)
