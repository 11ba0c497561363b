"""The autoencoder metrics (paper Table 3) by hand: BCE, %Error, F1, draws and their mean."""

import math

import pytest
import torch

from egnn.tasks.graph_metrics import (
    AdjacencyMetrics,
    DrawnAdjacencyMetrics,
    mean_probability_logits,
    per_graph_bce,
)


def test_metrics_on_a_hand_computed_example():
    # Two graphs: 2 and 4 ordered pairs.
    logits = torch.tensor([2.0, -1.0, 0.5, -3.0, 1.0, -0.2])
    target = torch.tensor([1.0, 0.0, 0.0, 0.0, 1.0, 1.0])
    edge_graph = torch.tensor([0, 0, 1, 1, 1, 1])
    metric = AdjacencyMetrics()
    metric.update(logits[:2], target[:2], torch.tensor([0, 0]), 1)
    metric.update(logits[2:], target[2:], torch.tensor([0, 0, 0, 0]), 1)
    out = metric.compute()

    def bce(x, y):
        p = 1 / (1 + math.exp(-x))
        return -(y * math.log(p) + (1 - y) * math.log(1 - p))

    per_graph = [
        sum(
            bce(x, y)
            for x, y, g in zip(logits.tolist(), target.tolist(), edge_graph.tolist(), strict=True)
            if g == k
        )
        for k in (0, 1)
    ]
    assert out["bce"].item() == pytest.approx(sum(per_graph) / 2, rel=1e-6)
    # Predictions at 0.5: [1, 0, 1, 0, 1, 0] against [1, 0, 0, 0, 1, 1]: 2 wrong of 6.
    assert out["error"].item() == pytest.approx(100 * 2 / 6, rel=1e-6)
    # tp = 2, fp = 1, fn = 1 -> F1 = 2 tp / (2 tp + fp + fn) = 4 / 6.
    assert out["f1"].item() == pytest.approx(4 / 6, rel=1e-6)


def test_metrics_threshold_probabilities_not_logits_inside_0_1():
    """Logits that all lie in [0, 1] are probabilities above 0.5, so every entry is predicted an
    edge; read as probabilities themselves (the logits fed unconverted), three of four would flip."""
    logits = torch.tensor([0.1, 0.2, 0.3, 0.4])
    target = torch.tensor([1.0, 1.0, 1.0, 0.0])
    for metric in (AdjacencyMetrics(), AdjacencyMetrics(with_bce=False)):
        metric.update(logits, target, torch.tensor([0, 0, 0, 0]), 1)
        out = metric.compute()
        assert out["error"].item() == pytest.approx(25.0, rel=1e-6)  # only the non-edge is wrong
        assert out["f1"].item() == pytest.approx(6 / 7, rel=1e-6)  # tp 3, fp 1, fn 0
        assert ("bce" in out) == metric.with_bce


def test_drawn_metrics_are_the_mean_and_spread_of_the_draws():
    metrics = DrawnAdjacencyMetrics(n_draws=2)
    target, edge_graph = torch.tensor([1.0, 0.0, 1.0, 0.0]), torch.zeros(4, dtype=torch.long)
    metrics[0].update(torch.tensor([5.0, -5.0, 5.0, -5.0]), target, edge_graph, 1)  # 0 wrong
    metrics[1].update(torch.tensor([5.0, 5.0, 5.0, -5.0]), target, edge_graph, 1)  # 1 wrong of 4
    out = metrics.compute()
    assert out["error"].item() == pytest.approx(12.5)  # (0 + 25) / 2
    assert out["error_std"].item() == pytest.approx(25 / 2**0.5)  # sample std of [0, 25]
    assert out["f1"].item() == pytest.approx((1.0 + 0.8) / 2)  # draw 1: tp 2, fp 1 -> 4 / 5
    metrics.reset()
    metrics[0].update(torch.tensor([5.0, -5.0, -5.0, -5.0]), target, edge_graph, 1)
    metrics[1].update(torch.tensor([5.0, -5.0, -5.0, -5.0]), target, edge_graph, 1)
    assert metrics.compute()["error"].item() == pytest.approx(25.0)


def test_mean_probability_logits_by_hand():
    log3 = math.log(3.0)
    # Probabilities 0.5 and 0.75 -> 0.625 = 5/8; 0.75 twice -> 0.75; sigmoid(+-40) -> 1/2.
    draws = torch.tensor([[0.0, log3, 40.0], [log3, log3, -40.0]], dtype=torch.float64)
    expected = torch.tensor([math.log(5 / 3), log3, 0.0], dtype=torch.float64)
    torch.testing.assert_close(mean_probability_logits(draws), expected)
    # Probabilities that round to 1 in float32 keep their logit; one draw is itself.
    saturated = torch.tensor([[100.0, -100.0], [100.0, -100.0]])
    torch.testing.assert_close(mean_probability_logits(saturated), torch.tensor([100.0, -100.0]))
    torch.testing.assert_close(mean_probability_logits(draws[:1]), draws[0])


def test_bce_of_probabilities_is_the_releases_clamped_loss():
    # Moderate logits: the two readings agree (float64).
    logits = torch.tensor([-3.0, 0.5, 2.0, -0.2], dtype=torch.float64)
    target = torch.tensor([0.0, 1.0, 0.0, 1.0], dtype=torch.float64)
    graph = torch.tensor([0, 0, 1, 1])
    expected = [-math.log(1 - 1 / (1 + math.exp(3))) - math.log(1 / (1 + math.exp(-0.5)))]
    expected.append(-math.log(1 - 1 / (1 + math.exp(-2))) - math.log(1 / (1 + math.exp(0.2))))
    for bce_input in ("logits", "probabilities"):
        got = per_graph_bce(logits, target, graph, 2, bce_input=bce_input)
        assert got.tolist() == pytest.approx(expected, rel=1e-12)
    # A saturated wrong entry (float32 sigmoid rounds to 1): the release's loss caps it at 100 and
    # gives it no gradient; the logits' BCE costs the logit itself and pulls with gradient 1.
    wrong = torch.tensor([200.0], requires_grad=True)
    zero, one_graph = torch.zeros(1), torch.zeros(1, dtype=torch.long)
    for bce_input, loss, grad in (("probabilities", 100.0, 0.0), ("logits", 200.0, 1.0)):
        wrong.grad = None
        out = per_graph_bce(wrong, zero, one_graph, 1, bce_input=bce_input)
        out.sum().backward()
        assert (out.item(), wrong.grad.item()) == pytest.approx((loss, grad))
    with pytest.raises(ValueError, match="bce_input must be one of"):
        per_graph_bce(logits, target, graph, 2, bce_input="probs")


def test_drawn_metrics_keep_the_bce_and_one_draw_has_no_spread():
    target, edge_graph = torch.tensor([1.0, 0.0]), torch.zeros(2, dtype=torch.long)
    logits = [torch.tensor([2.0, -1.0]), torch.tensor([0.0, 0.0])]
    bce = [
        -math.log(1 / (1 + math.exp(-2.0))) - math.log(1 - 1 / (1 + math.exp(1.0))),
        2 * math.log(2.0),
    ]
    two = DrawnAdjacencyMetrics(n_draws=2)
    for draw, z in zip(two, logits, strict=True):
        draw.update(z, target, edge_graph, 1)
    out = two.compute()
    assert set(out) == {"bce", "bce_std", "error", "error_std", "f1", "f1_std"}
    assert out["bce"].item() == pytest.approx(sum(bce) / 2, rel=1e-6)
    assert out["bce_std"].item() == pytest.approx(abs(bce[0] - bce[1]) / 2**0.5, rel=1e-5)
    one = DrawnAdjacencyMetrics(n_draws=1, with_bce=False)
    one[0].update(logits[0], target, edge_graph, 1)
    out = one.compute()
    assert set(out) == {"error", "f1"}  # no spread from a single draw, no BCE when not asked
    assert out["error"].item() == 0.0 and out["f1"].item() == 1.0


def test_per_graph_bce_stays_on_the_logits_device():
    """Built on the logits' device (checked on the meta device: no GPU needed)."""
    logits = torch.zeros(4, device="meta")
    out = per_graph_bce(
        logits, torch.zeros(4, device="meta"), torch.zeros(4, dtype=torch.long, device="meta"), 2
    )
    assert out.device.type == "meta" and out.shape == (2,)
