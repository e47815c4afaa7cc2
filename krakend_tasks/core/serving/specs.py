"""Specs: requests to a running KrakenD and what their answers must be, judged as KrakenD's own
integration harness judges them (krakend-ce `tests/integration.go`, `cmd/krakend-integration`).

Two forms make the same `Spec`: a folder of KrakenD's JSON test cases (one `*.json` file a case,
named after the file) and the `[[smoke]]` tables of the settings. They are sent the way Go's
`http.DefaultClient` sends them (core/golang/client) and one judge gives KrakenD's verdict in KrakenD's
words (Go's way of printing values: core/golang/printing):
- the status must be equal;
- each expected header's whole list of values must be equal; `[""]` means it must be absent;
- a string body is compared byte for byte, any other body as parsed JSON (numbers as float64);
- a schema replaces the body check, and an empty body fails it;
- a spec with `error` passes when the client fails with exactly that text.
A spec is sent only to the KrakenD of the run: a URL on any other host is refused as it is read.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from krakend_tasks import logs
from krakend_tasks.core.files import load_json, read_regular
from krakend_tasks.core.golang import client as goclient
from krakend_tasks.core.golang.client import (
    Answer,
    ClientError,
    canonical,
    gunzip,
    local_url,
    send,
    target,
)
from krakend_tasks.core.golang.printing import go_json, go_list, go_value
from krakend_tasks.errors import ConfigError

if TYPE_CHECKING:
    from krakend_tasks.core.project.settings import Settings

REQUEST_TIMEOUT = 10.0  # seconds for one spec's answer, redirects included
FIELDS = {"": ("name", "error", "in", "out", "next"), "in": ("url", "method", "header", "body"),
          "out": ("status_code", "body", "header", "schema")}  # what the harness reads (tests.TestCase)
UNSET = None  # an expected body or schema that is not checked


class Expect(NamedTuple):
    """What the answer must be."""

    status: int = 0  # the harness compares it always: a spec without status_code wants 0
    headers: tuple[tuple[str, tuple[str, ...]], ...] = ()  # name, its whole list of values; ("",): absent
    body: Any = UNSET  # str: these bytes exactly; any other JSON value: equal as parsed JSON
    schema: Mapping[str, Any] | None = None  # a JSON Schema the body must hold (replaces the body check)
    error: str | None = None  # the client's error text that makes the spec pass
    contains: str | None = None  # [[smoke]] only: the body must contain it


class Spec(NamedTuple):
    """One request and its expectation."""

    name: str  # the file's name without .json, or "smoke-N"
    source: str  # where it was declared: the file, or "[[smoke]] #N"
    method: str
    url: str  # as the spec gives it: http://localhost:<config's port>/path?query
    headers: tuple[tuple[str, str], ...] = ()  # request headers, as given
    body: bytes | None = None
    expect: Expect = Expect()

    @property
    def request(self) -> str:
        return f"{self.method} {target(self.url)}"


# Reading specs -----------------------------------------------------------------------------------

def read_specs(folder: Path, port: int) -> tuple[list[Spec], list[str]]:
    """The specs of a folder (every `*.json`, by name) and warnings about keys the harness ignores.
    Each URL must be this machine's KrakenD at the config's `port`; anything wrong is a ConfigError
    naming the file."""
    if not folder.is_dir():
        raise ConfigError(f"specs folder {folder} does not exist" if not folder.exists()
                          else f"specs folder {folder} is not a folder",
                          hint="point smoke_specs / --specs at a folder of KrakenD integration specs (*.json)")
    files = sorted(p for p in folder.iterdir() if p.name.endswith(".json") and not p.is_dir())
    if not files:
        raise ConfigError(f"specs folder {folder} has no *.json spec",
                          hint="add a spec (docs/specs.md), or leave smoke_specs / --specs out")
    specs, warnings = [], []
    for path in files:
        spec, warned = read_spec(path, port)
        specs.append(spec)
        warnings.extend(warned)
    return specs, warnings


def read_spec(path: Path, port: int) -> tuple[Spec, list[str]]:
    """One spec file, read as Go's encoding/json reads it into the harness's TestCase."""
    try:
        text = read_regular(path).decode("utf-8", errors="replace")
    except OSError as exc:
        raise ConfigError(f"cannot read spec {path}: {exc.strerror}", hint="a spec is a readable JSON file") from exc
    try:
        data = load_json(text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}",
                          hint="a spec is one JSON object: {\"in\": {...}, \"out\": {...}}") from exc
    except ValueError as exc:
        raise ConfigError(f"{path}: not valid JSON: {exc}", hint="a spec is one JSON object") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a spec is a JSON object, not {_json_type(data)}",
                          hint="write it as {\"in\": {\"method\": \"GET\", \"url\": \"...\"}, \"out\": {...}}")
    warnings: list[str] = []
    case = _fields(data, "", path, warnings)
    given, out = _fields(_object(case.get("in"), "in", path), "in", path, warnings), \
        _fields(_object(case.get("out"), "out", path), "out", path, warnings)
    error = _typed(case.get("error"), str, "error", "a string", path)
    method = _typed(given.get("method"), str, "in.method", "a string", path) or "GET"
    url = local_url(_typed(given.get("url"), str, "in.url", "a string", path) or "", port, path)
    header = _object(given.get("header"), "in.header", path)
    headers = tuple((k, _typed(v, str, f"in.header.{k}", "a string", path) or "") for k, v in header.items())
    names = [k.lower() for k in header]
    for twice in sorted({name for name in names if names.count(name) > 1}):
        warnings.append(f"{path}: in.header names {twice!r} more than once, in other cases: KrakenD's harness "
                        "reads them into a Go map and sends their values in Go's map order, which is random (its "
                        "verdict can change from run to run); give each header once")
    status = given_status = out.get("status_code")
    if given_status is None:
        status = 0
    elif isinstance(given_status, bool) or not isinstance(given_status, int) or abs(given_status) >= 1 << 63:
        raise ConfigError(f"{path}: out.status_code = {given_status!r}: not an integer",
                          hint='e.g. "status_code": 200')
    expected_headers = []
    for k, v in _object(out.get("header"), "out.header", path).items():
        if not isinstance(v, list) or not v or not all(isinstance(item, str) for item in v):
            raise ConfigError(f"{path}: out.header.{k} = {json.dumps(v)}: not a list of strings",
                              hint='the whole list of values, e.g. "Content-Type": ["application/json"]; '
                                   '[""] when the header must be absent')
        expected_headers.append((k, tuple(v)))
    schema = out.get("schema")
    if schema is not None and not isinstance(schema, dict):
        raise ConfigError(f"{path}: out.schema is {_json_type(schema)}, not an object",
                          hint='a JSON Schema object, e.g. {"type": "object", "required": ["id"]}')
    body = given.get("body")
    expect = Expect(status=int(status or 0), headers=tuple(expected_headers),
                    body=out.get("body"), schema=schema or None, error=error)
    spec = Spec(path.name[:-5], str(path), method, url, headers, _request_body(body), expect)
    return spec, warnings


def _fields(value: dict[str, Any], where: str, path: Path, warnings: list[str]) -> dict[str, Any]:
    """The keys of one object of a spec that the harness reads, matched as Go matches struct fields
    (case-insensitively); any other key is a warning, `@comment`-style keys aside."""
    known = FIELDS[where]
    out: dict[str, Any] = {}
    for key, item in value.items():
        field = key if key in known else next((f for f in known if f == key.lower()), None)
        if field is not None:
            out[field] = item
            continue
        if key.startswith("@"):
            continue
        import difflib

        near = difflib.get_close_matches(key.lower(), known, n=1, cutoff=0.5)
        place = f"{where}.{key}" if where else key
        also = (" (so KrakenD compares the status with 0)" if where == "out" and "status_code" not in
                {k.lower() for k in value} else "")
        warnings.append(f"{path}: KrakenD's harness ignores the key {place!r}{also}"
                        + (f"; did you mean {(where + '.' if where else '') + near[0]!r}?" if near else ""))
    if where == "" and "next" in out:
        warnings.append(f"{path}: KrakenD's harness never sends the `next` cases, and neither does smoke")
    return out


def _object(value: Any, where: str, path: Path) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: {where} is {_json_type(value)}, not an object",
                          hint='e.g. "in": {"method": "GET", "url": "http://localhost:8080/"}')
    return value


def _typed(value: Any, kind: type, where: str, what: str, path: Path) -> Any:
    if value is not None and not isinstance(value, kind):
        raise ConfigError(f"{path}: {where} = {json.dumps(value)}: not {what}", hint=f"write {where} as {what}")
    return value


def _json_type(value: Any) -> str:
    return {list: "an array", str: "a string", bool: "a boolean", dict: "an object", type(None): "null"}.get(
        type(value), "a number")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _request_body(body: Any) -> bytes | None:
    """in.body as the harness sends it: a string as it is, anything else as Go's json.Marshal writes it."""
    if body is None:
        return None
    return (body if isinstance(body, str) else go_json(body)).encode("utf-8", errors="surrogatepass") or None


