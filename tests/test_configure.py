"""configure: a real-looking krakend.json before and after, idempotence, bad files, validation."""

import copy
import json
import shutil
import stat
from pathlib import Path

import pytest

from krakend_tasks.core.krakend.config import used_plugins
from krakend_tasks.core.workflows.configure import Placement, configure
from krakend_tasks.errors import ConfigError, KrakendConfigError

from .conftest import PYTHON, ROOT, build_in, run

CONFIGS = ROOT / "tests" / "data" / "configs"
SERVER = "plugin/http-server"
CLIENT = "plugin/http-client"
MODIFIER = "plugin/req-resp-modifier"


@pytest.fixture
def gateway(tmp_path) -> Path:
    dest = tmp_path / "krakend.json"
    shutil.copy(CONFIGS / "gateway.json", dest)
    return dest


def without(config: dict, *paths: tuple) -> dict:
    """A copy of `config` with the keys at `paths` removed (a path is a tuple of keys/indexes)."""
    config = copy.deepcopy(config)
    for path in paths:
        holder = config
        for key in path[:-1]:
            holder = holder[key]
        del holder[path[-1]]
    return config


def test_every_type_in_its_place_and_nothing_else_changes(gateway):
    before = json.loads(gateway.read_text())
    outcome = configure(gateway, [
        Placement("server", "auth-headers", settings={"path": "/__auth"}),
        Placement("server", "geo"),
        Placement("client", "signer", endpoint="/v1/products/{id}", backend=1),
        Placement("modifier", "tagger", endpoint="/v1/orders", method="post"),
        Placement("modifier", "rewriter", endpoint="/v1/orders", method="GET", backend=0),
    ])
    after = json.loads(gateway.read_text())
    assert after["plugin"] == {"folder": "/opt/krakend/plugins/", "pattern": ".so"}
    assert after["extra_config"][SERVER] == {"name": ["auth-headers", "geo"], "auth-headers": {"path": "/__auth"},
                                             "geo": {}}
    assert after["endpoints"][0]["backend"][1]["extra_config"][CLIENT] == {"name": "signer", "signer": {}}
    assert after["endpoints"][1]["extra_config"][MODIFIER]["name"] == ["tagger"]
    assert after["endpoints"][2]["backend"][0]["extra_config"][MODIFIER]["name"] == ["rewriter"]
    # everything else is exactly as it was, in the same key order
    stripped = without(after, ("plugin",), ("extra_config", SERVER), ("endpoints", 0, "backend", 1, "extra_config"),
                       ("endpoints", 1, "extra_config", MODIFIER), ("endpoints", 2, "backend", 0, "extra_config"))
    assert stripped == before
    assert list(stripped) == list(before)
    assert list(after["endpoints"][1]["extra_config"]) == ["auth/validator", MODIFIER]
    # indentation kept (two spaces), a backup of the original, and the final newline
    assert gateway.read_text().startswith('{\n  "$schema"') and gateway.read_text().endswith("}\n")
    assert outcome.backup.read_text() == (CONFIGS / "gateway.json").read_text()
    assert used_plugins(after) == {"server": {"auth-headers", "geo"}, "client": {"signer"}, "middleware": set(),
                                   "modifier": {"tagger", "rewriter"}}


def test_idempotent_second_run_changes_nothing(gateway):
    placements = [Placement("client", "signer", endpoint="/v1/products/{id}", backend=0),
                  Placement("server", "geo")]
    first = configure(gateway, placements)
    text, backup = gateway.read_text(), first.backup.read_text()
    second = configure(gateway, placements)
    assert first.changed and not second.changed and second.backup is None
    assert gateway.read_text() == text and first.backup.read_text() == backup


def test_numbers_keep_how_they_are_written(tmp_path):
    """1e3 is not rewritten as 1000.0, nor 1e400 as Infinity (which is not JSON); a string that
    looks like our internal mark stays a string."""
    path = tmp_path / "krakend.json"
    original = ('{\n  "version": 3,\n  "timeout": 1e3,\n  "huge": 1e400,\n  "tiny": -2.50E-7,\n'
                '  "big": 123456789012345678901234567890,\n  "text": "\\u0000number:1"\n}\n')
    path.write_text(original)
    configure(path, [Placement("server", "geo")])
    data = json.loads(path.read_text())
    assert data["plugin"] and data["extra_config"][SERVER]["name"] == ["geo"]
    for line in ('"timeout": 1e3,', '"huge": 1e400,', '"tiny": -2.50E-7,', '"big": 123456789012345678901234567890,',
                 '"text": "\\u0000number:1"'):
        assert line in path.read_text()
    assert without(data, ("plugin",), ("extra_config",)) == json.loads(original)


