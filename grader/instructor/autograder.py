"""A Gradescope autograder: :func:`build` writes the zip, :func:`run_autograder` grades one submission with it.

Gradescope unpacks the zip into ``/autograder/source``, runs ``setup.sh`` once to build the image, then
``run_autograder`` for each submission; it reads ``/autograder/results/results.json``.  The root is
``$DEEPGRADE_AUTOGRADER_ROOT`` when set (the tests run it against a fake tree).

The zip holds the grader, the course secret (``course-secret``: hidden checks get the course's seeds), the
reference solutions of the graded parts and of what they build on, and the known answers of the graded
exercises.  :func:`run_autograder` fails closed: it grades only where the student's process provably
cannot open the solutions or the secret, and otherwise writes a results.json (score 0) saying why.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import tomllib
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from grader import reference
from grader.checks import plans
from grader.reference import solution_parts

ROOT = reference.ROOT
_STAMP = (2024, 1, 1, 0, 0, 0)
TORCH_INDEX = "https://download.pytorch.org/whl/cpu"
PYPI_INDEX = "https://pypi.org/simple"
#: Members of the zip (in /autograder/source): what to grade, and the course secret.
CONFIG, SECRET = "deepgrade-autograder.json", "course-secret"
#: The exact versions deepgrade is tested with (the README's commands and CI install with it too).
CONSTRAINTS = "constraints.txt"
#: The check plans in the zip (see ``grader.checks.plans.SHIPPED``).
PLANS = "grader/plans"

SETUP = """#!/usr/bin/env bash
# Gradescope runs this once, when it builds the autograder image.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
# bubblewrap: the sandbox run_autograder grades in (without it, it must prove the fallback safe, or refuse)
apt-get update && apt-get install -y --no-install-recommends bubblewrap util-linux
if ! command -v python3 >/dev/null || ! python3 -m pip --version >/dev/null 2>&1; then
    apt-get install -y python3 python3-pip
fi
cd "$(dirname "$0")"
# the versions deepgrade was tested with (constraints.txt); torch's CPU build from its index: the default
# wheel pulls gigabytes of CUDA libraries that a grader without a GPU never uses (its dependencies, at the
# pinned versions, may be only on PyPI; the CPU build, 2.13.0+cpu, ranks above PyPI's 2.13.0)
python3 -m pip install --no-cache-dir -c constraints.txt {torch} --index-url {index} --extra-index-url {pypi}
python3 -m pip install --no-cache-dir -c constraints.txt {deps}
"""

RUN = """#!/usr/bin/env bash
# Gradescope runs this for each submission; grader.instructor.autograder.run_autograder decides how (or whether)
# to grade $ROOT/submission and writes $ROOT/results/results.json.
set -uo pipefail
ROOT="${DEEPGRADE_AUTOGRADER_ROOT:-/autograder}"
PY="${DEEPGRADE_PYTHON:-python3}"
export DEEPGRADE_SECRET_FILE="$ROOT/source/course-secret"
rm -f "$ROOT/results/results.json"
cd "$ROOT/source" && \\
    "$PY" -c 'import sys; from grader.instructor.autograder import main; sys.exit(main(sys.argv[1:]))' "$ROOT"
status=$?
if [ ! -s "$ROOT/results/results.json" ]; then  # Python itself failed: still fail closed, and say so
    mkdir -p "$ROOT/results"
    why="deepgrade refused to grade: the autograder could not start (exit $status); see the autograder output"
    printf '{"score": 0, "visibility": "visible", "tests": [], "output": "%s"}\\n' "$why" > "$ROOT/results/results.json"
