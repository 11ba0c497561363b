"""The paper's published numbers (Satorras et al., 2021), for tables beside ours."""

# Table 2: N-body, test MSE and forward time (s) for a batch of 100 on a GTX 1080 Ti.
NBODY = {
    "linear": {"test/mse": 0.0819, "forward_time_s": 0.0001, "label": "Linear"},
    "se3_transformer": {"test/mse": 0.0244, "forward_time_s": 0.1346, "label": "SE(3) Transformer"},
    "tfn": {"test/mse": 0.0155, "forward_time_s": 0.0343, "label": "Tensor Field Network"},
    "gnn": {"test/mse": 0.0107, "forward_time_s": 0.0032, "label": "Graph Neural Network"},
    "rf": {"test/mse": 0.0104, "forward_time_s": 0.0039, "label": "Radial Field"},
    "egnn": {"test/mse": 0.0071, "forward_time_s": 0.0062, "label": "EGNN"},
}

# Our rows that are not in the paper's table.
EXTRA_LABELS = {
    "linear_vel": "Linear, x + t v (learnable t)",
    "egnn_plus": "EGNN + motion invariants + dropout (`experiment=nbody_plus`)",
    "ensemble_plus": "EGNN ensemble (`experiment=nbody_plus model.net.name=ensemble`)",
}

# Table 4: units of the QM9 targets (energies in meV).
QM9_UNITS = {
    "alpha": "bohr^3",
    "gap": "meV",
    "homo": "meV",
    "lumo": "meV",
    "mu": "D",
    "Cv": "cal/mol K",
    "G": "meV",
    "H": "meV",
    "r2": "bohr^2",
    "U": "meV",
    "U0": "meV",
    "zpve": "meV",
}

# Table 4: QM9 test MAE of the EGNN, in the units of QM9_UNITS.
QM9 = {
    "alpha": 0.071,
    "gap": 48.0,
    "homo": 29.0,
    "lumo": 25.0,
    "mu": 0.029,
    "Cv": 0.031,
    "G": 12.0,
    "H": 12.0,
    "r2": 0.106,
    "U": 12.0,
    "U0": 11.0,
    "zpve": 1.55,
}

# Table 3: graph autoencoder, test BCE, %Error and F1 per dataset (BCE "-" for the baseline).
AUTOENCODER_LABELS = {
    "baseline": "Baseline (no edges)",
    "gnn": "GNN",
    "noise_gnn": "Noise-GNN",
    "rf": "Radial Field",
    "egnn": "EGNN",
}
AUTOENCODER = {
    "ae_community": {
        "baseline": {"test/bce": None, "test/error": 31.79, "test/f1": 0.000},
        "gnn": {"test/bce": 6.75, "test/error": 1.29, "test/f1": 0.980},
        "noise_gnn": {"test/bce": 3.32, "test/error": 0.44, "test/f1": 0.993},
        "rf": {"test/bce": 9.22, "test/error": 1.19, "test/f1": 0.981},
        "egnn": {"test/bce": 2.14, "test/error": 0.06, "test/f1": 0.999},
    },
    "ae_erdos_renyi": {
        "baseline": {"test/bce": None, "test/error": 25.13, "test/f1": 0.000},
        "gnn": {"test/bce": 14.15, "test/error": 4.62, "test/f1": 0.907},
        "noise_gnn": {"test/bce": 4.56, "test/error": 1.25, "test/f1": 0.975},
        "rf": {"test/bce": 6.78, "test/error": 1.63, "test/f1": 0.968},
        "egnn": {"test/bce": 1.65, "test/error": 0.11, "test/f1": 0.998},
    },
}
