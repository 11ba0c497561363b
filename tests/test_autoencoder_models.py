"""The graph autoencoders' forward passes from their parts, with the random draws replayed: the
decoders' formulas, what each encoder reads, and the paper's sizes."""

import pytest
import torch

from egnn.nn import fully_connected_edges
from egnn.nn.autoencoder import (
    DistanceDecoder,
    WeightedDistanceDecoder,
    build_autoencoder,
)


def graph(n=5, seed=0):
    edges = fully_connected_edges(n)
    adjacency = torch.rand(edges.shape[1], 1, generator=torch.Generator().manual_seed(seed)) < 0.4
    return torch.ones(n, 1, dtype=torch.float64), edges, adjacency.double()


def test_distance_decoders_by_hand():
    z = torch.tensor([[0.0, 1.0], [2.0, -1.0], [1.0, 1.0]], dtype=torch.float64)
    edges = torch.tensor([[0, 1, 2], [1, 2, 0]])
    squared = torch.tensor([[4.0, 4.0], [1.0, 4.0], [1.0, 0.0]], dtype=torch.float64)
    fixed = DistanceDecoder().double()
    torch.testing.assert_close(fixed(z, edges), -0.1 * squared.sum(1) + 1.0)
    assert {n for n, _ in fixed.named_parameters()} == {"w", "b"}
    frozen = DistanceDecoder(w_init=-2, b_init=3, learnable=False).double()
    assert not list(frozen.parameters()) and {n for n, _ in frozen.named_buffers()} == {"w", "b"}
    torch.testing.assert_close(frozen(z, edges), -2 * squared.sum(1) + 3)
    weighted = WeightedDistanceDecoder(2).double()
    w, b = weighted.linear.weight[0], weighted.linear.bias
    torch.testing.assert_close(weighted(z, edges), squared @ w + b)


@pytest.mark.parametrize("name", ["egnn", "rf"])
def test_coordinate_encoders_move_fresh_gaussian_points(name):
    torch.manual_seed(0)
    model = build_autoencoder(name, hidden_nf=8, embedding_nf=3, n_layers=2).double()
    ones, edges, adjacency = graph()
    torch.manual_seed(7)
    logits = model(ones, edges, adjacency)
    torch.manual_seed(7)
    x0 = torch.randn(5, 3, dtype=torch.float64)
    if name == "egnn":
        z = model.egnn(ones, x0, edges, adjacency)[1]
        assert model.egnn.coord_decay == 1e-3 and model.egnn.in_edge_nf == 1
    else:
        z = model.rf(x0, None, edges, adjacency)
        assert model.rf.coord_decay == 1e-3 and not model.rf.velocity
    torch.testing.assert_close(logits, model.decoder(z, edges))
    assert logits.shape == (20,)
    layers = model.egnn.layers if name == "egnn" else model.rf.layers
    assert len(layers) == 2
    assert model.initial_coords(ones).dtype == torch.float64


@pytest.mark.parametrize("noise", [False, True])
def test_gnn_encoder_reads_ones_or_fresh_noise(noise):
    torch.manual_seed(0)
    model = build_autoencoder("noise_gnn" if noise else "gnn", hidden_nf=8, n_layers=2).double()
    ones, edges, adjacency = graph()
    torch.manual_seed(3)
    logits = model(ones, edges, adjacency)
    torch.manual_seed(3)
    inputs = torch.randn(5, 1, dtype=torch.float64) if noise else ones
    expected = model.decoder(model.gnn(inputs, edges, adjacency), edges)
    torch.testing.assert_close(logits, expected)
    assert model.random_input is noise


def test_options_reach_the_encoders_and_decoders():
    egnn = build_autoencoder("egnn", attention=True, learn_decoder=False)
    assert all(layer.att_mlp is not None for layer in egnn.egnn.layers)
    assert not list(egnn.decoder.parameters())
    rf = build_autoencoder("rf", hidden_nf=16, n_layers=3, tanh=False, learn_decoder=False)
    assert len(rf.rf.layers) == 3 and rf.rf.layers[0].phi[0].out_features == 16
    assert not any(isinstance(m, torch.nn.Tanh) for m in rf.modules())
    assert not list(rf.decoder.parameters())
    gnn = build_autoencoder("gnn", n_layers=2)
    assert len(gnn.gnn.layers) == 2 and isinstance(gnn.gnn.decoder, torch.nn.Linear)


def test_unknown_autoencoder_is_named():
    from egnn.errors import ConfigError

    with pytest.raises(ConfigError, match=r"^unknown graph autoencoder model 'vae'; choose one of"):
        build_autoencoder("vae")


def test_random_inputs_and_outputs_on_the_inputs_device():
    """Drawn and filled on the device of the inputs (the meta device stands in for a GPU)."""
    meta = torch.device("meta")
    ones = torch.ones(5, 1, device=meta)
    edges = fully_connected_edges(5).to(meta)
    adjacency = torch.zeros(20, 1, device=meta)
    assert build_autoencoder("egnn").initial_coords(ones).device == meta
    assert build_autoencoder("baseline")(ones, edges, adjacency).device == meta
    noise = build_autoencoder("noise_gnn").to(meta)
    assert noise.encode(ones, edges, adjacency).device == meta


def test_paper_sizes_by_default():
    egnn = build_autoencoder("egnn")
    assert len(egnn.egnn.layers) == 4 and egnn.embedding_nf == 8
    assert egnn.egnn.layers[0].edge_mlp[0].out_features == 64
    rf = build_autoencoder("rf")
    assert len(rf.rf.layers) == 4 and rf.embedding_nf == 8
    assert rf.rf.layers[0].phi[0].out_features == 64
    assert isinstance(rf.rf.layers[0].phi[-1], torch.nn.Tanh) and not rf.rf.velocity
    assert {n for n, _ in rf.decoder.named_parameters()} == {"w", "b"}  # learned by default
    assert {n for n, _ in egnn.decoder.named_parameters()} == {"w", "b"}
    gnn = build_autoencoder("gnn")
    assert len(gnn.gnn.layers) == 4 and gnn.gnn.decoder.out_features == 8
    assert gnn.gnn.embedding.out_features == 64 and not gnn.random_input
    noise = build_autoencoder("noise_gnn", noise_nf=2)
    assert noise.noise_nf == 2 and noise.gnn.embedding.in_features == 2
    assert build_autoencoder("gnn", noise_nf=2).noise_nf == 0  # noise_nf only with noise


def test_empty_graph_baseline_predicts_no_edge():
    ones, edges, adjacency = graph()
    logits = build_autoencoder("baseline")(ones, edges, adjacency)
    assert logits.shape == (20,) and logits.dtype == torch.float64
    assert torch.isneginf(logits).all()
