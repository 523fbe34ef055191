"""``bigmap-al predict`` and ``bigmap-al models`` as a user runs them: the installed command."""

import json
import pathlib
import subprocess
import sys

import pytest

BIGMAP_AL = pathlib.Path(sys.executable).parent / "bigmap-al"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

#: Reduced settings: one good candidate, 3 folds (the full choice takes about half a minute).
QUICK = ["--model", "gp-map+landesfeind", "--folds", "3"]


def run(*args):
    return subprocess.run([str(BIGMAP_AL), *map(str, args)], capture_output=True, text=True,
                          timeout=300)


def write(path, text):
    path.write_text(text)
    return path


@pytest.mark.slow
def test_predict_answers_every_query_in_order(fzj_csv, tmp_path):
    queries = write(tmp_path / "q.csv", "c [mol/kg],T [K],r\n0.612,283.15,0.271\n1.053,333.15,0.366\n"
                                        "1.053,343.15,0.366\n1.05,253.15,0.366\n")
    out = tmp_path / "p.json"
    result = run("predict", "--data", fzj_csv, "--query", queries, "--json", out, *QUICK)
    assert result.returncode == 0, result.stderr
    predictions = json.loads(out.read_text())
    assert [list(p) for p in predictions] == [["T", "r", "c", "mean", "std"]] * 4
    assert [(p["T"], p["r"], p["c"]) for p in predictions] == [
        (283.15, 0.271, 0.612), (333.15, 0.366, 1.053), (343.15, 0.366, 1.053),
        (253.15, 0.366, 1.05)]
    best_10C, best_60C, hot, cold = predictions
    # the best formulations at 10 and 60 °C of the data (6.35 and 15.39 mS/cm measured)
    assert abs(best_10C["mean"] - 6.35) < 2 * best_10C["std"]
    assert abs(best_60C["mean"] - 15.39) < 2 * best_60C["std"]
    # conductivity rises with temperature; 70 °C is beyond the data: larger std and a warning
    assert cold["mean"] < best_60C["mean"] < hot["mean"]
    assert hot["std"] > best_60C["std"]
    assert "query row 3: T [K] = 343.15 outside [243.15, 333.15]" in result.stderr
    assert "query row 1" not in result.stderr


@pytest.mark.parametrize("text, message", [
    ("T [K],r\n283.15,0.3\n", "missing: ['c [mol/kg]']"),
    ("T [K],r,c [mol/kg],x\n283.15,0.3,1,2\n", "unknown: ['x']"),
    ("T [K],r,c [mol/kg]\n283.15,0.3,one\n", "line 2, column 'c [mol/kg]': not a number: 'one'"),
    ("T [K],r,c [mol/kg]\n283.15,1.3,1\n", "line 2, column 'r': physically impossible value 1.3"),
    ("T [K],r,c [mol/kg]\n283.15,0.3\n", "line 2: 2 fields, expected 3"),
    ("T [K],r,c [mol/kg]\n", "no query rows after the header"),
])
def test_predict_refuses_a_malformed_query_file(fzj_csv, tmp_path, text, message):
    queries = write(tmp_path / "q.csv", text)
    out = tmp_path / "p.json"
    result = run("predict", "--data", fzj_csv, "--query", queries, "--json", out)
    assert result.returncode != 0
    assert str(queries) in result.stderr and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()


def test_predict_refuses_a_binary_query_file(fzj_csv, tmp_path):
    queries = tmp_path / "q.csv"
    queries.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00garbage")
    result = run("predict", "--data", fzj_csv, "--query", queries, "--json", tmp_path / "p.json")
    assert result.returncode != 0 and "not a text file" in result.stderr, result.stderr


@pytest.mark.slow
def test_models_scores_candidates_and_writes_json_and_plot(fzj_csv, tmp_path):
    out, plot = tmp_path / "models.json", tmp_path / "calibration.png"
    result = run("models", "--data", fzj_csv, "-m", "gp", "-m", "gp-map+landesfeind",
                 "--folds", "3", "--json", out, "--plot", plot)
    assert result.returncode == 0, result.stderr
    scores = json.loads(out.read_text())
    assert [m["name"] for m in scores["models"]] == ["gp", "gp-map+landesfeind"]
    best = min(scores["models"], key=lambda m: m["rmse"])
    assert scores["chosen"] == best["name"]
    assert f"* chosen (lowest RMSE): {best['name']}" in result.stdout
    assert len(best["by_condition"]) == 10
    for figures in best["by_condition"].values():
        assert {"rmse", "bias", "within_1_std", "within_2_std"} <= set(figures)
    assert 0.8 <= best["within_2_std"] <= 1.0
    assert plot.read_bytes().startswith(PNG_MAGIC)
