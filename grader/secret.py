"""The course secret: where hidden checks get their seeds.

A hidden check's examples are drawn with a seed derived from a secret that only the instructor's side holds
(never ``assignments/``, a release, a notebook or anything else a student receives), so nobody can redraw
them offline from the public check names.

Where the secret comes from, first match wins:

1. ``DEEPGRADE_SECRET`` — the secret itself (any text; at least 16 characters);
2. ``DEEPGRADE_SECRET_FILE`` or an explicit ``path`` — a file holding it;
3. ``$XDG_CONFIG_HOME/deepgrade/secret`` (default ``~/.config/deepgrade/secret``), created with 32 random
   bytes (mode 600) on first use.

>>> hidden_seed(b"course secret of 2026", "neuron.relu", "relu_forward matches torch [hidden]")  # doctest: +SKIP
2871020361
"""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
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
    if os.environ.get(ENV):
        return _check(os.environ[ENV].encode(), f"${ENV}")
    explicit = path is not None or bool(os.environ.get(ENV_FILE))
    file = Path(path if path is not None else os.environ.get(ENV_FILE) or default_path()).expanduser()
    if not file.exists():
        if explicit or not create:
            raise SecretError(f"no course secret at {file}")
        write(file, secrets.token_hex(32).encode())
    try:
        return _check(file.read_bytes(), str(file))
    except OSError as exc:
        raise SecretError(f"cannot read the course secret {file}: {exc.strerror}") from None


def write(file: Path, secret: bytes) -> None:
    """Write a secret file readable by its owner only (the folder too, when it is made here)."""
    file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(secret + b"\n")


def hidden_seed(secret: bytes, exercise_id: str, check_name: str) -> int:
    """The seed of a hidden check: HMAC-SHA256 of its name under the secret, as a 32-bit integer."""
    digest = hmac.new(secret, f"{exercise_id}/{check_name}".encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:4], "big")
