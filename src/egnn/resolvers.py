"""OmegaConf resolvers used by the configs (registered on import of :mod:`egnn.train`)."""

from __future__ import annotations

import netrc
import os

from omegaconf import OmegaConf

from egnn.run_dir import choose_run_dir


def wandb_offline() -> bool:
    """True unless the user asked for online mode or is logged in to W&B.

    Online when ``WANDB_MODE=online``, or ``WANDB_API_KEY`` is set, or ``~/.netrc`` holds a W&B
    login (what ``wandb login`` writes); offline otherwise, so a run never blocks on the network.
    """
    mode = os.environ.get("WANDB_MODE", "").lower()
    if mode in ("offline", "disabled", "dryrun"):
        return True
    if mode == "online" or os.environ.get("WANDB_API_KEY"):
        return False
    try:
        return netrc.netrc().authenticators("api.wandb.ai") is None
    except (FileNotFoundError, netrc.NetrcParseError, OSError):
        return True


def register_resolvers() -> None:
    if not OmegaConf.has_resolver("egnn.wandb_offline"):
        OmegaConf.register_new_resolver("egnn.wandb_offline", wandb_offline)
    if not OmegaConf.has_resolver("egnn.run_dir"):
        OmegaConf.register_new_resolver("egnn.run_dir", choose_run_dir, use_cache=True)
