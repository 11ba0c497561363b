"""One LightningModule per task; each builds its network from plain keyword arguments."""
