import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from krakend_tasks.core.krakend.releases import resolve
from krakend_tasks.core.project.schema import RECIPE_KEYS, scalars
from krakend_tasks.core.project.settings import load_settings
from krakend_tasks.core.targets import ALL_TARGETS, parse_target
from krakend_tasks.errors import ConfigError

SCALARS = scalars()

EMPTY = Path(tempfile.mkdtemp(prefix="kt-settings-"))  # a project folder with no settings file


def write_pyproject(root: Path, body: str) -> None:
    (root / "pyproject.toml").write_text(body)


def test_defaults(tmp_path, monkeypatch):
    for var in ("VERSION", "ENGINE", "TARGETS", "BUILDER"):
        monkeypatch.delenv(f"KRAKEND_TASKS_{var}", raising=False)
    s = load_settings(tmp_path)
    assert (s.release, s.engine, s.targets, s.builder) == (resolve("latest"), "auto", ALL_TARGETS, "krakend/builder")
    assert s.dist_dir == tmp_path / "dist"


def test_precedence_arguments_over_env_over_file(tmp_path, monkeypatch):
    write_pyproject(tmp_path, '[tool.krakend-tasks]\nversion = "2.12"\nengine = "local"\ntargets = ["arm64"]\n')
    monkeypatch.delenv("KRAKEND_TASKS_VERSION", raising=False)
    s = load_settings(tmp_path)
    assert (s.release.version, s.engine, [t.name for t in list(s.targets)]) == (
        "2.12.1", "local", ["arm64-alpine", "arm64-generic"])
    monkeypatch.setenv("KRAKEND_TASKS_VERSION", "2.11")
    assert load_settings(tmp_path).release.version == "2.11.2"
    assert load_settings(tmp_path, version="2.10").release.version == "2.10.2"
    assert load_settings(tmp_path, version=None).release.version == "2.11.2"


def test_own_file_and_per_target_overrides(tmp_path):
    (tmp_path / "krakend-tasks.toml").write_text(
        'builder = "registry.example/krakend-builder"\n'
        '[target.aarch64-musl]\nimage = "mine:1"\ncc = "my-cc"\nenv = { CGO_CFLAGS = "-O2" }\n'
        '[target.amd64-generic]\nldflags = "-s -w"\n'
    )
    s = load_settings(tmp_path, version="2.13.8")
    r = s.recipe(parse_target("arm64-alpine"))
    assert r.image == "mine:1"
    assert r.environment(on_host=False)["CC"] == "my-cc"
    assert r.environment(on_host=False)["CGO_CFLAGS"] == "-O2"
    assert r.linker_flags(on_host=False) == "-extldflags=-fuse-ld=bfd -extld=my-cc"
    assert s.recipe(parse_target("amd64-generic")).linker_flags(on_host=True) == "-s -w"
    assert s.recipe(parse_target("arm64-generic")).image == "registry.example/krakend-builder:2.13.8-linux-generic"


@pytest.mark.parametrize(("body", "message"), [
    ("[tool.krakend-tasks\nversion=", "cannot parse"),
    ('[tool.krakend-tasks]\nflavour = "x"\n', "unknown setting 'flavour'"),
    ('[tool.krakend-tasks.target.amd64-alpine]\nimg = "x"\n', "unknown setting 'target.amd64-alpine.img'"),
    ('[tool.krakend-tasks.target.sparc-alpine]\nimage = "x"\n', "unknown target 'sparc-alpine'"),
    ('[tool.krakend-tasks]\nversion = "2.99"\n', "unknown KrakenD version '2.99'"),
])
def test_bad_files(tmp_path, body, message):
    write_pyproject(tmp_path, body)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_settings(tmp_path)


JSON_LIKE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8)
KEYS = st.sampled_from(sorted(SCALARS | {"target"})) | st.text(max_size=8)
TARGETS = st.dictionaries(st.sampled_from(["amd64-alpine", "arm64", "aarch64-musl", "sparc"]),
                          st.dictionaries(st.sampled_from(sorted(RECIPE_KEYS)) | st.text(max_size=4), JSON_LIKE,
                                          max_size=3) | JSON_LIKE, max_size=2)


@settings(max_examples=300, deadline=None)
@given(values=st.dictionaries(KEYS, JSON_LIKE, max_size=4), overrides=st.none() | TARGETS)
def test_settings_of_any_shape_load_or_raise_a_config_error(values, overrides):
    """Random values of every type, as the Python API, invoke.yaml or a TOML file could give them:
    either settings that work, or a ConfigError; never another exception."""
    if overrides is not None:
        values = {**values, "target": overrides}
    try:
        loaded = load_settings(EMPTY, **values)
    except ConfigError as exc:
        assert exc.message and exc.hint
        return
    for target in list(loaded.targets):
        recipe = loaded.recipe(target)
        assert isinstance(recipe.image, str) and all(isinstance(v, str) for v in recipe.env.values())


