"""A student who wants its code to outlive the grade: the worker's processes die with a grader killed without a
word (SIGKILL, the OOM killer) by the kernel's parent-death signal (tests/test_stopping.py), and the student's code
turns its own off (``prctl(PR_SET_PDEATHSIG, 0)``) before it spins.  In the sandbox and at ``limits`` the signal
that counts is not its own: a forked worker's is on process 1 of its pid namespace (zygote.py ``_adopted``), a
started one's on bubblewrap (``--die-with-parent``) or, at ``limits``, on the shell that is process 1 of the
namespace ``unshare`` made (sandbox.py ``_INIT``), and the namespace goes with it.  At ``process`` the student's own
process holds its signal, and the attack works: that level is for code that is trusted (docs/sandbox.md)."""

from __future__ import annotations

import pytest

from tests.test_stopping import left_after_killing_the_grader

SPIN_ON = """
import ctypes

def spin():
    ctypes.CDLL(None, use_errno=True).prctl(1, 0, 0, 0, 0)  # PR_SET_PDEATHSIG: none
    while True:
        pass
"""


@pytest.mark.parametrize(
    "isolation, how",
    [("sandbox", "forked"), ("sandbox", "started"), ("limits", "started"), ("limits", "unprivileged")],
)
def test_a_worker_that_turns_off_its_death_signal_still_dies_with_the_grader(tmp_path, isolation, how):
    """``unprivileged``: a grader that is not root, whose worker runs as itself (root in ``unshare -r``'s user
    namespace, as process 1 is): process 1 is still not the student's process, though the student could reach it
    with ``ptrace`` (docs/sandbox.md)."""
    assert left_after_killing_the_grader(tmp_path, SPIN_ON, isolation, how) == []


def test_at_process_the_same_attack_outlives_the_grader(tmp_path):
    """What the docs say of ``process``, held to: the student's loop is still running."""
    left = left_after_killing_the_grader(tmp_path, SPIN_ON, "process", "started")
    assert left and all(b"child.py" in c for c in left), left
