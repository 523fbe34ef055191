"""``bigmap-al reproduce holdout``: the tails of y are predicted worse than a random split."""

import json

import numpy as np
from click.testing import CliRunner

from aiida_bigmap_al.cli import main
from aiida_bigmap_al.reproduce.holdout import schwefel, schwefel_data, splits


def test_schwefel_and_the_percentile_split():
    assert schwefel(np.array([[420.9687, 420.9687]]))[0] < 1e-3       # the global minimum
    X, y = schwefel_data(64)
    assert X.shape == (64, 2) and np.all(np.abs(X) <= 500) and 0 <= y.min() and y.max() < 2.1
    (train, test), (random_train, random_test) = splits(y).values()
    assert train.sum() == random_train.sum() and test.sum() == random_test.sum()
    assert y[train].min() > y[test].min() and y[train].max() < y[test].max()
    assert 0.25 <= test.mean() <= 0.35


def test_cli_tails_error_exceeds_the_random_splits(fzj_csv, tmp_path):
    result = CliRunner().invoke(main, ["reproduce", "holdout", "--data", str(fzj_csv), "--out",
                                       str(tmp_path), "-m", "rf", "--points", "128", "--folds", "3"])
    assert result.exit_code == 0, result.output
    figures = json.loads((tmp_path / "holdout.json").read_text())
    for key in ("schwefel", "fzj"):
        rf = figures[key]["models"]["rf"]
        assert rf["tails"]["rmse"] > 1.5 * rf["random"]["rmse"]
        assert rf["tails"]["n_test"] == rf["random"]["n_test"]
        for split in rf.values():
            for kind in ("raw", "calibrated"):
                assert 0 <= split[kind]["within_1_std"] <= split[kind]["within_2_std"] <= 1
    # the recalibration widens the forest's too narrow std on the FZJ data
    fzj = figures["fzj"]["models"]["rf"]["random"]
    assert fzj["calibrated"]["within_2_std"] > fzj["raw"]["within_2_std"]
    assert figures["schwefel"]["dimension"] == 2 and figures["schwefel"]["points"] == 128
    assert (tmp_path / "holdout.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_an_unknown_model_is_refused(fzj_csv, tmp_path):
    result = CliRunner().invoke(main, ["reproduce", "holdout", "--data", str(fzj_csv), "--out",
                                       str(tmp_path), "-m", "nonsense"])
    assert result.exit_code == 2 and "unknown model(s) ['nonsense']" in result.output
