"""The similarity flags (issue 12): what each threshold flags in a synthetic class, and the time for 300 students.

Flags: the authors of ``tests/similarkit.py`` (the reference, and students who wrote the correct alternatives
of ``tests/alternatives``: no two share an implementation of any exercise), each with one copy per disguise
(an exact copy, renamed variables, reordered functions, changed comments and whitespace, and all three at
once).  Every pair is compared; a pair of an original and its copy is of the copy's kind, two copies of one
author are "copy-copy", two authors are "independent".  For each threshold: how many pairs of each kind are
flagged.

Time: a class of N students (default 300), each of whose part files is a disguised copy of a random author's
(seeded), so pairs share anything from nothing to everything: the whole of ``similarity.report`` (unpacking,
tokenizing, all pairs, the flagged pairs' files), and the size of the JSON.

    python benchmarks/bench_similarity.py [--students 300] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine

from grader.instructor import similarity
from grader.instructor.submissions import Submission
from tests import similarkit

KINDS = ("exact", "renamed", "reordered", "comments", "all three", "copy-copy", "independent")
THRESHOLDS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def disguised(files: dict[str, str], how: str, seed: int) -> dict[str, str]:
    if how != "all three":
        return similarkit.disguise(files, how, seed)
    for step in ("renamed", "reordered", "comments"):
        files = similarkit.disguise(files, step, seed)
    return files


def labelled_class(folder: Path) -> tuple[list[Submission], dict[str, tuple[int, str]]]:
    subs, who = [], {}
    for j in range(similarkit.authors()):
        files = similarkit.author(j)
        for how in ("original", *KINDS[:5]):
            name = f"a{j}-{how.replace(' ', '_')}"
            copy = files if how == "original" else disguised(files, how, seed=j)
            subs.append(Submission(name, similarkit.write(folder / name, copy)))
            who[name] = (j, how)
    return subs, who


def kind(a: tuple[int, str], b: tuple[int, str]) -> str:
    if a[0] != b[0]:
        return "independent"
    if "original" in (a[1], b[1]):
        return b[1] if a[1] == "original" else a[1]
    return "copy-copy"


def flags(folder: Path) -> None:
    subs, who = labelled_class(folder)
    students = similarity.load(subs, similarity.boilerplate())
    pairs = {(p.a.name, p.b.name): p for p in similarity.all_pairs(students)}
    names = sorted(who)
    total = {k: 0 for k in KINDS}
    shared: dict[str, list[float]] = {k: [] for k in KINDS}
    found: dict[tuple[str, float], int] = {}
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            k = kind(who[a], who[b])
            total[k] += 1
            p = pairs.get((a, b))
            shared[k].append(max(p.shared_a, p.shared_b) if p else 0.0)
            for t in THRESHOLDS:
                found[k, t] = found.get((k, t), 0) + bool(p and p.flagged(t))
    print(
        f"\n{len(subs)} students ({similarkit.authors()} authors × original + 5 disguises), {sum(total.values())} pairs"
    )
    print("| kind | pairs | max(shared): min / median / max | " + " | ".join(f"≥ {t:g}" for t in THRESHOLDS) + " |")
    print("|---|---:|---|" + "---:|" * len(THRESHOLDS))
    for k in KINDS:
        s = sorted(shared[k])
        spread = f"{s[0]:.2f} / {s[len(s) // 2]:.2f} / {s[-1]:.2f}" if s else "-"
        print(f"| {k} | {total[k]} | {spread} | " + " | ".join(str(found[k, t]) for t in THRESHOLDS) + " |")


def big_class(folder: Path, n: int) -> list[Submission]:
    rng = random.Random(12)
    authors = [similarkit.author(j) for j in range(similarkit.authors())]
    subs = []
    for i in range(n):
        files: dict[str, str] = {}
        for part in sorted(authors[0]):
            j = rng.randrange(len(authors))
            if part in authors[j]:
                how = rng.choice(("exact", "renamed", "reordered", "comments", "all three"))
                files.update(disguised({part: authors[j][part]}, how, seed=rng.randrange(1000)))
        name = f"s{i:03d}"
        subs.append(Submission(name, similarkit.write(folder / name, files)))
    return subs


def timing(folder: Path, n: int, repeat: int) -> None:
    subs = big_class(folder, n)
    similarity.report(subs[:2])  # imports (pygments, copydetect) out of the measure
    times, cpu, doc, found = [], [], {}, None
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        found = similarity.report(subs)
        doc = found.document
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    times.sort()
    cpu.sort()
    t = time.perf_counter()
    students = similarity.load(subs, similarity.boilerplate())
    load_s = time.perf_counter() - t
    size = len(json.dumps(doc, indent=1, ensure_ascii=False).encode())
    print(
        f"\n{n} students, {n * (n - 1) // 2} pairs: similarity.report median {times[len(times) // 2]:.1f} s "
        f"(runs {', '.join(f'{x:.1f}' for x in times)}), CPU median {cpu[len(cpu) // 2]:.1f} s; "
        f"of it reading + tokenizing {load_s:.1f} s; "
        f"{found.flagged if found else 0} pairs flagged at {doc['threshold']:g}, {len(doc['pairs'])} written: "
        f"similarity.json {size / 1e6:.1f} MB; "
        f"{sum(len(s.files) for s in students)} files"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--students", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-flags", action="store_true")
    args = ap.parse_args()
    print(machine(), f"· load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="bench-similarity-") as tmp:
        if not args.no_flags:
            flags(Path(tmp) / "labelled")
        if args.students:
            timing(Path(tmp) / "class", args.students, args.repeat)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
