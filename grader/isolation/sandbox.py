"""Isolation levels for the worker that runs student code, and the launchers that give them.

``--isolation`` names one of :data:`LEVELS`:

* ``process`` — an ordinary child process (the grader's user, environment, filesystem and network);
* ``limits``  — the fallback where bubblewrap is missing: resource limits, an unprivileged user (when the
  grader runs as root), no network (``unshare -n``, when it works), a clean environment and a scratch cwd;
* ``sandbox`` — bubblewrap: all of ``limits`` plus a private root that holds only the Python runtime, the
  worker file and the submission (read-only), a tmpfs scratch cwd, and private pid/ipc/uts/net namespaces;
* ``auto``    — the best of these that works on this machine (:func:`available_isolation`).

A launcher maps the worker's command line ``[python, -u, child.py, SUBMISSION]`` to the command line and
environment that start it at that level (see :data:`grader.isolation.worker.client.Launcher`).  When it is given
``packages`` (a numpy-only part), only those distributions can be imported: in the sandbox every other
site-/dist-packages folder is an empty tmpfs, so the rest is absent; at ``limits`` and ``process`` the worker
runs ``python -S`` with a ``PYTHONPATH`` view of only those packages, but the other files stay readable.
See docs/sandbox.md.
"""

from __future__ import annotations

import atexit
import functools
import itertools
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from grader.isolation.worker import forkserver, proctree, wire
from grader.isolation.worker.client import CHILD, CHILD_FILES, FORKABLE, Launcher, plain_launcher, worker_env
from grader.isolation.worker.forkserver import ZYGOTE, Adopted, modules
from grader.isolation.worker.zygote import PLACEHOLDER

LEVELS = ("process", "limits", "sandbox", "auto")
NOBODY = 65534
#: Workers get distinct uids (so RLIMIT_NPROC, which counts per user, is per worker): FIRST_UID + k.
FIRST_UID, UID_RANGE = 200_000, 60_000
INSIDE_SUBMISSION = "/submission"
INSIDE_GRADER = "/opt/deepgrade"
SCRATCH = "/scratch"


@dataclass(frozen=True)
class Limits:
    """Resource limits of one worker process (rlimits; inherited by everything it starts)."""

    cpu_seconds: int = 900  # RLIMIT_CPU: CPU time of the worker over a whole submission
    address_space: int = 8 << 30  # RLIMIT_AS: torch maps ~0.7 GiB at import; checks peak near 2 GiB
    processes: int = 256  # RLIMIT_NPROC: processes + threads of the worker's user
    file_size: int = 64 << 20  # RLIMIT_FSIZE: largest file it may write
    scratch_size: int = 128 << 20  # tmpfs size of the scratch folder and of /tmp (sandbox only)
    open_files: int = 1024  # RLIMIT_NOFILE

    def rlimits(self) -> list[tuple[str, str, int]]:
        """``(prlimit option, resource name, value)`` of each limit (soft = hard; no core dumps)."""
        return [
            ("cpu", "RLIMIT_CPU", self.cpu_seconds),
            ("as", "RLIMIT_AS", self.address_space),
            ("nproc", "RLIMIT_NPROC", self.processes),
            ("fsize", "RLIMIT_FSIZE", self.file_size),
            ("nofile", "RLIMIT_NOFILE", self.open_files),
            ("core", "RLIMIT_CORE", 0),
        ]

    def prlimit(self) -> list[str]:
        """``prlimit`` options setting soft = hard limits (no core dumps)."""
        return [f"--{option}={value}" for option, _, value in self.rlimits()]


DEFAULT_LIMITS = Limits()


# --------------------------------------------------------------------------- what this machine can do
def _is_root() -> bool:
    return os.geteuid() == 0


@functools.cache
def _works(*argv: str) -> bool:
    """Whether ``argv`` runs and exits 0 within a few seconds."""
    try:
        return (
            subprocess.run(
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=20
            ).returncode
            == 0
        )
    except (OSError, subprocess.SubprocessError):
        return False


def bwrap_works() -> bool:
    """bubblewrap is installed and can create the namespaces the sandbox needs."""
    bwrap = shutil.which("bwrap")
    if not bwrap:
        return False
    userns = [] if _is_root() else ["--unshare-user"]
    return _works(
        bwrap,
        *userns,
        "--unshare-pid",
        "--unshare-net",
        "--die-with-parent",
        "--ro-bind",
        "/",
        "/",
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--tmpfs",
        "/tmp",
        "true",
    )


def unshare_options() -> list[str]:
    """The strongest ``unshare`` that works here (needs root, or user namespaces): private network and pid
    namespaces (``--kill-child`` ends the namespace with it), else the network alone, else nothing."""
    unshare = shutil.which("unshare")
    if not unshare:
        return []
    userns = [] if _is_root() else ["-r"]
    for opts in (["-n", "-p", "-f", "--kill-child", "--mount-proc"], ["-n"]):
        if _works(unshare, *userns, *opts, "true"):
            return ["unshare", *userns, *opts, "--"]
    return []


