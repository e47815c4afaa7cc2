"""Typed errors: each names the problem, a hint of the fix, and its own exit status."""

from __future__ import annotations


class KrakendTasksError(Exception):
    """Base of every error the tools report to a person; never shown as a traceback."""

    exit_code = 2

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\nhint: {self.hint}"


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
    """`go build` ran and failed."""

    exit_code = 6


class ToolchainMissing(KrakendTasksError):
    """A host tool (go, a C cross compiler, qemu) is not installed."""

    exit_code = 7


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
