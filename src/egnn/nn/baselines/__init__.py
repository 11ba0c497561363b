"""The paper's baselines: GNN, Radial Field, and (with the e3nn extra) TFN and SE(3)-Transformer."""
