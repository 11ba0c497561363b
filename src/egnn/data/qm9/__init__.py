"""QM9 (130,831 molecules) from the ``qm9pack`` package: targets, cache and LightningDataModule."""
