"""OmegaConf resolvers used by the configs (registered on import of :mod:`egnn.run.train`)."""

from __future__ import annotations

import netrc
import os
from pathlib import Path

from omegaconf import OmegaConf

from egnn.run.resume import hydra_subdir
from egnn.run.run_dir import choose_run_dir


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


def eval_interval(n_train: int, samples_per_check: int = 10000) -> int:
    """Epochs between validations so that one check comes every ~``samples_per_check`` samples."""
    return max(1, int(samples_per_check) // max(int(n_train), 1))


def qm9_lr(target: str) -> float:
    """The paper's QM9 learning rate for ``target`` (1e-3 for gap, homo, lumo; 5e-4 otherwise)."""
    from egnn.data.qm9.targets import PAPER_LR, check_target

    check_target(target)
    return PAPER_LR[target]


def interactive() -> bool:
    """True when standard output is a terminal (progress bars there, plain logs elsewhere)."""
    import sys

    return sys.stdout.isatty()


def launch_dir() -> str:
    """The directory train.py was launched from.

    Unlike ``${hydra:runtime.cwd}`` this resolves before Hydra's runtime config exists, which the
    multirun sweeper needs to place ``hydra.sweep.dir``.
    """
    return os.getcwd()


def package_dir() -> str:
    """The installed ``egnn`` package's folder (its configs and pretrained checkpoints)."""
    import egnn

    return str(Path(egnn.__file__).resolve().parent)


def register_resolvers() -> None:
    if not OmegaConf.has_resolver("egnn.package_dir"):
        OmegaConf.register_new_resolver("egnn.package_dir", package_dir)
    if not OmegaConf.has_resolver("egnn.launch_dir"):
        OmegaConf.register_new_resolver("egnn.launch_dir", launch_dir, use_cache=True)
    if not OmegaConf.has_resolver("egnn.interactive"):
        OmegaConf.register_new_resolver("egnn.interactive", interactive)
    if not OmegaConf.has_resolver("egnn.qm9_lr"):
        OmegaConf.register_new_resolver("egnn.qm9_lr", qm9_lr)
    if not OmegaConf.has_resolver("egnn.eval_interval"):
        OmegaConf.register_new_resolver("egnn.eval_interval", eval_interval)
    if not OmegaConf.has_resolver("egnn.wandb_offline"):
        OmegaConf.register_new_resolver("egnn.wandb_offline", wandb_offline)
    if not OmegaConf.has_resolver("egnn.hydra_subdir"):
        OmegaConf.register_new_resolver("egnn.hydra_subdir", hydra_subdir, use_cache=True)
    if not OmegaConf.has_resolver("egnn.run_dir"):
        OmegaConf.register_new_resolver("egnn.run_dir", choose_run_dir, use_cache=True)
