"""Isolation levels for the worker that runs student code, and the launchers that give them.

``--isolation`` names one of :data:`LEVELS`:

* ``process`` — an ordinary child process (the grader's user, environment, filesystem and network);
* ``limits``  — the fallback where bubblewrap is missing: resource limits, an unprivileged user (when the
  grader runs as root), no network (``unshare -n``, when it works), a clean environment and a scratch cwd;
* ``sandbox`` — bubblewrap: all of ``limits`` plus a private root that holds only the Python runtime, the
  worker file and the submission (read-only), a tmpfs scratch cwd, and private pid/ipc/uts/net namespaces;
* ``auto``    — the best of these that works on this machine (:func:`available_isolation`).

A launcher maps the worker's command line ``[python, -u, child.py, SUBMISSION]`` to the command line and
environment that start it at that level (see :data:`grader._worker.client.Launcher`).  See docs/sandbox.md.
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
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from grader._worker.client import CHILD, Launcher, plain_launcher

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

    cpu_seconds: int = 900                  # RLIMIT_CPU: CPU time of the worker over a whole submission
    address_space: int = 8 << 30            # RLIMIT_AS: torch maps ~0.7 GiB at import; checks peak near 2 GiB
    processes: int = 256                    # RLIMIT_NPROC: processes + threads of the worker's user
    file_size: int = 64 << 20               # RLIMIT_FSIZE: largest file it may write
    scratch_size: int = 128 << 20           # tmpfs size of the scratch folder and of /tmp (sandbox only)
    open_files: int = 1024                  # RLIMIT_NOFILE

    def prlimit(self) -> list[str]:
        """``prlimit`` options setting soft = hard limits (no core dumps)."""
        return [f"--cpu={self.cpu_seconds}", f"--as={self.address_space}", f"--nproc={self.processes}",
                f"--fsize={self.file_size}", f"--nofile={self.open_files}", "--core=0"]


DEFAULT_LIMITS = Limits()


# --------------------------------------------------------------------------- what this machine can do
def _is_root() -> bool:
    return os.geteuid() == 0


@functools.lru_cache(maxsize=None)
def _works(*argv: str) -> bool:
    """Whether ``argv`` runs and exits 0 within a few seconds."""
    try:
        return subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, timeout=20).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def bwrap_works() -> bool:
    """bubblewrap is installed and can create the namespaces the sandbox needs."""
    bwrap = shutil.which("bwrap")
    if not bwrap:
        return False
    userns = [] if _is_root() else ["--unshare-user"]
    return _works(bwrap, *userns, "--unshare-pid", "--unshare-net", "--die-with-parent", "--ro-bind", "/", "/",
                  "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "true")


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


_QUERY = ("import json, os, sys, sysconfig; p = sysconfig.get_paths(); "
          "print(json.dumps([os.path.realpath(sys.executable), os.path.realpath(sys.base_prefix), "
          "[os.path.realpath(p[k]) for k in ('purelib', 'platlib')]]))")


@functools.lru_cache(maxsize=None)
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


# --------------------------------------------------------------------------- shared pieces
_uids = itertools.count()


def _worker_uid() -> int | None:
    """A fresh unprivileged uid for the next worker when the grader is root; ``None`` otherwise."""
    if not _is_root():
        return None
    return FIRST_UID + (os.getpid() * 7919 + next(_uids)) % UID_RANGE


def _drop_to(uid: int) -> list[str]:
    return ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all",
            "--bounding-set=-all", "--no-new-privs", "--"]


def _clean_env(site: Sequence[str], home: str, tmp: str) -> dict[str, str]:
    """The worker's whole environment: nothing of the grader's (no tokens, no paths) leaks in."""
    return {"PATH": "/usr/bin:/bin", "HOME": home, "TMPDIR": tmp, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
            "PYTHONPATH": os.pathsep.join(site), "PYTHONNOUSERSITE": "1",
            "MPLCONFIGDIR": f"{home}/.matplotlib", "XDG_CACHE_HOME": f"{home}/.cache", "MPLBACKEND": "Agg",
            "MALLOC_ARENA_MAX": "4"}  # glibc reserves 64 MiB of address space per thread arena otherwise


_TEMPS: list[str] = []


@atexit.register
def _remove_temps() -> None:
    for path in _TEMPS:
        shutil.rmtree(path, ignore_errors=True)


def _temp_dir(prefix: str) -> str:
    path = tempfile.mkdtemp(prefix=prefix)
    _TEMPS.append(path)
    return path


def readable_submission(submission: Path, *, reachable: bool) -> Path:
    """``submission`` if every file in it is world-readable (and, with ``reachable``, the folders above
    it are world-traversable); otherwise a world-readable copy (uploads often come with mode 600)."""
    submission = Path(submission)
    ok = not reachable or _world_reachable(str(submission))
    for root, dirs, files in os.walk(submission):
        if not ok:
            break
        ok = all(os.stat(os.path.join(root, n)).st_mode & (stat.S_IROTH | stat.S_IXOTH) ==
                 (stat.S_IROTH | stat.S_IXOTH) for n in ["."] + dirs) and \
            all(os.stat(os.path.join(root, n)).st_mode & stat.S_IROTH for n in files)
    if ok:
        return submission
    copy = Path(_temp_dir("deepgrade-sub-")) / "submission"
    shutil.copytree(submission, copy, ignore=shutil.ignore_patterns("__pycache__"), symlinks=False)
    os.chmod(copy.parent, 0o755)
    for root, dirs, files in os.walk(copy):
        os.chmod(root, 0o755)
        for n in files:
            os.chmod(os.path.join(root, n), 0o644)
    return copy


def _split(argv: Sequence[str]) -> tuple[str, list[str]]:
    """The interpreter of the worker's command line and its remaining arguments."""
    if not argv:
        raise ValueError("empty worker command line")
    return argv[0], list(argv[1:])


