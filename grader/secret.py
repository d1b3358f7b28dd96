"""The course secret: where hidden checks get their seeds.

A hidden check's examples are drawn with a seed derived from a secret that only the instructor's side holds
(never ``assignments/``, a release, a notebook or anything else a student receives), so nobody can redraw
them offline from the public check names.

Where the secret comes from, first match wins:

1. an explicit ``path`` (``--secret-file``) — a file holding it;
2. ``DEEPGRADE_SECRET`` — the secret itself (any text; at least 16 characters);
3. ``DEEPGRADE_SECRET_FILE`` — a file holding it;
4. ``$XDG_CONFIG_HOME/deepgrade/secret`` (default ``~/.config/deepgrade/secret``), created with 32 random
   bytes (mode 600) on first use; that one time, stderr says where.

>>> hidden_seed(b"course secret of 2026", "neuron.relu", "relu_forward matches torch [hidden]")  # doctest: +SKIP
2871020361
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import sys
from pathlib import Path

ENV, ENV_FILE = "DEEPGRADE_SECRET", "DEEPGRADE_SECRET_FILE"
MIN_LENGTH = 16


class SecretError(ValueError):
    """The secret cannot be read or is too short (a usage error: one line, exit 2)."""


def default_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "deepgrade" / "secret"


def _check(secret: bytes, where: str) -> bytes:
    secret = secret.strip()
    if len(secret) < MIN_LENGTH:
        raise SecretError(f"the course secret in {where} is shorter than {MIN_LENGTH} characters")
    return secret


def load(path: Path | str | None = None, *, create: bool = True) -> bytes:
    """The course secret (see the module docstring); creates the default file when ``create`` and it is missing."""
    if path is None and os.environ.get(ENV):
        return _check(os.environ[ENV].encode(), f"${ENV}")
    explicit = path is not None or bool(os.environ.get(ENV_FILE))
    file = Path(path if path is not None else os.environ.get(ENV_FILE) or default_path()).expanduser()
    if not file.exists():
        if explicit or not create:
            raise SecretError(f"no course secret at {file}")
        try:
            created = write(file, secrets.token_hex(32).encode())
        except OSError as exc:
            raise SecretError(f"cannot create the course secret {file}: {exc.strerror}") from None
        if created:
            print(
                f"deepgrade: created the course secret {file} (mode 600): it seeds the hidden checks; "
                "keep it, and never give it to students",
                file=sys.stderr,
            )
    try:
        return _check(file.read_bytes(), str(file))
    except OSError as exc:
        raise SecretError(f"cannot read the course secret {file}: {exc.strerror}") from None


def known() -> list[bytes]:
    """Every course secret this machine holds (environment, ``DEEPGRADE_SECRET_FILE``, the default file),
    without creating one: what a student-facing artifact must never contain."""
    found = []
    candidates = [os.environ.get(ENV, "").encode()]
    for name in (os.environ.get(ENV_FILE), default_path()):
        try:
            candidates.append(Path(name).expanduser().read_bytes() if name else b"")
        except OSError:
            pass
    for raw in candidates:
        raw = raw.strip()
        if len(raw) >= MIN_LENGTH and raw not in found:
            found.append(raw)
    return found


def write(file: Path, secret: bytes) -> bool:
    """Write a secret file readable by its owner only (the folder too, when it is made here), whole or not at
    all; ``False`` if another process made it first (then it is left as it is)."""
    file = Path(file)
    file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = file.with_name(f".{file.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(secret + b"\n")
        os.link(tmp, file)  # atomic, and fails if the file exists: nobody ever reads half a secret
    except FileExistsError:
        return False
    finally:
        tmp.unlink(missing_ok=True)
    return True


def fingerprint(secret: bytes) -> str:
    """A short one-way name of the secret (grades made under another secret are out of date)."""
    return hmac.new(secret, b"deepgrade secret fingerprint", hashlib.sha256).hexdigest()[:16]


def hidden_seed(secret: bytes, exercise_id: str, check_name: str) -> int:
    """The seed of a hidden check: HMAC-SHA256 of its name under the secret, as a 32-bit integer."""
    digest = hmac.new(secret, f"{exercise_id}/{check_name}".encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:4], "big")
