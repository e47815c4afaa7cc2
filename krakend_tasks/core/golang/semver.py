"""Module version order exactly as Go's golang.org/x/mod/semver (which KrakenD's check uses).

Handles `v1`/`v1.2` shorthands, pre-releases, pseudo-versions and `+incompatible` (build
metadata, ignored in comparisons). Invalid versions sort below every valid one.
"""

from __future__ import annotations

import re
from functools import cmp_to_key
from typing import NamedTuple

_NUM = r"(0|[1-9][0-9]*)"
_IDENT = r"[0-9A-Za-z-]+"
_RE = re.compile(
    rf"v{_NUM}(?:\.{_NUM}(?:\.{_NUM}(?P<pre>-{_IDENT}(?:\.{_IDENT})*)?(?P<build>\+{_IDENT}(?:\.{_IDENT})*)?)?)?"
)


class Parsed(NamedTuple):
    major: str
    minor: str
    patch: str
    prerelease: str


def parse(version: str) -> Parsed | None:
    m = _RE.fullmatch(version)
    if not m:
        return None
    pre = m.group("pre") or ""
    if any(_bad_num(part) for part in pre[1:].split(".") if pre):
        return None
    return Parsed(m.group(1), m.group(2) or "0", m.group(3) or "0", pre)


def is_valid(version: str) -> bool:
    return parse(version) is not None


def compare(v: str, w: str) -> int:
    """-1, 0 or +1 as Go's semver.Compare."""
    pv, pw = parse(v), parse(w)
    if pv is None or pw is None:
        return (pv is not None) - (pw is not None)
    for a, b in zip(pv[:3], pw[:3], strict=True):
        if (c := _compare_int(a, b)) != 0:
            return c
    return _compare_prerelease(pv.prerelease, pw.prerelease)


sort_key = cmp_to_key(compare)


def _bad_num(ident: str) -> bool:
    return ident.isdigit() and len(ident) > 1 and ident[0] == "0"


def _compare_int(x: str, y: str) -> int:
    if x == y:
        return 0
    return -1 if (len(x), x) < (len(y), y) else 1


def _compare_prerelease(x: str, y: str) -> int:
    if x == y:
        return 0
    if not x:
        return 1
    if not y:
        return -1
    xs, ys = x[1:].split("."), y[1:].split(".")
    for dx, dy in zip(xs, ys, strict=False):
        if dx == dy:
            continue
        nx, ny = dx.isdigit(), dy.isdigit()
        if nx != ny:
            return -1 if nx else 1
        if nx and len(dx) != len(dy):
            return -1 if len(dx) < len(dy) else 1
        return -1 if dx < dy else 1
    return -1 if len(xs) < len(ys) else 1
