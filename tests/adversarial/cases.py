"""The adversarial corpus: submissions that attack the grader instead of solving the exercise.

Each :class:`Attack` is the reference with ``sigmoid_forward``/``sigmoid_backward`` of ``neuron.py`` (or
other definitions) swapped for hostile ones (built with :func:`tests.corpus.replace_definitions`).  Where
the attack fails, the functions *spoil*: they overwrite their input with NaN and return NaN, so every check
of the exercise fails; where it succeeds, some return correct answers (reading solutions/, another student,
the network), others would take the grader down.  ``sandbox_only`` attacks are run only where the sandbox
holds (under ``--isolation process`` they would succeed, or hurt the machine).

Placeholders in ``source``: ``@ROOT@`` (the repository), ``@OTHER@`` (another student's submission),
``@CANARY@`` (a gradebook file outside the submission), ``@PORT@`` (a TCP port on 127.0.0.1 that
answers whoever connects).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tests.corpus import ROOT, Variant

#: Shared by the spoiling attacks: the input becomes NaN (fails "leaves its inputs unchanged"), and so
#: does every output (fails every value check and "is finite").
SPOIL = '''
def _spoil(x):
    x = np.asarray(x)
    if x.flags.writeable:
        x[...] = np.nan
    return x * np.nan
'''


def _pair(attack: str, correct: bool = False) -> str:
    """sigmoid_forward/backward that run ``attack`` (indented body text; sets ``ok`` when it worked)."""
    body = "\n".join("    " + line for line in attack.strip().splitlines())
    answer_fwd = (
        "        s = 1.0 / (1.0 + np.exp(-np.clip(x, -500, 500)))\n        return s, s\n"
        if correct
        else "        pass\n"
    )
    answer_bwd = "        return dout * cache * (1.0 - cache)\n" if correct else "        pass\n"
    return (
        SPOIL
        + f'''
def sigmoid_forward(x):
    ok = False
{body}
    if ok:
{answer_fwd}    out = _spoil(x)
    return out, out


def sigmoid_backward(dout, cache):
    ok = False
    x = dout
{body}
    if ok:
{answer_bwd}    return _spoil(dout)
'''
    )


@dataclass(frozen=True)
class Attack:
    name: str
    source: str  # replacement definitions for neuron.py
    sandbox_only: bool = False  # succeeds (or hurts the machine) without the sandbox
    targets: str = ""  # substrings (|-separated) of the checks that must score 0; "" = all
    exercise: str = "neuron.sigmoid"
    prelude: str = ""  # top-level statements, run when the module is imported (after its defs)
    evidence: str = ""  # a check's message must say this (the limit that stopped the attack)
    budget: float = 30.0  # submission time budget; a small one cuts the rest of the grading short
    bystander: str = "neuron.relu"  # an exercise of the same file the attack leaves alone

    def write(self, dest: Path, **places: str) -> Path:
        """The submission folder of this attack, in ``dest``."""
        src, prelude = self.source, self.prelude
        for key, value in {"ROOT": str(ROOT), **places}.items():
            src, prelude = src.replace(f"@{key}@", value), prelude.replace(f"@{key}@", value)
        variant = Variant(self.exercise, self.name, src)
        variant.write(dest)
        if prelude:
            path = dest / variant.file
            path.write_text(path.read_text() + "\n\n" + prelude.strip() + "\n")
        return dest

    def targeted(self, check_name: str) -> bool:
        return not self.targets or any(t in check_name for t in self.targets.split("|"))


_VALUES = "matches|gradient"

ATTACKS = [
    Attack(
        "monkeypatch-numpy",
        _pair("pass"),
        prelude='''
import numpy.testing
np.allclose = lambda *a, **k: True
np.array_equal = lambda *a, **k: True
np.testing.assert_allclose = lambda *a, **k: None
np.testing.assert_array_equal = lambda *a, **k: None
''',
    ),
    Attack(
        "monkeypatch-grader",
        _pair("pass"),
        prelude='''
import sys
sys.path.insert(0, "@ROOT@")
try:
    import grader.checks.compare as _compare
    import grader.checks.failure as _failure
    _compare.assert_close = lambda *a, **k: None
    _compare.check_shape_dtype = lambda *a, **k: None
    _failure.CheckFailed.__init__ = lambda self, *a, **k: None
except Exception:
    pass
''',
    ),
    Attack("sys-exit", "import sys\n" + _pair("sys.exit(0)")),
    Attack("os-exit", "import os\n" + _pair("os._exit(0)")),
    Attack(
        "print-flood",
        "import os, sys\n"
        + _pair('''
sys.stdout.write("x" * (1 << 20))
sys.stderr.write("y" * (1 << 20))
os.write(1, b"z" * (1 << 20))
'''),
    ),
    Attack(
        "forge-protocol",
        "import os\n"
        + _pair('''
for fd in range(3, 12):
    try:
        os.write(fd, b"\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x10{\\"ok\\": [1, 2, 3]}garbage")
    except OSError:
        pass
'''),
    ),
    Attack(
        "not-plain-data",
        '''
class _Lies:
    def __init__(self, value):
        self.value = value

    def __array__(self, dtype=None, copy=None):
        return self.value


def sigmoid_forward(x):
    s = 1.0 / (1.0 + np.exp(-np.clip(x, -500, 500)))
    return _Lies(s), s


def sigmoid_backward(dout, cache):
    return (dout * cache * (1.0 - cache)).tolist()  # the right numbers, but a list
''',
        targets=_VALUES,
    ),
    Attack(
        "wrong-shape",
        '''
def sigmoid_forward(x):
    s = 1.0 / (1.0 + np.exp(-np.clip(x, -500, 500)))
    return s[..., None], s


def sigmoid_backward(dout, cache):
    return (dout * cache * (1.0 - cache))[None]
''',
        targets=_VALUES,
    ),
    Attack(
        "wrong-dtype",
        '''
def sigmoid_forward(x):
    s = 1.0 / (1.0 + np.exp(-np.clip(x, -500, 500)))
    return s + 1j, s


def sigmoid_backward(dout, cache):
    return (dout * cache * (1.0 - cache)).astype(np.float16)
''',
        targets=_VALUES,
    ),
    Attack(
        "object-dtype",
        '''
def sigmoid_forward(x):
    s = 1.0 / (1.0 + np.exp(-np.clip(x, -500, 500)))
    return s.astype(object), s


def sigmoid_backward(dout, cache):
    return np.array([dout * cache * (1.0 - cache), None], dtype=object)
''',
        targets=_VALUES,
    ),
    Attack(
        "nan",
        '''
def sigmoid_forward(x):
    s = 1.0 / (1.0 + np.exp(-np.clip(x, -500, 500)))
    out = np.where(np.abs(x) > 0.5, np.nan, s)
    return out, s


def sigmoid_backward(dout, cache):
    return np.full_like(dout, np.nan)
''',
        targets=_VALUES + "|finite",
    ),
    Attack("infinite-loop", _pair("while True:\n    pass"), budget=1.5),
    Attack(
        "kill-the-grader",
        "import os, signal\n"
        + _pair('''
for pid in (os.getppid(), 1):
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass
for entry in os.listdir("/proc"):
    if entry.isdigit() and int(entry) != os.getpid():
        try:
            os.kill(int(entry), signal.SIGKILL)
        except OSError:
            pass
'''),
        sandbox_only=True,
    ),
    Attack(
        "read-solutions",
        _pair(
            '''
try:
    ns = {}
    exec(open("@ROOT@/grader/exercises/neuron.py").read()[:0] + open("@ROOT@/solutions/neuron.py").read(), ns)
    ok = True
except OSError:
    pass
''',
            correct=True,
        ),
        sandbox_only=True,
    ),
    Attack(
        "read-other-student",
        _pair(
            '''
try:
    ns = {}
    exec(open("@OTHER@/neuron.py").read(), ns)
    ok = True
except OSError:
    pass
''',
            correct=True,
        ),
        sandbox_only=True,
    ),
    Attack(
        "write-outside-scratch",
        _pair('''
for target in ("@CANARY@", "@OTHER@/neuron.py", "@ROOT@/solutions/neuron.py", __file__):
    try:
        with open(target, "a") as f:
            f.write("\\n# pwned\\n")
    except OSError:
        pass
try:
    open("pwned-in-scratch.txt", "w").write("scratch is writable")
except OSError:
    pass
'''),
        sandbox_only=True,
    ),
    Attack(
        "network",
        "import socket\n"
        + _pair(
            '''
try:
    socket.create_connection(("127.0.0.1", @PORT@), timeout=2).close()
    ok = True
except OSError:
    pass
try:
    socket.create_connection(("1.1.1.1", 53), timeout=2).close()
    ok = True
except OSError:
    pass
''',
            correct=True,
        ),
        sandbox_only=True,
    ),
    Attack(
        "fork-bomb",
        """
