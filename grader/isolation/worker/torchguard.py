"""Worker-side device guard (sent to the worker as source; never imported by the grader).

``DeviceGuard`` is a ``TorchFunctionMode`` that sees every torch call while student code runs on the
``meta`` device (shapes and dtypes, no data, no GPU needed).  It raises ``DeviceMixError`` when

* one call gets tensors on two devices (a tensor created without ``device=`` and mixed with the input;
  0-d CPU tensors and CPU index tensors are allowed, as torch allows them with CUDA tensors);
* with ``host_reads=False`` (inside a forward pass): ``.cpu()``, ``.numpy()``, ``.item()``, ``float(t)``,
  ``.tolist()`` or ``.to("cpu")`` is called on a meta tensor.

With ``host_reads=True`` (a training loop, which legitimately reads ``loss.item()``) those reads
return zeros instead, so the loop can run to the end on the meta device.
"""

import torch
from torch.overrides import TorchFunctionMode


class DeviceMixError(RuntimeError):
    """The code would fail (or silently leave the GPU) on a non-CPU device."""


_READS = ("cpu", "numpy", "item", "tolist", "__float__", "__int__", "__index__", "__bool__", "__array__")
#: calls that legitimately see two devices: moving and copying between them
_TRANSFERS = ("to", "copy_", "set_", "__set__", "_has_compatible_shallow_copy_type", "new_tensor", "as_tensor")
_INDEXING = ("__getitem__", "__setitem__", "index_select", "gather", "scatter", "index_put_", "index_put")


def _tensors(obj, out):
    if isinstance(obj, torch.Tensor):
        out.append(obj)
    elif isinstance(obj, (list, tuple)):
        for item in obj:
            _tensors(item, out)
    elif isinstance(obj, dict):
        for item in obj.values():
            _tensors(item, out)
    return out


def _to_cpu(args, kwargs):
    targets = list(args[1:]) + [kwargs.get("device")]
    return any(
        (isinstance(t, str) and t.startswith("cpu")) or (isinstance(t, torch.device) and t.type == "cpu")
        for t in targets
    )


def _fake_read(name, t):
    if name in ("item", "__float__", "__int__", "__index__", "__bool__"):
        value = 0.0 if t.is_floating_point() and name in ("item", "__float__") else 0
        return bool(value) if name == "__bool__" else value
    zeros = torch.zeros(t.shape, dtype=t.dtype)
    if name == "tolist":
        return zeros.tolist()
    return zeros.numpy() if name in ("numpy", "__array__") else zeros


class DeviceGuard(TorchFunctionMode):
    """Check device consistency of every torch call (see the module docstring)."""

    def __init__(self, host_reads=False):
        super().__init__()
        self.host_reads = host_reads

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "") or str(func)
        tensors = _tensors((args, kwargs), [])
        if name in _INDEXING and tensors:
            tensors = tensors[:1] + [t for t in tensors[1:] if t.is_floating_point()]
        if name in _TRANSFERS:
            tensors = tensors[:1]
        devices = {t.device.type for t in tensors if not (t.device.type == "cpu" and t.dim() == 0)}
        if len(devices) > 1:
            raise DeviceMixError(
                f"{name} got tensors on different devices ({' and '.join(sorted(devices))}); "
                "a tensor was created without device= (or not moved with .to(device)) — on a GPU this fails"
            )
        on_meta = "meta" in devices
        if on_meta and (name in _READS or (name == "to" and _to_cpu(args, kwargs))):
            if not self.host_reads:
                raise DeviceMixError(
                    f".{name}() inside the forward pass copies to the host; on a GPU the rest "
                    "of the computation would leave the device (keep everything as tensors on x.device)"
                )
            return _fake_read("cpu" if name == "to" else name, tensors[0])
        return func(*args, **kwargs)
