"""A registry's HTTP API, for what the Docker SDK has no call for: reading a pushed manifest and
putting a manifest list over several architectures' images.

Credentials are Docker's own: `~/.docker/config.json` (or $DOCKER_CONFIG), its `auths`, `credsStore`
and `credHelpers`, read through the SDK's auth helpers. They go only into request headers: never
printed, logged or written.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
from typing import TYPE_CHECKING, Any, NamedTuple

from krakend_tasks.errors import ConfigError, RegistryError

if TYPE_CHECKING:
    import requests

TIMEOUT = 30  # seconds a registry has for each request
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
ACCEPT = ", ".join((DOCKER_MANIFEST, OCI_MANIFEST, DOCKER_LIST, OCI_INDEX))
DOCKER_HUB = "docker.io"

# distribution's reference grammar: [host[:port]/]path[:tag] (a digest cannot be pushed to)
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_HOST = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])"
REFERENCE = re.compile(rf"(?:(?P<host>{_HOST}(?::[0-9]+)?)/)?(?P<path>{_COMPONENT}(?:/{_COMPONENT})*)"
                       r"(?::(?P<tag>[\w][\w.-]{0,127}))?")
# the same grammar as patterns for the settings' schema: a repository, and an image (a digest allowed)
_REPOSITORY = rf"(?:{_HOST}(?::[0-9]+)?/)?{_COMPONENT}(?:/{_COMPONENT})*"
REPOSITORY = rf"^{_REPOSITORY}\Z"
IMAGE = rf"^{_REPOSITORY}(?::[A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}})?(?:@sha256:[0-9a-f]{{64}})?\Z"


class Reference(NamedTuple):
    """An image reference split as Docker splits it: registry host, repository path, tag."""

    registry: str  # "docker.io" when the reference names none
    repository: str  # the path in the registry ("library/x" on Docker Hub)
    tag: str

    @property
    def name(self) -> str:
        """The image name as Docker prints it (without the tag)."""
        if self.registry == DOCKER_HUB:
            return self.repository.removeprefix("library/")
        return f"{self.registry}/{self.repository}"

    def __str__(self) -> str:
        return f"{self.name}:{self.tag}"

    def tagged(self, suffix: str) -> Reference:
        """The same image under `TAG-suffix`."""
        return self._replace(tag=f"{self.tag}-{suffix}")


def parse_reference(text: str, what: str = "--tag") -> Reference:
    """`text` as an image reference to build and push under; a ConfigError naming the rule it breaks."""
    match = REFERENCE.fullmatch(text)
    if not match or len(text) > 255:
        raise ConfigError(f"{what} {text!r} is not an image reference",
                          hint="e.g. registry.example.com/team/gateway:1.0 (lowercase path, a tag of letters, "
                               "digits, '.', '_' or '-'; no @digest)")
    host, path, tag = match["host"], match["path"], match["tag"] or "latest"
    if host and "." not in host and ":" not in host and host != "localhost":  # Docker's rule: a path, not a host
        host, path = None, f"{host}/{path}"
    if not host:
        return Reference(DOCKER_HUB, path if "/" in path else f"library/{path}", tag)
    return Reference(host, path, tag)


class Pushed(NamedTuple):
    """A manifest in a registry: what a list needs to name it."""

    media_type: str
    digest: str
    size: int


class Registry:
    """One registry, spoken to over HTTPS, or HTTP where the Docker engine also would (loopback,
    or its insecure-registries)."""

    def __init__(self, host: str, insecure: bool, credentials: dict[str, str]) -> None:
        import requests

        self.host = host
        self.http = requests.Session()
        self.http.headers["User-Agent"] = "krakend-tasks"
        # as the engine does, TLS first where it may fall back to plain HTTP; but on loopback, where
        # nothing leaves this machine, plain HTTP first (a local registry rarely has TLS)
        self.schemes = ("https",) if not insecure else ("http", "https") if _loopback(_hostname(host)) else (
            "https", "http")
        self.base = ""
        self.credentials = credentials
        self.tokens: dict[str, str] = {}

    def _request(self, method: str, path: str, scope: str = "", headers: dict[str, str] | None = None,
                 **options: Any) -> requests.Response:
        import requests

        host = "registry-1.docker.io" if self.host == DOCKER_HUB else self.host
        errors = []
        for scheme in ([self.base] if self.base else self.schemes):
            url = f"{scheme}://{host}/v2/{path}"
            try:
                answer = self.http.request(method, url, timeout=TIMEOUT, headers={**(headers or {}),
                                           **self._authorization(scope)}, **options)
                if answer.status_code == 401 and scope not in self.tokens:
                    self._login(answer, scope)
                    answer = self.http.request(method, url, timeout=TIMEOUT, headers={**(headers or {}),
                                               **self._authorization(scope)}, **options)
            except requests.exceptions.SSLError as exc:
                errors.append(f"{scheme}: {exc.__class__.__name__}")
                continue
            except requests.exceptions.RequestException as exc:
                raise RegistryError(f"registry {self.host} does not answer: {exc.__class__.__name__}",
                                    hint=f"check that {self.host} is the registry's address and that it runs"
                                    ) from exc
            self.base = scheme
            if "docker-distribution-api-version" not in {k.lower() for k in answer.headers} and \
                    answer.status_code not in (200, 201, 202):
                raise RegistryError(f"{self.host} answered {method} /v2/{path} with HTTP {answer.status_code}, "
                                    "not as a registry does", hint=f"check that {self.host} is a registry's address")
            return answer
        raise RegistryError(f"registry {self.host} has no TLS we can use ({'; '.join(errors)})",
                            hint=f"add {self.host} to the Docker engine's insecure-registries, or give it a "
                                 "certificate this machine trusts")

    def _authorization(self, scope: str) -> dict[str, str]:
        token = self.tokens.get(scope)
        return {"Authorization": token} if token else {}

    def _login(self, answer: requests.Response, scope: str) -> None:
        """Answer a 401's challenge with Docker's credentials: Basic, or a Bearer token from the realm."""
        import base64

        challenge = answer.headers.get("WWW-Authenticate", "")
        given = {key.lower(): value for key, value in self.credentials.items()}  # helpers answer Username...
        user, secret, identity = given.get("username"), given.get("password"), given.get("identitytoken")
        if challenge.lower().startswith("basic"):
            if user and secret:
                self.tokens[scope] = "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()
            return
        if not challenge.lower().startswith("bearer"):
            return
        fields = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
        params = {"service": fields.get("service", ""), **({"scope": scope} if scope else {})}
        if identity:
            got = self.http.post(fields.get("realm", ""), timeout=TIMEOUT, data={
                **params, "grant_type": "refresh_token", "refresh_token": identity, "client_id": "krakend-tasks"})
        else:
            got = self.http.get(fields.get("realm", ""), params=params, timeout=TIMEOUT,
                                auth=(user, secret) if user and secret else None)
        if got.ok:
            body = got.json()
            token = body.get("token") or body.get("access_token")
            if token:
                self.tokens[scope] = f"Bearer {token}"

    def _refused(self, answer: requests.Response, doing: str) -> RegistryError:
        login = f"docker login {self.host}" if self.host != DOCKER_HUB else "docker login"
        if answer.status_code in (401, 403):
            who = "without a login" if not self.credentials else "with the credentials Docker has for it"
            return RegistryError(f"registry {self.host} refused {doing} {who} (HTTP {answer.status_code})",
                                 hint=f"`{login}` as a user that may push there")
        return RegistryError(f"registry {self.host} refused {doing}: HTTP {answer.status_code} "
                             f"{answer.text.strip()[:200]}", hint="read the registry's answer above")

    def ping(self, repository: str) -> None:
        """Check that the registry answers as a registry and lets us push to `repository`."""
        scope = f"repository:{repository}:pull,push"
        answer = self._request("GET", "", scope)
        if answer.status_code != 200:
            raise self._refused(answer, "access")

    def manifest(self, ref: Reference) -> tuple[Pushed, dict[str, Any]]:
        """The manifest (or list) under `ref`, and its parsed body."""
        answer = self._get_manifest(ref)
        body = answer.content
        return (Pushed(answer.headers.get("Content-Type", "").split(";")[0],
                       "sha256:" + hashlib.sha256(body).hexdigest(), len(body)), json.loads(body))

    def _get_manifest(self, ref: Reference) -> requests.Response:
        answer = self._request("GET", f"{ref.repository}/manifests/{ref.tag}", f"repository:{ref.repository}:pull,push",
                               headers={"Accept": ACCEPT})
        if answer.status_code != 200:
            raise self._refused(answer, f"reading {ref}")
        return answer

    def put_list(self, ref: Reference, images: dict[str, Pushed]) -> str:
        """Put one manifest list (an OCI index when the images are OCI) under `ref`, naming each
        architecture's image; its digest, as the registry confirmed it."""
        oci = all(image.media_type == OCI_MANIFEST for image in images.values())
        media_type = OCI_INDEX if oci else DOCKER_LIST
        body = json.dumps({"schemaVersion": 2, "mediaType": media_type, "manifests": [
            {"mediaType": image.media_type, "size": image.size, "digest": image.digest,
             "platform": {"architecture": arch, "os": "linux", **({"variant": "v8"} if arch == "arm64" else {})}}
            for arch, image in images.items()]}, indent=3).encode()
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        answer = self._request("PUT", f"{ref.repository}/manifests/{ref.tag}", f"repository:{ref.repository}:pull,push",
                               data=body, headers={"Content-Type": media_type})
        if answer.status_code not in (200, 201):
            raise self._refused(answer, f"the manifest list {ref}")
        confirmed = answer.headers.get("Docker-Content-Digest", digest)
        if confirmed != digest:
            raise RegistryError(f"registry {self.host} stored the list {ref} as {confirmed}, not {digest}",
                                hint="push again; if it repeats, the registry rewrites manifests")
        return digest


