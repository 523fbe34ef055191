"""``bigmap-al reproduce acceleration``: EF of random sampling is about 1, a model beats it."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from aiida_bigmap_al.cli import main
from aiida_bigmap_al.datasets import load_fzj
from aiida_bigmap_al.reproduce import acceleration


def test_random_sampling_has_an_enhancement_factor_of_one(fzj_csv):
    """Over 100 seeds x 10 temperatures, EF(n) of random lies within 0.1 of 1 for n >= 10."""
    figures = acceleration.run(load_fzj(fzj_csv), strategies=("random",), seeds=100, progress=False)
    ef = np.array(figures["ef"]["random"]["ef"])
    assert ef[9:] == pytest.approx(1.0, abs=0.1)
    assert ef[-1] == pytest.approx(1.0)              # after every formulation, always found
    band = figures["ef"]["random"]
    assert band["low"][17] <= 1.0 <= band["high"][17]                 # EF(18)
    assert all(low <= value <= high for low, value, high in zip(band["low"], ef, band["high"]))


@pytest.mark.slow
def test_cli_writes_ef_per_strategy_and_the_figure(fzj_csv, tmp_path):
    result = CliRunner().invoke(main, ["reproduce", "acceleration", "--data", str(fzj_csv),
                                       "--out", str(tmp_path), "--seeds", "2", "-T", "60",
                                       "-s", "gp-landesfeind-ucb"])
    assert result.exit_code == 0, result.output
    figures = json.loads((tmp_path / "acceleration.json").read_text())
    assert set(figures["ef"]) == {"random", "gp-landesfeind-ucb"}
    for curve in figures["ef"].values():
        assert len(curve["n"]) == len(curve["ef"]) == 85 and curve["n"][0] == 1
    summary = figures["summary"]
    assert summary["gp-landesfeind-ucb"]["mean_to_best"] < summary["random"]["mean_to_best"]
    assert (tmp_path / "acceleration.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_data_path_that_does_not_exist_is_refused(tmp_path):
    missing = tmp_path / "nowhere.csv"
    result = CliRunner().invoke(main, ["reproduce", "acceleration", "--data", str(missing),
                                       "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert f"{missing} does not exist" in result.output
    assert not (tmp_path / "acceleration.json").exists()
