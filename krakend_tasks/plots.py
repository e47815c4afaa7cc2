"""Pictures of latency distributions, where people look rather than read: a histogram for the
terminal and an SVG (or an HTML page holding it) for a file. Several named series share one axis."""

from __future__ import annotations

import bisect
import html
import math
from collections.abc import Mapping, Sequence

BARS = " ▏▎▍▌▋▊▉█"
COLOURS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52")


def edges(series: Mapping[str, Sequence[float]], buckets: int) -> list[float]:
    """Bucket edges over what the series hold, from the lowest value to the 99.5th percentile of all
    (the tail beyond goes in the last bucket: one slow request must not flatten the picture); spaced
    evenly on a log scale when that range spans more than a factor of 8 (latencies do)."""
    every = sorted(v for values in series.values() for v in values)
    if not every:
        return [0.0, 1.0]
    low, high = every[0], every[min(len(every) - 1, math.ceil(0.995 * len(every)) - 1)]
    if high <= low:
        high = low + max(abs(low) * 0.01, 1e-6)
    if low > 0 and high / low > 8:
        ratio = (high / low) ** (1 / buckets)
        return [low * ratio**i for i in range(buckets + 1)]
    step = (high - low) / buckets
    return [low + i * step for i in range(buckets + 1)]


def counts(values: Sequence[float], bounds: Sequence[float]) -> list[int]:
    """How many values fall in each bucket (the first takes everything below, the last everything above)."""
    found = [0] * (len(bounds) - 1)
    for v in values:
        found[min(len(found) - 1, max(0, bisect.bisect_right(bounds, v) - 1))] += 1
    return found


def histogram(series: Mapping[str, Sequence[float]], unit: str = "ms", buckets: int = 14, width: int = 28) -> list[str]:
    """Text lines: a row per bucket, a bar per series (its share of that series' values)."""
    bounds = edges(series, buckets)
    shares = {name: [c / max(1, len(values)) for c in counts(values, bounds)] for name, values in series.items()}
    top = max((s for values in shares.values() for s in values), default=1.0) or 1.0
    names = list(series)
    label = max(len(n) for n in names) if names else 0
    lines = []
    for i in range(len(bounds) - 1):
        edge = f"{bounds[i]:8.3f}{'+' if i == len(bounds) - 2 else ' '}{unit}"
        for j, name in enumerate(names):
            share = shares[name][i]
            lines.append(f"{edge if j == 0 else ' ' * len(edge)}  {name:<{label}} {_bar(share / top, width)} "
                         f"{share:6.1%}")
    return lines


def _bar(fraction: float, width: int) -> str:
    eighths = round(max(0.0, min(1.0, fraction)) * width * 8)
    return (BARS[-1] * (eighths // 8) + (BARS[eighths % 8] if eighths % 8 else "")).ljust(width)


def svg(series: Mapping[str, Sequence[float]], title: str, unit: str = "ms", buckets: int = 40) -> str:
    """An SVG of each series' histogram as a step line over one axis, with a legend."""
    w, h, left, bottom, top_pad = 720, 360, 60, 40, 40
    bounds = edges(series, buckets)
    shares = {name: [c / max(1, len(values)) for c in counts(values, bounds)] for name, values in series.items()}
    peak = max((s for values in shares.values() for s in values), default=1.0) or 1.0

    def x(value: float) -> float:  # buckets are drawn evenly wide, as they are spaced (linear or log)
        index = min(len(bounds) - 1, max(0, bisect.bisect_left(bounds, value)))
        return left + index / (len(bounds) - 1) * (w - left - 20)

    def y(share: float) -> float:
        return h - bottom - share / peak * (h - bottom - top_pad)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
             'font-family="sans-serif" font-size="12">',
             f'<rect width="{w}" height="{h}" fill="white"/>',
             f'<text x="{w / 2}" y="20" text-anchor="middle" font-size="14">{html.escape(title)}</text>',
             f'<line x1="{left}" y1="{h - bottom}" x2="{w - 20}" y2="{h - bottom}" stroke="black"/>',
             f'<line x1="{left}" y1="{top_pad}" x2="{left}" y2="{h - bottom}" stroke="black"/>']
    for i in range(0, len(bounds), max(1, len(bounds) // 8)):
        parts.append(f'<text x="{x(bounds[i]):.1f}" y="{h - bottom + 16}" text-anchor="middle">'
                     f'{bounds[i]:.2f}</text>')
    parts.append(f'<text x="{w / 2}" y="{h - 6}" text-anchor="middle">latency ({unit})</text>')
    parts.append(f'<text x="14" y="{h / 2}" transform="rotate(-90 14 {h / 2})" text-anchor="middle">'
                 'share of requests</text>')
    for k, (name, values) in enumerate(shares.items()):
        colour = COLOURS[k % len(COLOURS)]
        points = [f"{x(bounds[0]):.1f},{y(0):.1f}"]
        for i, share in enumerate(values):
            points += [f"{x(bounds[i]):.1f},{y(share):.1f}", f"{x(bounds[i + 1]):.1f},{y(share):.1f}"]
        points.append(f"{x(bounds[-1]):.1f},{y(0):.1f}")
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{" ".join(points)}"/>')
        parts.append(f'<rect x="{w - 170}" y="{top_pad + k * 18}" width="12" height="12" fill="{colour}"/>')
        parts.append(f'<text x="{w - 152}" y="{top_pad + k * 18 + 10}">{html.escape(name)} '
                     f'(n={len(series[name])})</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def page(picture: str, title: str) -> str:
    """An HTML page around an SVG."""
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title></head>"
            f"<body>\n{picture}</body></html>\n")