# --------------------------------------------------------------------------- levels
def bwrap_launcher(limits: Limits = DEFAULT_LIMITS) -> Launcher:
    """``--isolation sandbox``: bubblewrap with a private root; see the module docstring."""

    def launch(argv: Sequence[str], submission: Path,
               packages: tuple[str, ...] | None = None) -> tuple[list[str], dict[str, str]]:
        python, rest = _split(argv)
        rt = runtime(python)
        sub = readable_submission(Path(submission).resolve(), reachable=False)
        cmd = ["bwrap", "--die-with-parent", "--new-session", "--unshare-pid", "--unshare-net", "--unshare-ipc",
               "--unshare-uts", "--unshare-cgroup-try", "--hostname", "sandbox"]
        uid = _worker_uid()
        if uid is None:
            cmd += ["--unshare-user", "--disable-userns"]
        cmd += ["--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc"]
        for top in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
            target = Path("/", top)
            if target.is_symlink():
                cmd += ["--symlink", os.readlink(target), f"/{top}"]
            elif target.is_dir():
                cmd += ["--ro-bind", str(target), f"/{top}"]
        cmd += ["--proc", "/proc", "--dev", "/dev",
                "--perms", "1777", "--size", str(limits.scratch_size), "--tmpfs", "/tmp"]
        made: set[str] = {"/", "/usr", "/etc", "/tmp", "/proc", "/dev"}

        def bind(src: str, dest: str) -> None:
            for parent in reversed(Path(dest).parents):  # bwrap would make missing parents mode 0700
                if str(parent) not in made and not any(str(parent).startswith(m + "/") for m in ("/usr", "/etc")):
                    cmd.extend(["--perms", "0755", "--dir", str(parent)])
                    made.add(str(parent))
            cmd.extend(["--ro-bind", src, dest])
            made.add(dest)

        for path in (rt.prefix, *rt.site):
            if not path.startswith(("/usr/", "/etc/")) and path != "/usr":
                bind(path, path)
        inner = [rt.executable]
        for arg in rest:
            if arg == str(submission) or Path(arg).resolve() == Path(submission).resolve():
                bind(str(sub), INSIDE_SUBMISSION)
                inner.append(INSIDE_SUBMISSION)
            elif os.path.isfile(arg):
                dest = f"{INSIDE_GRADER}/{Path(arg).name}"
                bind(str(Path(arg).resolve()), dest)
                inner.append(dest)
            else:
                inner.append(arg)
        cmd += ["--perms", "1777", "--size", str(limits.scratch_size), "--tmpfs", SCRATCH, "--chdir", SCRATCH]
        cmd += ["--", "prlimit", *limits.prlimit(), "--"]
        if uid is not None:
            cmd += _drop_to(uid)
        return cmd + inner, _clean_env(rt.site, SCRATCH, "/tmp")

    return launch


def limits_launcher(limits: Limits = DEFAULT_LIMITS, *, warn: bool = True) -> Launcher:
    """``--isolation limits``: what can be had without bubblewrap (see :func:`describe`)."""
    if warn:
        lost = [p for p, held, _ in properties("limits") if not held]
        why = "not installed" if not shutil.which("bwrap") else "not used" if bwrap_works() else "unusable here"
        print(f"deepgrade: warning: isolation 'limits' (bubblewrap {why}) LOSES: {'; '.join(lost)}",
              file=sys.stderr)

    def launch(argv: Sequence[str], submission: Path,
               packages: tuple[str, ...] | None = None) -> tuple[list[str], dict[str, str]]:
        python, rest = _split(argv)
        rt = runtime(python)
        uid = _worker_uid()
        fallback = _fallback_runtime(rt) if uid is not None else rt
        if fallback is None:  # the unprivileged user could not run this Python: keep the grader's user
            uid, fallback = None, rt
        sub = readable_submission(Path(submission).resolve(), reachable=uid is not None)
        scratch = _temp_dir("deepgrade-scratch-")
        if uid is not None:
            os.chown(scratch, uid, uid)
        os.chmod(scratch, 0o700)
        inner = [fallback.executable] + [str(sub) if a == str(submission) else a for a in rest]
        cmd = unshare_options() + ["env", "-C", scratch, "--"]
        cmd += ["prlimit", *limits.prlimit(), "--"]
        if uid is not None:
            cmd += _drop_to(uid)
        return cmd + inner, _clean_env(fallback.site, scratch, scratch)

    return launch


