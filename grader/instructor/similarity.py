"""Similarity flags: which submissions of a batch share unusually much code (``OUT/similarity.json``).

The fingerprints are copydetect's (the winnowing of MOSS): the code is tokenized with Pygments and normalized
as copydetect does (names become ``V``, function names ``F``, class names ``O``, strings ``S``; whitespace and
comments are dropped), every k-gram of the normalized text is hashed with copydetect's ``hashed_kgrams``
(k = copydetect's noise threshold, 25), and the k-grams of the stubs in ``assignments/`` (the given code) are
boilerplate: they never count.  Two submissions are compared file by file (``neuron.py`` with ``neuron.py``);
``shared_a`` is the fraction of a's non-boilerplate code (normalized characters covered by its k-grams) that
is covered by k-grams b has too.

Three things are done here rather than through ``copydetect.CodeFingerprint``/``compare_files`` (0.5.0):
every k-gram is kept (window 1, copydetect's "guarantee = noise" setting), because winnowing keeps a window's
minimum of Python's ``hash()``, which differs from process to process, and the flags must not; the boilerplate
is removed with a set, because its ``np.intersect1d(..., assume_unique=True)`` also drops a student's repeated
k-grams; and each normalized character keeps its exact place in the file, because its offsets are wrong after
a class name and after the leading newlines Pygments strips, and the spans must point at the real text.

Student code is never imported nor run: a submission is unpacked as for grading
(:func:`grader.instructor.submissions.materialize`: no links, zip bombs and oversized contents refused) and
only its ``<part>.py`` files are read, each up to :data:`MAX_FILE_BYTES`.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from grader import reference
from grader.instructor.submissions import Submission, SubmissionError, materialize, read_file
from grader.registry import PARTS

#: The default of ``--similarity-threshold``: a pair is flagged when either student's code is at least this
#: fraction shared with the other's (docs/instructor.md gives the reasoning, docs/benchmarks.md the figures).
DEFAULT_THRESHOLD = 0.5
#: Length of the k-grams (normalized characters): copydetect's default noise threshold.
K = 25
#: A file bigger than this is left out of the comparison (the grader reads it, this does not).
MAX_FILE_BYTES = 64 * 1024  # an exercise file is a few KiB; a fingerprinted file costs ~300x its size in memory
#: The matching regions written for one file (the class page refuses a file of over 5,000).
MAX_SPANS = 1_000
#: A pair is flagged only if it shares at least this many normalized characters: two students who each
#: wrote one short function the same way are not a copy.
MIN_SHARED_CHARS = 200
#: At most this many pairs (the most similar) are written: each carries both students' files, and no one reads
#: more; a class that has more is flagged too low (raise ``--similarity-threshold``).
MAX_PAIRS = 500
FILE_NAME = "similarity.json"


def tool() -> str:
    import copydetect

    return f"copydetect {copydetect.__version__}"


# --------------------------------------------------------------------------- normalizing and fingerprinting
def normalize(code: str) -> tuple[str, np.ndarray, np.ndarray]:
    """copydetect's normalized text of Python ``code``, with each of its characters' place in ``code``:
    character ``i`` stands for ``code[lo[i]:hi[i]]``."""
    from pygments import token
    from pygments.lexers import PythonLexer

    variables = {token.Name, token.Name.Variable, token.Name.Attribute}
    out: list[str] = []
    lo: list[int] = []
    hi: list[int] = []
    at = 0
    # no newline stripped or added and no tab expanded: the tokens are ``code`` itself, cut into pieces
    for kind, text in PythonLexer(stripnl=False, ensurenl=False).get_tokens(code):
        end = at + len(text)
        if kind in variables:
            one = "V"
        elif kind in token.Name.Function:
            one = "F"
        elif kind in token.Name.Class:
            one = "O"
        elif kind in (token.Comment.Preproc, token.Comment.Hashbang):
            one = "P"
        elif kind in token.Text or kind in token.Comment:
            one = ""
        elif kind in token.Literal.String:
            one = '"' if text in ("'", '"') else "S"
        else:
            out.append(text)
            lo += range(at, end)
            hi += range(at + 1, end + 1)
            at = end
            continue
        if one:
            out.append(one)
            lo.append(at)
            hi.append(end)
        at = end
    return "".join(out), np.array(lo, dtype=np.int64), np.array(hi, dtype=np.int64)


def kgram_hashes(text: str) -> np.ndarray:
    """The hash of every k-gram of ``text`` (copydetect's ``hashed_kgrams``), one per position."""
    from copydetect.utils import hashed_kgrams

    if len(text) < K:
        return np.zeros(0, dtype=np.int64)
    return np.asarray(hashed_kgrams(text, K), dtype=np.int64)


def _coverage(starts: np.ndarray, n: int) -> np.ndarray:
    """Which of ``n`` characters the k-grams starting at ``starts`` cover."""
    edges = np.zeros(n + K + 1, dtype=np.int64)
    edges[starts] += 1  # the starts are distinct positions: no index repeats
    edges[starts + K] -= 1
    return np.cumsum(edges)[:n] > 0


@dataclass
class Document:
    """One file of one submission, fingerprinted."""

    name: str
    code: str
    lo: np.ndarray
    hi: np.ndarray
    hashes: np.ndarray  # the hash of each k-gram that is not boilerplate, by position
    starts: np.ndarray  # its position
    keys: frozenset[int]
    unique: np.ndarray  # the keys, sorted
    own: int  # normalized characters covered by non-boilerplate k-grams: the denominator of "shared"

    @classmethod
    def of(cls, name: str, code: str, boilerplate: frozenset[int]) -> Document:
        text, lo, hi = normalize(code)
        hashes = kgram_hashes(text)
        starts = np.arange(len(hashes), dtype=np.int64)
        if boilerplate and len(hashes):
            mine = np.fromiter((h not in boilerplate for h in hashes.tolist()), dtype=bool, count=len(hashes))
            hashes, starts = hashes[mine], starts[mine]
        own = int(_coverage(starts, len(text)).sum())
        return cls(name, code, lo, hi, hashes, starts, frozenset(hashes.tolist()), np.unique(hashes), own)

    def shared_with(self, other: Document) -> np.ndarray:
        """Which normalized characters are covered by k-grams ``other`` has too."""
        return _coverage(self.starts[np.isin(self.hashes, other.unique, assume_unique=False)], len(self.lo))

    def spans(self, covered: np.ndarray) -> list[list[int]]:
        """The covered characters as ``[start, end]`` character offsets in :attr:`code`; at most
        :data:`MAX_SPANS` of them (more are joined across their smallest gaps: a file made of thousands of
        pasted fragments must not make the class page refuse the whole document)."""
        padded = np.concatenate([[False], covered, [False]]).astype(np.int8)
        change = np.flatnonzero(np.diff(padded))
        spans = [[int(self.lo[s]), int(self.hi[e - 1])] for s, e in zip(change[::2], change[1::2])]
        if len(spans) <= MAX_SPANS:
            return spans
        gaps = np.array([b[0] - a[1] for a, b in zip(spans, spans[1:])])
        breaks = set(np.argsort(gaps, kind="stable")[len(gaps) - (MAX_SPANS - 1) :].tolist())  # the widest gaps
        joined, current = [], spans[0]
        for i, nxt in enumerate(spans[1:]):
            if i in breaks:
                joined.append(current)
                current = nxt
            else:
                current = [current[0], nxt[1]]
        return [*joined, current]


def boilerplate(folder: Path | None = None) -> frozenset[int]:
    """The k-gram hashes of the stubs (``assignments/``, or the wheel's copy): the code every student is given."""
    folder = reference.stubs() if folder is None else folder
    found: set[int] = set()
    for part in PARTS:
        path = folder / f"{part}.py"
        if path.is_file():
            found.update(kgram_hashes(normalize(path.read_text(encoding="utf-8"))[0]).tolist())
    return frozenset(found)


# --------------------------------------------------------------------------- reading submissions
@dataclass
class Student:
    name: str
    files: dict[str, Document] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)  # why a file or the whole submission was left out

    @property
    def own(self) -> int:
        return sum(d.own for d in self.files.values())


