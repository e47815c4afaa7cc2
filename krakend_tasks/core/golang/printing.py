"""Go's own ways of printing values, as KrakenD's harness prints them in its verdicts: fmt's %v and
%s of decoded JSON, and json.Marshal."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from decimal import Decimal
from typing import Any


def go_value(value: Any) -> str:
    """fmt's %v of a decoded JSON value: map[a:1 b:[x y]], <nil>, 1e+06."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return _go_float(float(value), "v")
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{go_value(value[k])}" for k in sorted(value)) + "]"
    if isinstance(value, list):
        return "[" + " ".join(go_value(v) for v in value) + "]"
    return str(value)


def go_list(values: Sequence[str]) -> str:
    return "[" + " ".join(values) + "]"


def go_quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _go_float(value: float, verb: str) -> str:
    """fmt's %v (verb "v": an exponent from 1e+06 and below 1e-04) or json.Marshal's form (verb "json":
    from 1e+21 and below 1e-6)."""
    if value == 0:
        return "-0" if math.copysign(1, value) < 0 and verb == "v" else "0"
    digits = Decimal(repr(value))
    exponent = digits.adjusted()
    if -4 <= exponent < 6 if verb == "v" else 1e-6 <= abs(value) < 1e21:
        text = format(digits, "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    mantissa = format(digits.scaleb(-exponent).normalize(), "f")
    width = 1 if verb == "json" and exponent < 0 else 2  # json.Marshal turns e-07 into e-7
    return f"{mantissa}e{'-' if exponent < 0 else '+'}{abs(exponent):0{width}d}"


def go_json(value: Any) -> str:
    """json.Marshal of a decoded JSON value: keys sorted, no spaces, <>& escaped, Go's number form."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return _go_float(float(value), "json")
    if isinstance(value, str):
        return _json_string(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{_json_string(k)}:{go_json(value[k])}" for k in sorted(value)) + "}"
    if isinstance(value, list):
        return "[" + ",".join(go_json(v) for v in value) + "]"
    raise TypeError(f"{type(value).__name__} is not a JSON value")


def _json_string(text: str) -> str:
    out = json.dumps(text, ensure_ascii=False)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"),
                          ("\u2029", "\\u2029")):
        out = out.replace(char, escaped)
    return out
