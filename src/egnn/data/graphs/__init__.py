"""Graph datasets of the autoencoder experiment (Community Small, Erdos-Renyi)."""
