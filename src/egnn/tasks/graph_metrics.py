"""Metrics of the graph autoencoder (paper Table 3), built on torchmetrics.

- ``bce``: mean over graphs of the per-graph BCE summed over its ordered pairs i != j;
- ``error``: %Error, wrong entries at threshold 0.5 over all ordered pairs of the split, x100;
- ``f1``: F1 of the edge class over all ordered pairs of the split.

Models with a random input (EGNN, Radial Field, Noise-GNN) give a different reconstruction at every
pass; :class:`DrawnAdjacencyMetrics` measures K independent passes and reports their mean and spread,
and :func:`mean_probability_logits` turns several draws into one prediction (their mean probability).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor
from torch.nn import functional as F
from torchmetrics import MeanMetric, MetricCollection
from torchmetrics.classification import BinaryAccuracy, BinaryF1Score

BCE_INPUTS = ("logits", "probabilities")


def per_graph_bce(
    logits: Tensor, target: Tensor, edge_graph: Tensor, n_graphs: int, bce_input: str = "logits"
) -> Tensor:
    """Summed binary cross-entropy of each graph's entries, [B] (logits, target, edge_graph: [E]).

    ``bce_input="logits"``: the stable BCE of the logits (every wrong entry pulls with a gradient
    of at most 1 per logit). ``"probabilities"``: the release's loss, BCE of ``sigmoid(logits)``
    in the logits' precision, each log clamped at -100; an entry whose sigmoid rounds to exactly 0
    or 1 costs at most 100 and gives no gradient, however wrong it is.
    """
    if bce_input == "logits":
        bce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    elif bce_input == "probabilities":
        bce = F.binary_cross_entropy(torch.sigmoid(logits), target, reduction="none")
    else:
        raise ValueError(f"bce_input must be one of {BCE_INPUTS}, got {bce_input!r}")
    return torch.zeros(n_graphs, dtype=bce.dtype, device=bce.device).index_add_(0, edge_graph, bce)


def mean_probability_logits(draw_logits: Tensor) -> Tensor:
    """Logits [E] of the mean probability of D draws' predictions (draw_logits: [D, E]).

    ``p = mean_d sigmoid(z_d)`` is returned as ``log p - log(1 - p)``, both logs computed as
    log-mean-exps of log-sigmoids, so that probabilities that round to 0 or 1 keep their logit.
    """
    n_draws = draw_logits.shape[0]
    log_p = torch.logsumexp(F.logsigmoid(draw_logits), dim=0) - math.log(n_draws)
    log_not_p = torch.logsumexp(F.logsigmoid(-draw_logits), dim=0) - math.log(n_draws)
    return log_p - log_not_p


class AdjacencyMetrics(MetricCollection):
    """``bce`` (only when ``with_bce``), ``error`` and ``f1`` pooled over the batches seen.

    ``update(logits [E], target [E], edge_graph [E], n_graphs)``; ``compute()`` -> dict of scalars.
    """

    def __init__(self, with_bce: bool = True) -> None:
        metrics = {"accuracy": BinaryAccuracy(), "f1": BinaryF1Score()}
        if with_bce:
            metrics["bce"] = MeanMetric()
        super().__init__(metrics, compute_groups=False)
        self.with_bce = with_bce

    def update(self, logits: Tensor, target: Tensor, edge_graph: Tensor, n_graphs: int) -> None:
        # Probabilities, not logits: torchmetrics would read logits that all fall in [0, 1] as
        # probabilities.
        probs, labels = torch.sigmoid(logits), target.long()
        self["accuracy"].update(probs, labels)
        self["f1"].update(probs, labels)
        if self.with_bce:
            self["bce"].update(per_graph_bce(logits, target, edge_graph, n_graphs))

    def compute(self) -> dict[str, Tensor]:
        values = super().compute()
        out = {"error": 100.0 * (1.0 - values["accuracy"]), "f1": values["f1"]}
        if self.with_bce:
            out["bce"] = values["bce"]
        return out


class DrawnAdjacencyMetrics(torch.nn.ModuleList):
    """One :class:`AdjacencyMetrics` per independent pass ("draw") over the split.

    Update draw ``k`` with ``self[k].update(logits [E], target [E], edge_graph [E], n_graphs)``;
    ``compute()`` -> 0-d tensors: the mean over draws under each name and, with more than one
    draw, ``<name>_std`` (the sample standard deviation over draws, ddof 1).
    """

    def __init__(self, n_draws: int, with_bce: bool = True) -> None:
        super().__init__(AdjacencyMetrics(with_bce) for _ in range(n_draws))

    def compute(self) -> dict[str, Tensor]:
        per_draw = [metrics.compute() for metrics in self]
        out = {}
        for name in per_draw[0]:
            values = torch.stack([draw[name] for draw in per_draw])
            out[name] = values.mean()
            if len(per_draw) > 1:
                out[f"{name}_std"] = values.std()
        return out

    def reset(self) -> None:
        for metrics in self:
            metrics.reset()