fi
exit 0
"""


#: What grading one submission never needs: the file watcher of ``deepgrade watch``, the similarity flags of a
#: batch (``deepgrade grade``; copydetect is imported only there).
NOT_FOR_GRADING = {"watchfiles", "copydetect"}


def dependencies(pyproject: Path = ROOT / "pyproject.toml") -> tuple[str, list[str]]:
    """(the torch requirement, every other requirement grading needs) from pyproject.toml's dependencies.

    >>> torch, others = dependencies()
    >>> torch.startswith("torch>="), any(d.startswith("numpy") for d in others)
    (True, True)
    """
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    deps = [Requirement(d) for d in tomllib.loads(pyproject.read_text())["project"]["dependencies"]]
    torch = [str(d) for d in deps if canonicalize_name(d.name) == "torch"]
    others = [str(d) for d in deps if canonicalize_name(d.name) not in {"torch", *NOT_FOR_GRADING}]
    return (torch[0] if torch else "torch"), others


# --------------------------------------------------------------------------- what the zip holds
def _add(zf: zipfile.ZipFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = zipfile.ZipInfo(name, _STAMP)
    info.external_attr = (stat.S_IFREG | mode) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    zf.writestr(info, data)


def build(
    out: Path,
    *,
    exercises: list[str],
    examples: int,
    secret: bytes,
    publish_hidden: bool = False,
    with_plans: bool = True,
) -> list[str]:
    """Write the autograder zip (see the module docstring); returns its member names.  ``with_plans`` grades
    the reference once here and ships the check plans it records (``grader.checks.plans``)."""
    if not reference.available():
        raise FileNotFoundError("the Gradescope autograder needs the reference solutions (solutions/)")
    from grader import registry
    from grader.checks.known import KNOWN
    from grader.secret import _check

    secret = _check(secret, "the secret given")
    chosen = [e.id for e in registry.select(exercises)]
    torch, deps = dependencies()
    deps += sorted({r for e in registry.select(chosen) for r in e.requires} - {"torch"})  # e.g. keras
    config = {"exercises": chosen, "examples": examples, "publish_hidden": publish_hidden}
    files: dict[str, tuple[bytes, int]] = {
        "setup.sh": (
            SETUP.format(
                torch=shlex.quote(torch),
                index=TORCH_INDEX,
                pypi=PYPI_INDEX,
                deps=" ".join(shlex.quote(d) for d in deps),
            ).encode(),
            0o755,
        ),
        "run_autograder": (RUN.encode(), 0o755),
        "pyproject.toml": ((ROOT / "pyproject.toml").read_bytes(), 0o644),
        CONSTRAINTS: ((ROOT / CONSTRAINTS).read_bytes(), 0o644),
        CONFIG: (json.dumps(config, indent=1).encode() + b"\n", 0o644),
        SECRET: (secret + b"\n", 0o600),
    }
    known = KNOWN.resolve()
    for p in sorted((ROOT / "grader").rglob("*")):  # the grader's code whole; its known answers: only these
        if not p.is_file() or "__pycache__" in p.parts or p.suffix == ".pyc" or p.is_relative_to(plans.SHIPPED):
            continue
        if p.resolve().parent == known and p.suffix == ".npz" and p.stem not in chosen:
            continue
        files[p.relative_to(ROOT).as_posix()] = (p.read_bytes(), 0o644)
    for part in solution_parts(chosen):
        files[f"solutions/{part}.py"] = ((reference.SOLUTIONS / f"{part}.py").read_bytes(), 0o644)
    if with_plans:  # every check's plan, hidden ones included: each submission replays them (private, as the secret)
        with tempfile.TemporaryDirectory() as tmp:
            for f in plans.record(
                Path(tmp),
                reference.SOLUTIONS,
                registry.select(chosen),
                hidden=True,
                use_reference=True,
                examples=examples,
                secret=secret,
            ):
                files[f"{PLANS}/{f.relative_to(tmp).as_posix()}"] = (f.read_bytes(), 0o600)
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w") as zf:
        for name, (data, mode) in files.items():
            _add(zf, name, data, mode)
    return list(files)


# --------------------------------------------------------------------------- run_autograder
class Refusal(Exception):
    """Grading here would let the student's code read something private: why, for the instructor."""


def _is_root() -> bool:
    return os.geteuid() == 0


def private_paths(root: Path) -> list[Path]:
    """What the student's process must not open: the solutions and the check plans (folders and files) and the
    course secret."""
    source = root / "source"
    found = []
    for folder in (source / "solutions", source / PLANS):  # the plans hold the hidden checks' inputs
        found += [folder, *sorted(folder.rglob("*"))] if folder.is_dir() else []
    return found + [source / SECRET]