@settings(max_examples=200, deadline=None)
@given(variables=st.dictionaries(st.sampled_from(sorted(SCALARS)) | st.text("ABCXYZ_", min_size=1, max_size=6),
                                 st.text(max_size=12).filter(lambda v: "\0" not in v), max_size=3))
def test_environment_variables_of_any_value_load_or_raise_a_config_error(variables):
    names = {f"KRAKEND_TASKS_{k.upper()}": v for k, v in variables.items()}
    saved = {k: v for k, v in os.environ.items() if k.startswith("KRAKEND_TASKS_")}
    for k in saved:
        del os.environ[k]
    os.environ.update(names)
    try:
        assert load_settings(EMPTY).targets
    except ConfigError as exc:
        assert exc.message and exc.hint
    finally:
        for k in names:
            os.environ.pop(k, None)
        os.environ.update(saved)


def test_loading_every_setting_never_crashes_the_interpreter(tmp_path):
    """msgspec 0.22 segfaults at exit when a schema has two string-or-list unions; Raw has one.
    The crash comes in about a third of the runs: fifteen fresh interpreters catch it, each with a
    cache of its own (settings that passed once are not checked again)."""
    import subprocess
    import sys

    (tmp_path / "krakend-tasks.toml").write_text(
        'version = "2.12,2.13"\ntargets = ["arm64"]\ntags = ["a"]\nbuild_flags = ["-v"]\npass_env = ["X"]\n'
        'netrc = false\n[target.arm64-alpine]\ntags = ["b"]\nenv = { A = "1" }\n')
    code = f"from krakend_tasks.core.project.settings import load_settings; load_settings({str(tmp_path)!r})"
    statuses = [subprocess.run([sys.executable, "-c", code],
                               env={**os.environ, "XDG_CACHE_HOME": str(tmp_path / str(n))}).returncode
                for n in range(15)]
    assert statuses == [0] * 15


@pytest.fixture
def declared_setting():
    """A throwaway setting, declared through `declare_setting` alone (taken back afterwards)."""
    from krakend_tasks.core.project import setting_table

    before = list(setting_table.SETTINGS)
    setting_table.declare_setting(setting_table.Setting(
        "log_colour", "choice", "`plain`", "how the gateway's log is coloured", hint="one of: plain, rainbow",
        choices=("plain", "rainbow")))
    yield
    setting_table.SETTINGS[:] = before


def test_a_setting_is_declared_once(tmp_path, monkeypatch, declared_setting):
    """The file, the environment and the option take the declared setting (into Settings.extra), a
    misspelling of it gets a did-you-mean, its errors give its hint, and the docs' table and invoke's
    configuration name it."""
    from krakend_tasks.core.project import setting_table
    from krakend_tasks.invoke import setting_keys
    from krakend_tasks.options import BY_NAME, parse

    assert load_settings(tmp_path, log_colour="rainbow").extra == {"log_colour": "rainbow"}
    (tmp_path / "krakend-tasks.toml").write_text('log_colour = "plain"\n')
    assert load_settings(tmp_path).extra == {"log_colour": "plain"}
    monkeypatch.setenv("KRAKEND_TASKS_LOG_COLOUR", "rainbow")
    assert load_settings(tmp_path).extra == {"log_colour": "rainbow"}
    monkeypatch.delenv("KRAKEND_TASKS_LOG_COLOUR")
    assert parse(BY_NAME["build"], ["--log-colour", "rainbow"], "build") == {"log_colour": "rainbow"}
    (tmp_path / "krakend-tasks.toml").write_text('log_color = "plain"\n')
    with pytest.raises(ConfigError, match="unknown setting 'log_color': did you mean 'log_colour'"):
        load_settings(tmp_path)
    (tmp_path / "krakend-tasks.toml").write_text('log_colour = "grey"\n')
    with pytest.raises(ConfigError, match="not one of the choices") as wrong:
        load_settings(tmp_path)
    assert wrong.value.hint == "one of: plain, rainbow"
    monkeypatch.setenv("KRAKEND_TASKS_LOG_COLOR", "plain")
    with pytest.raises(ConfigError, match="did you mean 'KRAKEND_TASKS_LOG_COLOUR'"):
        load_settings(tmp_path / "elsewhere")
    assert "| `log_colour` | `plain` | how the gateway's log is coloured |" in setting_table.markdown()
    assert "log_colour" in setting_keys() and "log_colour" in scalars()


def test_the_docs_table_is_the_settings_table():
    from krakend_tasks.core.project.setting_table import markdown

    from .conftest import ROOT

    docs = (ROOT / "docs" / "configuration.md").read_text()
    block = docs.split("-->\n", 1)[1].split("<!-- settings:end -->", 1)[0] if "<!-- settings:begin" in docs else ""
    assert block == markdown(), "regenerate it: python -m krakend_tasks.core.project.setting_table"