def _dies_with_grader(unshare: list[str]) -> list[str]:
    """``unshare`` (a prefix from :func:`unshare_options`) run so that it is killed when the grader dies
    (``setpriv --pdeathsig KILL``, where setpriv has it): ``--kill-child`` then ends its namespace, and the worker
    in it (child.py sets the signal again after the change of uid)."""
    if unshare and _pdeathsig_works():
        return ["setpriv", "--pdeathsig", "KILL", "--", *unshare]
    return unshare


def _with_init(unshare: list[str], python: str) -> list[str]:
    """``unshare`` (a prefix ending in ``--``) followed by its pid namespace's process 1, where it makes one
    (``unshare -n`` alone makes none): ``zygote.py --init``, run by the worker's interpreter, which runs the rest of
    the command line in a child and exits with its status (128 + N for a signal, as bubblewrap's process 1 does).
    ``--kill-child`` gives it the parent-death signal, on a process that is not the student's, so the namespace,
    the worker and anything it forked, ends with ``unshare`` (``tests/adversarial/test_orphan_attacks.py``).  The
    student's code cannot reach it: it is undumpable, and ignores the signals its namespace may send it; a root
    grader drops the worker's uid below it; a grader that is not root runs the worker as itself, root of ``unshare
    -r``'s user namespace as process 1 is, so the worker is stripped of every capability
    (:func:`_without_capabilities`), and an undumpable process cannot be traced (``ptrace``, ``/proc/1/mem``)
    without one.  Not a shell: ``exec`` makes a process dumpable again."""
    return unshare + [python, "-I", "-S", str(ZYGOTE), "--init"] if "-p" in unshare else unshare


@functools.cache
def _without_capabilities() -> list[str]:
    """A prefix that runs the worker with no capability, even as root of a user namespace (``unshare -r``): no
    inheritable or bounding set, and uid 0 gains nothing at ``exec`` (``SECBIT_NOROOT``); [] where ``setpriv``
    cannot (then the worker could trace process 1: docs/sandbox.md)."""
    prefix = ["setpriv", "--inh-caps=-all", "--bounding-set=-all", "--securebits=+noroot,+noroot_locked"]
    prefix += ["--no-new-privs", "--"]
    return prefix if shutil.which("setpriv") and _works("unshare", "-r", *prefix, "true") else []


@functools.cache
def _pdeathsig_works() -> bool:
    return shutil.which("setpriv") is not None and _works("setpriv", "--pdeathsig", "KILL", "--", "true")


def unshare_net_works() -> bool:
    return bool(unshare_options())


def unshare_pid_works() -> bool:
    return "-p" in unshare_options()


def available_isolation() -> str:
    """The strongest level that works on this machine: ``sandbox``, else ``limits``."""
    return "sandbox" if bwrap_works() else "limits"


def resolve(isolation: str) -> str:
    """``auto`` -> the available level; any other name is checked and returned."""
    if isolation not in LEVELS:
        raise ValueError(f"unknown isolation {isolation!r} (choose from {', '.join(LEVELS)})")
    return available_isolation() if isolation == "auto" else isolation


# --------------------------------------------------------------------------- the Python the worker runs
@dataclass(frozen=True)
class Runtime:
    """An interpreter and the folders it needs: its prefix (stdlib, libpython) and its site-packages."""

    executable: str
    prefix: str
    site: tuple[str, ...]


_QUERY = (
    "import json, os, sys, sysconfig; p = sysconfig.get_paths(); "
    "print(json.dumps([os.path.realpath(sys.executable), os.path.realpath(sys.base_prefix), "
    "[os.path.realpath(p[k]) for k in ('purelib', 'platlib')]]))"
)


@functools.cache
def runtime(python: str) -> Runtime:
    """Where ``python`` really lives (following the venv to its base interpreter) and its site-packages."""
    out = subprocess.run([python, "-I", "-c", _QUERY], capture_output=True, text=True, timeout=60, check=True)
    exe, prefix, site = json.loads(out.stdout)
    return Runtime(exe, prefix, tuple(dict.fromkeys(s for s in site if os.path.isdir(s))))


def _world_reachable(path: str, *, execute: bool = False) -> bool:
    """Whether a user who owns nothing can reach ``path`` (every folder above it o+x, itself o+r / o+x)."""
    p = Path(path)
    try:
        for parent in reversed(p.parents):
            if not os.stat(parent).st_mode & stat.S_IXOTH:
                return False
        mode = os.stat(p).st_mode
    except OSError:
        return False
    need = stat.S_IXOTH if execute else stat.S_IROTH
    return bool(mode & need) and (not stat.S_ISDIR(mode) or bool(mode & stat.S_IXOTH))


