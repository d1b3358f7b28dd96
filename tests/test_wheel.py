"""deepgrade installs like a Python tool: ``python -m build`` makes an sdist and a wheel that ``twine check``
accepts, neither holds a line of the reference solutions, and the wheel, installed into a fresh virtual
environment, gives a student their exercises (``deepgrade init``) and checks them with nothing else set up."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

from grader.instructor import release

ROOT = Path(__file__).resolve().parent.parent
pytest.importorskip("build", reason="build is in the dist dependency group: pip install --group dist")
pytest.importorskip("twine", reason="twine is in the dist dependency group: pip install --group dist")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dists(tmp_path_factory) -> dict[str, Path]:
    """The sdist and the wheel, built from a copy of the checkout (the build writes into its source)."""
    tmp = tmp_path_factory.mktemp("dist")
    src = tmp / "src"
    shutil.copytree(
        ROOT,
        src,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", "gradebook", "out"
        ),
    )
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(tmp / "out"), str(src)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    found = {p.suffix: p for p in (tmp / "out").iterdir()}
    return {"sdist": found[".gz"], "wheel": found[".whl"]}


def test_twine_accepts_both(dists):
    proc = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *map(str, dists.values())],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_neither_archive_holds_reference_code(dists, tmp_path):
    wheel, sdist = tmp_path / "wheel", tmp_path / "sdist"
    with zipfile.ZipFile(dists["wheel"]) as zf:
        zf.extractall(wheel)
    with tarfile.open(dists["sdist"]) as tf:
        tf.extractall(sdist, filter="data")
    (top,) = sdist.iterdir()
    assert {p.name for p in top.iterdir()} >= {"grader", "assignments", "pyproject.toml", "constraints.txt"}
    assert not {"solutions", "tests", "examples"} & {p.name for p in top.iterdir()}
    stubs = sorted(p.name for p in (wheel / "grader" / "assignments").glob("*.py"))
    assert stubs == sorted(p.name for p in (ROOT / "assignments").glob("*.py"))  # deepgrade init's source
    catalogs = sorted(str(p.relative_to(wheel)) for p in (wheel / "grader" / "locale").rglob("*.mo"))
    assert catalogs == [f"grader/locale/{lang}/LC_MESSAGES/deepgrade.mo" for lang in ("en", "zh_CN")]
    for folder in (wheel, sdist):
        assert release.leaks(folder, ROOT / "solutions", ROOT / "assignments") == [], folder.name
    # the same test finds a reference line where one is
    (wheel / "grader" / "assignments" / "neuron.py").write_text((ROOT / "solutions" / "neuron.py").read_text())
    assert release.leaks(wheel, ROOT / "solutions", ROOT / "assignments")


def test_the_installed_wheel_inits_and_checks_a_students_folder(dists, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    # the wheel's dependencies come from this environment (no download); its own editable grader does not
    site = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(site, "deps-of-the-test-environment.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [str(py), "-m", "pip", "install", "--quiet", "--no-deps", str(dists["wheel"])], check=True, timeout=300
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    home = tmp_path / "student"
    home.mkdir()

    def deepgrade(*args: str, cwd: Path = home) -> subprocess.CompletedProcess:
        return subprocess.run(["deepgrade", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)

    where = subprocess.run(
        [str(py), "-c", "import grader; print(grader.__file__)"],
        cwd=home,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert where.startswith(site), where  # the installed wheel, not this checkout
    assert deepgrade("init").returncode == 0
    work = home / "deepgrade-exercises"
    assert sorted(p.name for p in (work / "assignments").glob("*.py")) == sorted(
        p.name for p in (ROOT / "assignments").glob("*.py")
    )
    assert (work / "README.md").is_file() and (work / ".gitignore").is_file()

    proc = deepgrade("check", "neuron.relu", "--examples", "3", "--json", cwd=work)
    assert proc.returncode == 1 and json.loads(proc.stdout)["exercises"][0]["status"] == "not_implemented"
    (work / "assignments" / "neuron.py").write_text((ROOT / "solutions" / "neuron.py").read_text())
    proc = deepgrade("check", "neuron", "--examples", "3", "--json", cwd=work)
    doc = json.loads(proc.stdout)
    assert proc.returncode == 0 and doc["score"] == doc["max_score"] > 0, proc.stdout[-2000:] + proc.stderr

    progress = deepgrade("progress", cwd=work)  # the self-learner's commands need no set-up either
    assert progress.returncode == 0 and "neuron" in progress.stdout, progress.stdout + progress.stderr
    hint = deepgrade("hint", "neuron.relu", cwd=work)
    assert hint.returncode == 0 and "relu_forward" in hint.stdout, hint.stdout + hint.stderr
    zh = deepgrade("hint", "neuron.relu", "--lang", "zh", cwd=work)  # the compiled catalogs came with the wheel
    assert zh.returncode == 0 and "ReLU 激活函数" in zh.stdout, zh.stdout + zh.stderr

    again = deepgrade("init")  # a second init keeps the student's work
    assert again.returncode == 2 and "nothing was written" in again.stderr
    assert (work / "assignments" / "neuron.py").read_text() == (ROOT / "solutions" / "neuron.py").read_text()
