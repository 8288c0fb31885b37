"""The package as users get it: the built wheel installs into a clean venv and runs.

One test on purpose (it costs a build and an install, several seconds); `twine check` of the wheel
and sdist is a release step (README, Packaging), not repeated here.
"""

from __future__ import annotations

import json
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from tests.support.cli import REPO, clean_env

pytestmark = pytest.mark.e2e


def test_the_built_wheel_installs_in_a_clean_venv_and_runs(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(REPO)],
                           capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    (wheel,) = dist.glob("gridctl-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        meta = zf.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert not any(n.startswith(("tests/", "bench/")) for n in names)  # only the package ships
    assert "gridctl/py.typed" in names and any(n.endswith("licenses/LICENSE") for n in names)
    assert "Requires-Python: >=3.11" in meta and "License-Expression: MIT" in meta
    assert "Description-Content-Type: text/markdown" in meta

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)  # no site-packages of ours: the wheel must bring its dependencies
    bin_dir = env_dir / ("Scripts" if sys.platform == "win32" else "bin")
    # this pip installs into that venv (pip --python): no ensurepip, and nothing compiled ahead that one run
    # does not import (the two cost as much as the install itself on this 2-core machine)
    installed = subprocess.run([sys.executable, "-m", "pip", "--python", str(bin_dir / "python"), "install", "-q",
                                "--no-compile", str(wheel)], capture_output=True, text=True, timeout=600)
    assert installed.returncode == 0, installed.stderr
    env = clean_env()
    env.pop("PYTHONPATH")  # the installed copy, not this checkout
    ran = subprocess.run([str(bin_dir / "gridctl"), "doctor", "--emulate", "healthy", "--json"], capture_output=True,
                         text=True, timeout=120, env=env, cwd=str(tmp_path))
    assert ran.returncode == 0, ran.stdout + ran.stderr
    doc = json.loads(ran.stdout)
    assert doc["ok"] is True and doc["command"] == "doctor"
    where = subprocess.run([str(bin_dir / "python"), "-c", "import gridctl; print(gridctl.__file__)"],
                           capture_output=True, text=True, timeout=60, env=env, cwd=str(tmp_path))
    assert where.stdout.startswith(str(env_dir)), where
