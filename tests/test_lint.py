"""KrakenD's own schema on every config the tool writes: the real KrakenD 2.13.8's `check -n -c`, as a
binary and in its image; a config it refuses is never written."""

import json
import shutil
from pathlib import Path

import pytest

from krakend_tasks.core.krakend.lint import Krakend, lint
from krakend_tasks.core.plugin_types import NAMES
from krakend_tasks.core.workflows.configure import Placement, configure
from krakend_tasks.errors import ConfigRefused

from .conftest import PYTHON, ROOT, run

CONFIGS = ROOT / "tests" / "data" / "configs"
PLACEMENTS = {  # every type in each of its places, and several plugins of a type side by side
    "server on the service": [Placement("server", "geo"), Placement("server", "auth-headers", settings={"a": 1})],
    "client on a backend": [Placement("client", "signer", endpoint="/v1/products/{id}", backend=1)],
    "modifier on an endpoint and a backend": [
        Placement("modifier", "tagger", endpoint="/v1/orders", method="POST"),
        Placement("modifier", "rewriter", endpoint="/v1/products/{id}", backend=0, settings={"x": "y"})],
    "middleware on an endpoint and a backend": [
        Placement("middleware", "stamp", endpoint="/v1/orders", method="GET"),
        Placement("middleware", "count", endpoint="/v1/products/{id}", backend=0, settings={"key_prefix": "c"})],
}


@pytest.fixture
def valid_gateway(tmp_path) -> Path:
    """tests/data/configs/gateway.json less the one key KrakenD's schema refuses in it."""
    data = json.loads((CONFIGS / "gateway.json").read_text())
    del data["endpoints"][1]["extra_config"]["auth/validator"]["ratio"]
    dest = tmp_path / "krakend.json"
    dest.write_text(json.dumps(data, indent=2) + "\n")
    return dest


@pytest.mark.parametrize("where", PLACEMENTS)
def test_each_placement_passes_krakends_schema(valid_gateway, krakend_bins, where):
    krakend = Krakend(str(krakend_bins["amd64-generic"]))
    outcome = configure(valid_gateway, PLACEMENTS[where], krakend=krakend)
    assert outcome.changed and outcome.linted is not None and outcome.linted.ok, outcome.linted
    assert lint(valid_gateway, krakend).ok


def test_all_of_them_at_once_in_the_image(valid_gateway, krakend_image):
    every = [p for placements in PLACEMENTS.values() for p in placements]
    outcome = configure(valid_gateway, every, krakend=Krakend(image=krakend_image, pull="never"))
    assert outcome.linted is not None and outcome.linted.ok and outcome.linted.by == f"image {krakend_image}"


@pytest.mark.parametrize("kind", NAMES)
def test_each_new_project_passes_krakends_schema(tmp_path, krakend_bins, kind):
    out = run([PYTHON, "-m", "krakend_tasks", "new", "--type", kind, "--name", f"my-{kind}", "--krakend-bin",
               str(krakend_bins["amd64-generic"])], tmp_path)
    assert out.returncode == 0, out.stderr
    assert "krakend.json: krakend check -n -c: OK (binary " in out.stdout


def test_a_config_krakend_refuses_is_not_written(tmp_path, krakend_bins):
    """The fixture as it is: `ratio` is not in auth/validator's schema. configure names KrakenD's
    JSON path, exits 21, and leaves the file as it was, with no backup."""
    config = tmp_path / "krakend.json"
    shutil.copy(CONFIGS / "gateway.json", config)
    before = config.read_bytes()
    with pytest.raises(ConfigRefused) as refused:
        configure(config, [Placement("server", "geo")], krakend=Krakend(str(krakend_bins["amd64-generic"])))
    assert "- at '/endpoints/1/extra_config/auth~1validator': additional properties 'ratio' not allowed" \
        in refused.value.message
    out = run([PYTHON, "-m", "krakend_tasks", "configure", "--type", "server", "--name", "geo", "--krakend-bin",
               str(krakend_bins["amd64-generic"])], tmp_path)
    assert out.returncode == 21 and "additional properties 'ratio' not allowed" in out.stderr, out.stderr
    assert "nothing was written" in out.stderr and "Traceback" not in out.stderr
    assert config.read_bytes() == before and not (tmp_path / "krakend.json.bak").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["krakend.json"]


def test_without_a_krakend_at_hand_it_says_so(tmp_path):
    shutil.copy(CONFIGS / "gateway.json", tmp_path / "krakend.json")
    out = run([PYTHON, "-m", "krakend_tasks", "configure", "--type", "server", "--name", "geo"], tmp_path,
              env={"PATH": str(Path(PYTHON).parent) + ":/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    assert "not linted: no KrakenD at hand" in out.stdout
