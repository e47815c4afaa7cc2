"""Real plugin repositories: a private module behind a password, a plugin in ./cmd/<x> selected by
a build tag, a before-build step, forwarded SSH agents; built in the builder container and loaded."""

from __future__ import annotations

import base64
import http.server
import io
import json
import os
import shutil
import socket
import ssl
import subprocess
import threading
import uuid
import zipfile
from pathlib import Path

import pytest

from .conftest import EXAMPLE, PYTHON, VERSION, docker_settings, krakend, our_containers, run

USER, PASSWORD = "plugin-ci", f"s3cret-{uuid.uuid4().hex[:10]}"


class PrivateProxy(http.server.ThreadingHTTPServer):
    """A Go module proxy (GOPROXY protocol) on loopback, over HTTPS (Go sends credentials over HTTPS
    only) with a certificate of its own, serving one module to basic-auth clients only."""

    def __init__(self, module: str, version: str, files: dict[str, str], folder: Path) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        cert, key = folder / "proxy.pem", folder / "proxy.key"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                        "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out",
                        str(cert)], check=True, capture_output=True)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.socket = context.wrap_socket(self.socket, server_side=True)
        self.ca_bundle = folder / "ca-bundle.pem"  # the system's CAs and this proxy's certificate
        self.ca_bundle.write_text(Path("/etc/ssl/certs/ca-certificates.crt").read_text() + cert.read_text())
        self.module, self.version, self.requests, self.refused = module, version, [], 0
        self.mod = f"module {module}\n\ngo 1.22\n"
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for name, text in {**files, "go.mod": self.mod}.items():
                archive.writestr(f"{module}@{version}/{name}", text)
        self.zip = buffer.getvalue()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"

    @property
    def url(self) -> str:
        return f"https://{self.host}"


class _Handler(http.server.BaseHTTPRequestHandler):
    server: PrivateProxy

    def do_GET(self) -> None:
        proxy = self.server
        wanted = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        if self.headers.get("Authorization") != wanted:
            proxy.refused += 1
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="private"')
            self.end_headers()
            return
        proxy.requests.append(self.path)
        base = f"/{proxy.module}/@v/"
        bodies = {base + "list": proxy.version + "\n",
                  base + f"{proxy.version}.info": json.dumps({"Version": proxy.version,
                                                               "Time": "2026-01-01T00:00:00Z"}),
                  base + f"{proxy.version}.mod": proxy.mod}
        body = proxy.zip if self.path == base + f"{proxy.version}.zip" else bodies.get(self.path, "").encode() or None
        if body is None:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


def _serve(proxy: PrivateProxy):
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    return proxy


@pytest.fixture
def private_plugin(tmp_path, cross):
    """The example plugin, also importing a module that only a password opens (a new module path
    each run, so that no module cache has it yet); its go.sum made on the host with that password."""
    module = f"private.example/acme/greet{uuid.uuid4().hex[:8]}"
    proxy = _serve(PrivateProxy(module, "v1.0.0", {
        "greet.go": 'package greet\n\n// Hello greets.\nfunc Hello() string { return "hello, privately" }\n'},
        tmp_path))
    project = tmp_path / "plugin"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("dist*"))
    (project / "private.go").write_text(f'package main\n\nimport "{module}"\n\nvar greeting = greet.Hello()\n')
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine {proxy.host} login {USER} password {PASSWORD}\n")
    variables = {"GOPRIVATE": "private.example", "GONOPROXY": "none",
                 "GOPROXY": f"{proxy.url},https://proxy.golang.org", "SSL_CERT_FILE": str(proxy.ca_bundle)}
    subprocess.run(["go", "get", f"{module}@v1.0.0"], cwd=project, check=True, capture_output=True,
                   env={**os.environ, **variables, "NETRC": str(netrc), "GOFLAGS": "-mod=mod"})
    proxy.requests.clear()  # what the builds ask from here on
    yield project, proxy, variables, netrc
    proxy.shutdown()


def _build(project: Path, env: dict[str, str], *options: str) -> subprocess.CompletedProcess:
    settings = docker_settings()
    return run([PYTHON, "-m", "krakend_tasks", "build", "--target", "amd64-generic", "--engine", "docker",
                "--builder", settings["builder"], "--pull", "never", "--network", "host", "--version", VERSION,
                *options], project, env=env)