def _fallback_runtime(rt: Runtime) -> Runtime | None:
    """A runtime an unprivileged user can use without a private root: ``rt`` itself, or the system
    interpreter of the same version with ``rt``'s site-packages; ``None`` if there is none."""
    if not all(_world_reachable(s) for s in rt.site):
        return None
    if _world_reachable(rt.executable, execute=True) and _world_reachable(rt.prefix):
        return rt
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    system = f"/usr/bin/python{version}"
    if os.path.exists(system) and _world_reachable(system, execute=True):
        return Runtime(system, "/usr", rt.site)
    return None


# --------------------------------------------------------------------------- what a numpy-only worker may import
_ENTRIES = r"""
import glob, json, os, sys
from importlib import metadata
out = []
for name in sys.argv[1:]:
    try:
        dist = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        print(json.dumps({"missing": name})); raise SystemExit
    site = os.path.realpath(dist.locate_file(""))
    tops = {os.path.normpath(str(f)).split(os.sep)[0] for f in (dist.files or ())}
    if dist.files is None:  # no RECORD (e.g. a Debian package): its top_level.txt names the entries
        for top in (dist.read_text("top_level.txt") or "").split():
            tops.update(os.path.basename(p) for p in glob.glob(os.path.join(glob.escape(site), top + "*")))
    meta = getattr(dist, "_path", None)
    if meta is not None:
        tops.add(os.path.basename(str(meta)))
    out += [[site, t] for t in sorted(tops)
            if t not in ("", ".", "..") and "__pycache__" != t and os.path.lexists(os.path.join(site, t))]
print(json.dumps({"entries": out}))
"""


@functools.cache
def package_entries(python: str, packages: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """``(site folder, top-level entry)`` of every file of the distributions ``packages`` (e.g. numpy/,
    numpy.libs/, numpy-2.4.6.dist-info/), and of those the wire needs (:data:`wire.NEEDS`: the worker loads it
    first), as ``python`` finds them; ``ValueError`` if one is not installed."""
    if isinstance(packages, str) or not all(isinstance(p, str) and p and not p.startswith("-") for p in packages):
        raise ValueError(f"packages must be a tuple of distribution names, not {packages!r}")
    packages = tuple(dict.fromkeys(packages + wire.NEEDS))
    out = subprocess.run(
        [python, "-I", "-c", _ENTRIES, *packages], capture_output=True, text=True, timeout=60, check=True
    )
    got = json.loads(out.stdout)
    if "missing" in got:
        raise ValueError(f"package {got['missing']!r} is not installed for {python}")
    return tuple(dict.fromkeys((site, top) for site, top in got["entries"]))


def _package_folder(name: str) -> bool:
    return name.endswith("-packages") or name == "site-python"


@functools.cache
def package_folders(roots: tuple[str, ...], depth: int = 5) -> tuple[str, ...]:
    """Every site-packages, dist-packages (or site-python) folder at most ``depth`` levels below ``roots``, as
    real paths: where any Python on the machine keeps installed packages."""
    found: dict[str, None] = {}

    def walk(folder: str, level: int) -> None:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            return
        for entry in entries:
            try:
                if not entry.is_dir():  # follows a link: a linked package folder is masked at its target
                    continue
            except OSError:
                continue
            if _package_folder(entry.name):
                found[os.path.realpath(entry.path)] = None
            elif level < depth and not entry.is_symlink():
                walk(entry.path, level + 1)

    for root in roots:
        if _package_folder(os.path.basename(root)):
            found[os.path.realpath(root)] = None
        walk(root, 1)
    return tuple(found)


@functools.cache
def package_view(python: str, packages: tuple[str, ...]) -> str:
    """A private folder of symlinks to only the top-level entries of ``packages`` (removed at exit): the
    ``PYTHONPATH`` of a ``python -S`` worker at the ``limits`` and ``process`` levels."""
    view = _temp_dir("deepgrade-view-")
    for site, top in package_entries(python, packages):
        link = os.path.join(view, top)
        if not os.path.lexists(link):  # the first site that has it wins, as on sys.path
            os.symlink(os.path.join(site, top), link)
    os.chmod(view, 0o755)
    return view


def _bound_trees(rt: Runtime) -> list[str]:
    """The host folders the sandbox binds whole (besides /etc): /usr, real /bin, /lib..., the Python prefix."""
    trees = ["/usr"] + [
        f"/{top}"
        for top in ("bin", "sbin", "lib", "lib32", "lib64", "libx32")
        if os.path.isdir(f"/{top}") and not os.path.islink(f"/{top}")
    ]
    if not rt.prefix.startswith(("/usr/", "/etc/")) and rt.prefix != "/usr":
        trees.append(rt.prefix)
    return trees


# --------------------------------------------------------------------------- shared pieces
_uids = itertools.count()


def _worker_uid() -> int | None:
    """A fresh unprivileged uid for the next worker when the grader is root; ``None`` otherwise.  This process's
    workers take the uids in turn from a start of its own (its pid's), and a uid that a live process has (another
    grader's worker, started meanwhile from another start) is passed over: two live workers never share one, and
    RLIMIT_NPROC, which counts per uid, stays per worker."""
    if not _is_root():
        return None
    taken = proctree.uids()
    for _ in range(UID_RANGE):
        uid = FIRST_UID + (os.getpid() * 7919 + next(_uids)) % UID_RANGE
        if uid not in taken:
            return uid
    raise RuntimeError(f"every worker uid from {FIRST_UID} to {FIRST_UID + UID_RANGE - 1} is in use")


def _drop_to(uid: int) -> list[str]:
    return [
        "setpriv",
        f"--reuid={uid}",
        f"--regid={uid}",
        "--clear-groups",
        "--inh-caps=-all",
        "--bounding-set=-all",
        "--no-new-privs",
        "--",
    ]


def _clean_env(site: Sequence[str], home: str, tmp: str) -> dict[str, str]:
    """The worker's whole environment: nothing of the grader's (no tokens, no paths) leaks in."""
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": home,
        "TMPDIR": tmp,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONPATH": os.pathsep.join(site),
        "PYTHONNOUSERSITE": "1",
        "MPLCONFIGDIR": f"{home}/.matplotlib",
        "XDG_CACHE_HOME": f"{home}/.cache",
        "MPLBACKEND": "Agg",
        "MALLOC_ARENA_MAX": "4",
    }  # glibc reserves 64 MiB of address space per thread arena otherwise


