"""GITT: the chemical diffusion coefficient of each titration pulse (Weppner and Huggins, 1977).

A galvanostatic intermittent titration applies current pulses of length tau, each followed by a
rest at zero current until the voltage has relaxed. For tau << L^2/D, Fick's second law gives a
voltage that changes linearly with sqrt(t) during the pulse, and

    D = 4 / (pi tau) * (m_B V_M / (M_B S))^2 * (dE_s / dE_t)^2

with ``L = m_B V_M / (M_B S)`` the diffusion length (volume per area of the active material),
``dE_s`` the change of the relaxed voltage over the pulse (rest before to rest after) and
``dE_t`` the change of the voltage during the pulse without its ohmic jump. The ohmic jump and
the curvature at longer times are both kept out by fitting ``E = a + b sqrt(t)`` over the linear
region only: ``dE_t = b sqrt(tau)``. The linear region is detected (the longest window from the
start of the pulse in which a quadratic term in sqrt(t) is neither significant nor larger than
1 % of the linear one) and reported, so a reader sees what the figure rests on. The start is the
switch time, estimated between the last sample before the pulse and its first: a log that shows
the pulse from the sample after the switch would otherwise bend the sqrt(t) line (PyBaMM's logs
do; taking their first pulse sample as the start made D 45 % too high).

Reads a time/current/voltage table: CSV (columns ``time [s]``, ``current [A]``, ``voltage [V]``,
comma- or tab-separated, any order, extra columns ignored) or HDF5 (datasets of those names or
``time``/``current``/``voltage`` anywhere in the file, or an instrument server's job log whose
action result holds those columns as lists). Pure numpy; no AiiDA import.
"""

from __future__ import annotations

import csv
import json
import math
import pathlib
from dataclasses import asdict, dataclass, field

import numpy as np

__all__ = ["COLUMNS", "GittError", "GittTable", "PulseResult", "analyse", "diffusion_coefficient",
           "find_pulses", "linear_region", "read_table"]

#: The columns of a GITT table, in SI units.
COLUMNS = ("time [s]", "current [A]", "voltage [V]")

#: Other names by which HDF5 datasets or job-log results may hold the columns.
_ALIASES = {"time [s]": ("time", "time_s", "t"), "current [A]": ("current", "current_A", "I"),
            "voltage [V]": ("voltage", "voltage_V", "potential", "E", "U")}

#: A sample belongs to a pulse when its |current| exceeds this fraction of the largest |current|.
CURRENT_THRESHOLD = 0.01

#: tau * D / L^2 above which the Weppner-Huggins condition tau << L^2 / D counts as broken.
SHORT_PULSE_LIMIT = 0.1

#: Largest share of the quadratic term in the fit over the linear region, and its significance.
CURVATURE_TOLERANCE = 0.01
CURVATURE_SIGMAS = 2.0

#: Candidate switch times tried between the last sample before a pulse and its first.
SWITCH_TIMES = 11

#: Fewest samples a linear fit is made from.
MIN_POINTS = 5

#: Samples at the end of a rest whose median is the relaxed voltage.
RELAXED_SAMPLES = 5


class GittError(ValueError):
    """A GITT table that cannot be read or analysed; the message names the file (and line/column)."""


@dataclass(frozen=True)
class GittTable:
    """Samples in time order: ``time`` (s), ``current`` (A), ``voltage`` (V)."""

    time: np.ndarray
    current: np.ndarray
    voltage: np.ndarray
    source: str = "<table>"


@dataclass
class PulseResult:
    """One titration pulse: where it is, what was fitted and the diffusion coefficient."""

    pulse: int
    start_s: float
    tau_s: float
    D_cm2_s: float | None
    linear_fit_r2: float
    current_A: float
    delta_Es_V: float | None
    delta_Et_V: float
    linear_region_s: tuple[float, float]
    tau_D_over_L2: float | None
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {**asdict(self), "linear_region_s": list(self.linear_region_s)}


# --- reading ---------------------------------------------------------------------------------