def from_smoke(requests: Sequence[Any], port: int) -> list[Spec]:
    """The `[[smoke]]` requests (settings.SmokeRequest) as specs."""
    specs = []
    for i, r in enumerate(requests, 1):
        headers = tuple((name, tuple([v]) if isinstance(v, str) else tuple(v))
                        for name, v in (r.response_headers or {}).items())
        expect = Expect(status=r.status, headers=headers, body=r.response_body, schema=r.schema or None,
                        contains=r.contains)
        specs.append(Spec(f"smoke-{i}", f"[[smoke]] #{i}", r.method, f"http://localhost:{port}{r.path}",
                          tuple(r.headers.items()), r.body.encode() if r.body else None, expect))
    return specs


def declared_specs(settings: Settings, port: int, log: Callable[[str], None] = lambda _: None) -> list[Spec]:
    """The `[[smoke]]` requests, then the specs of the `smoke_specs` folder; their warnings logged."""
    specs = from_smoke(settings.smoke, port)
    if settings.smoke_specs:
        found, warnings = read_specs(settings.project / settings.smoke_specs, port)
        for warning in warnings:
            log(logs.warning(f"warning: {warning}"))
        specs += found
    return specs



def exchange(spec: Spec, port: int, *, timeout: float = REQUEST_TIMEOUT, follow_redirects: bool = True) -> Answer:
    """Send `spec` to the KrakenD listening on 127.0.0.1:`port`, as Go's client sends it (core/golang/client)."""
    return send(spec.method, spec.url, spec.headers, spec.body, port, timeout=timeout,
                follow_redirects=follow_redirects)