def _lock_down(root: Path, private: list[Path]) -> None:
    """As root: the tree belongs to root and only root writes it; private folders 0700, private files 0600."""
    source = root / "source"
    (root / "results").mkdir(parents=True, exist_ok=True)
    for path in [root, root / "results", source, *source.rglob("*")]:
        os.lchown(path, 0, 0)
        if not path.is_symlink():
            os.chmod(path, stat.S_IMODE(path.stat().st_mode) & ~0o022)
    os.chmod(root / "results", 0o755)
    for path in private:
        if path.is_symlink():
            raise Refusal(f"{path} is a symbolic link; the autograder zip has none")
        if path.exists():
            os.chmod(path, 0o700 if path.is_dir() else 0o600)


#: Run as the student's process would be: tries each operation, reports what happened (no student code).
PROBE = (
    "import json, os, sys\n"
    "spec = json.loads(sys.argv[1]); out = {'uid': os.getuid(), 'open': {}, 'list': {}, 'write': {}}\n"
    "def attempt(kind, path, act):\n"
    "    try:\n"
    "        act(path); out[kind][path] = 'ok'\n"
    "    except BaseException as exc:\n"
    "        out[kind][path] = type(exc).__name__\n"
    "def read(p):\n"
    "    with open(p, 'rb') as fh: fh.read(1)\n"
    "def write(p):\n"
    "    os.close(os.open(os.path.join(p, '.deepgrade-probe'), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))\n"
    "for kind, act in (('open', read), ('list', os.listdir), ('write', write)):\n"
    "    for p in spec[kind]: attempt(kind, p, act)\n"
    "print(json.dumps(out))\n"
)


def prove(root: Path, level: str, launcher: Any, private: list[Path], timeout: float = 120.0) -> str:
    """Run :data:`PROBE` through ``launcher`` and check that it cannot open, list or write what it must not
    (and, at ``limits``, that it is not root and can read the worker's own file).  Returns a one-line summary;
    raises :class:`Refusal` naming every failure."""
    from grader.isolation.worker.client import CHILD

    source = root / "source"
    spec = {
        "open": [str(p) for p in private if not p.is_dir()],
        "list": [str(p) for p in private if p.is_dir()],
        "write": [str(root), str(source), str(source / "grader"), str(root / "results")],
    }
    control = str(CHILD) if level == "limits" else None  # a file the worker must read: the probe ran as meant
    if control:
        spec["open"].append(control)
    empty = Path(tempfile.mkdtemp(prefix="deepgrade-probe-"))
    os.chmod(empty, 0o755)
    try:
        cmd, env = launcher([sys.executable, "-I", "-S", "-c", PROBE, json.dumps(spec)], empty, None)
        try:
            done = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
        except (OSError, subprocess.SubprocessError) as exc:
            raise Refusal(f"the permission probe could not run at isolation {level}: {exc}") from None
    finally:
        shutil.rmtree(empty, ignore_errors=True)
    try:
        report = json.loads(done.stdout[-(1 << 20) :])
        uid = int(report["uid"])
    except (ValueError, KeyError, TypeError):
        tail = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise Refusal(f"the permission probe failed at isolation {level} (exit {done.returncode}): {tail[0]}") from None
    # where bubblewrap hides a path it does not exist there; without it, only a permission error is proof
    denied = {"PermissionError"} | ({"FileNotFoundError"} if level == "sandbox" else set())
    verbs = {"open": "open", "list": "list", "write": "create a file in"}
    problems = []
    if level == "limits" and (uid == 0 or uid == os.geteuid()):
        problems.append(f"the worker ran as uid {uid}, not as an unprivileged user of its own")
    for kind, paths in spec.items():  # every path asked about must have been answered, and denied
        answers = report.get(kind) if isinstance(report.get(kind), dict) else {}
        for path in paths:
            what = str(answers.get(path, "no answer"))
            if path == control:
                if what != "ok":
                    problems.append(
                        f"the worker cannot read its own file {path} ({what}): make the folders "
                        f"above it world-traversable (o+x)"
                    )
            elif what not in denied:
                if kind == "write" and what == "ok":
                    Path(path, ".deepgrade-probe").unlink(missing_ok=True)
                mode = oct(stat.S_IMODE(os.lstat(path).st_mode)) if os.path.lexists(path) else "missing"
                problems.append(f"uid {uid} could {verbs[kind]} {path} ({what}; mode {mode})")
    if problems:
        raise Refusal("; ".join(problems))
    checked = sum(len(v) for v in spec.values())
    return f"{checked} permission probes as uid {uid} at isolation {level}: private files unreadable"


