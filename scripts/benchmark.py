"""Run the backbone benchmark (same as the ``egnn-benchmark`` console script)."""

from egnn.benchmark import main

if __name__ == "__main__":
    main()
