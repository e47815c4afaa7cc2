"""The wheel a user installs holds what the package reads at run time: its type marker, the Go
sources it builds (the loader, bench's driver with its go.mod and go.sum), the scaffold and the data."""

from __future__ import annotations

import subprocess
import sys
import zipfile

from .conftest import ROOT
from .test_docs import scratch_copy


def test_the_wheel_holds_the_type_marker_and_every_data_file(tmp_path):
    source = scratch_copy(tmp_path / "source")  # the build writes build/ and *.egg-info beside its sources
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), str(source)],
                   check=True, capture_output=True)
    names = set(zipfile.ZipFile(next(tmp_path.glob("*.whl"))).namelist())
    data = {str(p.relative_to(ROOT)) for p in (ROOT / "krakend_tasks" / "data").rglob("*")
            if p.is_file() and "__pycache__" not in p.parts}
    assert "krakend_tasks/py.typed" in names
    assert {"krakend_tasks/data/go/bench/main.go", "krakend_tasks/data/go/bench/go.sum"} <= names
    assert data <= names, sorted(data - names)
