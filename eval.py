"""Evaluate a checkpoint: ``python eval.py ckpt_path=...`` or ``python eval.py experiment=nbody``."""

from egnn.run.evaluate import main

if __name__ == "__main__":
    main()
