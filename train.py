"""Train a model: ``python train.py experiment=nbody`` (see ``configs/`` and the README)."""

from egnn.run.train import main

if __name__ == "__main__":
    main()