_TEMPS: list[str] = []


@atexit.register
def _remove_temps() -> None:
    for path in _TEMPS:
        remove_tree(path)


def remove_tree(path: str) -> None:
    """``rm -rf path``, never following a link and without recursion (a copy of a submission may nest deeper than
    ``shutil.rmtree``, which recurses once per folder, can go); what cannot be removed is left."""
    todo = [(path, False)]  # (folder, whether its entries were dealt with)
    while todo:
        folder, emptied = todo.pop()
        if emptied:
            try:
                os.rmdir(folder)
            except OSError:
                pass
            continue
        try:
            with os.scandir(folder) as it:
                entries = list(it)
        except NotADirectoryError:
            try:
                os.unlink(folder)
            except OSError:
                pass
            continue
        except OSError:
            continue
        todo.append((folder, True))
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                todo.append((entry.path, False))
            else:
                try:
                    os.unlink(entry.path)
                except OSError:
                    pass


def _temp_dir(prefix: str) -> str:
    path = tempfile.mkdtemp(prefix=prefix)
    _TEMPS.append(path)
    return path


def _plain(st: os.stat_result, *, folder: bool) -> bool:
    """A real folder, or a regular file with no other name (a hard link could name a file outside)."""
    return stat.S_ISDIR(st.st_mode) if folder else stat.S_ISREG(st.st_mode) and st.st_nlink == 1


def readable_submission(submission: Path, *, reachable: bool) -> Path:
    """``submission`` if it holds only folders and regular files, all world-readable (and, with ``reachable``,
    the folders above it are world-traversable); otherwise a world-readable copy of only those (uploads often
    come with mode 600).  Symlinks, hard-linked files, devices, FIFOs and ``__pycache__`` are never followed
    or copied.  Folders are walked without recursion: a submission may nest thousands deep."""
    submission = Path(submission)
    ok = not reachable or _world_reachable(str(submission))
    folders = [str(submission)]
    while ok and folders:
        folder = folders.pop()
        st = os.lstat(folder)
        ok = _plain(st, folder=True) and st.st_mode & (stat.S_IROTH | stat.S_IXOTH) == stat.S_IROTH | stat.S_IXOTH
        with os.scandir(folder) as it:
            for entry in it:
                if not ok:
                    break
                st = entry.stat(follow_symlinks=False)
                if entry.name == "__pycache__" or not (_plain(st, folder=True) or _plain(st, folder=False)):
                    ok = False
                elif stat.S_ISDIR(st.st_mode):
                    folders.append(entry.path)
                else:
                    ok = st.st_mode & stat.S_IROTH == stat.S_IROTH
    if ok:
        return submission
    copy = Path(_temp_dir("deepgrade-sub-")) / "submission"
    os.chmod(copy.parent, 0o755)
    _copy_plain(submission, copy)
    return copy


def _copy_plain(src: Path, dest: Path) -> None:
    """Copy the folders and regular single-link files of ``src`` (mode 755/644), never following a link, and
    without recursion."""
    todo = [(str(src), str(dest))]
    while todo:
        source, target = todo.pop()
        os.mkdir(target, 0o755)
        os.chmod(target, 0o755)
        with os.scandir(source) as it:
            entries = list(it)
        for entry in entries:
            path, into = os.path.join(source, entry.name), os.path.join(target, entry.name)
            if entry.name == "__pycache__":
                continue
            st = entry.stat(follow_symlinks=False)
            if _plain(st, folder=True):
                todo.append((path, into))
            elif _plain(st, folder=False):
                _copy_file(path, into)


