"""``bigmap-al reproduce surfaces`` and ``one-shot`` on a quickly chosen model (random forest)."""

import json
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from aiida_bigmap_al.cli import main
from aiida_bigmap_al.electrolyte import w_from_molality
from aiida_bigmap_al.reproduce.one_shot import spread_top

FAST = ["-m", "rf", "--folds", "3"]


def test_surfaces_mark_the_optimum_over_the_plotted_plane(fzj_csv, tmp_path):
    result = CliRunner().invoke(main, ["reproduce", "surfaces", "--data", str(fzj_csv), "--out",
                                       str(tmp_path), "-T", "-10", "-T", "60", "--grid", "15", *FAST])
    assert result.exit_code == 0, result.output
    figures = json.loads((tmp_path / "surfaces.json").read_text())
    assert [s["T_C"] for s in figures["temperatures"]] == [-10, 60]
    assert figures["axes"]["w"] == pytest.approx([w_from_molality(c) for c in figures["axes"]["c_mol_per_kg"]])
    cold, hot = figures["temperatures"]
    for surface in (cold, hot):
        mean, std = np.array(surface["mean"]), np.array(surface["std"])
        assert mean.shape == std.shape == (15, 15) and np.all(std > 0)
        assert surface["optimum"]["mean"] == pytest.approx(mean.max())
        assert len(surface["measured"]["r"]) == 85                 # measured points overlaid
        # the model's optimum lies near the best measured value (within 15 %)
        assert surface["optimum"]["mean"] == pytest.approx(surface["best_measured"]["value"], rel=0.15)
    assert hot["optimum"]["mean"] > 3 * cold["optimum"]["mean"]
    assert (tmp_path / "surfaces.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_one_shot_proposes_k_distinct_formulations_per_temperature(fzj_csv, tmp_path):
    result = CliRunner().invoke(
        main, ["reproduce", "one-shot", "--data", str(fzj_csv), "--out", str(tmp_path), "-k", "3",
               "--candidates", "256", *FAST])
    assert result.exit_code == 0, result.output
    figures = json.loads((tmp_path / "one-shot.json").read_text())
    assert [entry["T_C"] for entry in figures["temperatures"]] == list(range(-30, 61, 10))
    for entry in figures["temperatures"]:
        means = [p["mean"] for p in entry["proposals"]]
        assert len(means) == 3 and means == sorted(means, reverse=True)
        assert all(p["std"] > 0 for p in entry["proposals"])
        assert means[0] == pytest.approx(entry["best_measured"]["value"], rel=0.15)
    assert (tmp_path / "one-shot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_spread_top_keeps_proposals_apart():
    unit = np.array([[0.0, 0.0], [0.05, 0.0], [0.5, 0.5], [1.0, 1.0]])
    assert spread_top(unit, [4.0, 3.9, 1.0, 2.0], k=3, min_distance=0.1) == [0, 3, 2]
    assert spread_top(unit, [4.0, 3.9, 1.0, 2.0], k=3, min_distance=0.0) == [0, 1, 3]
    assert spread_top(unit, [4.0, 3.9, 1.0, 2.0], k=9, min_distance=0.8) == [0, 3]


def test_the_figures_need_no_aiida():
    """A notebook without a profile can run them: importing them imports no AiiDA (which would
    create its configuration folder)."""
    modules = ", ".join(f"aiida_bigmap_al.reproduce.{name}" for name in
                        ("acceleration", "holdout", "surfaces", "one_shot", "common"))
    code = f"import sys, {modules}; print(sorted(m for m in sys.modules if m.split('.')[0] == 'aiida'))"
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert output.stdout.strip() == "[]"
