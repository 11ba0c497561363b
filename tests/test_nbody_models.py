"""Every N-body model: shapes, and equivariance both ways (the equivariant ones pass the checker,
the non-equivariant ones fail it, which shows the checker can see a broken model)."""

import pytest
import torch

from egnn.nn import NBODY_MODELS, build_nbody_model, fully_connected_edges
from egnn.nn.nbody import relative_motion
from egnn.testing import (
    EDGE_INDEX,
    NODE_SCALAR,
    POSITION,
    VECTOR,
    assert_equivariant,
    equivariance_errors,
)

KINDS = {"pos": POSITION, "vel": VECTOR, "charges": NODE_SCALAR, "edge_index": EDGE_INDEX}
EQUIVARIANT = (
    "egnn",
    "egnn_release",
    "rf",
    "linear_vel",
    "tfn",
    "se3_transformer",
    "ensemble",
    "egnn_motion",
)
SMALL = {  # cheap but complete
    "tfn": {"channels": 4},
    "se3_transformer": {"channels": 4, "div": 2},
    "ensemble": {"members": 2, "hidden_nf": 16},
    "egnn_motion": {"motion_features": True},
}
NOT_EQUIVARIANT = ("gnn", "linear")


def _inputs(dtype=torch.float64, n_graphs=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    n = 5 * n_graphs
    return {
        "pos": torch.randn(n, 3, generator=g, dtype=dtype),
        "vel": torch.randn(n, 3, generator=g, dtype=dtype),
        "charges": torch.randint(0, 2, (n, 1), generator=g).to(dtype) * 2 - 1,
        "edge_index": fully_connected_edges(5, n_graphs),
    }


def _model(name):
    torch.manual_seed(0)
    # Build in float64: e3nn stores its Clebsch-Gordan constants in the default dtype.
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        model = build_nbody_model(name.removesuffix("_motion"), **SMALL.get(name, {})).double()
    finally:
        torch.set_default_dtype(default)
    for module in model.modules():  # large coordinate weights: nothing hides behind a small init
        if isinstance(module, torch.nn.Linear) and module.out_features == 1 and module.bias is None:
            torch.nn.init.normal_(module.weight, std=0.3)
    return model


def test_registry_covers_both_lists():
    assert set(NBODY_MODELS) == {n.removesuffix("_motion") for n in EQUIVARIANT + NOT_EQUIVARIANT}


@pytest.mark.parametrize("name", sorted(NBODY_MODELS))
def test_batched_systems_are_predicted_independently(name):
    """Four systems in one batch: each prediction is the one the system gets alone."""
    model = _model(name).eval()
    inputs = _inputs()
    with torch.no_grad():
        out = model(**inputs)
        assert out.shape == (20, 3) and torch.isfinite(out).all()
        for k in range(4):
            nodes = slice(5 * k, 5 * k + 5)
            alone = {key: inputs[key][nodes] for key in ("pos", "vel", "charges")}
            alone_out = model(**alone, edge_index=fully_connected_edges(5, 1))
            torch.testing.assert_close(out[nodes], alone_out)


@pytest.mark.parametrize("name", EQUIVARIANT)
def test_equivariant_models_pass(name):
    assert_equivariant(_model(name), _inputs(), KINDS, (POSITION,), atol=1e-10)


@pytest.mark.parametrize("name", NOT_EQUIVARIANT)
def test_non_equivariant_models_fail(name):
    errors = equivariance_errors(_model(name), _inputs(), KINDS, (POSITION,))
    assert errors["rotation"] > 1e-3 and errors["reflection"] > 1e-3
    with pytest.raises(AssertionError, match="not equivariant"):
        assert_equivariant(_model(name), _inputs(), KINDS, (POSITION,), atol=1e-10)


def test_release_formulation_is_the_same_function():
    model, inputs = _model("egnn"), _inputs()
    release = _model("egnn_release")
    release.load_state_dict(model.state_dict())
    torch.testing.assert_close(release(**inputs), model(**inputs), rtol=0, atol=1e-12)


def test_unknown_model():
    with pytest.raises(ValueError, match="unknown N-body model 'transformer'"):
        build_nbody_model("transformer")


def test_ensemble_predicts_the_mean_of_its_members():
    model, inputs = _model("ensemble"), _inputs()
    each = [member(**inputs) for member in model.members]
    assert not torch.allclose(each[0], each[1])  # members start apart
    assert torch.allclose(model(**inputs), (each[0] + each[1]) / 2)
    assert model.member_predictions(**inputs).shape == (2, 20, 3)


@pytest.mark.parametrize("div", [0, 22, 2.0, True])
def test_se3_transformer_rejects_bad_div(div):
    from egnn.errors import ConfigError

    message = rf"div must be an integer from 1 to channels \(21\), got {div!r}"
    with pytest.raises(ConfigError, match=message):
        build_nbody_model("se3_transformer", div=div)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"members": 0}, "members must be a positive integer, got 0"),
        ({"members": None}, "members must be a positive integer, got None"),
        ({"member": "ensemble"}, "cannot themselves be ensembles"),
    ],
)
def test_ensemble_rejects_bad_options(kwargs, message):
    with pytest.raises(ValueError, match=message):
        build_nbody_model("ensemble", **kwargs)


