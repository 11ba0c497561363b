"""Datasets and LightningDataModules of the experiments."""