import os


def sigmoid_forward(x):
    while True:  # sleepers that outlive the call, until RLIMIT_NPROC says no (BlockingIOError)
        if os.fork() == 0:
            os.execv("/usr/bin/sleep", ["sleep", "987.654"])


def sigmoid_backward(dout, cache):
    return sigmoid_forward(dout)
""",
        sandbox_only=True,
        evidence="BlockingIOError",
    ),
    Attack(
        "memory-bomb",
        """
_hoard = []


def sigmoid_forward(x):
    if not _hoard:  # once per worker: take memory, 1 GiB at a time, until RLIMIT_AS says no (the
        _hoard.append(None)  # pages are not touched: RLIMIT_AS bounds mappings, so RSS too; touching is slow)
        try:
            while True:
                _hoard.append(np.empty(1 << 27))
        finally:
            del _hoard[1:]
    out = _spoil(x)
    return out, out


def sigmoid_backward(dout, cache):
    return sigmoid_forward(dout)[0]
"""
        + SPOIL,
        sandbox_only=True,
        evidence="MemoryError",
    ),
    # The losses part: the same attacks work on any file of the submission.
    Attack(
        "losses-monkeypatch-numpy",
        SPOIL
        + """
def mse_loss(pred, target):
    return float("nan"), _spoil(pred)
""",
        prelude="""
np.allclose = lambda *a, **k: True
np.isclose = lambda a, b, *r, **k: np.ones(np.broadcast(a, b).shape, bool)
""",
        exercise="losses.mse",
        bystander="losses.bce_with_logits",
    ),
    Attack(
        "losses-os-exit",
        """
import os


def mse_loss(pred, target):
    os._exit(0)
""",
        exercise="losses.mse",
        bystander="losses.bce_with_logits",
    ),
    Attack(
        "losses-read-solutions",
        SPOIL
        + """
def mse_loss(pred, target):
    try:
        ns = {}
        exec(open("@ROOT@/solutions/losses.py").read(), ns)
        return ns["mse_loss"](pred, target)
    except OSError:
        return float("nan"), _spoil(pred)
""",
        sandbox_only=True,
        exercise="losses.mse",
        bystander="losses.bce_with_logits",
    ),
]