def test_relative_motion_by_hand():
    pos = torch.tensor([[0.0, 0, 0], [2.0, 0, 0]])
    vel = torch.tensor([[1.0, 0, 0], [2.0, 3, 0]])
    edge_index = torch.tensor([[0], [1]])  # i = 0 receives from j = 1
    # v_i.v_j = 2; (x_i - x_j).(v_i - v_j) = (-2, 0, 0).(-1, -3, 0) = 2; |v_i - v_j|^2 = 10
    assert relative_motion(pos, vel, edge_index).tolist() == [[2.0, 2.0, 10.0]]


def test_compiling_an_ensemble_compiles_each_member():
    # Training calls the members one by one, so a compiled ensemble forward would be bypassed.
    model = build_nbody_model("ensemble", members=2, hidden_nf=8)
    model.compile()
    assert all(member._compiled_call_impl is not None for member in model.members)


@pytest.mark.parametrize(
    ("irreps_in", "irreps_out"),
    [
        ("1x0e + 1x1o", "6x0e + 2x1o + 2x2e"),
        ("3x0e + 2x1o + 2x2e", "2x0e + 3x1o + 1x2e"),
        ("2x0e + 3x1o", "2x1e + 3x2o + 1x0o"),  # odd and even outputs, and a block no path reaches
    ],
)
def test_two_stage_tensor_product_equals_e3nn(irreps_in, irreps_out):
    from e3nn import o3

    from egnn.nn.baselines.edge_tensor_product import EdgeCoupling, RadialTensorProduct

    torch.manual_seed(0)
    torch.set_default_dtype(torch.float64)  # e3nn's constants are made in the default dtype
    try:
        irreps_sh = o3.Irreps.spherical_harmonics(2)
        e3nn_tp = o3.FullyConnectedTensorProduct(
            irreps_in, irreps_sh, irreps_out, shared_weights=False
        )
        ours = RadialTensorProduct(irreps_in, irreps_sh, irreps_out)
        coupling = EdgeCoupling(irreps_in, irreps_sh, irreps_out)
    finally:
        torch.set_default_dtype(torch.float32)
    vec = torch.randn(9, 3, dtype=torch.float64)
    sh = o3.spherical_harmonics(irreps_sh, vec, normalize=True, normalization="component")
    lengths = vec.norm(dim=1, keepdim=True)
    features = o3.Irreps(irreps_in).randn(9, -1, dtype=torch.float64)
    expected = e3nn_tp(features, sh, ours.radial(lengths))
    got = ours(coupling(features, sh), lengths)
    assert expected.abs().max() > 0.1
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-12)
    # Two products sharing the radial MLP's hidden layers: each uses its part of the last layer.
    torch.set_default_dtype(torch.float64)
    try:
        pair = RadialTensorProduct(irreps_in, irreps_sh, irreps_out, copies=2)
    finally:
        torch.set_default_dtype(torch.float32)
    weights = pair.radial(lengths).chunk(2, dim=1)
    got = pair(coupling(features, sh), lengths)
    assert not torch.allclose(got[0], got[1])
    for out, w in zip(got, weights, strict=True):
        torch.testing.assert_close(out, e3nn_tp(features, sh, w), rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", ["tfn", "se3_transformer"])
def test_e3nn_baselines_equal_their_e3nn_formulation(name):
    # Outputs and parameter gradients of the models equal those of the same parameters run through
    # e3nn's own tensor-product module (key and value coupled separately).
    from egnn.nn.baselines.e3nn_reference import reference_forward

    model, inputs = _model(name), _inputs()
    outputs = []
    for forward in (model, lambda **kw: reference_forward(model, **kw)):
        model.zero_grad()
        out = forward(**inputs)
        out.pow(2).sum().backward()
        outputs.append((out, [p.grad.clone() for p in model.parameters() if p.grad is not None]))
    (ours, ours_grads), (e3nn_out, e3nn_grads) = outputs
    torch.testing.assert_close(ours, e3nn_out, rtol=0, atol=1e-10)
    assert len(ours_grads) == len(e3nn_grads) > 0
    for a, b in zip(ours_grads, e3nn_grads, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-10)


def test_e3nn_reference_module_shares_the_models_parameters():
    from egnn.nn.baselines.e3nn_reference import ReferenceModel, reference_forward

    model, inputs = _model("tfn"), _inputs()
    wrapped = ReferenceModel(model)
    assert wrapped.model is model
    assert [id(p) for p in wrapped.parameters()] == [id(p) for p in model.parameters()]
    torch.testing.assert_close(
        wrapped(inputs["pos"], inputs["vel"], inputs["charges"], inputs["edge_index"]),
        reference_forward(model, **inputs),
        rtol=0,
        atol=0,
    )


def test_e3nn_tfn_loads_checkpoints_with_e3nn_constants():
    # Earlier checkpoints hold e3nn's tensor-product constants under '<product>.tp.'; no parameters.
    from egnn.nn.baselines.e3nn_reference import reference_forward

    model, inputs = _model("tfn"), _inputs()
    reference_forward(model, **inputs)  # builds e3nn's module of each product
    state = model.state_dict()
    for name, module in model.named_modules():
        if hasattr(module, "_e3nn"):
            state.update({f"{name}.tp.{k}": v for k, v in module._e3nn.state_dict().items()})
    assert any(".tp." in key for key in state)
    model.load_state_dict(state, strict=True)