def test_tabs_and_file_mode_are_kept(tmp_path):
    path = tmp_path / "krakend.json"
    path.write_text('{\n\t"version": 3,\n\t"endpoints": []\n}')
    path.chmod(0o600)
    configure(path, [Placement("server", "geo")], folder="/plugins/", pattern="-plugin.so")
    text = path.read_text()
    assert text.startswith('{\n\t"version": 3,') and not text.endswith("\n")
    assert json.loads(text)["plugin"] == {"folder": "/plugins/", "pattern": "-plugin.so"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_line_endings_minus_zero_and_owner_are_kept(tmp_path):
    """CRLF stays CRLF, -0 stays -0, and a file of another user stays theirs (and so does its .bak)
    when root rewrites it."""
    import os

    path = tmp_path / "krakend.json"
    path.write_bytes(b'{\r\n  "version": 3,\r\n  "zero": -0,\r\n  "endpoints": []\r\n}\r\n')
    if os.geteuid() == 0:
        os.chown(path, 1000, 1000)
    configure(path, [Placement("server", "geo")])
    data = path.read_bytes()
    assert b'"zero": -0,' in data and data.count(b"\r\n") == data.count(b"\n") > 5
    assert json.loads(data)["extra_config"][SERVER]["name"] == ["geo"]
    if os.geteuid() == 0:
        for written in (path, tmp_path / "krakend.json.bak"):
            assert (written.stat().st_uid, written.stat().st_gid) == (1000, 1000), written


@pytest.mark.parametrize(("placement", "message"), [
    (Placement("proxy", "x"), "unknown plugin type 'proxy'"),
    (Placement("client", "x"), "a client plugin goes on an endpoint"),
    (Placement("client", "x", endpoint="/nope"), "no endpoint /nope in the configuration"),
    (Placement("client", "x", endpoint="/v1/products/{id}"), "GET /v1/products/{id} has 2 backends"),
    (Placement("modifier", "x", endpoint="/v1/orders"), "several endpoints /v1/orders"),
    (Placement("modifier", "x", endpoint="/v1/orders", method="GET", backend=3), "has no backend 3"),
])
def test_bad_placements_are_refused_and_the_file_is_untouched(gateway, placement, message):
    original = gateway.read_text()
    with pytest.raises(ConfigError, match=message.replace("{", r"\{").replace("}", r"\}")) as err:
        configure(gateway, [Placement("server", "geo"), placement])
    assert err.value.exit_code == 2 and err.value.hint
    assert gateway.read_text() == original
    assert not gateway.with_name("krakend.json.bak").exists()


def test_a_backend_keeps_its_client_plugin(gateway):
    configure(gateway, [Placement("client", "signer", endpoint="/v1/products/{id}", backend=0)])
    with pytest.raises(ConfigError, match="already uses the client plugin 'signer'"):
        configure(gateway, [Placement("client", "other", endpoint="/v1/products/{id}", backend=0)])


@pytest.mark.parametrize(("content", "name", "message"), [
    ('{"version": 3,, }', "krakend.json", "is not valid JSON: Expecting property name"),
    (None, "flexible.json", "is a KrakenD flexible-config template"),
    ('[1, 2]', "krakend.json", "holds a JSON list, not an object"),
    (None, "missing.json", "does not exist"),
])
def test_unparsable_files_are_refused(tmp_path, content, name, message):
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    elif name == "flexible.json":
        shutil.copy(CONFIGS / name, path)
    before = path.read_text() if path.exists() else None
    with pytest.raises(KrakendConfigError, match=message) as err:
        configure(path, [Placement("server", "geo")])
    assert err.value.exit_code == 10
    assert (path.read_text() if path.exists() else None) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ([name] if before is not None else [])


def test_cli_exit_statuses(tmp_path, gateway):
    (tmp_path / "flexible.json").write_text((CONFIGS / "flexible.json").read_text())
    template = run([PYTHON, "-m", "krakend_tasks", "configure", "--config", "flexible.json", "--type", "server",
                    "--name", "geo"], tmp_path)
    assert template.returncode == 10 and "flexible-config template" in template.stderr
    unknown = run([PYTHON, "-m", "krakend_tasks", "configure", "--type", "proxy", "--name", "geo"], tmp_path)
    assert unknown.returncode == 2 and "argument --type: invalid choice: 'proxy'" in unknown.stderr
    ok = run([PYTHON, "-m", "krakend_tasks", "configure", "--type", "client", "--name", "signer",
              "--endpoint", "/v1/products/{id}", "--backend", "1", "--settings", '{"key": "k1"}'], tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert "GET /v1/products/{id} backend 1: plugin/http-client signer" in ok.stdout
    backend = json.loads(gateway.read_text())["endpoints"][0]["backend"][1]
    assert backend["extra_config"][CLIENT] == {"name": "signer", "signer": {"key": "k1"}}


def test_validate_names_against_real_plugins(tmp_path, cross):
    """The names a config uses against the names built plugins really register (loaded for real)."""
    from krakend_tasks.core.project.settings import load_settings
    from krakend_tasks.core.workflows.scaffold import new

    project = tmp_path / "geo"
    new(project, "modifier", "geo", release=load_settings(".", version="2.13.8").release)
    build_in(load_settings(project, version="2.13.8", engine="local", targets="amd64-generic"))
    config = project / "krakend.json"
    configure(config, [Placement("server", "missing-one")])
    validate = [PYTHON, "-m", "krakend_tasks", "configure", "--type", "modifier", "--validate"]
    out = run(validate, project)
    assert out.returncode == 1, out.stdout + out.stderr
    problems = out.stdout.split("vs plugins in dist:\n")[1].splitlines()
    assert problems == ["  plugin/http-server uses 'missing-one', which no plugin registers "
                        "(server plugins found: none)"]
    configure(config, [Placement("server", "missing-one")])  # unchanged: idempotent
    fixed = json.loads(config.read_text())
    fixed["extra_config"]["plugin/http-server"]["name"] = []
    config.write_text(json.dumps(fixed))
    assert run(validate, project).returncode == 0
