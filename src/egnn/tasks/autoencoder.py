"""The graph autoencoder task: reconstruct a graph's adjacency from node embeddings (Table 3)."""

from __future__ import annotations

from collections.abc import Mapping

import torch

from egnn.data import keys as K
from egnn.errors import ConfigError
from egnn.nn.autoencoder import build_autoencoder
from egnn.tasks.base import Task
from egnn.tasks.graph_metrics import (
    BCE_INPUTS,
    AdjacencyMetrics,
    DrawnAdjacencyMetrics,
    mean_probability_logits,
    per_graph_bce,
)

DEFAULT_OPTIMIZER = {"_target_": "torch.optim.Adam", "lr": 1e-4, "weight_decay": 1e-16}


class GraphAutoencoderTask(Task):
    """Any model of :mod:`egnn.nn.autoencoder`, trained on the per-graph summed BCE (averaged over
    the graphs of a batch: with one graph per step, the paper's loss).

    Logged: ``train/loss``, ``val/{bce,error,f1}``, ``val/bce_best``, ``val/best_epoch``,
    ``test/{bce,error,f1}``. Model selection on ``val/bce``; a model without probabilities (the
    empty-graph baseline) has no BCE and is selected on ``val/error``.

    ``test_draws``: independent passes over the test split (the random initial coordinates or noise
    are redrawn at each); ``test/<name>`` is their mean and, with more than one, ``test/<name>_std``
    their standard deviation. A model without random input (GNN, baseline) makes one pass, which
    is exact; ``self.test_draws`` is the number made. Validation is one pass, as in the paper.

    ``test_ensemble``: random inputs drawn per graph within one test pass, whose predicted
    probabilities are averaged into the pass's prediction (1, the default: the paper's single
    draw). A model without random input makes one; ``self.test_ensemble`` is the number used.

    ``train_bce_input``: what the training loss reads, ``"logits"`` (this class's default, the
    stable BCE) or ``"probabilities"`` (the release's BCE of sigmoid outputs, the default of
    ``experiment=ae_community``; see :func:`~egnn.tasks.graph_metrics.per_graph_bce`). Validation
    and test BCE read the logits.
    """

    val_metric = "bce"

    def __init__(
        self,
        net: Mapping,
        optimizer: Mapping | None = None,
        scheduler: Mapping | None = None,
        test_draws: int = 1,
        train_bce_input: str = "logits",
        test_ensemble: int = 1,
    ) -> None:
        for name, value, meaning in (
            ("test_draws", test_draws, "independent passes over the test split, averaged"),
            ("test_ensemble", test_ensemble, "random draws averaged into each test prediction"),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name}={value!r}: expected an integer >= 1 ({meaning})")
        if train_bce_input not in BCE_INPUTS:
            raise ConfigError(
                f"train_bce_input={train_bce_input!r}: expected one of {BCE_INPUTS} (what the"
                " training BCE reads)"
            )
        super().__init__(net, optimizer or DEFAULT_OPTIMIZER, scheduler)
        self.hparams["test_draws"] = test_draws
        self.hparams["train_bce_input"] = train_bce_input
        self.hparams["test_ensemble"] = test_ensemble
        self.train_bce_input = train_bce_input
        self.net = build_autoencoder(**self.hparams.net)
        probabilistic = getattr(self.net, "probabilistic", True)
        self.val_metric = "bce" if probabilistic else "error"
        self.val_error = AdjacencyMetrics(with_bce=probabilistic)
        self.test_draws = test_draws if self.net.random_input else 1
        self.test_ensemble = test_ensemble if self.net.random_input else 1
        self.test_error = DrawnAdjacencyMetrics(self.test_draws, with_bce=probabilistic)

    def forward(self, batch: dict) -> torch.Tensor:
        """Logits [E] of the adjacency entries of every ordered pair of the batch."""
        return self.net(batch[K.NODE_ATTR], batch[K.EDGE_INDEX], batch[K.EDGE_ATTR])

    def target(self, batch: dict) -> torch.Tensor:
        return batch[K.EDGE_TARGET]

    def update_metric(
        self, metric: AdjacencyMetrics, batch: dict, logits: torch.Tensor | None = None
    ) -> None:
        """Add the batch's predictions (``logits`` [E], default: one forward pass) to ``metric``."""
        logits = self(batch) if logits is None else logits
        metric.update(logits, self.target(batch), batch[K.EDGE_GRAPH], batch[K.NUM_GRAPHS])

    def compute_metric(
        self, metric: AdjacencyMetrics | DrawnAdjacencyMetrics
    ) -> dict[str, torch.Tensor]:
        return metric.compute()

    def ensemble_logits(self, batch: dict) -> torch.Tensor:
        """Logits [E] of the mean probability over ``self.test_ensemble`` random draws."""
        if self.test_ensemble == 1:
            return self(batch)
        return mean_probability_logits(
            torch.stack([self(batch) for _ in range(self.test_ensemble)])
        )

    def test_step(self, batch: dict, batch_idx: int) -> None:
        for draw in self.test_error:  # a fresh random input at each pass
            self.update_metric(draw, batch, self.ensemble_logits(batch))

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        n_graphs = batch[K.NUM_GRAPHS]
        bce = per_graph_bce(
            self(batch),
            self.target(batch),
            batch[K.EDGE_GRAPH],
            n_graphs,
            bce_input=self.train_bce_input,
        )
        return self.log_train_loss(bce.mean(), n_graphs)
