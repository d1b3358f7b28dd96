"""Grader side of the device checks: the guard's source for the worker, and its errors as failures.

Student torch code is run in the worker on the ``meta`` device under ``grader/isolation/worker/torchguard.py``
(see docs/curriculum-gan-pytorch-keras.md for what this catches without a GPU, and what it cannot).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader.checks import replies
from grader.checks.failure import CheckFailed
from grader.i18n import N_, _
from grader.isolation.worker.client import StudentError

if TYPE_CHECKING:
    from grader.checks.context import Context

GUARD = Path(__file__).resolve().parent.parent / "isolation" / "worker" / "torchguard.py"

#: Agreement between devices for training smoke tests: final accuracies within this many points.
ACCURACY_AGREEMENT = 0.03


@lru_cache(maxsize=1)
def guard_source() -> str:
    """The guard module as text, for a driver to ``exec`` in the worker."""
    return GUARD.read_text()


def as_device_failure(exc: StudentError, what: str) -> Exception:
    """A guard error from the worker becomes a failed check that says what to fix; anything else is kept."""
    if "DeviceMixError" not in exc.message:
        return exc
    detail = exc.message.split("DeviceMixError:", 1)[1].strip()
    return CheckFailed(
        _("{what} is not device-safe (run on torch's meta device, no GPU needed): {detail}").format(
            what=what, detail=detail
        ),
        hint=N_(
            "create tensors with device=x.device (or torch.zeros_like), move every batch "
            "with .to(device), and only call .item()/.cpu()/.numpy() outside the forward pass"
        ),
    )


def devices_agree(accuracies: dict[str, float], what: str) -> None:
    """Every device's accuracy within :data:`ACCURACY_AGREEMENT` of the CPU's."""
    cpu = accuracies.get("cpu")
    for device, acc in accuracies.items():
        if cpu is not None and abs(acc - cpu) > ACCURACY_AGREEMENT:
            raise CheckFailed(
                _("{what}: {device} and cpu disagree").format(what=what, device=device),
                expected=f"{cpu:.3f} (cpu)",
                got=f"{acc:.3f} ({device})",
                tolerance=f"±{ACCURACY_AGREEMENT}",
                hint=N_("the same code should learn the same thing on every device"),
            )


def run_reference(ctx: Context, part: str, driver: Callable[..., Any], *args: Any) -> Any:
    """Run a worker-side driver on the *reference* module, here in the grader (trusted code), keeping the
    grader's torch thread count as it was (drivers may pin it for the worker).  Its arguments are the check's own
    data (its seed, fixed settings), never what the student's code returned, so the answer is computed once per
    course and kept with the check's plans (:meth:`Context.fixed`)."""
    return ctx.fixed(lambda *a: _on_reference(ctx, driver, *a), part, replies.driver_name(driver), *args)


def _on_reference(ctx: Context, driver: Callable[..., Any], part: str, _name: str, *args: Any) -> Any:
    import torch

    ref = ctx.reference(part)
    threads = torch.get_num_threads()
    try:
        return driver(lambda _part: ref, *args)
    finally:
        torch.set_num_threads(threads)