# Judging, as the harness does ----------------------------------------------------------------

class Verdict(NamedTuple):
    spec: Spec
    answer: Answer
    problems: tuple[str, ...]  # KrakenD's words; empty when the spec passed

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def excerpt(self) -> str:
        """The start of the answer's body, on one line."""
        return " ".join(self.answer.body[:400].decode(errors="replace").split())[:160]


def check(spec: Spec, port: int, *, timeout: float = REQUEST_TIMEOUT, follow_redirects: bool = True) -> Verdict:
    """Send the spec and judge its answer."""
    answer = exchange(spec, port, timeout=timeout, follow_redirects=follow_redirects)
    return Verdict(spec, answer, tuple(judge(answer, spec.expect)))


def judge(answer: Answer, expect: Expect) -> list[str]:
    """What is wrong with the answer, in the words of KrakenD's harness (runner.Check, assertResponse)."""
    if answer.problem and answer.status is None:
        return [answer.problem]
    if answer.error is not None:
        return [] if answer.error == expect.error else [answer.error]
    wrong = []
    if answer.status != expect.status:
        wrong.append(f"unexpected status code. have: {answer.status}, want: {expect.status}")
    for name, values in expect.headers:
        name = canonical(name)
        have = answer.headers.get(name)
        if have is not None and list(have) == list(values):
            continue
        if have is not None:
            wrong.append(f"unexpected value for header {name}. have: {go_list(have)}, want: {go_list(values)}")
        elif values[0] != "":
            wrong.append(f"header {name} not present: map[" + " ".join(
                f"{k}:{go_list(v)}" for k, v in sorted(answer.headers.items())) + "]")
    data = answer.body
    encoding = answer.headers.get("Content-Encoding")
    if encoding and encoding[0] in ("gzip", "x-gzip"):  # asked for by the spec's own Accept-Encoding
        try:
            data = gunzip(data, strict=False)
        except ClientError as exc:
            return [str(exc)]
        if len(data) > goclient.BODY_LIMIT:
            data, answer = data[:goclient.BODY_LIMIT], answer._replace(truncated=True)
    if expect.schema:
        if not data:
            return [*wrong, "cannot validate empty body"]
        said = schema_problem(expect.schema, data)
        if said:
            wrong.append(said)
    elif expect.body is not None:
        if isinstance(expect.body, str):
            same = data == expect.body.encode("utf-8", errors="surrogatepass")
            have_text = data.decode(errors="replace")
        else:
            have = parse_json(data)
            same = _same(have, expect.body)
            have_text = go_value(have)
        if not same:
            wrong.append(f"unexpected body.\n\t\thave: {have_text}\n\t\twant: {go_value(expect.body)}")
    if expect.contains is not None and expect.contains.encode() not in data:
        wrong.append(f"the body does not contain {expect.contains!r}")
    if answer.truncated:
        wrong.append(f"the answer is larger than {goclient.BODY_LIMIT / (1 << 20):g} MiB: only its start was read")
    if answer.problem:
        wrong.append(answer.problem)
    return wrong