def read_code(sub: Submission) -> tuple[dict[str, str], list[str]]:
    """The ``<part>.py`` files of a submission as text (unpacked as for grading, never run), and what was
    left out and why.  A submission that cannot be unpacked has no files."""
    work = Path(tempfile.mkdtemp(prefix="deepgrade-similarity-"))
    try:
        try:
            root = materialize(sub.path, work / "copy")
        except SubmissionError as exc:
            return {}, [str(exc)]
        code: dict[str, str] = {}
        skipped: list[str] = []
        for part in PARTS:
            path = root / f"{part}.py"
            if not path.is_file():
                continue
            try:
                data = read_file(path, max_bytes=MAX_FILE_BYTES)
            except SubmissionError:
                skipped.append(f"{part}.py is over {MAX_FILE_BYTES // 1024} KiB")
                continue
            # Pygments reads \r\n as \n: the stored text is the one the spans are in
            code[f"{part}.py"] = data.decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n")
        return code, skipped
    finally:
        shutil.rmtree(work, ignore_errors=True)


def load(subs: Iterable[Submission], bp: frozenset[int]) -> list[Student]:
    """Every submission read and fingerprinted.  The same text is fingerprinted once (a stub left as it was, an
    exact copy): a :class:`Document` is never changed."""
    students = []
    seen: dict[tuple[str, str], Document] = {}
    for sub in subs:
        code, skipped = read_code(sub)
        files = {}
        for name, text in code.items():
            if (name, text) not in seen:
                seen[name, text] = Document.of(name, text, bp)
            files[name] = seen[name, text]
        students.append(Student(sub.student, files, skipped))
    return students


