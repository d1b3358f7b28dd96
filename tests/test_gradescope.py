"""deepgrade gradescope: the zip holds the course secret and only what the graded parts need; run_autograder
grades in bubblewrap, or at `limits` only after proving the student's uid cannot open the private files, and
otherwise writes a results.json (score 0) that says why it refused."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest

from grader import reference, registry, runner
from grader.checks import plans
from grader.cli import main
from grader.instructor import autograder as gradescope
from grader.instructor import batch
from grader.isolation import sandbox
from grader.registry import HIDDEN_SUFFIX
from tests.adversarial.gradescope import thief
from tests.batchkit import ROOT, complete
from tests.corpus import solution_lines

SECRET = b"the gradescope test course secret"
ATTACKED, BYSTANDER, EXAMPLES = "neuron.sigmoid", "neuron.relu", 3
ONLY = [ATTACKED, BYSTANDER]
POINTS = {e: registry.get(e).points for e in ONLY}


@pytest.fixture(scope="module")
def autograder_zip(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("gradescope")
    (folder / "secret").write_bytes(SECRET + b"\n")
    zpath = folder / "autograder.zip"
    assert (
        main(
            [
                "gradescope",
                *ONLY,
                "--out",
                str(zpath),
                "--examples",
                str(EXAMPLES),
                "--secret-file",
                str(folder / "secret"),
            ]
        )
        == 0
    )
    return zpath


@pytest.fixture
def autograder(autograder_zip):
    """``make(neuron=None)``: a fresh /autograder tree from the zip, world-traversable like Gradescope's (the
    worker's unprivileged uid must reach the grader's child.py), with a complete submission in one top folder;
    ``neuron`` replaces its neuron.py (a callable gets the tree's root)."""
    roots: list[Path] = []

    def make(neuron=None) -> Path:
        root = Path(tempfile.mkdtemp(prefix="deepgrade-autograder-", dir="/tmp" if os.path.isdir("/tmp") else None))
        os.chmod(root, 0o755)
        roots.append(root)
        with zipfile.ZipFile(autograder_zip) as zf:
            zf.extractall(root / "source")
        sub = complete(root / "submission" / "hw")  # a student's zip unpacked by Gradescope: one top folder
        if neuron is not None:
            (sub / "neuron.py").write_text(neuron(root) if callable(neuron) else neuron)
        return root

    yield make
    for root in roots:
        shutil.rmtree(root, ignore_errors=True)


def run_script(root: Path, path: str | None = None, python: str = sys.executable) -> tuple[str, dict]:
    env = dict(os.environ, DEEPGRADE_AUTOGRADER_ROOT=str(root), DEEPGRADE_PYTHON=python)
    if path is not None:
        env["PATH"] = path
    done = subprocess.run(
        ["bash", str(root / "source" / "run_autograder")], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return done.stdout, json.loads((root / "results" / "results.json").read_text())


def path_without_bwrap(tmp_path: Path) -> str:
    """A PATH with every program of /usr/bin and /usr/sbin but bubblewrap."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for folder in ("/usr/bin", "/usr/sbin", "/bin", "/sbin"):
        if os.path.isdir(folder) and not os.path.islink(folder):
            for name in os.listdir(folder):
                if name != "bwrap" and not (bin_dir / name).exists():
                    (bin_dir / name).symlink_to(Path(folder, name))
    return str(bin_dir)


def assert_attack_blocked(doc: dict, blocked_by: str) -> None:
    """0 on the attacked exercise, full marks on the honest bystander, and nothing private in results.json."""
    text = json.dumps(doc)
    attacked = [t for t in doc["tests"] if t["name"].startswith(ATTACKED)]
    honest = [t for t in doc["tests"] if t["name"].startswith(BYSTANDER)]
    assert attacked and {t["score"] for t in attacked} == {0}
    assert honest and {t["status"] for t in honest} == {"passed"} and doc["score"] == POINTS[BYSTANDER]
    assert any(t["name"].endswith(HIDDEN_SUFFIX) for t in honest)  # the hidden checks ran, with the zip's secret
    assert f"ATTACK solutions={blocked_by} secret={blocked_by} plans={blocked_by}" in text  # looked in the right place
    assert SECRET.decode() not in text and "SECRET=" not in text and "PLANS=" not in text
    assert not [ln for ln in solution_lines("neuron") if ln in text]


# --------------------------------------------------------------------------- the zip
def test_the_zip_holds_the_secret_and_only_what_the_graded_parts_need(autograder_zip, tmp_path):
    with zipfile.ZipFile(autograder_zip) as zf:
        names = set(zf.namelist())
        assert zf.read(gradescope.SECRET).strip() == SECRET
        assert stat.S_IMODE(zf.getinfo(gradescope.SECRET).external_attr >> 16) == 0o600
        assert zf.getinfo("run_autograder").external_attr >> 16 & stat.S_IXUSR
        assert json.loads(zf.read(gradescope.CONFIG))["exercises"] == ONLY
        setup = zf.read("setup.sh").decode()
        assert os.environ["DEEPGRADE_SECRET"].encode() not in b"".join(zf.read(n) for n in names)
    assert {
        "setup.sh",
        "run_autograder",
        "pyproject.toml",
        "grader/cli.py",
        "grader/isolation/worker/child.py",
    } <= names
    assert "bubblewrap" in setup and "--index-url https://download.pytorch.org/whl/cpu --extra-index-url" in setup
    assert "constraints.txt" in names and setup.count("-c constraints.txt") == 2  # the versions CI tested
    assert "'torch>=" in setup and "watchfiles" not in setup and "copydetect" not in setup and "'packaging>=" in setup
    assert {n for n in names if n.startswith("solutions/")} == {"solutions/neuron.py"}
    assert {n for n in names if n.startswith("grader/known/")} == {f"grader/known/{e}.npz" for e in ONLY}
    # the check plans of every property check, public and hidden, recorded from the reference: private
    shipped = [n for n in names if n.startswith(gradescope.PLANS + "/") and n.endswith(".npz")]
    torch_checks = [(e, c) for e in map(registry.get, ONLY) for c in e.checks if plans.is_answered(c.run)]
    assert any(c.hidden for _, c in torch_checks)
    for ex, c in torch_checks:  # at the very names run_autograder will look them up by
        key = plans.Key(ex.id, c.name, *runner._draws(ex, c, EXAMPLES, 0, SECRET), plans.reference_key(ex.id, True))
        assert key.path(Path(gradescope.PLANS)).as_posix() in shipped, c.name
    with zipfile.ZipFile(autograder_zip) as zf:
        assert {stat.S_IMODE(zf.getinfo(n).external_attr >> 16) for n in shipped} == {0o600}

    (tmp_path / "secret").write_bytes(SECRET)
    zpath = tmp_path / "cnn.zip"  # cnn.conv has no prerequisites, but solutions/cnn.py imports neuron and optim
    assert (
        main(["gradescope", "cnn.conv", "--out", str(zpath), "--secret-file", str(tmp_path / "secret"), "--no-plans"])
        == 0
    )
    with zipfile.ZipFile(zpath) as zf:
        names = set(zf.namelist())
    assert {n for n in names if n.startswith("solutions/")} == {f"solutions/{p}.py" for p in ("cnn", "neuron", "optim")}
    assert {n for n in names if n.startswith("grader/known/")} == {"grader/known/cnn.conv.npz"}
    assert not [n for n in names if n.startswith(gradescope.PLANS)]
    assert gradescope.solution_parts(["train.loop"]) == ["neuron", "losses", "backprop", "optim", "train"]


def test_the_shipped_solutions_suffice_for_every_exercise(tmp_path, monkeypatch):
    """Each exercise's reference (its part and its prerequisites') imports from only the parts the zip ships."""
    tried: dict[tuple[str, ...], Path] = {}
    for ex in registry.all_exercises():
        if ex.requires:  # keras: 25 s to import; solutions/keras_model.py imports no other part
            continue
        parts = tuple(gradescope.solution_parts([ex.id]))
        if parts not in tried:
            folder = tried[parts] = tmp_path / f"s{len(tried)}"
            folder.mkdir()
            for part in parts:
                shutil.copy(reference.SOLUTIONS / f"{part}.py", folder)
            assert reference.available(folder)
        for part in {ex.part, *(p.part for p in registry.prerequisite_closure(ex))}:
            reference.module(part, tried[parts])  # raises if a part it imports is missing
    assert len(tried) > 3


def test_gradescope_rejects_bad_options(tmp_path, capsys):
    assert main(["gradescope", "--out", str(tmp_path / "x.tar")]) == 2
    assert main(["gradescope", "no.such", "--out", str(tmp_path / "a.zip")]) == 2
    assert main(["gradescope", "--out", str(tmp_path / "a.zip"), "--secret-file", str(tmp_path / "none")]) == 2
    assert "no course secret at" in capsys.readouterr().err
    assert not (ROOT / "a.zip").exists() and not (tmp_path / "a.zip").exists()


# --------------------------------------------------------------------------- run_autograder grades
@pytest.mark.skipif(not sandbox.bwrap_works(), reason="bubblewrap cannot run here")
def test_with_bubblewrap_it_grades_in_the_sandbox(autograder):
    out, doc = run_script(autograder(thief))
    assert "grading at isolation sandbox" in out
    assert_attack_blocked(doc, "FileNotFoundError")  # neither file is in the sandbox's root


@pytest.mark.skipif(os.geteuid() != 0, reason="the limits fallback hides files by ownership: needs root")
def test_without_bubblewrap_it_proves_the_files_private_then_grades_at_limits(autograder, tmp_path):
    path = path_without_bwrap(tmp_path)
    root = autograder(thief)
    out, doc = run_script(root, path=path)
    assert "grading at isolation limits" in out and "private files unreadable" in out
    assert_attack_blocked(doc, "PermissionError")  # there, but not for the student's uid
    source = root / "source"
    plan = next((source / gradescope.PLANS).rglob("*.npz"))
    for private in (
        source / "solutions",
        source / "solutions" / "neuron.py",
        source / gradescope.SECRET,
        source / gradescope.PLANS,
        plan.parent,
        plan,
    ):
        st = private.stat()
        assert st.st_uid == 0 and stat.S_IMODE(st.st_mode) == (0o700 if private.is_dir() else 0o600), private


# --------------------------------------------------------------------------- run_autograder refuses
@pytest.fixture
def no_grading(monkeypatch):
    """Record any attempt to grade; bubblewrap unusable, so only `limits` (with its proof) is possible."""
    calls: list = []
    monkeypatch.setattr(batch, "run_batch", lambda *a, **k: calls.append(a) or [])
    monkeypatch.setattr(sandbox, "bwrap_works", lambda: False)
    return calls


def refused(root: Path) -> str:
    doc = json.loads((root / "results" / "results.json").read_text())
    assert doc["score"] == 0 and doc["visibility"] == "visible" and doc["tests"] == []
    assert doc["output"].startswith("deepgrade refused to grade")
    return doc["output"]


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to get as far as the proof")
@pytest.mark.parametrize("leak", ["course-secret", "solutions/neuron.py"])
def test_refuses_when_the_proof_finds_a_private_file_readable(autograder, no_grading, monkeypatch, leak):
    root = autograder()
    lock_down = gradescope._lock_down

    def careless(root_: Path, private: list[Path]) -> None:  # the test-only fault: one file left world-readable
        lock_down(root_, private)
        for p in [root_ / "source" / leak, *(root_ / "source" / leak).parents]:
            if p == root_ / "source":
                break
            os.chmod(p, 0o755 if p.is_dir() else 0o644)

    monkeypatch.setattr(gradescope, "_lock_down", careless)
    assert gradescope.run_autograder(root) == 0
    why = refused(root)
    assert f"could open {root / 'source' / leak}" in why and "0o644" in why
    assert not no_grading


def test_refuses_when_not_root_and_without_bubblewrap(autograder, no_grading, monkeypatch):
    root = autograder()
    monkeypatch.setattr(gradescope, "_is_root", lambda: False)
    gradescope.run_autograder(root)
    assert "bubblewrap cannot run here and the autograder is not root" in refused(root)
    assert not no_grading


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to get as far as the proof")
def test_refuses_when_the_worker_would_not_drop_to_another_uid(autograder, no_grading, monkeypatch):
    root = autograder()
    monkeypatch.setattr(sandbox, "_worker_uid", lambda: None)  # e.g. setpriv missing: it would run as root
    gradescope.run_autograder(root)
    why = refused(root)
    assert "the worker ran as uid 0" in why and "could open" in why
    assert not no_grading


def test_refuses_a_zip_whose_secret_is_missing_or_short(autograder, no_grading):
    root = autograder()
    (root / "source" / gradescope.SECRET).write_text("short\n")
    gradescope.run_autograder(root)
    assert "shorter than 16" in refused(root) and gradescope.SECRET in refused(root)
    (root / "source" / gradescope.SECRET).unlink()
    gradescope.run_autograder(root)
    assert "no course secret at" in refused(root)
    assert not no_grading


def test_the_script_fails_closed_when_python_cannot_start(autograder):
    root = autograder()
    (root / "results").mkdir()
    (root / "results" / "results.json").write_text('{"score": 100}')  # stale: must not survive
    out, doc = run_script(root, python="/bin/false")
    assert doc["score"] == 0 and "could not start" in doc["output"] and doc["visibility"] == "visible"


def test_dependencies_are_read_as_requirements_not_text(tmp_path):
    """The torch requirement is found by its (normalized) name, markers and extras kept; ``torchvision`` or a
    name that merely starts with "torch" is another package."""
    (tmp_path / "pyproject.toml").write_text(
        '[project]\ndependencies = ["Torch >= 2.3; python_version >= \'3.11\'", "torchvision>=0.18",\n'
        '"numpy>=1.26", "WatchFiles>=0.21", "rich[jupyter]>=13"]\n'
    )
    torch, others = gradescope.dependencies(tmp_path / "pyproject.toml")
    assert torch == 'Torch>=2.3; python_version >= "3.11"'
    assert others == ["torchvision>=0.18", "numpy>=1.26", "rich[jupyter]>=13"]
