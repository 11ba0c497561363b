"""The compiled fast path (``compile=true``): the same function as eager, still equivariant, and an
eager fallback where no compiler works."""

import copy

import pytest
import torch
from hydra.core.global_hydra import GlobalHydra

from egnn.nn import build_nbody_model, fully_connected_edges
from egnn.nn import compile as compile_mod
from egnn.nn.compile import AUTO_COMPILE_MIN_STEPS, compile_available, compile_module
from egnn.run import callbacks as callbacks_mod
from egnn.run.callbacks import AutoCompile
from egnn.testing import EDGE_INDEX, NODE_SCALAR, POSITION, VECTOR, assert_equivariant

from .conftest import compose_config

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


class _Trainer:
    """The two attributes :class:`AutoCompile` reads from a Lightning trainer."""

    def __init__(self, steps, global_step=0):
        self.estimated_stepping_batches = steps
        self.global_step = global_step
        self.strategy = type("Strategy", (), {"root_device": torch.device("cpu")})()


class _Task:
    def __init__(self, name):
        size = {"channels": 4} if name == "tfn" else {"hidden_nf": 8}
        self.net = build_nbody_model(name, n_layers=2, **size)


@pytest.mark.parametrize(
    ("name", "steps", "done", "compiled"),
    [
        ("egnn", AUTO_COMPILE_MIN_STEPS, 0, True),  # measured to pay, long run
        ("egnn", float("inf"), 0, True),  # max_epochs=-1: no end planned
        ("egnn", AUTO_COMPILE_MIN_STEPS - 1, 0, False),  # too short to repay the compile time
        ("egnn", 10**6, 10**6 - 100, False),  # a resumed run with 100 steps to go
        ("egnn_release", 10**6, 0, False),  # the release's formulation stands for its eager code
        ("tfn", 10**6, 0, False),  # Dynamo falls back to eager on e3nn after minutes of tracing
    ],
)
def test_auto_compile_compiles_where_it_pays(name, steps, done, compiled, monkeypatch):
    if name == "tfn":
        pytest.importorskip("e3nn")
    monkeypatch.setattr(callbacks_mod, "compile_module", lambda net, device: net.compile() or True)
    task, callback = _Task(name), AutoCompile()
    callback.on_train_start(_Trainer(steps, done), task)
    assert callback.compiled is compiled
    assert (task.net._compiled_call_impl is not None) is compiled


def test_auto_compile_stays_eager_without_a_compiler(monkeypatch):
    monkeypatch.setattr(callbacks_mod, "compile_module", lambda net, device: False)
    task, callback = _Task("egnn"), AutoCompile()
    callback.on_train_start(_Trainer(10**6), task)
    assert callback.compiled is False
    assert task.net._compiled_call_impl is None


def test_short_training_run_stays_eager(nbody_data_dir, tmp_path, caplog):
    # compile=auto is the default; a run of a few steps is too short for the compile to pay.
    from egnn.run.train import train

    cfg = compose_config(
        [
            "experiment=nbody",
            f"paths.data_dir={nbody_data_dir}",
            "data.dataset=tiny",
            "data.n_train=100",
            "model.net.hidden_nf=8",
            "debug=limit",
            "trainer.enable_progress_bar=false",
            "forward_time.enabled=false",
        ],
        tmp_path,
    )
    assert cfg.compile == "auto"
    with caplog.at_level("INFO", logger="egnn.run.callbacks"):
        metrics = train(cfg)
    GlobalHydra.instance().clear()
    assert metrics["compiled"] is False
    assert "compile=auto: eager (" in caplog.text  # decided by AutoCompile, not left out


def test_inductor_options_per_device():
    from egnn.nn.compile import inductor_options

    assert inductor_options("cpu") == {"cpp_wrapper": True}
    assert inductor_options("cuda:1") == {}


@pytest.mark.parametrize(
    ("module", "device", "probed"),
    [
        (torch.nn.Linear(2, 2), None, "cpu"),  # where its parameters are
        (torch.nn.ReLU(), None, "cpu"),  # no parameters: the default device
        (torch.nn.Linear(2, 2), "cuda:1", "cuda:1"),  # where it will run
    ],
)
def test_compile_module_passes_its_options_and_falls_back_eagerly(
    monkeypatch, module, device, probed
):
    from egnn.nn import compile as compile_mod

    probes, calls = [], []
    monkeypatch.setattr(compile_mod, "compile_available", lambda d: probes.append(d) or True)
    monkeypatch.setattr(module, "compile", lambda **kwargs: calls.append(kwargs))
    config = torch._dynamo.config
    before, config.suppress_errors = config.suppress_errors, False
    try:
        assert compile_mod.compile_module(module, dynamic=True, device=device)
        assert config.suppress_errors is True  # a failing frame runs eagerly
    finally:
        config.suppress_errors = before
    assert probes == [probed]
    options = compile_mod.inductor_options(probed)
    assert calls == [{"dynamic": True, "options": options}]


def test_compile_pays_only_where_a_class_says_so():
    from egnn.nn.compile import compile_pays

    assert compile_pays(torch.nn.Linear(1, 1)) is False

    class Measured(torch.nn.Module):
        compile_pays = True

    assert compile_pays(Measured()) is True