def test_a_private_module_builds_with_the_netrc_and_the_variables_only(private_plugin, docker_client,
                                                                       krakend_bins):
    project, proxy, variables, netrc = private_plugin
    clean = {k: v for k, v in os.environ.items() if k not in variables and k != "NETRC"}
    runs = []

    runs.append(_build(project, {**clean, **variables, "NETRC": str(netrc)}))  # the variables, no netrc
    assert runs[-1].returncode == 6, runs[-1].stderr
    assert "401 Unauthorized" in runs[-1].stderr and "a module needs credentials: set netrc = true" in runs[-1].stderr
    assert proxy.requests == [] and proxy.refused > 0

    runs.append(_build(project, {**clean, "NETRC": str(netrc)}, "--netrc"))  # the netrc, none of the variables
    assert runs[-1].returncode == 6, runs[-1].stderr
    assert proxy.requests == []

    runs.append(_build(project, {**clean, **variables, "NETRC": str(netrc)}, "--netrc"))  # both
    assert runs[-1].returncode == 0, runs[-1].stderr
    assert any(path.endswith(".zip") for path in proxy.requests)
    loaded = run([PYTHON, "-m", "krakend_tasks", "test-load", "--version", VERSION], project, env=clean)
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    # the real KrakenD opens it: the packages it shares (google/uuid) were compiled as KrakenD's
    opened = krakend(krakend_bins, "amd64-generic", "test-plugin", "-s",
                     str(project / "dist" / f"hello-{VERSION}-amd64-generic.so"))
    assert opened.returncode == 0 and "[OK] SERVER" in opened.stderr, opened.stdout + opened.stderr

    # the local engine's go sees this environment (its netrc included) as it is
    runs.append(run([PYTHON, "-m", "krakend_tasks", "build", "--engine", "local", "--version", VERSION, "--target",
                     "amd64-alpine"], project, env={**clean, **variables, "NETRC": str(netrc)}))
    assert runs[-1].returncode == 0, runs[-1].stderr

    # the password is in the netrc only: not in any output, not in dist/, and no container kept it
    for out in runs:
        assert PASSWORD not in out.stdout + out.stderr
    for path in (project / "dist").rglob("*"):
        assert PASSWORD.encode() not in path.read_bytes(), path
    builder = docker_client.images.get(f"{docker_settings()['builder']}:{VERSION}-linux-generic")
    assert PASSWORD not in json.dumps(builder.history()) + json.dumps(builder.attrs)  # nothing was committed
    assert our_containers(docker_client) == []


def test_a_plugin_in_cmd_with_build_tags_and_a_generate_step_builds_and_loads_everywhere(tmp_path, docker_client,
                                                                                         krakend_bins):
    project = tmp_path / "tagged"
    main = project / "cmd" / "plugin"
    main.mkdir(parents=True)
    for name in ("go.mod", "go.sum"):
        shutil.copy(EXAMPLE / name, project / name)
    (project / "go.mod").write_text((project / "go.mod").read_text().replace(
        "example.com/krakend-plugins/hello", "example.com/tagged"))
    (main / "main.go").write_text("//go:build server\n\n" + (EXAMPLE / "main.go").read_text())
    (main / "plugin.go").write_text((EXAMPLE / "plugin.go").read_text().replace(
        'const pluginName = "hello"',
        '//go:generate sh -c "echo \'package main; const greeting = \\"tagged\\"\' > zz_generated.go"\n'
        "const pluginName = greeting + suffix"))
    (main / "name.go").write_text('//go:build !special\n\npackage main\n\nconst suffix = ""\n')
    (main / "name_special.go").write_text('//go:build special\n\npackage main\n\nconst suffix = "-special"\n')
    (project / "krakend-tasks.toml").write_text(
        f'version = "{VERSION}"\npackage = "./cmd/plugin"\ntags = ["server"]\nbefore_build = "go generate ./..."\n'
        '[target.amd64-generic]\ntags = ["server", "special"]\n')
    assert "module example.com/tagged" in (project / "go.mod").read_text()

    settings = docker_settings()
    out = run([PYTHON, "-m", "krakend_tasks", "build", "--builder", settings["builder"], "--pull", "never",
               "--network", "host", "--engine", "docker"], project)
    assert out.returncode == 0, out.stderr
    assert not (main / "zz_generated.go").exists()  # generated in the container's copy, not in the source
    loaded = run([PYTHON, "-m", "krakend_tasks", "test-load", "--json"], project)
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    names = {row["target"]: [c["detail"] for c in row["checks"]] for row in json.loads(loaded.stdout)["plugins"]}
    assert names == {"amd64-alpine": ["registered: tagged"], "amd64-generic": ["registered: tagged-special"],
                     "arm64-alpine": ["registered: tagged"], "arm64-generic": ["registered: tagged"]}
    for target in krakend_bins:  # the real KrakenD of each target, sharing google/uuid with the plugin
        plugin = project / "dist" / f"tagged-{VERSION}-{target}.so"
        opened = krakend(krakend_bins, target, "test-plugin", "-s", str(plugin))
        assert opened.returncode == 0 and "[OK] SERVER" in opened.stderr, (target, opened.stderr)

    # the local engine runs before_build on the host, in the project
    out = run([PYTHON, "-m", "krakend_tasks", "build", "--engine", "local", "--target", "amd64-alpine"], project)
    assert out.returncode == 0, out.stderr
    assert (main / "zz_generated.go").is_file()