def _copy_file(path: str, target: str) -> None:
    try:  # O_NOFOLLOW | O_NONBLOCK: a file swapped for a link or a FIFO since the scan is not opened
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return
    with os.fdopen(fd, "rb") as f:
        if not _plain(os.fstat(f.fileno()), folder=False):
            return
        with open(target, "xb") as out:
            shutil.copyfileobj(f, out)
    os.chmod(target, 0o644)


def _split(argv: Sequence[str]) -> tuple[str, list[str]]:
    """The interpreter of the worker's command line and its remaining arguments."""
    if not argv:
        raise ValueError("empty worker command line")
    return argv[0], list(argv[1:])


# --------------------------------------------------------------------------- levels
class _Root:
    """The bubblewrap command line of a sandbox's private root, built option by option: namespaces, the runtime's
    read-only binds, ``/proc``, ``/dev``, ``/tmp``, and (with ``packages``) every package folder masked but for
    those distributions' entries.  ``bind`` adds a read-only bind, making its parents first."""

    def __init__(self, python: str, limits: Limits, packages: tuple[str, ...] | None, *, own_pids: bool) -> None:
        rt = runtime(python)
        self.rt = rt
        cmd = ["bwrap", "--die-with-parent", "--new-session"] + (["--unshare-pid"] if own_pids else [])
        cmd += ["--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--hostname", "sandbox"]
        self.uid = _worker_uid()
        if self.uid is None:
            cmd += ["--unshare-user", "--disable-userns"]
        cmd += ["--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc"]
        for top in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
            target = Path("/", top)
            if target.is_symlink():
                cmd += ["--symlink", os.readlink(target), f"/{top}"]
            elif target.is_dir():
                cmd += ["--ro-bind", str(target), f"/{top}"]
        cmd += ["--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--size", str(limits.scratch_size)]
        cmd += ["--tmpfs", "/tmp"]
        self.cmd = cmd
        self.made: set[str] = {"/", "/usr", "/etc", "/tmp", "/proc", "/dev"}
        self.trees = ["/etc", *_bound_trees(rt)]
        if self.trees[-1] == rt.prefix and rt.prefix != "/usr":
            self.bind(rt.prefix, rt.prefix)
        if packages is None:
            for path in rt.site:
                if not any(path == t or path.startswith(t + "/") for t in self.trees):
                    self.bind(path, path)
            self.site: Sequence[str] = rt.site
            return
        entries = package_entries(python, tuple(packages))
        self.site = list(dict.fromkeys(s for s, _ in entries))
        masks = sorted(set(package_folders(tuple(self.trees[1:]))) | set(self.site), key=lambda m: (m.count("/"), m))
        for mask in masks:  # parents first; empty, then read-only once the allowed entries are bound
            self.parents(mask)
            cmd += ["--perms", "0755", "--size", str(1 << 20), "--tmpfs", mask]
            self.made.add(mask)
        for site, top in entries:
            self.bind(os.path.join(site, top), os.path.join(site, top))
        for mask in masks:
            cmd += ["--remount-ro", mask]

    def parents(self, dest: str) -> None:
        for parent in reversed(Path(dest).parents):  # bwrap would make missing parents mode 0700
            if str(parent) not in self.made and not any(str(parent).startswith(t + "/") for t in self.trees):
                self.cmd.extend(["--perms", "0755", "--dir", str(parent)])
                self.made.add(str(parent))

    def bind(self, src: str, dest: str) -> None:
        self.parents(dest)
        self.cmd.extend(["--ro-bind", src, dest])
        self.made.add(dest)

    def scratch(self, limits: Limits) -> None:
        self.cmd += ["--perms", "1777", "--size", str(limits.scratch_size), "--tmpfs", SCRATCH, "--chdir", SCRATCH]