def parse_json(data: bytes) -> Any:
    """The body as Go's json.Unmarshal into interface{} holds it: numbers float64; invalid JSON nil."""
    try:
        return load_json(data.decode("utf-8", errors="replace"), parse_int=float, parse_float=_float64,
                         parse_constant=_no_constant)
    except ValueError:
        return None


def _float64(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"number {text} overflows float64")
    return value


def _same(have: Any, want: Any) -> bool:
    """reflect.DeepEqual of two decoded JSON values (a bool is not a number; every number a float64)."""
    if isinstance(want, bool) or isinstance(have, bool):
        return type(have) is type(want) and have == want
    if isinstance(want, (int, float)):
        return isinstance(have, float) and have == float(want)
    if isinstance(want, dict):
        return isinstance(have, dict) and have.keys() == want.keys() and all(_same(have[k], want[k]) for k in want)
    if isinstance(want, list):
        return isinstance(have, list) and len(have) == len(want) and all(map(_same, have, want))
    return type(have) is type(want) and have == want


DRAFTS = {"http://json-schema.org/draft-04/schema": "Draft4Validator",
          "http://json-schema.org/draft-06/schema": "Draft6Validator",
          "http://json-schema.org/draft-07/schema": "Draft7Validator",
          "https://json-schema.org/draft/2019-09/schema": "Draft201909Validator",
          "https://json-schema.org/draft/2020-12/schema": "Draft202012Validator"}  # those the Go validator knows
ASSERTS_FORMAT = {"Draft4Validator", "Draft6Validator", "Draft7Validator"}  # its default: format asserted up to 7


def schema_problem(schema: Mapping[str, Any], data: bytes) -> str | None:
    """The body checked against a JSON Schema (jsonschema), in the harness's words; None when it holds."""
    import jsonschema
    import referencing
    import referencing.exceptions

    given = schema.get("$schema", "https://json-schema.org/draft/2020-12/schema")
    name = DRAFTS.get(given.rstrip("#") if isinstance(given, str) else "")
    if name is None:
        return f"problem generating json-schema schema: unknown $schema {given!r} (drafts 4, 6, 7, 2019-09, 2020-12)"
    validator: Any = getattr(jsonschema, name)
    try:
        validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        return f"problem generating json-schema schema: {exc.message}"
    try:
        document = load_json(data.decode("utf-8", errors="replace"), parse_constant=_no_constant)
    except ValueError as exc:
        return f"problem unmarshaling the body: {exc}"
    checker = validator.FORMAT_CHECKER if name in ASSERTS_FORMAT else None
    try:  # an empty registry: a $ref to anything outside the schema is not fetched
        error = jsonschema.exceptions.best_match(
            validator(schema, format_checker=checker, registry=referencing.Registry()).iter_errors(document))
    except referencing.exceptions.Unresolvable as exc:
        return f"problem generating json-schema schema: cannot resolve {exc}"
    if error is None:
        return None
    where = "".join(f"/{part}" for part in error.absolute_path)
    return f"problem validating the body: at '{where}': {error.message}"


