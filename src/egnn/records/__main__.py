"""``python -m egnn.records RUN [RUN ...]``: the same as ``egnn-record``."""

from egnn.records.cli import main

if __name__ == "__main__":
    main()