def test_an_ssh_agent_is_forwarded_only_when_asked(example, tmp_path, docker_client):
    agent = tmp_path / "agent.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(agent))
    env = {**os.environ, "SSH_AUTH_SOCK": str(agent)}
    check = ["--before-build", 'test -S "$SSH_AUTH_SOCK"']
    try:
        assert _build(example, env, *check, "--ssh-agent").returncode == 0
        refused = _build(example, env, *check)
        assert refused.returncode == 6 and "before_build failed for amd64-generic" in refused.stderr, refused.stderr
    finally:
        server.close()
    assert our_containers(docker_client) == []


def test_two_krakend_versions_in_one_build(example, cross):
    """2.12.1 is built with Go 1.25.6, 2.13.8 with Go 1.25.12: one command builds both, side by side."""
    out = run([PYTHON, "-m", "krakend_tasks", "build", "--engine", "local", "--version", "2.12,2.13.8", "--target",
               "amd64-generic", "--json"], example)
    assert out.returncode == 0, out.stderr
    built = {(a["path"], a["krakend"], a["go"]) for a in json.loads(out.stdout)["artifacts"]}
    assert built == {("hello-2.12.1-amd64-generic.so", "2.12.1", "1.25.6"),
                     ("hello-2.13.8-amd64-generic.so", "2.13.8", "1.25.12")}
    inspected = run([PYTHON, "-m", "krakend_tasks", "inspect", "--version", "2.12,2.13.8", "--json"], example)
    assert {(Path(r["path"]).name, r["go"]) for r in json.loads(inspected.stdout)["plugins"]} == {
        ("hello-2.12.1-amd64-generic.so", "1.25.6"), ("hello-2.13.8-amd64-generic.so", "1.25.12")}
    loaded = run([PYTHON, "-m", "krakend_tasks", "test-load", "--version", "2.12,2.13.8", "--json"], example)
    rows = json.loads(loaded.stdout)["plugins"]
    assert (loaded.returncode, len(rows), all(r["ok"] for r in rows)) == (0, 2, True), loaded.stderr
    matrix = run([PYTHON, "-m", "krakend_tasks", "matrix", "--version", "2.12,2.13.8", "--json"], example)
    rows = json.loads(matrix.stdout)["include"]
    assert sorted((r["krakend"], r["go"], r["target"]) for r in rows) == sorted(
        (v, go, t) for v, go in (("2.12.1", "1.25.6"), ("2.13.8", "1.25.12"))
        for t in ("amd64-alpine", "amd64-generic", "arm64-alpine", "arm64-generic"))
    refused = run([PYTHON, "-m", "krakend_tasks", "ship", "--version", "2.12,2.13.8", "--no-build"], example)
    assert refused.returncode == 2 and "ship works on one KrakenD version, not 2" in refused.stderr
