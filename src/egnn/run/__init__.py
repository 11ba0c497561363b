"""Entry points (train, eval, summaries) on one shared set of helpers (:mod:`egnn.run.common`)."""
