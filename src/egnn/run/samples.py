"""Prediction samples an evaluation writes beside its metrics (``samples.json``), so that the
report can draw them from the records without running a model: N-body trajectories (the first test
systems' true paths and predicted positions) and adjacency reconstructions (the first test graphs'
adjacency and predicted edge probabilities)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch

from egnn.atomic import atomic_write_json
from egnn.data import keys as K
from egnn.data.graphs.datamodule import AdjacencyDataset, GraphDataModule, collate_graphs
from egnn.data.graphs.dataset import load_split as load_graphs
from egnn.data.nbody.datamodule import NBodyDataModule, collate_systems
from egnn.data.nbody.dataset import load_split as load_systems

SAMPLES_FILE = "samples.json"


def nbody_samples(datamodule: NBodyDataModule, model: pl.LightningModule, n: int = 3) -> dict:
    """``{"kind": "nbody_trajectories", "truth": [S, T, N, 3], "predicted": [S, N, 3], ...}`` of
    the first ``n`` test systems, T the frames from the input frame to the target frame."""
    frame_in, frame_out = datamodule.eval_frames
    test = load_systems(datamodule.hparams.data_dir, datamodule.eval_dataset, "test")
    pos, vel, charges = (
        torch.from_numpy(np.ascontiguousarray(test[k][:n])).float()
        for k in ("pos", "vel", "charges")
    )
    systems = [
        (pos[s, frame_in], vel[s, frame_in], charges[s, :, None], pos[s, frame_out])
        for s in range(len(pos))
    ]
    with torch.inference_mode():
        predicted = model(collate_systems(systems)).reshape(len(systems), -1, pos.shape[-1])
    return {
        "kind": "nbody_trajectories",
        "frame_in": frame_in,
        "frame_out": frame_out,
        "truth": test["pos"][:n, frame_in : frame_out + 1].tolist(),
        "predicted": predicted.tolist(),
    }


def adjacency_samples(datamodule: GraphDataModule, model: pl.LightningModule, n: int = 3) -> dict:
    """``{"kind": "adjacency", "graphs": [{"adjacency": [n, n], "probabilities": [n, n]}, ...]}``
    of the first ``n`` test graphs (one random draw each, seeded)."""
    hp = datamodule.hparams
    graphs = []
    torch.manual_seed(0)
    for adjacency in load_graphs(hp.data_dir, hp.dataset, "test", hp.p)[:n]:
        batch = collate_graphs(list(AdjacencyDataset([adjacency])))
        with torch.inference_mode():
            probs = torch.sigmoid(model(batch))
        size = len(adjacency)
        predicted = np.zeros((size, size))
        row, col = batch[K.EDGE_INDEX].numpy()
        predicted[row, col] = probs.numpy()
        graphs.append(
            {"adjacency": adjacency.astype(int).tolist(), "probabilities": predicted.tolist()}
        )
    return {"kind": "adjacency", "graphs": graphs}


def write_samples(
    output_dir: Path, datamodule: pl.LightningDataModule, model: pl.LightningModule
) -> Path | None:
    """Write ``<output_dir>/samples.json`` for the tasks that have samples; returns its path."""
    was_training = model.training
    model.eval()
    try:
        if isinstance(datamodule, NBodyDataModule):
            samples = nbody_samples(datamodule, model)
        elif isinstance(datamodule, GraphDataModule):
            samples = adjacency_samples(datamodule, model)
        else:
            return None
    finally:
        model.train(was_training)
    samples["model"] = getattr(model, "hparams", {}).get("net", {}).get("name")
    path = Path(output_dir) / SAMPLES_FILE
    atomic_write_json(path, samples)
    return path
