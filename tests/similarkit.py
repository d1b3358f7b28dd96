"""A synthetic class for the similarity flags (tests/test_similarity.py, benchmarks/bench_similarity.py).

*Authors* write their own code: author 0 is the reference (``solutions/``); author ``j`` ≥ 1 starts from the
stubs and writes, for each exercise, its ``j``-th correct alternative from ``tests/alternatives`` (an exercise
with fewer alternatives stays a stub).  No two authors share an implementation of any exercise.  *Copies* of
an author are made by the usual disguises: renamed variables, reordered functions, changed comments and
whitespace (or none: an exact copy).
"""

from __future__ import annotations

import ast
import io
import random
import textwrap
import tokenize
from collections import defaultdict
from pathlib import Path

from grader.registry import PARTS
from tests.corpus import ROOT, SOLUTIONS, alternatives, replace_definitions

STUBS = ROOT / "assignments"
DISGUISES = ("exact", "renamed", "reordered", "comments")


def author(j: int) -> dict[str, str]:
    """Author ``j``'s files: ``{"neuron.py": source, ...}`` (only the parts in which they wrote something)."""
    if j == 0:
        return {f"{p}.py": (SOLUTIONS / f"{p}.py").read_text() for p in PARTS}
    by_exercise = defaultdict(list)
    for alt in alternatives():
        by_exercise[alt.exercise].append(alt)
    files: dict[str, str] = {}
    for alts in by_exercise.values():
        if len(alts) < j:
            continue
        alt = alts[j - 1]
        text = files.get(alt.file) or (STUBS / alt.file).read_text()
        files[alt.file] = replace_definitions(text, textwrap.dedent(alt.source), alt.merge)
    return files


def authors() -> int:
    """How many authors the alternatives allow (author 0 included)."""
    counts: dict[str, int] = defaultdict(int)
    for alt in alternatives():
        counts[alt.exercise] += 1
    return 1 + max(counts.values())


# --------------------------------------------------------------------------- disguises
def _tokens(source: str) -> list[tokenize.TokenInfo]:
    return list(tokenize.generate_tokens(io.StringIO(source).readline))


def renamed(source: str, seed: int = 0) -> str:
    """Every parameter and local variable of every function renamed (``x`` → ``x_k3``), the code otherwise
    unchanged: what a student who copies and "makes it their own" does."""
    tree = ast.parse(source)
    top = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    imported = {
        a.asname or a.name.split(".")[0]
        for n in ast.walk(tree)
        if isinstance(n, (ast.Import, ast.ImportFrom))
        for a in n.names
    }
    local: set[str] = set()
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            local |= {a.arg for a in (*fn.args.posonlyargs, *fn.args.args, *fn.args.kwonlyargs)}
            local |= {n.id for n in ast.walk(fn) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    local -= top | imported | {"self", "cls"}
    rng = random.Random(seed)
    new = {name: f"{name}_{rng.choice('abcdefgh')}{rng.randrange(10)}" for name in sorted(local)}
    out = []
    for tok in _tokens(source):
        out.append(tok._replace(string=new.get(tok.string, tok.string)) if tok.type == tokenize.NAME else tok)
    return tokenize.untokenize(out)


def reordered(source: str, seed: int = 0) -> str:
    """The top-level functions and classes in another order (each keeps its leading comments)."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    defs = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
    if len(defs) < 2:
        return source
    spans = []
    for n in defs:
        start = min([n.lineno] + [d.lineno for d in n.decorator_list]) - 1
        spans.append((start, n.end_lineno or start + 1))
    head = "".join(lines[: spans[0][0]])
    tail = "".join(lines[spans[-1][1] :])
    chunks = ["".join(lines[a:b]) for a, b in spans]
    between = ["".join(lines[spans[i][1] : spans[i + 1][0]]) for i in range(len(spans) - 1)]
    order = list(range(len(chunks)))
    random.Random(seed).shuffle(order)
    if order == sorted(order):
        order.reverse()
    body = "".join(chunks[i] + (between[k] if k < len(between) else "\n\n") for k, i in enumerate(order))
    return head + body + tail


def recommented(source: str, seed: int = 0) -> str:
    """Comments removed, others added, blank lines and spaces changed: the code's tokens unchanged."""
    rng = random.Random(seed)
    out = []
    for tok in _tokens(source):
        if tok.type == tokenize.COMMENT:
            continue
        out.append((tok.type, tok.string))
    text = tokenize.untokenize(out)  # compat mode: its own spacing
    lines = []
    for line in text.splitlines():
        lines.append(line.rstrip() + " " * rng.randrange(3))
        stripped = line.strip()
        if stripped.startswith(("def ", "for ", "if ")) and stripped.endswith(":"):
            indent = line[: len(line) - len(line.lstrip())] + "    "
            lines += ["", f"{indent}# step {rng.randrange(100)}: my own approach"]
    return "\n".join(lines) + "\n"


def disguise(files: dict[str, str], how: str, seed: int = 0) -> dict[str, str]:
    """A copy of ``files`` disguised as ``how`` (one of :data:`DISGUISES`)."""
    change = {"exact": lambda s, _: s, "renamed": renamed, "reordered": reordered, "comments": recommented}[how]
    return {name: change(text, seed) for name, text in files.items()}


def write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder
