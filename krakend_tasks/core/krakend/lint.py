"""KrakenD's own judgement of a config: `krakend check -n -c`, the JSON schema built into that very
binary (no network), run by the KrakenD at hand: a binary, an image, or `krakend` on PATH.

Every config krakend-tasks writes or runs is linted before it is written or run (`configure`, `new`,
`ship`, `dev`); where no KrakenD is at hand, that is said instead.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path
from typing import NamedTuple

from krakend_tasks.errors import ConfigRefused

NO_OFFLINE_LINT = "unknown shorthand flag: 'n'"  # a KrakenD older than `check -n` (syntax only, then)


class Krakend(NamedTuple):
    """The KrakenD that lints: a binary (given, or on PATH) or an image."""

    krakend_bin: str | None = None
    image: str | None = None
    pull: str = "missing"

    @property
    def what(self) -> str:
        return f"binary {self.krakend_bin}" if self.krakend_bin else f"image {self.image}"


class Verdict(NamedTuple):
    ok: bool
    said: tuple[str, ...]  # KrakenD's lines, the file named as the user knows it
    by: str  # "binary ...", "image ..."


def at_hand(krakend_bin: str | None = None, image: str | None = None, pull: str = "missing") -> Krakend | None:
    """The KrakenD given (--krakend-bin, --image), else `krakend` on PATH, else None."""
    found = krakend_bin or (None if image else shutil.which("krakend"))
    return Krakend(found, image, pull) if found or image else None


def lint(config: Path, krakend: Krakend, shown: str | None = None) -> Verdict:
    """`krakend check -n -c CONFIG`: whether KrakenD accepts it, and its words (the file as `shown`)."""
    from krakend_tasks.core.krakend.runner import run_krakend

    code, output = run_krakend(["check", "-n", "-c", config], krakend_bin=krakend.krakend_bin, image=krakend.image,
                               pull=krakend.pull)
    if code != 0 and NO_OFFLINE_LINT in output:
        code, output = run_krakend(["check", "-c", config], krakend_bin=krakend.krakend_bin, image=krakend.image,
                                   pull=krakend.pull)
        output += "\n(this KrakenD has no offline lint, `check -n`: its syntax check only)"
    lines = [line.strip() for line in output.splitlines()
             if line.strip() and not line.startswith(("Parsing configuration file", "$ "))]
    where = shown or str(config)
    return Verdict(code == 0, tuple(_named(line, config, where) for line in lines), krakend.what)


def _named(line: str, config: Path, shown: str) -> str:
    """KrakenD's line with the file it was given (a staged copy, a copy in an image) named as the user knows it."""
    line = re.sub(r"'?file://\S*schema\.json#?'?", "its schema", line)
    return re.sub(r"[^\s'\"]*/" + re.escape(config.name) + r"\b", lambda _: shown, line)


def lint_text(text: str, shown: str, krakend: Krakend) -> Verdict:
    """Lint a config before it is written: the text goes to a private copy, never to its place."""
    with tempfile.TemporaryDirectory(prefix="krakend-tasks-lint-") as tmp:
        copy = Path(tmp) / Path(shown).name
        copy.write_text(text)
        return lint(copy, krakend, shown)


def refuse(verdict: Verdict, what: str) -> None:
    """ConfigRefused with KrakenD's words when it refused the config; nothing was written then."""
    if not verdict.ok:
        raise ConfigRefused(f"KrakenD ({verdict.by}, krakend check -n -c) refuses {what}; nothing was written:\n"
                            + "\n".join(f"  {line}" for line in verdict.said[-8:]),
                            hint="fix what KrakenD names (its JSON path), then run again")


NOT_LINTED = ("not linted: no KrakenD at hand to run `krakend check -n -c` (pass --krakend-bin or --image, or put "
              "krakend on PATH)")
