"""The message-passing primitives of ``egnn.nn`` against loops over the edges, and the fully
connected graph builder against its documented order."""

import pytest
import torch

from egnn.nn import fully_connected_edges
from egnn.nn.segment import segment_count, segment_mean, segment_softmax, segment_sum

# Receivers: node 0 gets 3 edges, node 1 one, node 2 two, node 3 none (isolated).
INDEX = torch.tensor([0, 2, 0, 1, 2, 0])
VALUES = torch.tensor(
    [[1.0, -2.0], [3.0, 0.5], [-4.0, 1.0], [2.0, 2.0], [0.25, -1.0], [6.0, 3.0]],
    dtype=torch.float64,
)


def by_loop(reduce):
    out = torch.zeros(4, 2, dtype=torch.float64)
    for node in range(4):
        rows = VALUES[INDEX.eq(node)]
        if len(rows):
            out[node] = reduce(rows)
    return out


def test_sum_mean_and_count_by_receiver():
    torch.testing.assert_close(segment_sum(VALUES, INDEX, 4), by_loop(lambda r: r.sum(0)))
    torch.testing.assert_close(segment_mean(VALUES, INDEX, 4), by_loop(lambda r: r.mean(0)))
    count = segment_count(INDEX, 4, torch.float64)
    assert count.dtype == torch.float64 and count.shape == (4, 1)
    assert count[:, 0].tolist() == [3.0, 1.0, 2.0, 1.0]  # the isolated node divides by 1
    given = torch.tensor([[2.0], [4.0], [1.0], [1.0]], dtype=torch.float64)
    torch.testing.assert_close(
        segment_mean(VALUES, INDEX, 4, count=given), segment_sum(VALUES, INDEX, 4) / given
    )


def test_sum_keeps_trailing_dimensions_and_empty_segments():
    values = torch.arange(24.0).reshape(6, 2, 2)
    out = segment_sum(values, INDEX, 5)
    assert out.shape == (5, 2, 2)
    torch.testing.assert_close(out[0], values[[0, 2, 5]].sum(0))
    assert not out[3:].any()


def test_softmax_over_each_receivers_edges():
    scores = torch.tensor([0.5, -1.0, 2.0, 3.0, 0.0, -0.5], dtype=torch.float64)
    got = segment_softmax(scores, INDEX, 4)
    expected = torch.empty_like(scores)
    for node in range(3):
        mask = INDEX.eq(node)
        expected[mask] = torch.softmax(scores[mask], dim=0)
    torch.testing.assert_close(got, expected)
    # Large scores do not overflow: the maximum of each segment is subtracted first.
    torch.testing.assert_close(segment_softmax(scores + 1000.0, INDEX, 4), expected)
    assert got[INDEX == 1].item() == 1.0


def test_softmax_gradient_is_the_softmax_gradient():
    scores = torch.tensor([0.5, -1.0, 2.0, 3.0, 0.0, -0.5], dtype=torch.float64)
    weights = torch.arange(6.0, dtype=torch.float64)
    ours = scores.clone().requires_grad_(True)
    (segment_softmax(ours, INDEX, 4) * weights).sum().backward()
    ref = scores.clone().requires_grad_(True)
    parts = [torch.softmax(ref[INDEX.eq(n)], 0) * weights[INDEX.eq(n)] for n in range(3)]
    torch.cat(parts).sum().backward()
    torch.testing.assert_close(ours.grad, ref.grad)


def test_fully_connected_edges_order_and_offsets():
    edges = fully_connected_edges(3, 2)
    expected = [
        [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5],
        [1, 2, 0, 2, 0, 1, 4, 5, 3, 5, 3, 4],
    ]
    assert edges.dtype == torch.int64 and edges.tolist() == expected
    assert fully_connected_edges(1).shape == (2, 0)
    assert fully_connected_edges(4).shape == (2, 12)  # one graph by default


@pytest.mark.parametrize(("n_nodes", "n_graphs"), [(0, 1), (3, 0)])
def test_fully_connected_edges_refuses_empty_graphs(n_nodes, n_graphs):
    message = rf"^n_nodes and n_graphs must be >= 1, got n_nodes={n_nodes}, n_graphs={n_graphs}$"
    with pytest.raises(ValueError, match=message):
        fully_connected_edges(n_nodes, n_graphs)


def test_reductions_stay_on_the_inputs_device():
    """Built on the device of the inputs (the meta device stands in for a GPU here): no tensor is
    made on the default device along the way."""
    meta = torch.device("meta")
    index = torch.zeros(4, dtype=torch.long, device=meta)
    assert segment_count(index, 2, torch.float32).device == meta
    values = torch.zeros(4, 3, device=meta)
    assert segment_mean(values, index, 2).device == meta
    assert segment_softmax(torch.zeros(4, device=meta), index, 2).device == meta