def bwrap_launcher(limits: Limits = DEFAULT_LIMITS) -> Launcher:
    """``--isolation sandbox``: bubblewrap with a private root; see the module docstring.  With ``packages``,
    every site-/dist-packages folder in the sandbox is an empty read-only tmpfs into which only those
    distributions' entries are bound: nothing else installed exists there, at any path.  Its ``fork`` gives a
    worker of the whole environment forked from a sandboxed template instead, where one can be
    (:func:`fork_worker`)."""

    def launch(
        argv: Sequence[str], submission: Path, packages: tuple[str, ...] | None = None
    ) -> tuple[list[str], dict[str, str]]:
        python, rest = _split(argv)
        root = _Root(python, limits, packages, own_pids=True)
        sub = readable_submission(Path(submission).resolve(), reachable=False)
        inner = [root.rt.executable] + (["-S"] if packages is not None else [])
        for arg in rest:
            if arg == str(submission) or Path(arg).resolve() == Path(submission).resolve():
                root.bind(str(sub), INSIDE_SUBMISSION)
                inner.append(INSIDE_SUBMISSION)
            elif os.path.isfile(arg):
                dest = f"{INSIDE_GRADER}/{Path(arg).name}"
                for f in CHILD_FILES if Path(arg).resolve() == CHILD.resolve() else (Path(arg),):
                    root.bind(str(f.resolve()), f"{INSIDE_GRADER}/{f.name}")
                inner.append(dest)
            else:
                inner.append(arg)
        root.scratch(limits)
        cmd = root.cmd + ["--", "prlimit", *limits.prlimit(), "--"]
        if root.uid is not None:
            cmd += _drop_to(root.uid)
        return cmd + inner, _clean_env(root.site, SCRATCH, "/tmp")

    def fork(
        python: str, submission: Path, packages: tuple[str, ...] | None, token: str, libraries: Sequence[str] = ()
    ) -> Adopted | None:
        return fork_worker(python, submission, packages, token, limits, libraries)

    launch.fork = fork  # type: ignore[attr-defined]
    return launch


# --------------------------------------------------------------------------- workers forked in the sandbox
@dataclass
class _Slot:
    """The folder a sandboxed template sees at ``/submission`` (its only bind of a submission), the submission its
    copies are of, and the workers forked from it: one copy per worker, each bound by its worker over
    ``/submission``; copies of one submission only, the old ones removed once all their workers are gone."""

    folder: str
    submission: Path | None = None
    workers: list[tuple[Adopted, str]] = field(default_factory=list)
    copies: Iterator[int] = field(default_factory=itertools.count)


_SLOTS: dict[tuple[str, Limits, tuple[str, ...] | None], _Slot] = {}
_SLOTS_LOCK = threading.Lock()


@functools.cache
def _template(
    python: str, limits: Limits, packages: tuple[str, ...] | None, slot: str, imported: tuple[str, ...]
) -> tuple[list[str], dict[str, str]]:
    """The command line and environment of a sandboxed template (see ``zygote.py``, ``--isolate``): the root a
    worker for ``packages`` gets, with no pid namespace of its own (each worker gets one), the slot bound where
    the submission would be, root kept (to give each worker its namespaces and uid), no limits, ``imported``
    imported where the view has them.  Built once per slot and modules (read, never changed, by every fork that
    may have to start the template)."""
    root = _Root(python, limits, packages, own_pids=False)
    root.bind(slot, INSIDE_SUBMISSION)
    for f in (*CHILD_FILES, ZYGOTE):
        root.bind(str(f.resolve()), f"{INSIDE_GRADER}/{f.name}")
    root.scratch(limits)
    probe = _isolation(limits, FIRST_UID + UID_RANGE, INSIDE_SUBMISSION)  # all a worker does, at a uid of its own
    command = root.cmd + ["--cap-drop", "ALL"] + [a for c in _TEMPLATE_CAPS for a in ("--cap-add", c)] + ["--"]
    command += [root.rt.executable] + (["-S"] if packages is not None else [])
    command += ["-u", f"{INSIDE_GRADER}/{ZYGOTE.name}", "0", proctree.MARKER, "--isolate", json.dumps(probe)]
    env = worker_env(_clean_env(root.site, SCRATCH, "/tmp"))
    return command + list(imported), {**env, proctree.MARKER: PLACEHOLDER}


#: What the sandboxed template keeps, to make each worker's namespaces and mounts, drop its bounding set and
#: give it its uid (the worker itself keeps none).
_TEMPLATE_CAPS = ("CAP_SYS_ADMIN", "CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP")


def _isolation(limits: Limits, uid: int, copy: str) -> dict[str, object]:
    """What a forked worker makes of itself (``zygote._isolate``): its uid, its tmpfs folders, its rlimits, and the
    copy of the submission (under the slot) it binds over ``/submission``."""
    return {
        "uid": uid,
        "tmpfs": [["/tmp", limits.scratch_size], [SCRATCH, limits.scratch_size]],  # /dev/shm stays root's, as in bwrap
        "rlimits": [[name, value] for _, name, value in limits.rlimits()],
        "copy": copy,
        "submission": INSIDE_SUBMISSION,
    }


