"""Requests sent the way Go's `http.DefaultClient` sends them (its default headers, gzip, redirects,
its error texts), and only to this machine's KrakenD: a smoke, dev or bench run never sends traffic
off this machine."""

from __future__ import annotations

import http.client
import re
import time
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import quote, urljoin, urlsplit

from krakend_tasks.core.golang.printing import go_quote
from krakend_tasks.errors import ConfigError

BODY_LIMIT = 64 << 20  # bytes of an answer read; a larger one is judged on its start, and said so
MAX_REDIRECTS = 10  # as Go's client
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
USER_AGENT = "Go-http-client/1.1"
TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+\Z")


class Answer(NamedTuple):
    """What came back: the status, headers as Go's client holds them, the body; or the client's error."""

    status: int | None = None
    headers: Mapping[str, tuple[str, ...]] = {}
    body: bytes = b""
    error: str | None = None  # Go's client error text (EOF, connection refused, too many redirects)
    problem: str | None = None  # what stopped us, that Go's client would not say (a timeout, an off-host redirect)
    truncated: bool = False
    seconds: float = 0.0


def local_url(url: str, port: int, path: Path | str) -> str:
    """The URL when it names this machine's KrakenD (the config's port); a ConfigError otherwise."""
    hint = f"write it as http://localhost:{port}/... (the config's port; smoke sends it to the KrakenD it runs)"
    try:
        parts = urlsplit(url)
        given_port = parts.port
    except ValueError as exc:
        raise ConfigError(f"{path}: in.url {url!r} is not a URL: {exc}", hint=hint) from exc
    if parts.scheme.lower() != "http" or not parts.hostname:
        raise ConfigError(f"{path}: in.url {url!r} is not an http:// URL", hint=hint)
    if parts.hostname.lower() not in LOCAL_HOSTS:
        raise ConfigError(f"{path}: in.url {url!r} names the host {parts.hostname}, not this machine's KrakenD: "
                          "a smoke run never sends traffic off this machine", hint=hint)
    if (given_port or 80) != port:
        raise ConfigError(f"{path}: in.url {url!r} is at port {given_port or 80}, and the config's KrakenD "
                          f"listens on {port}", hint=hint)
    return url


def send(method: str, url: str, given: Sequence[tuple[str, str]], body: bytes | None, port: int, *,
         timeout: float, follow_redirects: bool = True) -> Answer:
    """Send a request to the KrakenD listening on 127.0.0.1:`port` (the URL's Host kept), following
    redirects as Go's client does; only redirects to that KrakenD are followed."""
    started = time.monotonic()
    deadline = started + timeout
    first = url
    op = method[:1] + method[1:].lower()
    if not TOKEN.match(method):
        return Answer(error=f"net/http: invalid method {go_quote(method)}")
    for name, value in given:
        if not TOKEN.match(name):
            return Answer(error=f'{op} "{url}": net/http: invalid header field name {go_quote(name)}')
        if re.search(r"[\x00-\x08\x0a-\x1f\x7f]", value):
            return Answer(error=f'{op} "{url}": net/http: invalid header field value for {go_quote(name)}')
    host = next((v for k, v in given if k == "Host"), None)
    headers = [(canonical(k), v) for k, v in given if canonical(k) != "Host"]
    for hop in range(MAX_REDIRECTS + 1):
        try:
            answer = _round_trip(method, url, host, headers, body, port, deadline)
        except TimeoutError:
            return Answer(problem=f"no answer within {timeout:g} s (--request-timeout)",
                          seconds=time.monotonic() - started)
        except ClientError as exc:
            return Answer(error=str(exc) if exc.bare else f'{op} "{url}": {exc}', seconds=time.monotonic() - started)
        location = answer.headers.get("Location", ("",))[0]
        if not follow_redirects or answer.status not in (301, 302, 303, 307, 308) or not location:
            return answer._replace(seconds=time.monotonic() - started)
        target = urljoin(url, location)
        if hop + 1 == MAX_REDIRECTS:  # Go names the Location as the answer gave it
            return Answer(error=f'{op} "{location}": stopped after {MAX_REDIRECTS} redirects',
                          seconds=time.monotonic() - started)
        try:
            local_url(target, urlsplit(first).port or 80, "redirect")
        except ConfigError:
            return answer._replace(problem=f"{answer.status} redirect to {target}: not followed, a smoke run sends "
                                           "requests only to the KrakenD it runs", seconds=time.monotonic() - started)
        if answer.status in (301, 302, 303) and method not in ("GET", "HEAD"):
            method, body = "GET", None
        if host is not None and urlsplit(location).scheme:
            host = None  # a custom Host is kept through relative redirects only
        referer = [] if any(k == "Referer" for k, _ in headers) else [("Referer", _without_user(url))]
        if urlsplit(target).hostname != urlsplit(url).hostname:
            headers = [(k, v) for k, v in headers if k not in ("Authorization", "Www-Authenticate", "Cookie",
                                                                   "Cookie2")]
        headers = [(k, v) for k, v in headers if k != "Referer" or not referer] + referer
        url = target
    raise AssertionError("unreachable")


