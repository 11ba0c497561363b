"""The learning curve survives resumes that are themselves killed (egnn.run.csv_history)."""

from egnn.run.csv_history import STASH_NAME, read_rows, restore_history, stash_history, write_rows


def _rows(epochs):
    return [{"epoch": str(e), "val/mse": str(1.0 / (e + 1))} for e in epochs]


def _epochs(path):
    return [int(r["epoch"]) for r in read_rows(path)]


def test_two_killed_resumes_lose_no_row(tmp_path):
    csv_path = tmp_path / "metrics.csv"
    write_rows(csv_path, _rows(range(10)))  # first run killed after epoch 9, checkpoint at 7

    first = stash_history(csv_path, max_epoch=7)
    assert [int(r["epoch"]) for r in first] == list(range(8))
    write_rows(csv_path, _rows(range(8, 13)))  # the logger's fresh file; killed again, ckpt at 11

    second = stash_history(csv_path, max_epoch=11)
    assert [int(r["epoch"]) for r in second] == list(range(12))
    assert _epochs(tmp_path / STASH_NAME) == list(range(12))  # on disk before training goes on
    write_rows(csv_path, _rows(range(12, 16)))  # this resume runs to the end

    restore_history(csv_path, second)
    assert _epochs(csv_path) == list(range(16))
    assert not (tmp_path / STASH_NAME).exists()


def test_resume_killed_before_the_logger_starts_its_file_keeps_no_duplicate(tmp_path):
    csv_path = tmp_path / "metrics.csv"
    write_rows(csv_path, _rows(range(10)))
    stash_history(csv_path, max_epoch=7)  # killed before the logger replaced metrics.csv
    history = stash_history(csv_path, max_epoch=9)
    assert [int(r["epoch"]) for r in history] == list(range(10))


def test_run_from_scratch_leaves_no_stash(tmp_path):
    csv_path = tmp_path / "metrics.csv"
    write_rows(csv_path, _rows(range(3)))
    restore_history(csv_path, [])
    assert _epochs(csv_path) == [0, 1, 2] and not (tmp_path / STASH_NAME).exists()