def launcher_for(isolation: str, limits: Limits = DEFAULT_LIMITS) -> Launcher:
    """The launcher of an isolation level (``auto`` picks the best available one).

    Raises ``ValueError`` for an unknown level, and for ``sandbox`` where bubblewrap cannot run.
    """
    level = resolve(isolation)
    if level == "process":
        return plain_launcher
    if level == "sandbox":
        if not bwrap_works():
            raise ValueError("isolation 'sandbox' needs bubblewrap (apt-get install bubblewrap), which "
                             + ("is not installed" if not shutil.which("bwrap") else "cannot create namespaces here")
                             + "; use --isolation limits or auto")
        return bwrap_launcher(limits)
    return limits_launcher(limits)


# --------------------------------------------------------------------------- what holds
def properties(isolation: str) -> list[tuple[str, bool, str]]:
    """``(property, holds, how)`` for each property the sandbox promises, at ``isolation`` on this machine."""
    level = resolve(isolation)
    root = _is_root()
    if level == "process":
        return [(p, False, "plain child process") for p in
                ("unprivileged user", "no network", "read-only filesystem, private scratch cwd",
                 "cannot read solutions/hidden checks/other submissions", "resource limits",
                 "cannot signal the grader")] + [
                ("no process left behind", True, "the worker's process group is killed on stop"),
                ("clean environment", False, "inherits the grader's environment")]
    if level == "sandbox":
        user = (f"setpriv to a fresh uid >= {FIRST_UID}, all capabilities dropped" if root
                else "runs as the grader's own (unprivileged) user in a user namespace")
        return [
            ("unprivileged user", True, user),
            ("no network", True, "bwrap --unshare-net (only a loopback that is down)"),
            ("read-only filesystem, private scratch cwd", True,
             f"private root of read-only binds; tmpfs {SCRATCH} (cwd) and /tmp of limited size"),
            ("cannot read solutions/hidden checks/other submissions", True,
             "only the Python runtime, site-packages, child.py and the submission are bound"),
            ("resource limits", True, "prlimit: CPU time, address space, processes, file size, open files"),
            ("cannot signal the grader", True, "private pid namespace, new session"),
            ("no process left behind", True, "--die-with-parent; killing bwrap ends the pid namespace"),
            ("clean environment", True, "only PATH, HOME, TMPDIR, locale and PYTHONPATH"),
        ]
    rt = runtime(sys.executable)
    dropped = root and _fallback_runtime(rt) is not None
    user_how = (f"setpriv to a fresh uid >= {FIRST_UID}" if dropped else
                "LOST: the grader is not root, so the worker runs as the grader's user" if not root else
                "LOST: this Python or its site-packages are not reachable by an unprivileged user")
    net, pid = unshare_net_works(), unshare_pid_works()
    return [
        ("unprivileged user", dropped, user_how),
        ("no network", net, "unshare -n" if net else "LOST: unshare -n does not work here"),
        ("read-only filesystem, private scratch cwd", False,
         "LOST: it can write wherever its user may (a fresh scratch folder is its cwd)"),
        ("cannot read solutions/hidden checks/other submissions", False,
         "LOST: it can read every file its user may read (mode o+r), solutions/ included"),
        ("resource limits", True, "prlimit: CPU time, address space, processes, file size, open files"),
        ("cannot signal the grader", dropped or pid,
         "unshare -p: a private pid namespace" if pid else
         "a different uid cannot signal the grader" if dropped else "LOST: same user, same pid namespace"),
        ("no process left behind", pid,
         "unshare -p --kill-child: the pid namespace ends with the worker" if pid else
         "LOST: the process group is killed on stop, but a child that calls setsid() escapes it"),
        ("clean environment", True, "only PATH, HOME, TMPDIR, locale and PYTHONPATH"),
    ]


def describe(isolation: str) -> str:
    """A few lines saying which sandbox properties hold at ``isolation`` here, and which are lost."""
    level = resolve(isolation)
    head = f"isolation {level}" + (" (auto)" if isolation == "auto" else "")
    if level == "sandbox" and not bwrap_works():
        head += " -- UNAVAILABLE here: bubblewrap is missing or cannot create namespaces"
    lines = [f"  [{'x' if held else ' '}] {name}: {how}" for name, held, how in properties(level)]
    return "\n".join([head, *lines])
