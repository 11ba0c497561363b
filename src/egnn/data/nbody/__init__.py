"""N-body charged particles: simulator, cached datasets and the LightningDataModule."""
