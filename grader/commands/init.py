"""deepgrade init: write the exercises into a folder of the student's, as ``rustlings init`` does."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from grader import registry
from grader.commands import UsageError
from grader.commands._common import add_lang
from grader.i18n import N_, _
from grader.reference import stubs

NAME, HELP, ORDER = "init", N_("write the exercises (stubs to fill in) into a new folder"), 5

README = N_("""\
# Deep-learning exercises

Write the functions in `assignments/`: each stub raises `NotImplementedError`, and its docstring gives the
formula. In this folder:

    deepgrade list                  # the exercises, in order, with points
    deepgrade hint neuron.sigmoid   # what to write, and the tutorial's section
    deepgrade check neuron          # check a part (or one exercise, or everything: deepgrade check)
    deepgrade watch                 # re-check an exercise each time you save its file
    deepgrade progress              # what is done and what comes next

Your code runs in a separate process; a failure shows the check, a small input you can paste into Python,
what was expected and what your code gave. Numpy-only parts (neuron, losses, backprop, autograd, optim, cnn,
rnn, train) must not import torch, scipy, sklearn, keras, tensorflow or jax.
""")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "folder",
        nargs="?",
        default="deepgrade-exercises",
        metavar="DIR",
        help=_("where to write them (default ./deepgrade-exercises); it must not hold exercises yet"),
    )
    add_lang(p)


def run(args: argparse.Namespace) -> int:
    folder = Path(args.folder)
    source = stubs()
    parts = [p for p in registry.PARTS if (source / f"{p}.py").is_file()]
    if not parts:
        raise UsageError(
            _("no exercise stubs in {folder}: this installation of deepgrade is incomplete").format(folder=source)
        )
    if folder.exists() and not folder.is_dir():
        raise UsageError(_("{path} exists and is not a folder").format(path=folder))
    taken = [n for n in (*(f"assignments/{p}.py" for p in parts), "README.md") if (folder / n).exists()]
    if taken:
        raise UsageError(
            _("{folder} already holds {file}: nothing was written (your work is kept); choose another folder").format(
                folder=folder, file=taken[0]
            )
        )
    (folder / "assignments").mkdir(parents=True, exist_ok=True)
    for part in parts:
        shutil.copyfile(source / f"{part}.py", folder / "assignments" / f"{part}.py")
    (folder / "README.md").write_text(_(README), encoding="utf-8")
    if not (folder / ".gitignore").exists():
        (folder / ".gitignore").write_text("__pycache__/\n*.pyc\n")
    print(
        _("wrote {n} exercise files to {folder}; next: {command}").format(
            n=len(parts), folder=f"{folder / 'assignments'}/", command=f"cd {folder} && deepgrade list"
        )
    )
    return 0