# --------------------------------------------------------------------------- comparing
@dataclass
class Pair:
    """Two students who share code: how much, and in which files (where is found again by :meth:`entry`: a large
    class has thousands of such pairs, too many to keep every mask)."""

    a: Student
    b: Student
    shared_a: float  # the fraction of a's own code that b has too
    shared_b: float
    chars: int  # normalized characters shared: the larger of the two students' counts
    files: list[str]

    def flagged(self, threshold: float) -> bool:
        """Enough code shared, by either student's measure."""
        return self.chars >= MIN_SHARED_CHARS and max(self.shared_a, self.shared_b) >= threshold

    def entry(self) -> dict[str, Any]:
        """The pair in ``similarity.json``."""
        files = []
        for name in self.files:
            da, db = self.a.files[name], self.b.files[name]
            files.append(
                {
                    "name": name,
                    "code_a": da.code,
                    "code_b": db.code,
                    "spans_a": da.spans(da.shared_with(db)),
                    "spans_b": db.spans(db.shared_with(da)),
                }
            )
        return {
            "a": self.a.name,
            "b": self.b.name,
            "shared_a": self.shared_a,
            "shared_b": self.shared_b,
            "files": files,
        }


def compare(a: Student, b: Student) -> Pair | None:
    """What ``a`` and ``b`` share, file by file, or None if nothing."""
    files, in_a, in_b = [], 0, 0
    for name in sorted(a.files.keys() & b.files.keys()):
        da, db = a.files[name], b.files[name]
        if not da.keys.isdisjoint(db.keys):
            files.append(name)
            in_a += int(da.shared_with(db).sum())
            in_b += int(db.shared_with(da).sum())
    if not files:
        return None
    shared_a = round(in_a / a.own, 4) if a.own else 0.0
    return Pair(a, b, shared_a, round(in_b / b.own, 4) if b.own else 0.0, max(in_a, in_b), files)


def all_pairs(students: list[Student]) -> Iterator[Pair]:
    """:func:`compare` of every pair that shares anything, in the order of the students' names."""
    ordered = sorted(students, key=lambda s: s.name)
    for i, a in enumerate(ordered):
        for b in ordered[i + 1 :]:
            pair = compare(a, b)
            if pair is not None:
                yield pair


def flagged(students: list[Student], threshold: float) -> list[Pair]:
    """Every pair at or above ``threshold`` (either student's shared fraction), most similar first."""
    pairs = [p for p in all_pairs(students) if p.flagged(threshold)]
    pairs.sort(key=lambda p: (-max(p.shared_a, p.shared_b), p.a.name, p.b.name))
    return pairs


@dataclass
class Report:
    """What :func:`report` found: ``similarity.json``'s document, how many pairs were above the threshold (the
    document keeps the :data:`MAX_PAIRS` most similar) and the submissions or files left out, with why."""

    document: dict[str, Any]
    flagged: int
    skipped: dict[str, list[str]]


def report(subs: Iterable[Submission], threshold: float = DEFAULT_THRESHOLD) -> Report:
    """Compare every pair of ``subs``."""
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"the similarity threshold must be above 0 and at most 1, not {threshold:g}")
    students = load(subs, boilerplate())
    pairs = flagged(students, threshold)
    doc = {"tool": tool(), "threshold": threshold, "pairs": [p.entry() for p in pairs[:MAX_PAIRS]]}
    return Report(doc, len(pairs), {s.name: s.skipped for s in students if s.skipped})


def write(subs: Iterable[Submission], out: Path, threshold: float = DEFAULT_THRESHOLD) -> Report:
    """Write ``out/similarity.json`` atomically; returns the report."""
    from grader.instructor.batch import atomic_write

    found = report(subs, threshold)
    atomic_write(out / FILE_NAME, json.dumps(found.document, indent=1, ensure_ascii=False))
    return found
