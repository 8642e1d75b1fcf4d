"""A regular install works: the wheel carries its config, and `safestar` runs from an empty
folder (found: `pip install .` then `safestar demo` elsewhere failed, config/ was not packaged)."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOT_SHIPPED = shutil.ignore_patterns(".git", ".venv", "__pycache__", "build", "dist", "*.egg-info", "demo",
                                     "artifacts", ".pytest_cache", "tests", "bench", ".ci")


@pytest.mark.slow
def test_the_wheel_installs_and_rates_a_city_from_an_empty_folder(tmp_path):
    source = tmp_path / "src"
    shutil.copytree(ROOT, source, ignore=NOT_SHIPPED)
    pip = [sys.executable, "-m", "pip"]
    subprocess.run([*pip, "wheel", "--no-deps", "-q", "-w", str(tmp_path / "wheels"), str(source)],
                   check=True, capture_output=True, timeout=600)
    wheel = next((tmp_path / "wheels").glob("safestar-*.whl"))

    # A fresh venv that sees the test venv's dependencies (nothing is downloaded) but not
    # the project itself: the test venv's editable install is a .pth hook, not processed here.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                  check=True, capture_output=True, text=True).stdout.strip())
    (purelib / "_test_venv_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([*pip, "--python", str(python), "install", "-q", "--no-deps", "--no-index", str(wheel)],
                   check=True, capture_output=True, timeout=300)

    empty = tmp_path / "elsewhere"
    empty.mkdir()
    where = subprocess.run([str(python), "-c", "import config, pipelines; print(config.__file__); print(pipelines.__file__)"],
                           cwd=empty, check=True, capture_output=True, text=True).stdout.split()
    assert all(Path(p).is_relative_to(venv) for p in where), where  # the installed copy, not the checkout

    safestar = venv / "bin" / "safestar"
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8"}
    gen = subprocess.run([str(safestar), "generate", "--out", "city", "--compounds", "40", "--events", "500"],
                         cwd=empty, env=env, capture_output=True, text=True, timeout=600)
    assert gen.returncode == 0, gen.stderr[-2000:]
    as_of = json.loads((empty / "city" / "city.json").read_text(encoding="utf-8"))["first_as_of"]
    run = subprocess.run([str(safestar), "run", "--data", "city", "--as-of", as_of, "--out", "out", "--demo"],
                         cwd=empty, env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-2000:]
    assert (empty / "out" / as_of / "ratings.csv").exists()
    assert (empty / "out" / as_of / "report" / "index.html").exists()
