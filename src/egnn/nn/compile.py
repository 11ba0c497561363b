"""``torch.compile`` for any ``egnn.nn`` module, with an eager fallback.

Inductor fuses the elementwise work around the matmuls (activations, gathers, gates, sums), which
is most of an EGNN layer's time at the paper's sizes. Compiling needs a working C++ compiler on CPU
(Triton on GPU); where it is missing, :func:`compile_module` warns once and leaves the module eager,
so a config with ``compile=true`` runs everywhere.
"""

from __future__ import annotations

import functools
import logging

import torch
from torch import nn

log = logging.getLogger(__name__)


@functools.cache
def compile_available(device: str = "cpu") -> bool:
    """Whether ``torch.compile`` can build a kernel on ``device`` (``"cpu"``, ``"cuda:0"``) here
    (tried once per device, then cached)."""
    try:
        probe = torch.compile(lambda x: torch.nn.functional.silu(x) + 1.0, dynamic=False)
        probe(torch.ones(4, device=device))
    except Exception as err:  # any backend failure means: stay eager
        log.warning("torch.compile is unavailable on %s (%s); running eager", device, err)
        return False
    return True


def inductor_options(device: str) -> dict:
    """Inductor options for ``device``. On CPU, ``cpp_wrapper``: the code that calls the kernels
    of a compiled graph is C++ instead of Python, which saves ~0.5 ms of a 10 ms N-body training
    step (one thread; the step runs ~100 kernels and matmuls) and compiles no slower."""
    return {"cpp_wrapper": True} if torch.device(device).type == "cpu" else {}


def compile_module(
    module: nn.Module, dynamic: bool | None = None, device: str | None = None
) -> bool:
    """Compile ``module`` in place (:meth:`torch.nn.Module.compile`: parameter names and
    checkpoints are unchanged) with :func:`inductor_options`. Returns whether it was compiled.

    Args:
        module: any module; its first call after this one triggers the compilation.
        dynamic: ``None`` (default) compiles for the first shapes and recompiles once with symbolic
            shapes when they change (graph sizes vary between batches); ``True`` starts symbolic.
        device: device the module will run on, e.g. ``"cuda:1"`` (default: where its parameters
            are now); the probe runs there.
    """
    device = device or str(next(module.parameters(), torch.empty(0)).device)
    if not compile_available(device):
        return False
    # A failure while compiling the real module (an unsupported op, a backend error) runs that
    # frame eagerly with a warning instead of stopping the training.
    torch._dynamo.config.suppress_errors = True
    module.compile(dynamic=dynamic, options=inductor_options(device))
    return True


# ``compile=auto`` compiles a run's network when both hold: its class says compiling pays
# (``compile_pays = True``, set where it was measured) and the run plans at least this many
# optimizer steps. A cold compile of the N-body EGNN costs 30-40 s on one CPU thread and saves
# about 4 ms a step; with Inductor's on-disk cache warm it costs 1.5-3 s
# (report/notes/performance.md).
AUTO_COMPILE_MIN_STEPS = 2_000


def compile_pays(module: nn.Module) -> bool:
    """Whether compiling ``module`` was measured to pay: its class sets ``compile_pays = True``."""
    return bool(getattr(module, "compile_pays", False))