def fork_worker(
    python: str,
    submission: Path,
    packages: tuple[str, ...] | None,
    token: str,
    limits: Limits = DEFAULT_LIMITS,
    libraries: Sequence[str] = (),
) -> Adopted | None:
    """A sandboxed worker forked from a template that imported numpy and torch, and Keras where the worker's
    ``libraries`` name it (``forkserver.modules``), where its view has them (``zygote.py --isolate``; one template
    per view and modules: a numpy-only part's has numpy alone), or ``None`` (start it
    with bubblewrap): only where the grader is root and workers are forked at all (``forkserver.enabled()``: a
    batch that grades several submissions per process, ``watch``), and never while a worker of another
    submission forked from the same template lives."""
    if not _is_root() or not forkserver.usable():
        return None
    key = (python, limits, packages)
    with _SLOTS_LOCK:
        slot = _SLOTS.get(key)
        if slot is None:
            slot = _SLOTS[key] = _Slot(_temp_dir("deepgrade-slot-"))
            os.chmod(slot.folder, 0o700)  # no one else on the host lists or enters it; a worker binds its own copy
        alive = [(w, copy) for w, copy in slot.workers if w.poll() is None]
        for _, copy in set(slot.workers) - set(alive):
            remove_tree(copy)
        slot.workers = alive
        if slot.submission != submission:
            if alive:
                return None
            slot.submission = submission
        copy = os.path.join(slot.folder, str(next(slot.copies)))
        try:
            _copy_plain(Path(submission), Path(copy))
        except OSError:
            remove_tree(copy)
            return None
        imported = modules(libraries)
        command, env = _template(python, limits, packages, slot.folder, imported)
        inside = f"{INSIDE_SUBMISSION}/{os.path.basename(copy)}"
        isolate = _isolation(limits, _worker_uid() or 0, inside)
        request: dict[str, object] = {"submission": INSIDE_SUBMISSION, "token": token, "marker": proctree.MARKER}
        request.update(cwd=SCRATCH, env={**env, proctree.MARKER: token}, sandbox=isolate)
        worker = forkserver.spawn_from(("sandbox", *key, imported), command, env, request)
        if worker is None:
            remove_tree(copy)
            return None
        slot.workers.append((worker, copy))
        return worker


def limits_launcher(limits: Limits = DEFAULT_LIMITS, *, warn: bool = True) -> Launcher:
    """``--isolation limits``: what can be had without bubblewrap (see :func:`describe`)."""
    if warn:
        lost = [p for p, held, _ in properties("limits") if not held]
        why = "not installed" if not shutil.which("bwrap") else "not used" if bwrap_works() else "unusable here"
        print(f"deepgrade: warning: isolation 'limits' (bubblewrap {why}) LOSES: {'; '.join(lost)}", file=sys.stderr)

    def launch(
        argv: Sequence[str], submission: Path, packages: tuple[str, ...] | None = None
    ) -> tuple[list[str], dict[str, str]]:
        python, rest = _split(argv)
        rt = runtime(python)
        if packages is not None:  # the unprivileged user needs only the allowed packages' folders
            rt = Runtime(
                rt.executable, rt.prefix, tuple(dict.fromkeys(s for s, _ in package_entries(python, tuple(packages))))
            )
        uid = _worker_uid()
        fallback = _fallback_runtime(rt) if uid is not None else rt
        if fallback is None:  # the unprivileged user could not run this Python: keep the grader's user
            uid, fallback = None, rt
        sub = readable_submission(Path(submission).resolve(), reachable=uid is not None)
        scratch = _temp_dir("deepgrade-scratch-")
        if uid is not None:
            os.chown(scratch, uid, uid)
        os.chmod(scratch, 0o700)
        site: Sequence[str] = fallback.site
        inner = [fallback.executable]
        if packages is not None:
            site = [package_view(python, tuple(packages))]
            inner.append("-S")
        inner += [str(sub) if a == str(submission) else a for a in rest]
        unshare = unshare_options()
        cmd = _with_init(_dies_with_grader(unshare), fallback.executable) + ["env", "-C", scratch, "--"]
        cmd += ["prlimit", *limits.prlimit(), "--"]
        if uid is not None:
            cmd += _drop_to(uid)
        elif "-r" in unshare:  # root of its own user namespace, as process 1 is: no capability to reach it with
            cmd += _without_capabilities()
        return cmd + inner, _clean_env(site, scratch, scratch)

    return launch


def process_launcher(
    argv: Sequence[str], submission: Path, packages: tuple[str, ...] | None = None
) -> tuple[list[str], dict[str, str]]:
    """``--isolation process``: a plain child process (the grader's user, environment, files and network).
    With ``packages``, ``python -S`` whose ``PYTHONPATH`` is a view of only those packages: nothing else is
    on its path, but the files stay readable (``sys.path.append`` reaches them)."""
    if packages is None:
        return plain_launcher(argv, submission, packages)
    python, rest = _split(argv)
    env = dict(os.environ, PYTHONPATH=package_view(python, tuple(packages)), PYTHONNOUSERSITE="1")
    return [python, "-S", *rest], env


FORKABLE.add(process_launcher)


