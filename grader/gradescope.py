"""Build a Gradescope autograder: a zip with setup.sh, run_autograder and the grader's source.

Gradescope unpacks the zip into ``/autograder/source``, runs ``setup.sh`` once to build the image, then
``run_autograder`` for each submission; it reads ``/autograder/results/results.json``.  The root is
``$DEEPGRADE_AUTOGRADER_ROOT`` when set (the tests run it against a fake tree).
"""
from __future__ import annotations

import re
import shlex
import stat
import tomllib
import zipfile
from pathlib import Path

from grader import reference

ROOT = reference.ROOT
_STAMP = (2024, 1, 1, 0, 0, 0)
TORCH_INDEX = "https://download.pytorch.org/whl/cpu"

SETUP = """#!/usr/bin/env bash
# Gradescope runs this once, when it builds the autograder image.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
if ! command -v python3 >/dev/null || ! python3 -m pip --version >/dev/null 2>&1; then
    apt-get update && apt-get install -y python3 python3-pip
fi
# torch from its CPU index: the default wheel pulls gigabytes of CUDA libraries
python3 -m pip install --no-cache-dir {torch} --index-url {index}
python3 -m pip install --no-cache-dir {deps}
"""

RUN = """#!/usr/bin/env bash
# Gradescope runs this for each submission: grade $ROOT/submission, write $ROOT/results/results.json.
set -euo pipefail
ROOT="${{DEEPGRADE_AUTOGRADER_ROOT:-/autograder}}"
PY="${{DEEPGRADE_PYTHON:-python3}}"
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
cd "$ROOT/source"
"$PY" -m grader grade "$ROOT/submission" --student submission --out "$OUT" --jobs 1 --quiet {options}
mkdir -p "$ROOT/results"
cp "$OUT/students/submission/results.json" "$ROOT/results/results.json"
"""


def dependencies(pyproject: Path = ROOT / "pyproject.toml") -> tuple[str, list[str]]:
    """(the torch requirement, every other requirement) from pyproject.toml."""
    deps = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    torch = [d for d in deps if re.match(r"torch\b", d)]
    return (torch[0] if torch else "torch"), [d for d in deps if d not in torch and not d.startswith("watchfiles")]


def _add(zf: zipfile.ZipFile, name: str, data: bytes, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, _STAMP)
    info.external_attr = ((stat.S_IFREG | (0o755 if executable else 0o644)) << 16)
    info.compress_type = zipfile.ZIP_DEFLATED
    zf.writestr(info, data)


def build(out: Path, *, exercises: list[str], examples: int, publish_hidden: bool = False) -> list[str]:
    """Write the autograder zip; returns its member names."""
    if not reference.available():
        raise FileNotFoundError("the Gradescope autograder needs the reference solutions (solutions/)")
    from grader import registry

    torch, deps = dependencies()
    deps += sorted({r for e in registry.select(exercises) for r in e.requires} - {"torch"})  # e.g. keras
    options = [f"--examples={examples}"] + [f"--only={e}" for e in exercises]
    if publish_hidden:
        options.append("--publish-hidden")
    files: dict[str, tuple[bytes, bool]] = {
        "setup.sh": (SETUP.format(torch=shlex.quote(torch), index=TORCH_INDEX,
                                  deps=" ".join(shlex.quote(d) for d in deps)).encode(), True),
        "run_autograder": (RUN.format(options=" ".join(shlex.quote(o) for o in options)).encode(), True),
        "pyproject.toml": ((ROOT / "pyproject.toml").read_bytes(), False),
    }
    for folder, pattern in (("grader", "*"), ("solutions", "*.py")):  # the grader's data too (known answers)
        for p in sorted((ROOT / folder).rglob(pattern)):
            if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc":
                files[p.relative_to(ROOT).as_posix()] = (p.read_bytes(), False)
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w") as zf:
        for name, (data, executable) in files.items():
            _add(zf, name, data, executable)
    return list(files)
