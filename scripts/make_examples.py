"""Regenerate examples/submissions/ (a small class to try `deepgrade grade` on) from solutions/.

    python scripts/make_examples.py           # rewrite examples/submissions/
    python scripts/make_examples.py --check   # exit 1 if it is out of date with solutions/

The class follows solutions/, the mutant corpus and the alternatives automatically, part by part:
  alice/    a complete submission (a copy of solutions/): full marks
  bob/      a partial one: the first half of the exercises done, the rest still stubs
  carol/    typical bugs: every other exercise has its first mutant from tests/mutants/
  dave.zip  zipped, inside a top folder: the first correct alternative of each exercise (full marks)
"""

from __future__ import annotations

import argparse
import ast
import io
import shutil
import sys
import tempfile
import textwrap
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader import registry  # noqa: E402
from grader.instructor.build import _MARKER, strip_solutions  # noqa: E402
from tests.corpus import alternatives, mutants, replace_definitions  # noqa: E402

SOLUTIONS = ROOT / "solutions"
DEST = ROOT / "examples" / "submissions"
_STAMP = (2024, 1, 1, 0, 0, 0)


def _parts() -> list[str]:
    return [p for p in registry.PARTS if (SOLUTIONS / f"{p}.py").is_file()]


def _exercises() -> list[registry.Exercise]:
    return [e for e in registry.all_exercises() if e.part in _parts()]


def _solution_files() -> dict[str, str]:
    return {f"{p}.py": (SOLUTIONS / f"{p}.py").read_text() for p in _parts()}


def _text(lines: list[str], node: ast.AST) -> str:
    """Whole source lines of a definition, decorators included, indentation kept."""
    start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    return "".join(lines[start - 1 : node.end_lineno])


def _definitions(source: str, names: tuple[str, ...]) -> str:
    """The definitions ``names`` of ``source`` (top-level names, or ``Class.method``), as source text."""
    tree, lines = ast.parse(source), source.splitlines(keepends=True)
    chunks = []
    for node in tree.body:
        if not isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            continue
        if node.name in names:
            chunks.append(_text(lines, node))
        elif isinstance(node, ast.ClassDef):
            methods = [
                m
                for m in node.body
                if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef)) and f"{node.name}.{m.name}" in names
            ]
            if methods:  # a class holding only these methods, merged into the stub class
                chunks.append(f"class {node.name}:\n" + "".join(_text(lines, m) for m in methods))
    return "\n\n".join(chunks)


def partial() -> dict[str, str]:
    """The first half of the exercises done; the rest are the stubs students start from."""
    exercises = _exercises()
    done = exercises[: (len(exercises) + 1) // 2]
    files = {}
    for name, solution in _solution_files().items():
        part = name[:-3]
        names = tuple(f for e in done if e.part == part for f in e.functions)
        text = strip_solutions(solution, part)
        if names:
            helpers = tuple(n for n in _top_names(solution) if n.startswith("_"))
            text = replace_definitions(text, _definitions(solution, names + helpers), merge=True)
        files[name] = text
    return _unmarked(files)


def _unmarked(files: dict[str, str]) -> dict[str, str]:
    """Without the solution markers (a student's file has none)."""
    return {
        name: "".join(line for line in text.splitlines(keepends=True) if not _MARKER.match(line))
        for name, text in files.items()
    }


def _top_names(source: str) -> list[str]:
    return [n.name for n in ast.parse(source).body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]


def apply(files: dict[str, str], variants: list) -> dict[str, str]:
    for v in variants:
        if v.file in files:
            files[v.file] = replace_definitions(files[v.file], textwrap.dedent(v.source), v.merge)
    return _unmarked(files)


def buggy() -> dict[str, str]:
    """Every other exercise carries its first realistic mutant (the ones tests/mutants/ must catch)."""
    first = {}
    for m in mutants():
        first.setdefault(m.exercise, m)
    ids = [e.id for e in _exercises()]
    return apply(_solution_files(), [first[i] for i in ids[::2] if i in first])


def alternative() -> dict[str, str]:
    first = {}
    for a in alternatives():
        first.setdefault(a.exercise, a)
    return apply(_solution_files(), [first[e.id] for e in _exercises() if e.id in first])


def _zip(files: dict[str, str], top: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(files):
            info = zipfile.ZipInfo(f"{top}/{name}", _STAMP)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, files[name])
    return buf.getvalue()


def write(dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    for student, files in (("alice", _solution_files()), ("bob", partial()), ("carol", buggy())):
        (dest / student).mkdir()
        for name, text in files.items():
            (dest / student / name).write_text(text)
    (dest / "dave.zip").write_bytes(_zip(alternative(), "dave"))


def _snapshot(folder: Path) -> dict[str, bytes]:
    """Every file's content; a zip by its members (zlib output may differ between versions)."""
    out: dict[str, bytes] = {}
    for p in sorted(folder.rglob("*")):
        if not p.is_file() or "__pycache__" in p.parts:
            continue
        rel = p.relative_to(folder).as_posix()
        if p.suffix == ".zip":
            with zipfile.ZipFile(p) as zf:
                out.update({f"{rel}!{n}": zf.read(n) for n in sorted(zf.namelist())})
        else:
            out[rel] = p.read_bytes()
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="exit 1 if examples/submissions is out of date")
    p.add_argument("--dest", type=Path, default=DEST, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / "submissions"
        write(fresh)
        if args.check:
            if not args.dest.is_dir() or _snapshot(fresh) != _snapshot(args.dest):
                print(f"{args.dest} is out of date: run python scripts/make_examples.py", file=sys.stderr)
                return 1
            print(f"{args.dest} is up to date")
            return 0
        shutil.rmtree(args.dest, ignore_errors=True)
        args.dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(fresh, args.dest)
    print(f"wrote {args.dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
