"""Every N-body model: shapes, and equivariance both ways (the equivariant ones pass the checker,
the non-equivariant ones fail it, which shows the checker can see a broken model)."""

import math

import pytest
import torch

from egnn.errors import ConfigError
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
    ("irreps_in", "irreps_out", "sh_degree"),
    [
        ("1x0e + 1x1o", "6x0e + 2x1o + 2x2e", 2),
        ("3x0e + 2x1o + 2x2e", "2x0e + 3x1o + 1x2e", 2),
        ("2x0e + 3x1o", "2x1e + 3x2o + 1x0o", 2),  # odd and even outputs, a block no path reaches
        ("2x0e + 3x1o", "1x0o + 2x1e + 1x3o", 2),  # blocks after one that no path reaches
        ("1x0e + 1x1o", "2x0e + 1x1o", 0),  # scalar harmonics: one-element coupling tables
    ],
)
def test_two_stage_tensor_product_equals_e3nn(irreps_in, irreps_out, sh_degree):
    from e3nn import o3

    from egnn.nn.baselines.edge_tensor_product import EdgeCoupling, RadialTensorProduct

    torch.manual_seed(0)
    torch.set_default_dtype(torch.float64)  # e3nn's constants are made in the default dtype
    try:
        irreps_sh = o3.Irreps.spherical_harmonics(sh_degree)
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
    reference_forward(model, **inputs)
    built = {name: m._e3nn for name, m in model.named_modules() if hasattr(m, "_e3nn")}
    assert built and all(
        name not in dict(model.named_modules()) for name in [f"{n}._e3nn" for n in built]
    )
    reference_forward(model, **inputs)  # built once per product, then reused
    assert all(m._e3nn is built[name] for name, m in model.named_modules() if name in built)
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


# --- The e3nn baselines' structure --------------------------------------------------------------
# Built as the paper describes them: defaults, depth, the irreps of every linear map, gates and
# norms, the attention scale, the edge geometry. (The comparisons with e3nn's own tensor products
# above share these modules, so they cannot see a layer built with the wrong irreps.)


def _e3nn_modules():
    """e3nn's o3 and the two baseline modules (the test is skipped without the e3nn extra)."""
    o3 = pytest.importorskip("e3nn.o3")
    from egnn.nn.baselines import se3_transformer, tfn

    return o3, tfn, se3_transformer


E3NN_INPUT = "1x0e + 1x1o"  # charge and velocity
E3NN_OUTPUT = "1x1o"


def _check_layers(layers, hidden) -> None:
    """Every layer maps its input irreps (the previous layer's output) with gate and norm, but
    the last: one plain vector out."""
    o3, tfn, se3 = _e3nn_modules()
    irreps = o3.Irreps(E3NN_INPUT)
    for k, layer in enumerate(layers):
        last = k == len(layers) - 1
        assert layer.self_interaction.irreps_in == irreps
        assert layer.coupling.irreps_in == irreps
        product = layer.message if hasattr(layer, "message") else layer.key_value
        assert product.irreps_in == irreps
        if last:
            assert layer.gate is None and layer.norm is None
            assert layer.self_interaction.irreps_out == o3.Irreps(E3NN_OUTPUT)
        else:
            assert layer.gate is not None and layer.norm is not None
            assert layer.gate.irreps_out == hidden
            assert layer.self_interaction.irreps_out == layer.gate.irreps_in
        irreps = hidden


def test_tfn_defaults_are_the_papers():
    o3, tfn, se3 = _e3nn_modules()
    model = tfn.NBodyTFN()
    assert len(model.layers) == 4
    assert model.irreps_sh == o3.Irreps.spherical_harmonics(1)
    hidden = tfn.hidden_irreps(16, 1)
    assert hidden == o3.Irreps("16x0e + 16x1o")
    _check_layers(model.layers, hidden)
    assert (
        model.layers[-1].irreps_out == o3.Irreps(E3NN_OUTPUT)
        and model.layers[0].irreps_out == hidden
    )
    # The predicted displacement starts small, a learnt scale of 0.01 (both e3nn baselines).
    for built in (model, se3.NBodySE3Transformer(channels=4, max_degree=1, n_layers=2)):
        assert built.output_scale.requires_grad and built.output_scale.item() == pytest.approx(0.01)


@pytest.mark.parametrize("n_layers", [2, 3])
def test_tfn_depth_and_degree(n_layers):
    o3, tfn, se3 = _e3nn_modules()
    model = tfn.NBodyTFN(channels=4, max_degree=2, n_layers=n_layers)
    assert len(model.layers) == n_layers
    assert model.irreps_sh == o3.Irreps.spherical_harmonics(2)
    _check_layers(model.layers, o3.Irreps("4x0e + 4x1o + 4x2e"))


