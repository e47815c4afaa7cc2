from pathlib import Path

import pytest

from krakend_tasks.core.golang.gomod import read_go_mod, read_go_sum
from krakend_tasks.errors import GoModuleError

SHARED = Path(__file__).resolve().parent / "data" / "krakend"  # copies of ../shared/krakend
GO_MOD = """// a comment
module example.com/p // trailing

go 1.25.3

toolchain go1.25.12

require github.com/a/b v1.2.3

require (
	github.com/c/d v0.1.0 // indirect
	"github.com/e/f" v2.0.0+incompatible
	github.com/g/h v0.0.0-20240101000000-abcdef123456 // indirect; comment
)

replace github.com/a/b => github.com/fork/b v1.2.4

replace (
	github.com/c/d v0.1.0 => ../local/d
)

exclude github.com/x/y v1.0.0

retract [v1.0.0, v1.0.5]

godebug (
	default=go1.21
)
"""


def test_go_mod(tmp_path):
    path = tmp_path / "go.mod"
    path.write_text(GO_MOD)
    mod = read_go_mod(path)
    assert (mod.module, mod.go, mod.toolchain) == ("example.com/p", "1.25.3", "go1.25.12")
    assert {r.path: (r.version, r.indirect) for r in mod.requires.values()} == {
        "github.com/a/b": ("v1.2.3", False),
        "github.com/c/d": ("v0.1.0", True),
        "github.com/e/f": ("v2.0.0+incompatible", False),
        "github.com/g/h": ("v0.0.0-20240101000000-abcdef123456", True),
    }
    assert mod.indirect() == {"github.com/c/d", "github.com/g/h"}
    assert mod.replacement("github.com/a/b", "v1.2.3").new_version == "v1.2.4"
    assert mod.replacement("github.com/c/d", "v0.1.0").is_local
    assert mod.replacement("github.com/c/d", "v0.2.0") is None
    assert mod.excludes == [("github.com/x/y", "v1.0.0")]


def test_real_krakend_files():
    mod = read_go_mod(SHARED / "go.mod.v2.13.8")
    assert mod.module == "github.com/krakend/krakend-ce/v2"
    assert mod.requires["github.com/luraproject/lura/v2"].version == "v2.14.2-0.20260316170719-6d79b4ef723b"
    versions = read_go_sum(SHARED / "go.sum.v2.13.8")
    assert versions["github.com/gin-gonic/gin"] == "v1.12.0"
    assert len(versions) > 300


def test_go_sum_highest_version_and_go_mod_lines(tmp_path):
    path = tmp_path / "go.sum"
    path.write_text(
        "github.com/a/b v1.2.0 h1:x=\n"
        "github.com/a/b v1.10.0/go.mod h1:y=\n"
        "github.com/a/b v1.9.0 h1:z=\n"
        "github.com/c/d v1.0.0-rc.1 h1:z=\n"
        "github.com/c/d v1.0.0 h1:z=\n"
        "\n"
    )
    assert read_go_sum(path) == {"github.com/a/b": "v1.10.0", "github.com/c/d": "v1.0.0"}


@pytest.mark.parametrize(("text", "line", "what"), [
    ("module m\nrequire (\n  github.com/a/b\n)\n", 3, "usage: require"),
    ("module m\ngo banana\n", 2, "invalid go version"),
    ("module m\nrequire github.com/a/b 1.2.3\n", 2, "invalid version"),
    ("module m\nfrobnicate x\n", 2, "unknown directive"),
    ("module m\nreplace a b\n", 2, "usage: replace"),
])
def test_go_mod_errors_name_file_and_line(tmp_path, text, line, what):
    path = tmp_path / "go.mod"
    path.write_text(text)
    with pytest.raises(GoModuleError) as err:
        read_go_mod(path)
    assert f"{path}:{line}: " in str(err.value) and what in str(err.value)
    assert err.value.exit_code == 3


def test_go_mod_structure_errors(tmp_path):
    path = tmp_path / "go.mod"
    path.write_text("module m\nrequire (\n")
    with pytest.raises(GoModuleError, match="block is not closed"):
        read_go_mod(path)
    path.write_text("go 1.22\n")
    with pytest.raises(GoModuleError, match="no module directive"):
        read_go_mod(path)
    with pytest.raises(GoModuleError, match="not found"):
        read_go_mod(tmp_path / "missing" / "go.mod")


@pytest.mark.parametrize("line", ["github.com/a/b", "github.com/a/b v1.0.0", "github.com/a/b vX h1:a=",
                                  "github.com/a/b  v1.0.0 h1:a=", "github.com/a/b v1.0.0 md5:abc"])
def test_malformed_go_sum(tmp_path, line):
    path = tmp_path / "go.sum"
    path.write_text("github.com/ok/ok v1.0.0 h1:a=\n" + line + "\n")
    with pytest.raises(GoModuleError, match=f"{path}:2: malformed go.sum line"):
        read_go_sum(path)