class ClientError(Exception):
    def __init__(self, message: str, bare: bool = False) -> None:
        super().__init__(message)
        self.bare = bare  # Go returns it as it is, not wrapped in `Op "URL": ...` (errors reading a body)


def _round_trip(method: str, url: str, host: str | None, headers: list[tuple[str, str]], body: bytes | None,
                port: int, deadline: float) -> Answer:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=_left(deadline))
    try:
        conn.putrequest(method, target(url), skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", (host if host is not None else parts.netloc.rpartition("@")[2]).encode())
        names = {k for k, _ in headers}
        if "User-Agent" not in names:
            conn.putheader("User-Agent", USER_AGENT)
        if body or method in ("POST", "PUT", "PATCH"):
            conn.putheader("Content-Length", str(len(body or b"")))
        if parts.username is not None and "Authorization" not in names:
            import base64

            pair = f"{parts.username}:{parts.password or ''}".encode()
            conn.putheader("Authorization", "Basic " + base64.b64encode(pair).decode())
        for k, v in headers:
            if k not in ("Content-Length", "Transfer-Encoding", "Trailer"):
                conn.putheader(k, v.encode())  # as Go writes them: UTF-8 bytes
        gzipped = "Accept-Encoding" not in names and "Range" not in names and method != "HEAD"
        if gzipped:
            conn.putheader("Accept-Encoding", "gzip")
        conn.endheaders(body or None)
        sock = conn.sock
        try:
            response = conn.getresponse()
        except (http.client.RemoteDisconnected, http.client.BadStatusLine, ConnectionResetError) as exc:
            raise ClientError("EOF") from exc
        got: dict[str, list[str]] = {}
        for name, value in response.msg.items():
            got.setdefault(canonical(name), []).append(value.strip(" \t"))
        got.pop("Transfer-Encoding", None)
        if "chunked" in (response.getheader("Transfer-Encoding") or "").lower():
            got.pop("Content-Length", None)
        data, truncated = _read(response, sock, deadline)
        if gzipped and got.get("Content-Encoding", [""])[0].lower() == "gzip":  # Go's transport decodes it
            data = gunzip(data, strict=True)
            got.pop("Content-Encoding", None)
            got.pop("Content-Length", None)
            if len(data) > BODY_LIMIT:
                data, truncated = data[:BODY_LIMIT], True
        return Answer(response.status, {k: tuple(v) for k, v in got.items()}, data, truncated=truncated)
    except ConnectionRefusedError as exc:
        raise ClientError(f"dial tcp {parts.netloc.rpartition('@')[2]}: connect: connection refused") from exc
    except TimeoutError as exc:
        raise TimeoutError from exc
    except http.client.HTTPException as exc:
        raise ClientError(f"malformed HTTP response: {exc}") from exc
    except OSError as exc:
        raise ClientError(exc.strerror or str(exc)) from exc
    finally:
        conn.close()


def _read(response: http.client.HTTPResponse, sock: Any, deadline: float) -> tuple[bytes, bool]:
    """The body, up to BODY_LIMIT bytes, within the deadline (a trickling answer too)."""
    chunks: list[bytes] = []
    size = 0
    while size <= BODY_LIMIT:
        sock.settimeout(_left(deadline))
        try:
            chunk = response.read1(min(1 << 16, BODY_LIMIT + 1 - size))
        except http.client.IncompleteRead as exc:
            raise ClientError("unexpected EOF", bare=True) from exc
        if not chunk:
            return b"".join(chunks), False
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)[:BODY_LIMIT], True


def _left(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError
    return left


def gunzip(data: bytes, strict: bool) -> bytes:
    """A gzip body decoded, or Go's error. Not `strict` (the harness's own decoding), a body without a
    gzip header is kept as it is, as gzip.NewReader's failure leaves it."""
    if not strict and (len(data) < 10 or data[:3] != b"\x1f\x8b\x08"):
        return data
    try:  # at most one byte more than BODY_LIMIT: a gzip bomb is cut, and said so
        return zlib.decompressobj(wbits=16 + zlib.MAX_WBITS).decompress(data, BODY_LIMIT + 1)
    except zlib.error as exc:
        raise ClientError("gzip: invalid header" if data[:2] != b"\x1f\x8b" else "flate: corrupt input",
                           bare=True) from exc


def target(url: str) -> str:
    """The request target Go's client writes for `url`: its escaped path (or /) and query."""
    parts = urlsplit(url)
    path = quote(parts.path, safe="/:@!$&'()*+,;=%-._~[]") or "/"
    query = quote(parts.query, safe="/:@!$&'()*+,;=%-._~[]?")
    return path + (f"?{query}" if query or url.split("#", 1)[0].endswith("?") else "")


def _without_user(url: str) -> str:
    parts = urlsplit(url)
    return parts._replace(netloc=parts.netloc.rpartition("@")[2], fragment="").geturl()


def canonical(name: str) -> str:
    """textproto.CanonicalMIMEHeaderKey: Content-Type from content-type; a name with other characters kept."""
    if not TOKEN.match(name) or not name.isascii():
        return name
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))
