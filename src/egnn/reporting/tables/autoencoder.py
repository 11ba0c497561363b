"""Graph autoencoder tables: paper Table 3 beside our records, and the sweeps (embedding size,
sparsity) behind their plots."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from egnn.records import bce_input_of, decoder_fixed, load_records, test_ensemble_of
from egnn.reporting import paper
from egnn.reporting.plots import SWEEP_BUDGET, SWEEP_MISSING, sweep_label, sweep_points
from egnn.reporting.tables.cells import mean_std, minutes_range

#: The experiments of paper Table 3 and the dataset each trains on.
AUTOENCODER_DATASETS = {"ae_community": "Community Small", "ae_erdos_renyi": "Erdos-Renyi"}


def protocol_runs(runs: list[dict]) -> list[dict]:
    """Autoencoder runs at the paper's protocol (one graph per step, one draw per prediction,
    trained decoder); the default training loss (the release's) where runs with both exist."""
    kept = [
        r
        for r in runs
        if r.get("batch_size", 1) == 1 and test_ensemble_of(r) == 1 and not decoder_fixed(r)
    ]
    default = [r for r in kept if bce_input_of(r) == "probabilities"]
    return default or kept


def autoencoder_table(results_dir: Path) -> str:
    """Markdown table of paper Table 3 beside our graph autoencoder records (both datasets)."""
    lines = [
        "| Dataset | Model | Paper BCE | Ours BCE | Paper %Error | Ours %Error | Paper F1 | Ours F1 "
        "| Seeds | Graphs / step | Test passes | Epochs | Wall time per run | Training BCE of |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for experiment, dataset in AUTOENCODER_DATASETS.items():
        records = load_records(results_dir, experiment)
        for name, label in paper.AUTOENCODER_LABELS.items():
            ref = paper.AUTOENCODER[experiment][name]
            # One row per graphs-per-step setting, number of test passes, training loss, decoder
            # (trained or fixed) and draws averaged per test prediction: runs of different
            # protocols are never averaged.
            by_setting = defaultdict(list)
            for run in records.get(name, []):
                setting = (
                    run.get("batch_size", "?"),
                    run.get("test_draws") or 1,
                    bce_input_of(run),
                    decoder_fixed(run),
                    test_ensemble_of(run),
                )
                by_setting[setting].append(run)
            ordered = sorted(
                by_setting.items(),
                # Graphs per step numerically (unknown last), then the rest of the setting as is.
                key=lambda kv: (
                    not isinstance(kv[0][0], int),
                    str(kv[0][0]).zfill(6),
                    *kv[0][1:],
                ),
            )
            for (batch, passes, bce_input, fixed, ensemble), runs in ordered or [
                (("—", "—", "—", False, 1), [])
            ]:

                def ours(key: str, fmt: str, runs=runs) -> str:
                    values = [r[key] for r in runs if key in r]
                    return mean_std(values, fmt) if values else ("—" if runs else "not run")

                epochs = ours("epochs", ".0f") if any(r.get("epochs") for r in runs) else "—"
                # Averaged draws leave a few wrong entries in 10^5: one more digit to read them.
                error_fmt, f1_fmt = (".4f", ".5f") if ensemble > 1 else (".3f", ".3f")
                wall = [r["train_time_s"] / 60 for r in runs if r.get("train_time_s")]
                lines.append(
                    f"| {dataset} | {label}{' (decoder fixed)' if fixed else ''}"
                    f"{f', {ensemble} draws averaged' if ensemble > 1 else ''} "
                    f"| {'—' if ref['test/bce'] is None else ref['test/bce']} "
                    f"| {ours('test/bce', '.2f')} | {ref['test/error']} "
                    f"| {ours('test/error', error_fmt)} | {ref['test/f1']:.3f} "
                    f"| {ours('test/f1', f1_fmt)} | {len(runs) or '—'} | {batch} | {passes} "
                    f"| {epochs} "
                    f"| {minutes_range(wall)} "
                    f"| {'—' if ref['test/bce'] is None else bce_input} |"
                )
    return "\n".join(lines)


def sweep_cell(error: float, f1: float | None) -> str:
    """``"%Error (F1)"`` of a sweep point: two decimals, or two significant digits below 0.1
    %Error, and F1 to five decimals above 0.999 (a near-perfect run keeps its digits)."""
    cell = f"{error:.2f}" if error >= 0.1 else f"{error:.2g}"
    if f1 is None:
        return cell
    return f"{cell} ({f1:.5f})" if f1 > 0.999 else f"{cell} ({f1:.3f})"


def sweep_table(
    results_dir: Path, experiment: str, x_key: str, x_label: str, group: tuple[str, ...]
) -> str:
    """Markdown table of an autoencoder sweep (``results/<experiment>/``): test %Error (F1) per
    value of ``x_key``, one row per ``group`` value (model, dataset) and training budget, means
    over seeds (the numbers behind the sweep's plot, rows in the order of its legend)."""
    error, f1 = (
        sweep_points(results_dir, experiment, x_key, metric, (*group, *SWEEP_BUDGET), SWEEP_MISSING)
        for metric in ("test/error", "test/f1")
    )
    if not error:
        return f"No run yet (records go to `results/{experiment}/`)."
    xs = sorted({x for series in error.values() for x, _ in series})
    lines = [
        f"| %Error (F1) at {x_label} | " + " | ".join(f"{x:g}" for x in xs) + " |",
        "|---|" + "---|" * len(xs),
    ]
    for key, series in error.items():
        names, spent = key[: len(group)], key[len(group) :]
        f1_at = dict(f1.get(key, []))
        cells = {x: sweep_cell(value, f1_at.get(x)) for x, value in series}
        lines.append(
            f"| {sweep_label(names, spent)} | "
            + " | ".join(cells.get(x, "not run") for x in xs)
            + " |"
        )
    return "\n".join(lines)


def embedding_table(results_dir: Path) -> str:
    """The embedding-size sweep (``results/ae_embedding/``), a row per model and dataset."""
    return sweep_table(
        results_dir, "ae_embedding", "embedding_nf", "embedding size", ("model", "dataset")
    )


def sparsity_table(results_dir: Path) -> str:
    """The sparsity sweep on the overfit set (``results/ae_sparsity/``), a row per model."""
    return sweep_table(results_dir, "ae_sparsity", "p", "edge probability p", ("model",))