def launcher_for(isolation: str, limits: Limits = DEFAULT_LIMITS) -> Launcher:
    """The launcher of an isolation level (``auto`` picks the best available one).

    Raises ``ValueError`` for an unknown level, and for ``sandbox`` where bubblewrap cannot run.
    """
    level = resolve(isolation)
    if level == "process":
        return process_launcher
    if level == "sandbox":
        if not bwrap_works():
            raise ValueError(
                "isolation 'sandbox' needs bubblewrap (apt-get install bubblewrap), which "
                + ("is not installed" if not shutil.which("bwrap") else "cannot create namespaces here")
                + "; use --isolation limits or auto"
            )
        return bwrap_launcher(limits)
    return limits_launcher(limits)


# --------------------------------------------------------------------------- what holds
ABSENT = "forbidden packages absent (numpy-only parts)"
_VIEW_ONLY = (
    "LOST: python -S with a PYTHONPATH of only the allowed packages, but the other packages' files "
    "stay readable (sys.path.append reaches them); the worker's audit hook reports such an import"
)


def properties(isolation: str) -> list[tuple[str, bool, str]]:
    """``(property, holds, how)`` for each property the sandbox promises, at ``isolation`` on this machine."""
    level = resolve(isolation)
    root = _is_root()
    if level == "process":
        return [
            (p, False, "plain child process")
            for p in (
                "unprivileged user",
                "no network",
                "read-only filesystem, private scratch cwd",
                "cannot read solutions/hidden checks/other submissions",
                "resource limits",
                "cannot signal the grader",
            )
        ] + [
            ("no process left behind", True, "the worker's process group is killed on stop"),
            ("clean environment", False, "inherits the grader's environment"),
            (ABSENT, False, _VIEW_ONLY),
        ]
    if level == "sandbox":
        user = (
            f"setpriv to a fresh uid >= {FIRST_UID}, all capabilities dropped"
            if root
            else "runs as the grader's own (unprivileged) user in a user namespace"
        )
        return [
            ("unprivileged user", True, user),
            ("no network", True, "bwrap --unshare-net (only a loopback that is down)"),
            (
                "read-only filesystem, private scratch cwd",
                True,
                f"private root of read-only binds; tmpfs {SCRATCH} (cwd) and /tmp of limited size",
            ),
            (
                "cannot read solutions/hidden checks/other submissions",
                True,
                "only the Python runtime, site-packages, child.py and the submission are bound",
            ),
            ("resource limits", True, "prlimit: CPU time, address space, processes, file size, open files"),
            ("cannot signal the grader", True, "private pid namespace, new session"),
            (
                "no process left behind",
                True,
                "--die-with-parent; killing bwrap, or a worker forked in the sandbox (process 1 of its own), ends "
                "the pid namespace",
            ),
            ("clean environment", True, "only PATH, HOME, TMPDIR, locale and PYTHONPATH"),
            (
                ABSENT,
                True,
                "every site-/dist-packages folder is an empty read-only tmpfs holding only the "
                "allowed distributions' files; the others do not exist in the sandbox",
            ),
        ]
    rt = runtime(sys.executable)
    dropped = root and _fallback_runtime(rt) is not None
    user_how = (
        f"setpriv to a fresh uid >= {FIRST_UID}"
        if dropped
        else "LOST: the grader is not root, so the worker runs as the grader's user"
        if not root
        else "LOST: this Python or its site-packages are not reachable by an unprivileged user"
    )
    net, pid = unshare_net_works(), unshare_pid_works()
    return [
        ("unprivileged user", dropped, user_how),
        ("no network", net, "unshare -n" if net else "LOST: unshare -n does not work here"),
        (
            "read-only filesystem, private scratch cwd",
            False,
            "LOST: it can write wherever its user may (a fresh scratch folder is its cwd)",
        ),
        (
            "cannot read solutions/hidden checks/other submissions",
            False,
            "LOST: it can read every file its user may read (mode o+r), solutions/ included",
        ),
        ("resource limits", True, "prlimit: CPU time, address space, processes, file size, open files"),
        (
            "cannot signal the grader",
            dropped or pid,
            "unshare -p: a private pid namespace"
            if pid
            else "a different uid cannot signal the grader"
            if dropped
            else "LOST: same user, same pid namespace",
        ),
        (
            "no process left behind",
            pid,
            "unshare -p --kill-child: the pid namespace ends with the worker"
            if pid
            else "LOST: the process group is killed on stop, but a child that calls setsid() escapes it",
        ),
        ("clean environment", True, "only PATH, HOME, TMPDIR, locale and PYTHONPATH"),
        (ABSENT, False, _VIEW_ONLY),
    ]


def describe(isolation: str) -> str:
    """A few lines saying which sandbox properties hold at ``isolation`` here, and which are lost."""
    level = resolve(isolation)
    head = f"isolation {level}" + (" (auto)" if isolation == "auto" else "")
    if level == "sandbox" and not bwrap_works():
        head += " -- UNAVAILABLE here: bubblewrap is missing or cannot create namespaces"
    lines = [f"  [{'x' if held else ' '}] {name}: {how}" for name, held, how in properties(level)]
    return "\n".join([head, *lines])