def read_table(path) -> GittTable:
    """The table in ``path`` (CSV or HDF5, by content); :class:`GittError` names what is wrong."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise GittError(f"{path}: " + ("not a file" if path.exists() else "no such file"))
    with path.open("rb") as handle:
        is_hdf5 = handle.read(8) == b"\x89HDF\r\n\x1a\n"
    table = _read_hdf5(path) if is_hdf5 else _read_csv(path)
    _check_table(table)
    return table


def _read_csv(path) -> GittTable:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise GittError(f"{path}: not a text (CSV) or HDF5 file ({error.reason})") from None
    lines = text.splitlines()
    if not lines:
        raise GittError(f"{path}: empty file")
    dialect = "excel-tab" if "\t" in lines[0] else "excel"
    rows = csv.reader(lines, dialect)
    header = [cell.strip() for cell in next(rows)]
    missing = [name for name in COLUMNS if name not in header]
    if missing:
        raise GittError(f"{path}: line 1: missing column(s) {missing}; the header must name "
                        f"{list(COLUMNS)}, got {header}")
    where = [header.index(name) for name in COLUMNS]
    values = []
    for line, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue
        values.append([_cell(path, line, name, row, i) for name, i in zip(COLUMNS, where)])
    if not values:
        raise GittError(f"{path}: no data rows below the header")
    array = np.array(values)
    return GittTable(array[:, 0], array[:, 1], array[:, 2], str(path))


def _cell(path, line, name, row, index) -> float:
    if index >= len(row):
        raise GittError(f"{path}: line {line}, column '{name}': missing value")
    try:
        value = float(row[index])
    except ValueError:
        raise GittError(f"{path}: line {line}, column '{name}': {row[index]!r} is not a number") from None
    if not math.isfinite(value):
        raise GittError(f"{path}: line {line}, column '{name}': {row[index]!r} is not finite")
    return value


def _read_hdf5(path) -> GittTable:
    import h5py

    try:
        with h5py.File(path, "r") as f:
            columns = _hdf5_datasets(f) or _job_log_columns(path, f)
    except OSError as error:
        raise GittError(f"{path}: unreadable HDF5 file ({error})") from None
    if columns is None:
        raise GittError(f"{path}: no datasets {list(COLUMNS)} (or time/current/voltage) and no "
                        f"instrument action result holding them")
    return GittTable(*columns, source=str(path))


def _hdf5_datasets(f):
    """The three columns from datasets named after them, anywhere in the file; None if absent."""
    import h5py

    found = {}

    def visit(name, item):
        leaf = name.rsplit("/", 1)[-1]
        for column in COLUMNS:
            if column not in found and isinstance(item, h5py.Dataset) and leaf in (column, *_ALIASES[column]):
                found[column] = (name, item[()])

    f.visititems(visit)
    if len(found) < len(COLUMNS):
        return None
    return tuple(_numeric(f.filename, *found[column]) for column in COLUMNS)


def _job_log_columns(path, f):
    """The three columns from the first action of an instrument job log whose result holds them."""
    for name, group in f.get("actions", {}).items():
        try:
            result = json.loads(group.attrs.get("result", "{}"))
        except (TypeError, json.JSONDecodeError):
            raise GittError(f"{path}: action {name}: its result is not JSON") from None
        keys = {column: next((k for k in (column, *_ALIASES[column]) if k in result), None)
                for column in COLUMNS}
        if all(keys.values()):
            return tuple(_numeric(path, f"actions/{name} result '{keys[c]}'", result[keys[c]])
                         for c in COLUMNS)
    return None


def _numeric(path, name, values):
    try:
        array = np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError):
        raise GittError(f"{path}: {name}: not a list of numbers") from None
    bad = np.flatnonzero(~np.isfinite(array))
    if bad.size:
        raise GittError(f"{path}: {name}: entry {bad[0]} is not finite")
    return array


def _check_table(table: GittTable):
    lengths = {len(table.time), len(table.current), len(table.voltage)}
    if len(lengths) > 1:
        raise GittError(f"{table.source}: the columns have different lengths {sorted(lengths)}")
    steps = np.diff(table.time)
    if np.any(steps <= 0):
        i = int(np.argmax(steps <= 0)) + 1
        raise GittError(f"{table.source}: sample {i + 1} (line {i + 2} of a CSV): time "
                        f"{table.time[i]:g} s does not increase (previous {table.time[i - 1]:g} s)")


# --- analysis --------------------------------------------------------------------------------

def find_pulses(current, threshold=CURRENT_THRESHOLD) -> list[tuple[int, int]]:
    """``(first, end)`` sample indices (end exclusive) of every run of nonzero current of one sign."""
    current = np.asarray(current, dtype=float)
    scale = np.max(np.abs(current)) if current.size else 0.0
    if scale == 0:
        return []
    sign = np.where(np.abs(current) > threshold * scale, np.sign(current), 0).astype(int)
    edges = np.flatnonzero(np.diff(sign)) + 1
    bounds = np.concatenate(([0], edges, [len(sign)]))
    return [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:]) if sign[a] != 0]


def linear_region(seconds, voltage, min_points=MIN_POINTS):
    """The longest window from the first sample in which E is linear in sqrt(t).

    :param seconds: time since the start of the pulse of each sample.
    :returns: ``(n, slope, intercept, r2)``: the window's length in samples and the fit of
        ``E = intercept + slope sqrt(t)`` over it.
    """
    x, E = np.sqrt(np.asarray(seconds, dtype=float)), np.asarray(voltage, dtype=float)
    if len(x) < min_points:
        raise ValueError(f"{len(x)} samples, fewer than the {min_points} a linear fit needs")
    ends = np.unique(np.geomspace(min_points, len(x), 40).astype(int))
    linear = [n for n in ends if _is_linear(x[:n], E[:n])]
    n = max(linear) if linear else min_points
    slope, intercept = np.polyfit(x[:n], E[:n], 1)
    residual = E[:n] - (intercept + slope * x[:n])
    total = np.sum((E[:n] - E[:n].mean()) ** 2)
    r2 = 1.0 - np.sum(residual**2) / total if total > 0 else 1.0
    return int(n), float(slope), float(intercept), float(r2)


def _is_linear(x, E) -> bool:
    """Whether a quadratic term in x is negligible (<= 1 % of the linear one) or not significant."""
    if len(x) < MIN_POINTS:
        return False
    design = np.column_stack([np.ones_like(x), x, x**2])
    coefficients, *_ = np.linalg.lstsq(design, E, rcond=None)
    residual = E - design @ coefficients
    dof = len(x) - 3
    sigma2 = float(residual @ residual) / dof if dof > 0 else 0.0
    try:
        se = math.sqrt(sigma2 * np.linalg.inv(design.T @ design)[2, 2])
    except np.linalg.LinAlgError:
        return False
    span = x[-1]
    curvature = abs(coefficients[2]) * span**2
    return (curvature <= CURVATURE_TOLERANCE * abs(coefficients[1]) * span
            or abs(coefficients[2]) <= CURVATURE_SIGMAS * se)


def diffusion_coefficient(tau, length_cm, delta_Es, delta_Et) -> float:
    """Weppner-Huggins: D = 4 / (pi tau) L^2 (dE_s / dE_t)^2, in cm^2/s for L in cm, tau in s."""
    return 4.0 / (math.pi * tau) * length_cm**2 * (delta_Es / delta_Et) ** 2


def analyse(table: GittTable, volume_to_area_cm: float) -> list[PulseResult]:
    """Every pulse of ``table`` in time order, numbered from 0.

    A pulse with no rest before it (the table starts with it) takes the open-circuit voltage
    before it as its fit's intercept less the ohmic jump at its end, with a warning; a pulse with
    no rest after it has no relaxed voltage, so its D is None, with a warning.

    :param volume_to_area_cm: ``m_B V_M / (M_B S)`` in cm, the diffusion length.
    """
    if not (math.isfinite(volume_to_area_cm) and volume_to_area_cm > 0):
        raise GittError(f"the volume-to-area length must be a positive number of cm, got {volume_to_area_cm}")
    pulses = find_pulses(table.current)
    if not pulses:
        raise GittError(f"{table.source}: no current pulse (the current is zero throughout)")
    return [_pulse(table, index, first, end, _rest_before(pulses, first),
                   _rest_after(pulses, end, len(table.time)), volume_to_area_cm)
            for index, (first, end) in enumerate(pulses)]


def _rest_before(pulses, first):
    """Sample indices of the rest that ends where the pulse starting at ``first`` begins."""
    previous_end = max((end for _, end in pulses if end <= first), default=0)
    return previous_end, first


def _rest_after(pulses, end, n_samples):
    following = min((start for start, _ in pulses if start >= end), default=n_samples)
    return end, following


def _relaxed(voltage, rest):
    start, end = rest
    return float(np.median(voltage[max(start, end - RELAXED_SAMPLES):end]))


def _switch_time(t, E, first, end, skip):
    """When the current was switched on, and the sqrt(t) fit from then: a log may show the pulse
    only from the sample after the switch, which can lie up to one interval after it. Of the
    times between the last sample before the pulse and its first, the one whose sqrt(t) line
    reaches furthest (then fits best) is taken."""
    earliest = t[first - 1] if first > 0 else t[first]
    best = None
    for start in np.linspace(earliest, t[first], SWITCH_TIMES):
        fit = linear_region(t[first + skip:end] - start, E[first + skip:end])
        key = (t[first + skip + fit[0] - 1], fit[3])
        if best is None or key > best[0]:
            best = (key, start, fit)
    return best[1], best[2]


def _pulse(table, index, first, end, before, after, length) -> PulseResult:
    t, E = table.time, table.voltage
    skip = 1 if end - first > MIN_POINTS + 1 else 0    # the sample at the switch may lag the jump
    try:
        start, (n, slope, intercept, r2) = _switch_time(t, E, first, end, skip)
    except ValueError as error:
        raise GittError(f"{table.source}: pulse {index} at {t[first]:g} s: {error}") from None
    tau = (t[end] if end < len(t) else t[-1]) - start
    seconds = t[first + skip:end] - start
    warnings = []
    if before[1] > before[0]:
        relaxed_before = _relaxed(E, before)
    else:
        relaxed_before = intercept - (E[end - 1] - E[min(end, len(E) - 1)])
        warnings.append("no rest before the pulse: the voltage before it is taken as the fit's "
                        "intercept less the ohmic jump at its end")
    D, ratio, delta_Es, delta_Et = None, None, None, slope * math.sqrt(tau)
    if after[1] - after[0] > 0:
        delta_Es = _relaxed(E, after) - relaxed_before
        D = diffusion_coefficient(tau, length, delta_Es, delta_Et)
        ratio = tau * D / length**2
        if ratio > SHORT_PULSE_LIMIT:
            warnings.append(f"tau = {tau:g} s is not << L^2/D = {length**2 / D:.3g} s (tau D / L^2 = "
                            f"{ratio:.2f} > {SHORT_PULSE_LIMIT}): Weppner-Huggins does not hold")
        if after[1] - after[0] < RELAXED_SAMPLES:
            warnings.append(f"the rest after the pulse has only {after[1] - after[0]} samples")
    else:
        warnings.append("no rest after the pulse: no relaxed voltage, no D")
    if seconds[n - 1] < 0.5 * tau:
        warnings.append(f"E is linear in sqrt(t) only up to {seconds[n - 1]:.3g} s of the {tau:g} s pulse")
    return PulseResult(pulse=index, start_s=float(start), tau_s=float(tau), D_cm2_s=_plain(D),
                       linear_fit_r2=r2, current_A=float(np.mean(table.current[first:end])),
                       delta_Es_V=_plain(delta_Es), delta_Et_V=float(delta_Et),
                       linear_region_s=(float(seconds[0]), float(seconds[n - 1])),
                       tau_D_over_L2=_plain(ratio), warnings=warnings)


def _plain(value):
    return None if value is None else float(value)
