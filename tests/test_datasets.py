"""The FZJ loader (real file and broken files), the built-in data set and the fallback."""

import dataclasses
import logging

import numpy as np
import pytest

from aiida_bigmap_al import simulator
from aiida_bigmap_al.datasets import (
    BUILTIN_TEMPERATURES,
    ConductivityData,
    DataFormatError,
    builtin_data,
    load_fzj,
    load_or_builtin,
)

HEADER = "\tT [K]\tr\tc [mol/kg]\tk [mS/cm]\n"
GOOD_ROWS = "0\t243.15\t1.0\t0.615\t1.883\n1\t253.15\t1.0\t0.615\t2.632\n2\t253.15\t1.0\t0.615\t2.700\n"

# Best mean conductivity per temperature, from the data README (mS/cm, -30 .. 60 °C).
README_BEST = [2.13, 3.05, 4.08, 5.16, 6.35, 7.80, 9.46, 11.20, 13.37, 15.39]


# --- the real FZJ file -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def fzj(fzj_csv):
    return load_fzj(fzj_csv)


def test_fzj_counts(fzj, fzj_csv):
    assert len(fzj) == 3626
    assert len(fzj.formulations()) == 85
    assert fzj.source == str(fzj_csv)
    assert fzj.units["conductivity"] == "mS/cm" and fzj.units["c"] == "mol/kg"
    np.testing.assert_allclose(fzj.temperatures(), BUILTIN_TEMPERATURES)


def test_fzj_pool_per_temperature(fzj):
    sizes = [len(fzj.pool(t)[0]) for t in fzj.temperatures()]
    assert sizes == [84] + [85] * 9
    best = [round(float(fzj.pool(t)[1].max()), 2) for t in fzj.temperatures()]
    assert best == README_BEST


def test_pool_is_consistent_with_rows(fzj):
    X, y_mean, n = fzj.pool(298.15 - 5.0)
    mask = np.isclose(fzj.temperature, 293.15)
    assert n.sum() == mask.sum() and n.min() >= 1 and n.max() <= 8
    assert X.shape == (85, 2) and np.all(np.diff(X[:, 0]) >= 0)  # sorted by r
    # the mean of one formulation, recomputed by hand from the raw rows
    r, c = X[10]
    rows = mask & (fzj.r == r) & (fzj.c == c)
    assert y_mean[10] == pytest.approx(fzj.conductivity[rows].mean())
    X2, groups = fzj.replicates(293.15)
    np.testing.assert_array_equal(X, X2)
    assert [g.size for g in groups] == list(n)


def test_pool_temperature_tolerance(fzj):
    X, y, _ = fzj.pool(293.15 + 5e-7)
    assert len(X) == 85
    with pytest.raises(ValueError, match="no data at T = 293.1"):
        fzj.pool(293.16)


def test_data_is_immutable(fzj):
    with pytest.raises(dataclasses.FrozenInstanceError):
        fzj.source = "other"
    with pytest.raises(ValueError):
        fzj.conductivity[0] = 0.0


# --- broken files ----------------------------------------------------------------------------

BAD_FILES = {
    "empty": ("", 1, None, "empty file"),
    "blank lines only": ("\n\n", 1, None, "empty file"),
    "header only": (HEADER, 2, None, "no data rows"),
    "renamed column": (HEADER.replace("\tr\t", "\tratio\t") + GOOD_ROWS, 1, "r", "'ratio'"),
    "missing column": ("\tT [K]\tr\tk [mS/cm]\n" + GOOD_ROWS, 1, None, "header has 4"),
    "no index column": ("T [K]\tr\tc [mol/kg]\tk [mS/cm]\n" + GOOD_ROWS, 1, None, "header has 4"),
    "comma separated": (HEADER.replace("\t", ",") + GOOD_ROWS, 1, None, "header has 1"),
    "non-numeric": (HEADER + GOOD_ROWS + "3\t263.15\t1.0\t0.615\tabc\n", 5, "k [mS/cm]", "not a number: 'abc'"),
    "short row": (HEADER + "0\t243.15\t1.0\t0.615\n", 2, None, "4 fields"),
    "long row": (HEADER + GOOD_ROWS + "3\t263.15\t1.0\t0.615\t3.4\t9\n", 5, None, "6 fields"),
    "empty cell": (HEADER + "0\t243.15\t\t0.615\t1.883\n", 2, "r", "missing value"),
    "nan cell": (HEADER + GOOD_ROWS + "3\t263.15\t1.0\tnan\t3.4\n", 5, "c [mol/kg]", "missing value"),
    "NA cell": (HEADER + "0\tNA\t1.0\t0.615\t1.883\n", 2, "T [K]", "missing value"),
    "infinite": (HEADER + "0\t243.15\t1.0\t0.615\tinf\n", 2, "k [mS/cm]", "not a finite number"),
    "zero kelvin": (HEADER + "0\t0\t1.0\t0.615\t1.883\n", 2, "T [K]", "physically impossible"),
    "negative molality": (HEADER + "0\t243.15\t1.0\t-0.2\t1.883\n", 2, "c [mol/kg]", "physically impossible"),
    "ratio above one": (HEADER + "0\t243.15\t1.2\t0.615\t1.883\n", 2, "r", "physically impossible"),
    "negative conductivity": (HEADER + GOOD_ROWS + "3\t263.15\t1.0\t0.615\t-0.5\n", 5, "k [mS/cm]", "impossible"),
}


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_bad_file_names_file_line_column(tmp_path, name):
    content, line, column, problem = BAD_FILES[name]
    path = tmp_path / f"{name.replace(' ', '_')}.csv"
    path.write_text(content)
    with pytest.raises(DataFormatError) as caught:
        load_fzj(path)
    error = caught.value
    assert isinstance(error, ValueError)
    assert (error.path, error.line, error.column) == (str(path), line, column)
    message = str(error)
    assert str(path) in message and f"line {line}" in message and problem in message
    if column:
        assert repr(column) in message