def choose(root: Path, private: list[Path]) -> tuple[str, Any, str]:
    """(isolation level, its launcher, the proof) for grading here; :class:`Refusal` if none is safe."""
    from grader.isolation import sandbox

    if _is_root():
        _lock_down(root, private)
    if sandbox.bwrap_works():
        level, launcher = "sandbox", sandbox.bwrap_launcher()
    elif _is_root():
        level, launcher = "limits", sandbox.limits_launcher(warn=False)
    else:
        raise Refusal(
            "bubblewrap cannot run here and the autograder is not root, so the solutions and the "
            "course secret cannot be hidden from the student's code (install bubblewrap in setup.sh, "
            "or run the autograder as root)"
        )
    return level, launcher, prove(root, level, launcher, private)


def _write(root: Path, doc: dict[str, Any]) -> None:
    results = root / "results"
    results.mkdir(parents=True, exist_ok=True)
    tmp = results / f".results.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(doc, indent=2, ensure_ascii=False))
    os.chmod(tmp, 0o644)
    os.replace(tmp, results / "results.json")


def refusal(reason: str) -> dict[str, Any]:
    """The results.json of a submission deepgrade refused to grade."""
    return {
        "score": 0.0,
        "execution_time": 0,
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [],
        "output": f"deepgrade refused to grade this submission: {reason}. Nothing was graded (deepgrade grades "
        "only where student code provably cannot read the reference solutions or the course "
        "secret); fix the autograder, then regrade.",
    }


def run_autograder(root: Path) -> int:
    """Grade ``root/submission`` into ``root/results/results.json`` where that is safe, else write a refusal."""
    from grader import registry
    from grader import secret as course_secret
    from grader.instructor import batch
    from grader.instructor.submissions import discover
    from grader.isolation.policy import GRADE_PENALTY
    from grader.reporters import gradescope as report

    root = Path(root).resolve()
    home = str(ROOT)
    if home not in sys.path:  # this grader stays importable from any cwd
        sys.path.insert(0, home)
    started = time.perf_counter()
    try:
        source = root / "source"
        config = json.loads((source / CONFIG).read_text())
        secret_file = os.environ.get(course_secret.ENV_FILE) or str(source / SECRET)
        try:
            secret = course_secret.load(secret_file)
        except course_secret.SecretError as exc:
            raise Refusal(f"{exc} (rebuild the zip with `deepgrade gradescope`)") from None
        level, _, proof = choose(root, private_paths(root))
        print(f"deepgrade: grading at isolation {level}; {proof}", flush=True)
        here = os.getcwd()
        with tempfile.TemporaryDirectory(prefix="deepgrade-gs-") as out:  # 0700: the grader's scratch (its cwd)
            os.chdir(out)
            try:
                outcomes = batch.run_batch(
                    discover([str(root / "submission")], student="submission"),
                    Path(out) / "out",
                    registry.select(config["exercises"]),
                    examples=int(config["examples"]),
                    jobs=1,
                    isolation=level,
                    publish_hidden=bool(config["publish_hidden"]),
                    forbidden_penalty=GRADE_PENALTY,
                    secret=secret,
                    class_page=False,  # one student, in a scratch folder: nobody would read it
                )
            finally:
                os.chdir(here)
        outcome = outcomes[0]
        if outcome.internal:
            raise Refusal(f"the grader failed: {outcome.result.error}")
        _write(root, report.document(outcome.result.redacted(bool(config["publish_hidden"]))))
    except Refusal as exc:
        print(f"deepgrade: refused to grade: {exc}", flush=True)
        _write(root, refusal(str(exc)))
    except Exception as exc:  # noqa: BLE001 - anything unexpected: refuse, never grade openly
        print(f"deepgrade: refused to grade: unexpected {type(exc).__name__}: {exc}", flush=True)
        _write(root, refusal(f"unexpected {type(exc).__name__}: {exc}"))
    print(f"deepgrade: done in {time.perf_counter() - started:.1f} s", flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``run_autograder``'s entry: ``python -c '...main(sys.argv[1:])' ROOT``."""
    args = list(sys.argv[1:] if argv is None else argv)
    return run_autograder(Path(args[0] if args else os.environ.get("DEEPGRADE_AUTOGRADER_ROOT", "/autograder")))
