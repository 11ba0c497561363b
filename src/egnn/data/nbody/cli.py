"""``egnn-nbody-generate``: generate an N-body dataset into the cache and report the time."""

from __future__ import annotations

import argparse
import logging

from egnn.data.nbody.dataset import NBODY_DATASETS, ensure_dataset, generate, is_cached


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("name", choices=sorted(NBODY_DATASETS), help="dataset preset")
    parser.add_argument("--data-dir", default="data", help="cache folder (default: data)")
    parser.add_argument("--force", action="store_true", help="regenerate even if cached")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.force or not is_cached(args.data_dir, args.name):
        seconds = generate(args.data_dir, args.name)
        print(f"generated {args.name!r} in {seconds:.1f} s")
    else:
        ensure_dataset(args.data_dir, args.name)
        print(f"{args.name!r} already cached under {args.data_dir}")


if __name__ == "__main__":
    main()