def test_good_small_file_with_crlf_and_trailing_blank_line(tmp_path):
    path = tmp_path / "small.tsv"
    path.write_bytes((HEADER + GOOD_ROWS + "\n").replace("\n", "\r\n").encode())
    data = load_fzj(str(path))
    assert len(data) == 3
    np.testing.assert_allclose(data.temperatures(), [243.15, 253.15])
    X, y, n = data.pool(253.15)
    np.testing.assert_allclose(X, [[1.0, 0.615]])
    np.testing.assert_allclose(y, [(2.632 + 2.700) / 2])
    assert list(n) == [2]


def test_missing_file_is_a_format_error_naming_it(tmp_path):
    """One line naming the file, like every other unreadable file (the CLI prints it as such)."""
    with pytest.raises(DataFormatError, match="absent.csv: cannot read it: No such file or directory"):
        load_fzj(tmp_path / "absent.csv")


# --- the built-in data set -------------------------------------------------------------------


@pytest.fixture(scope="module")
def builtin():
    return builtin_data(seed=0)


def test_builtin_shape(builtin):
    assert builtin.source.startswith("builtin:flores2022")
    F = builtin.formulations()
    assert len(F) == 85
    assert 0.09 <= F[:, 0].min() and F[:, 0].max() == 1.0
    assert 0.19 <= F[:, 1].min() < 0.3 and 1.9 < F[:, 1].max() <= 2.1
    np.testing.assert_allclose(builtin.temperatures(), BUILTIN_TEMPERATURES)
    assert np.all(builtin.conductivity >= 0)


def test_builtin_replicates_per_formulation(builtin):
    counts = {}
    for T in builtin.temperatures():
        X, _, n = builtin.pool(T)
        for (r, c), k in zip(map(tuple, X), n):
            counts.setdefault((r, c), set()).add(int(k))
    assert all(len(ks) == 1 for ks in counts.values())  # the same count at every temperature
    used = {k for ks in counts.values() for k in ks}
    assert used <= set(range(1, 9)) and len(used) >= 6


def test_builtin_drops_exactly_the_out_of_range_points(builtin):
    F = builtin.formulations()
    for T in (243.15, 333.15):
        in_range = ~np.isnan(simulator.flores2022(F[:, 0], F[:, 1], T))
        X, _, _ = builtin.pool(T)
        np.testing.assert_array_equal(X, F[in_range])
    assert len(builtin.pool(243.15)[0]) < 85 == len(builtin.pool(333.15)[0])


def test_builtin_noise_levels(builtin):
    relative_sd, log_offsets = [], {}
    for T in builtin.temperatures():
        X, groups = builtin.replicates(T)
        truth = simulator.flores2022(X[:, 0], X[:, 1], T)
        relative_sd += [g.std(ddof=1) / g.mean() for g in groups if g.size > 1 and g.mean() > 0.5]
        log_offsets[round(T, 2)] = dict(zip(map(tuple, X), np.log([g.mean() for g in groups] / truth)))
    assert 0.015 < np.median(relative_sd) < 0.025  # ~2 % replicate noise
    # the preparation offset is shared by all temperatures of a formulation
    common = sorted(set(log_offsets[293.15]) & set(log_offsets[333.15]))
    warm = np.array([log_offsets[333.15][f] for f in common])
    room = np.array([log_offsets[293.15][f] for f in common])
    assert np.corrcoef(warm, room)[0, 1] > 0.8
    assert 0.015 < warm.std() < 0.05


def test_builtin_is_deterministic():
    a, b, other = builtin_data(3), builtin_data(3), builtin_data(4)
    for name in ("temperature", "r", "c", "conductivity"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.formulations(), other.formulations())


# --- fallback --------------------------------------------------------------------------------


def test_load_or_builtin_uses_the_file(fzj_csv):
    assert load_or_builtin(fzj_csv).source == str(fzj_csv)


def test_load_or_builtin_falls_back(tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="aiida_bigmap_al.datasets"):
        assert load_or_builtin(None).source.startswith("builtin:")
        missing = tmp_path / "absent.csv"
        data = load_or_builtin(missing, seed=2)
    assert data.source == builtin_data(2).source
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and str(missing) in warnings[0].getMessage()


def test_load_or_builtin_does_not_hide_a_broken_file(tmp_path):
    path = tmp_path / "broken.csv"
    path.write_text(HEADER + "0\t243.15\t1.0\t0.615\n")
    with pytest.raises(DataFormatError):
        load_or_builtin(path)


def test_conductivity_data_rejects_ragged_arrays():
    with pytest.raises(ValueError, match="differ in length"):
        ConductivityData(np.ones(3), np.ones(3), np.ones(2), np.ones(3))