def test_se3_transformer_defaults_are_the_papers():
    o3, tfn, se3 = _e3nn_modules()
    model = se3.NBodySE3Transformer()
    assert len(model.layers) == 4
    assert model.irreps_sh == o3.Irreps.spherical_harmonics(2)
    hidden = o3.Irreps("21x0e + 21x1o + 21x2e")
    _check_layers(model.layers, hidden)
    attention = o3.Irreps("5x0e + 5x1o + 5x2e")  # 21 // div 4 channels per degree
    irreps = o3.Irreps(E3NN_INPUT)
    for layer in model.layers:
        assert layer.query.irreps_in == irreps and layer.query.irreps_out == attention
        assert layer.project.irreps_in == attention
        assert layer.project.irreps_out == layer.self_interaction.irreps_out
        assert layer.scale == pytest.approx(1.0 / math.sqrt(attention.dim))
        irreps = hidden


@pytest.mark.parametrize("n_layers", [2, 3])
def test_se3_transformer_depth(n_layers):
    o3, tfn, se3 = _e3nn_modules()
    model = se3.NBodySE3Transformer(channels=4, max_degree=1, n_layers=n_layers, div=2)
    assert len(model.layers) == n_layers
    _check_layers(model.layers, o3.Irreps("4x0e + 4x1o"))
    assert model.layers[0].query.irreps_out == o3.Irreps("2x0e + 2x1o")


def test_se3_transformer_div_range():
    o3, tfn, se3 = _e3nn_modules()
    for div in (1, 4):  # both ends of 1..channels
        model = se3.NBodySE3Transformer(channels=4, max_degree=1, n_layers=2, div=div)
        assert model.layers[0].query.irreps_out == tfn.hidden_irreps(4 // div, 1)
    for bad in (0, 5, 2.0, True):
        with pytest.raises(
            ConfigError, match=rf"^div must be an integer from 1 to channels \(4\), got {bad!r}$"
        ):
            se3.NBodySE3Transformer(channels=4, max_degree=1, n_layers=2, div=bad)


def test_edge_geometry_points_from_sender_to_receiver():
    o3, tfn, se3 = _e3nn_modules()
    torch.manual_seed(0)
    pos = torch.randn(4, 3, dtype=torch.float64) * 3  # lengths far from 1
    edge_index = torch.tensor([[0, 1, 2, 3], [1, 2, 3, 0]])
    irreps_sh = o3.Irreps.spherical_harmonics(2)
    sh, lengths = tfn.edge_geometry(pos, edge_index, irreps_sh)
    vec = pos[edge_index[0]] - pos[edge_index[1]]
    torch.testing.assert_close(lengths, vec.norm(dim=1, keepdim=True))
    unit = vec / vec.norm(dim=1, keepdim=True)
    expected = o3.spherical_harmonics(irreps_sh, unit, normalize=False, normalization="component")
    torch.testing.assert_close(sh, expected)


def test_radial_tensor_product_parts():
    """The radial MLP is [1, 32, 32, weights] with SiLU; the Clebsch-Gordan tables are buffers
    rebuilt from the irreps, not saved; a harmonic block of multiplicity 2 is refused."""
    o3, tfn, se3 = _e3nn_modules()
    from e3nn.nn import FullyConnectedNet

    from egnn.nn.baselines.edge_tensor_product import EdgeCoupling, RadialTensorProduct

    irreps_sh = o3.Irreps.spherical_harmonics(1)
    product = RadialTensorProduct("2x0e + 1x1o", irreps_sh, "1x0e + 1x1o", copies=2)
    assert product.radial.hs == [1, 32, 32, 2 * product.weight_numel]
    silu = FullyConnectedNet(product.radial.hs, torch.nn.functional.silu)
    silu.load_state_dict(product.radial.state_dict())
    lengths = torch.linspace(0.1, 3.0, 7)[:, None]
    torch.testing.assert_close(product.radial(lengths), silu(lengths), rtol=0, atol=0)

    # Only the radial MLP is saved: the weight order and path scales are rebuilt from the irreps.
    assert set(product.state_dict()) == {name for name, _ in product.named_parameters()}
    assert all(name.startswith("radial.") for name in product.state_dict())

    coupling = EdgeCoupling("2x0e + 1x1o", irreps_sh, "1x0e + 1x1o")
    assert any(name.startswith("cg_") for name, _ in coupling.named_buffers())
    assert not any(key.startswith("cg_") for key in coupling.state_dict())
    with pytest.raises(
        ValueError, match=r"^irreps_sh must have multiplicity 1 per block, got 2x1o$"
    ):
        EdgeCoupling("1x0e", o3.Irreps("2x1o"), "1x1o")
