"""The compiled fast path (``compile=true``): the same function as eager, still equivariant, and an
eager fallback where no compiler works."""

import copy

import pytest
import torch

from egnn.nn import build_nbody_model, fully_connected_edges
from egnn.nn import compile as compile_mod
from egnn.nn.compile import compile_available, compile_module
from egnn.testing import EDGE_INDEX, NODE_SCALAR, POSITION, VECTOR, assert_equivariant

KINDS = {"pos": POSITION, "vel": VECTOR, "charges": NODE_SCALAR, "edge_index": EDGE_INDEX}


def _inputs(n_graphs=3):
    g = torch.Generator().manual_seed(0)
    n = 5 * n_graphs
    return {
        "pos": torch.randn(n, 3, generator=g, dtype=torch.float64),
        "vel": torch.randn(n, 3, generator=g, dtype=torch.float64),
        "charges": torch.randint(0, 2, (n, 1), generator=g).double() * 2 - 1,
        "edge_index": fully_connected_edges(5, n_graphs),
    }


def test_compiled_egnn_equals_eager_and_stays_equivariant():
    if not compile_available("cpu"):
        pytest.skip("no working C++ compiler for inductor on this machine")
    torch.manual_seed(0)
    eager = build_nbody_model("egnn", hidden_nf=16, n_layers=2).double()
    compiled = copy.deepcopy(eager)
    assert compile_module(compiled)
    assert compiled.state_dict().keys() == eager.state_dict().keys()  # checkpoints unchanged
    inputs = _inputs()
    torch.testing.assert_close(compiled(**inputs), eager(**inputs), rtol=1e-10, atol=1e-12)
    # Gradients too: the training step runs the compiled backward.
    compiled(**inputs).square().sum().backward()
    eager(**inputs).square().sum().backward()
    for (name, a), b in zip(compiled.named_parameters(), eager.parameters(), strict=True):
        torch.testing.assert_close(a.grad, b.grad, rtol=1e-9, atol=1e-12, msg=name)
    assert_equivariant(compiled, inputs, KINDS, (POSITION,), atol=1e-9)


def test_compile_falls_back_to_eager_when_the_backend_fails(monkeypatch, caplog):
    def broken_compile(*args, **kwargs):
        raise RuntimeError("no C++ compiler found")

    compile_available.cache_clear()
    monkeypatch.setattr(compile_mod.torch, "compile", broken_compile)
    try:
        model = torch.nn.Linear(2, 2)
        assert not compile_module(model)
        assert "no C++ compiler found" in caplog.text
        assert model(torch.ones(1, 2)).shape == (1, 2)  # still usable, eagerly
    finally:
        compile_available.cache_clear()


def test_bf16_autocast_keeps_coordinates_float32_and_close():
    # trainer.precision=bf16-mixed: the matmuls run in bf16 (3.5x the float32 rate on CPUs with
    # AVX512-BF16), the coordinates and residual features stay float32.
    torch.manual_seed(0)
    model = build_nbody_model("egnn", hidden_nf=16, n_layers=2)
    inputs = {k: v.float() if v.is_floating_point() else v for k, v in _inputs().items()}
    exact = model(**inputs)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        mixed = model(**inputs)
    assert mixed.dtype == torch.float32
    error = (mixed - exact).abs().max() / exact.abs().max()
    assert 0 < error < 1e-2  # bf16 arithmetic, not the same numbers, but close
