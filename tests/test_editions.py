"""The editions: the `edition` setting, KrakenD Enterprise's data only from an EE binary or image
(none exists here: every binary below is the real KrakenD CE 2.13.8, and the tests say so), and the
middleware plugin type built, loaded and judged for real."""

import json
import shutil
from pathlib import Path

import pytest

from krakend_tasks.core.krakend.releases import resolve
from krakend_tasks.core.project.settings import load_settings
from krakend_tasks.core.targets import parse_target
from krakend_tasks.core.workflows.scaffold import new
from krakend_tasks.errors import ConfigError, EditionMismatch

from .conftest import PYTHON, ROOT, VERSION, build_in, krakend, run

GENERIC = parse_target("amd64-generic")
SIGNATURE = ("RegisterMiddlewares(func(string, func(map[string]interface {}, func(context.Context, interface {}) "
             "(interface {}, error)) func(context.Context, interface {}) (interface {}, error)))")


def test_enterprise_names_its_images_and_never_takes_ces_data(tmp_path):
    """edition = "ee": builder-ee and krakend-ee images of the version named; Go unknown, so what
    needs it says both ways to give it; a range or `latest` is no Enterprise version."""
    loaded = load_settings(tmp_path, edition="ee", version="2.13")
    assert loaded.release.edition == "ee" and loaded.release.go == ""
    assert loaded.release.name == "KrakenD Enterprise 2.13"
    assert loaded.recipe(GENERIC).image == "krakend/builder-ee:2.13-linux-generic"
    assert loaded.recipe(parse_target("arm64-alpine")).image == "krakend/builder-ee:2.13"
    assert loaded.krakend_image == "krakend/krakend-ee" and loaded.official_image is None
    assert load_settings(tmp_path, edition="ee", version="3.0").release.loads_plugins  # EE 3 loads plugins
    with pytest.raises(EditionMismatch, match=r"--krakend-bin PATH.*--image IMAGE, e.g. krakend/krakend-ee:2.13"):
        load_settings(tmp_path, edition="ee", version="2.13", data_for="check")
    with pytest.raises(ConfigError, match="KrakenD Enterprise's releases are not listed here"):
        load_settings(tmp_path, edition="ee")  # latest
    own = load_settings(tmp_path, edition="ee", version="2.13", builder="registry.example.com/ee/builder")
    assert own.recipe(GENERIC).image == "registry.example.com/ee/builder:2.13-linux-generic"


@pytest.mark.parametrize(("given", "said"), [("EE", "did you mean 'ee'?"), ("enterprise", "did you mean 'ee'?"),
                                             ("community", "did you mean 'ce'?"), ("cee", "did you mean")])
def test_an_edition_spelt_otherwise_says_which_it_is(tmp_path, given, said):
    for source in ("flag", "environment", "file"):
        if source == "file":
            (tmp_path / "krakend-tasks.toml").write_text(f'edition = "{given}"\n')
        args = ["--edition", given] if source == "flag" else []
        env = {"KRAKEND_TASKS_EDITION": given} if source == "environment" else {}
        out = run([PYTHON, "-m", "krakend_tasks", "matrix", *args], tmp_path, env=env)
        assert out.returncode == 2 and said in out.stderr and "Traceback" not in out.stderr, (source, out.stderr)


def test_enterprise_with_a_ce_binary_says_which_edition_the_binary_is(tmp_path, krakend_bins):
    """The real KrakenD CE 2.13.8 given as the EE binary: refused, named as what it is (exit 20)."""
    shutil.copytree(ROOT / "examples" / "hello-plugin", tmp_path / "p")
    out = run([PYTHON, "-m", "krakend_tasks", "check", "--edition", "ee", "--krakend-bin",
               str(krakend_bins["amd64-generic"])], tmp_path / "p")
    assert out.returncode == 20, out.stderr
    assert "is KrakenD CE 2.13.8 (github.com/krakend/krakend-ce/v2), not KrakenD Enterprise" in out.stderr
    out = run([PYTHON, "-m", "krakend_tasks", "build", "--edition", "ee", "--version", "2.13"], tmp_path / "p")
    assert out.returncode == 20 and "--krakend-bin PATH" in out.stderr and "--image IMAGE" in out.stderr
    assert not (tmp_path / "p" / "dist").exists()


@pytest.fixture(scope="module")
def middleware(tmp_path_factory, cross):
    """The middleware scaffold, built for amd64-generic against KrakenD CE 2.13.8's data (how a
    middleware plugin can be built here: no EE binary exists on these machines)."""
    project = tmp_path_factory.mktemp("mw") / "stamp"
    new(project, "middleware", release=resolve(VERSION))
    said: list[str] = []
    [artifact] = build_in(load_settings(project, edition="ce", version=VERSION, engine="local",
                                        targets="amd64-generic"), log=said.append)
    return project, project / "dist" / artifact.path, said


def test_the_middleware_scaffold_builds_and_says_ce_never_loads_it(middleware):
    project, _, said = middleware
    toml = (project / "krakend-tasks.toml").read_text()
    assert 'edition = "ee"' in toml and 'version = "2.13"' in toml
    assert not (project / ".github").exists()  # the CI workflow builds with CE's data: not written
    config = json.loads((project / "krakend.json").read_text())
    assert config["endpoints"][0]["extra_config"]["plugin/middleware"] == {
        "name": ["stamp"], "stamp": {"header": "X-Krakend-Plugin"}}
    assert any("exports MiddlewareRegisterer only, which KrakenD CE never looks up" in line for line in said), said
    unit = run(["go", "test", "./..."], project)
    assert unit.returncode == 0, unit.stdout + unit.stderr


