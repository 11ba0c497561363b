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