def connect(client: Any, host: str) -> Registry:
    """The registry `host`, spoken to as the Docker engine `client` would (plain HTTP where it may).
    The engine pushes and this process writes the manifest list, so both must reach the same registry:
    a loopback registry with an engine on another machine is refused."""
    from krakend_tasks.engines.containers import credentials_for

    engine = engine_machine(client)
    if engine and _loopback(_hostname(host)):
        raise RegistryError(f"registry {host} is this machine's loopback, but the Docker engine that pushes is on "
                            f"{engine}: it would push to a registry of its own",
                            hint=f"tag with an address of the registry that {engine} reaches too, or push with a "
                                 "Docker engine on this machine (unset DOCKER_HOST)")
    return Registry(host, insecure_for(client, host), credentials_for(host))


def engine_machine(client: Any) -> str | None:
    """The host of the Docker engine `client` speaks to when it is another machine (tcp:// or ssh://
    to an address that is not loopback), else None."""
    from urllib.parse import urlsplit

    url = str(getattr(client.api, "base_url", ""))
    if url.startswith("http+docker://ssh"):  # the SDK's ssh:// adapter: the host is DOCKER_HOST's
        import os

        url = os.environ.get("DOCKER_HOST", "")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https", "tcp", "ssh") or not parts.hostname:
        return None  # a unix socket or named pipe: this machine
    return None if _loopback(parts.hostname) else parts.hostname


def _hostname(host: str) -> str:
    """`host` ("name:port", "[::1]:port") without its port and brackets."""
    return host.rsplit(":", 1)[0].strip("[]") if not host.startswith("[") or "]:" in host else host.strip("[]")


def _loopback(name: str) -> bool:
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def insecure_for(client: Any, host: str) -> bool:
    """Whether the Docker engine treats `host` as an insecure registry (loopback always is)."""
    name = _hostname(host)
    if _loopback(name):
        return True
    try:
        config = client.info().get("RegistryConfig") or {}
    except Exception:  # the engine's own view is a refinement; loopback is decided without it
        config = {}
    index = (config.get("IndexConfigs") or {}).get(host)
    if index is not None:
        return not index.get("Secure", True)
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    cidrs = config.get("InsecureRegistryCIDRs") or ["127.0.0.0/8", "::1/128"]
    return any(address in ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)