def test_the_loader_checks_the_middleware_as_enterprise_calls_it(middleware, krakend_bins):
    """The Go loader opens the real plugin, looks MiddlewareRegisterer up and calls it; the real
    KrakenD CE never looks it up (its test-plugin has no flag for it): said as such."""
    project, plugin, _ = middleware
    base = [PYTHON, "-m", "krakend_tasks", "test-load", "--edition", "ce", "--version", VERSION, "--json"]
    loaded = run([*base, "--type", "middleware", str(plugin)], project)
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    [row] = json.loads(loaded.stdout)["plugins"]
    assert row["checks"][0]["kind"] == "MIDDLEWARE" and row["checks"][0]["detail"] == "registered: stamp"
    in_ce = run([*base, "--type", "middleware", "--krakend-bin", str(krakend_bins["amd64-generic"]), str(plugin)],
                project)
    assert in_ce.returncode == 1
    [row] = json.loads(in_ce.stdout)["plugins"]
    assert row["checks"][0]["detail"] == ("KrakenD CE never looks up MiddlewareRegisterer: only KrakenD Enterprise "
                                          "loads a middleware plugin")
    real = krakend(krakend_bins, "amd64-generic", "test-plugin", "-s", "-c", "-m", str(plugin))
    assert real.returncode == 1 and "does not contain a HandlerRegisterer" in real.stderr
    smoke = run([PYTHON, "-m", "krakend_tasks", "smoke", "--edition", "ce", "--version", VERSION, "--krakend-bin",
                 str(krakend_bins["amd64-generic"])], project)
    assert smoke.returncode == 20 and "only KrakenD Enterprise loads such a plugin" in smoke.stderr, smoke.stderr


def test_a_mistyped_middleware_signature_is_named_with_the_expected_one(tmp_path, cross):
    """RegisterMiddlewares whose factory lacks `next`: the loader's verdict names both signatures."""
    project = tmp_path / "bad"
    new(project, "middleware", release=resolve(VERSION))
    main = project / "main.go"
    source = main.read_text()
    wrong = source.replace(
        "factory func(map[string]interface{}, func(context.Context, interface{}) (interface{}, error)) "
        "func(context.Context, interface{}) (interface{}, error),",
        "factory func(map[string]interface{}) func(context.Context, interface{}) (interface{}, error),")
    wrong = wrong.replace("f(string(r), r.middleware)", "f(string(r), func(map[string]interface{}) func("
                          "context.Context, interface{}) (interface{}, error) { return nil })")
    assert wrong.count("func(map[string]interface{}) func(") == 2
    main.write_text(wrong)
    (project / "main_test.go").unlink()
    [artifact] = build_in(load_settings(project, edition="ce", version=VERSION, engine="local",
                                        targets="amd64-generic"))
    out = run([PYTHON, "-m", "krakend_tasks", "test-load", "--edition", "ce", "--version", VERSION, "--type",
               "middleware", str(project / "dist" / artifact.path)], project)
    assert out.returncode == 1
    assert f"want {SIGNATURE}" in out.stdout.replace("\n", " "), out.stdout
    assert ("have RegisterMiddlewares(func(string, func(map[string]interface {}) func(context.Context, interface {}) "
            "(interface {}, error)))") in out.stdout.replace("\n", " "), out.stdout


def test_enterprise_release_read_from_a_binary_refuses_a_ce_one(krakend_bins):
    """editions.enterprise on the real CE binary: EditionMismatch, the binary's version as it says it."""
    from krakend_tasks.core.krakend.editions import enterprise

    with pytest.raises(EditionMismatch, match=r"binary .* is KrakenD CE 2\.13\.8"):
        enterprise("2.13", krakend_bin=str(krakend_bins["amd64-generic"]))


def test_middleware_goes_on_an_endpoint_or_a_backend(tmp_path):
    from krakend_tasks.core.workflows.configure import Placement, configure

    config = tmp_path / "krakend.json"
    shutil.copy(ROOT / "tests" / "data" / "configs" / "gateway.json", config)
    configure(config, [Placement("middleware", "stamp", endpoint="/v1/orders", method="POST"),
                       Placement("middleware", "count", endpoint="/v1/products/{id}", backend=1,
                                 settings={"key_prefix": "c"})])
    data = json.loads(config.read_text())
    assert data["endpoints"][1]["extra_config"]["plugin/middleware"] == {"name": ["stamp"], "stamp": {}}
    assert data["endpoints"][0]["backend"][1]["extra_config"]["plugin/middleware"] == {
        "name": ["count"], "count": {"key_prefix": "c"}}


def test_the_docs_say_which_editions_are_served_on_the_first_screen():
    first = "\n".join((ROOT / "README.md").read_text().splitlines()[:25])
    assert "KrakenD CE 2." in first and "Enterprise" in first and "3.0" in first
    assert Path(ROOT / "docs" / "editions.md").is_file()
