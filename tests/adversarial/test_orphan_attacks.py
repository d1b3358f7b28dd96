"""A student who wants its code to outlive the grade: the worker's processes die with a grader killed without a
word (SIGKILL, the OOM killer) by the kernel's parent-death signal (tests/test_stopping.py), and the student's code
turns its own off (``prctl(PR_SET_PDEATHSIG, 0)``) before it spins.  In the sandbox and at ``limits`` the signal
that counts is not its own: a forked worker's is on process 1 of its pid namespace (zygote.py ``_adopted``), a
started one's on bubblewrap (``--die-with-parent``) or, at ``limits``, on the init that is process 1 of the
namespace ``unshare`` made (``zygote.py --init``), and the namespace goes with it.  At ``process`` the student's own
process holds its signal, and the attack works: that level is for code that is trusted (docs/sandbox.md)."""

from __future__ import annotations

import platform

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
    namespace, as process 1 is, without its capabilities): process 1 is still not the student's process."""
    assert left_after_killing_the_grader(tmp_path, SPIN_ON, isolation, how) == []


#: Process 1's parent-death signal cleared from outside (x86-64): trace it, run ``prctl(PR_SET_PDEATHSIG, 0)`` in it by
#: rewinding it onto the system call it waits in, put it back; then clear the worker's own signal, fork, and spin.
TRACE_PROCESS_1 = """
import ctypes, os

libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
libc.ptrace.restype = ctypes.c_long
NAMES = "r15 r14 r13 r12 rbp rbx r11 r10 r9 r8 rax rcx rdx rsi rdi orig_rax rip cs eflags rsp ss fs_base gs_base"
NAMES += " ds es fs gs"


class Regs(ctypes.Structure):
    _fields_ = [(n, ctypes.c_ulonglong) for n in NAMES.split()]


def trace(request, data=None):
    ctypes.set_errno(0)
    if libc.ptrace(request, 1, None, data) == -1 and ctypes.get_errno():
        raise OSError(ctypes.get_errno(), "ptrace")


def clear_process_1():
    trace(16)  # PTRACE_ATTACH
    os.waitpid(1, 0x40000000)  # __WALL
    saved = Regs()
    trace(12, ctypes.byref(saved))  # PTRACE_GETREGS
    regs = Regs.from_buffer_copy(saved)
    regs.rip, regs.rax, regs.rdi, regs.rsi, regs.orig_rax = saved.rip - 2, 157, 1, 0, 2**64 - 1  # prctl(1, 0)
    trace(13, ctypes.byref(regs))  # PTRACE_SETREGS
    trace(9)  # PTRACE_SINGLESTEP
    os.waitpid(1, 0x40000000)
    trace(13, ctypes.byref(saved))
    trace(17)  # PTRACE_DETACH


def spin():
    try:
        clear_process_1()
    except OSError:
        pass
    libc.prctl(1, 0, 0, 0, 0)
    os.fork()
    while True:
        pass
"""


@pytest.mark.skipif(platform.machine() != "x86_64", reason="the attack sets x86-64 registers")
@pytest.mark.parametrize("how", ["started", "unprivileged"])
def test_a_limits_worker_cannot_trace_process_1_to_outlive_the_grader(tmp_path, how):
    """Process 1 is undumpable, and the worker has no capability to trace it: a root grader's worker has a uid of
    its own; a user's runs as root of ``unshare -r``'s namespace, with every capability dropped (sandbox.py
    ``_with_init``, ``_without_capabilities``).  With a shell as process 1, the user's case outlived the grader."""
    assert left_after_killing_the_grader(tmp_path, TRACE_PROCESS_1, "limits", how) == []


def test_at_process_the_same_attack_outlives_the_grader(tmp_path):
    """What the docs say of ``process``, held to: the student's loop is still running a second after the grader
    died (a parent-death signal comes at once; not the five seconds the other cases may take to end)."""
    left = left_after_killing_the_grader(tmp_path, SPIN_ON, "process", "started", within=1.0)
    assert left and all(b"child.py" in c for c in left), left
