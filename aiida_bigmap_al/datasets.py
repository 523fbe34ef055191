"""Conductivity data sets: the FZJ high-throughput file format and a built-in stand-in.

Pool-based active learning needs a fixed pool of candidate formulations with measured values.
The FZJ/HI Münster data (Flores et al., Digital Discovery 1 (2022) 440; Rahmanian et al.,
Sci. Data 2023) is the real one; :func:`builtin_data` makes a pre-generated set of the same shape
from the Flores 2022 law so that the project still runs where that file is absent.

The loader validates at the edge: a malformed file raises one :class:`DataFormatError` that names
the file, the line and the column, so that no missing or impossible value reaches a model.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import logging
import math
import os
import pathlib

import numpy as np

from . import simulator

__all__ = [
    "BUILTIN_TEMPERATURES",
    "COLUMNS",
    "TEMPERATURE_TOLERANCE",
    "UNITS",
    "ConductivityData",
    "DataFormatError",
    "builtin_data",
    "load_fzj",
    "load_or_builtin",
    "parse_cell",
    "read_queries",
    "read_text",
]

LOGGER = logging.getLogger(__name__)

TEMPERATURE_TOLERANCE = 1e-6
"""K; two temperatures closer than this are the same set point."""

COLUMNS = ("T [K]", "r", "c [mol/kg]", "k [mS/cm]")
"""Header of the FZJ format after the unnamed index column."""

UNITS = {"temperature": "K", "r": "PC/(EC+PC) mass ratio", "c": "mol/kg", "conductivity": "mS/cm"}

MISSING = frozenset({"", "nan", "na", "n/a", "none", "null", "-"})
"""Cell contents (case-insensitive, stripped) that mean "no value"."""


class DataFormatError(ValueError):
    """A data file that cannot be read or does not follow its format; names the file, line and column.

    The command line prints it as one line (no traceback): it is the user's file, not a bug.
    """

    def __init__(self, path, line: int | None, column: str | None, problem: str):
        self.path, self.line, self.column, self.problem = str(path), line, column, problem
        where = self.path + (f", line {line}" if line else "") + (f", column {column!r}" if column else "")
        super().__init__(f"{where}: {problem}")


def read_text(path: pathlib.Path) -> str:
    """The text of a data file (UTF-8, a BOM allowed); :class:`DataFormatError` if it is missing,
    unreadable or not text (binary garbage, NUL bytes), naming the file and the line."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise DataFormatError(path, None, None, f"cannot read it: {error.strerror or error}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise DataFormatError(path, line, None, f"not a text file (UTF-8): {error.reason} at byte "
                                                f"{error.start}") from None
    if "\0" in text:
        line = text[: text.index("\0")].count("\n") + 1
        raise DataFormatError(path, line, None, "not a text file: it contains NUL bytes")
    return text


@dataclasses.dataclass(frozen=True, eq=False)
class ConductivityData:
    """Conductivity measurements, one entry per replicate, with read-only numpy arrays."""

    temperature: np.ndarray
    r: np.ndarray
    c: np.ndarray
    conductivity: np.ndarray
    units: dict = dataclasses.field(default_factory=lambda: dict(UNITS))
    source: str = ""

    def __post_init__(self):
        arrays = {}
        for name in ("temperature", "r", "c", "conductivity"):
            array = np.array(getattr(self, name), dtype=float)  # a private copy
            if array.ndim != 1:
                raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
            array.setflags(write=False)
            arrays[name] = array
        if len({array.size for array in arrays.values()}) != 1:
            raise ValueError(f"arrays differ in length: { {k: v.size for k, v in arrays.items()} }")
        for name, array in arrays.items():
            object.__setattr__(self, name, array)

    def __len__(self) -> int:
        return self.temperature.size

    def __repr__(self) -> str:
        return (
            f"ConductivityData({len(self)} rows, {len(self.formulations())} formulations, "
            f"{len(self.temperatures())} temperatures, source={self.source!r})"
        )

    def temperatures(self) -> np.ndarray:
        """The distinct temperatures (K), sorted; values within the tolerance count as one."""
        ordered = np.sort(self.temperature)
        if ordered.size == 0:
            return ordered
        keep = np.concatenate(([True], np.diff(ordered) > TEMPERATURE_TOLERANCE))
        return ordered[keep]

    def formulations(self) -> np.ndarray:
        """The distinct (r, c) rows, shape (n, 2), sorted by r then c."""
        return np.unique(np.column_stack([self.r, self.c]), axis=0)

    def _at(self, temperature: float) -> np.ndarray:
        """Boolean mask of the rows measured at ``temperature``; ValueError if there are none."""
        mask = np.abs(self.temperature - float(temperature)) <= TEMPERATURE_TOLERANCE
        if not mask.any():
            known = ", ".join(f"{t:g}" for t in self.temperatures())
            raise ValueError(f"no data at T = {temperature} K in {self.source}; temperatures: {known}")
        return mask

    def replicates(self, temperature: float) -> tuple[np.ndarray, list[np.ndarray]]:
        """At one temperature: distinct formulations X (n, 2) and each one's replicate values."""
        mask = self._at(temperature)
        X, index = np.unique(np.column_stack([self.r[mask], self.c[mask]]), axis=0, return_inverse=True)
        values = self.conductivity[mask]
        return X, [values[index.ravel() == i] for i in range(len(X))]

    def pool(self, temperature: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The candidate pool at one temperature: X (n, 2) [r, c], mean conductivity, replicate count.

        Rows come in the order of :meth:`formulations` (sorted by r, then c).
        """
        X, groups = self.replicates(temperature)
        y_mean = np.array([group.mean() for group in groups])
        n_replicates = np.array([group.size for group in groups], dtype=int)
        return X, y_mean, n_replicates


    def mean_rows(self) -> list[dict]:
        """One row per formulation and temperature: ``r``, ``c``, ``temperature``, the mean
        ``value`` of its replicates, their number ``replicates`` and their sample standard
        deviation ``replicate_std`` (None for a single replicate). Coldest first, then as
        :meth:`pool`."""
        rows = []
        for temperature in self.temperatures():
            X, groups = self.replicates(temperature)
            rows.extend({"r": float(r), "c": float(c), "temperature": float(temperature),
                         "value": float(values.mean()), "replicates": int(values.size),
                         "replicate_std": float(values.std(ddof=1)) if values.size > 1 else None}
                        for (r, c), values in zip(X, groups))
        return rows


# --- reading the FZJ format ----------------------------------------------------------------

_BOUNDS = {
    # column: (check, what it must be)
    "T [K]": (lambda v: v > 0, "a temperature above 0 K"),
    "r": (lambda v: 0 <= v <= 1, "a ratio between 0 and 1"),
    "c [mol/kg]": (lambda v: v >= 0, "a non-negative molality"),
    "k [mS/cm]": (lambda v: v >= 0, "a non-negative conductivity"),
}


def load_fzj(path) -> ConductivityData:
    """Read a tab-separated file in the FZJ format (see ``COLUMNS``); any path.

    The first column is an unnamed row index and is not interpreted. Blank lines are skipped.
    Missing values, non-numeric or non-finite cells, wrong field counts, a wrong header and
    physically impossible values raise :class:`DataFormatError`.
    """
    path = pathlib.Path(path)
    with io.StringIO(read_text(path), newline="") as handle:
        reader = csv.reader(handle, delimiter="\t")
        header = _next_nonblank(reader)
        if header is None:
            raise DataFormatError(path, 1, None, "empty file: expected a header line " + _expected_header())
        _check_header(path, reader.line_num, header)
        rows = [_parse_row(path, reader.line_num, fields) for fields in reader if _is_data(fields)]
    if not rows:
        raise DataFormatError(path, reader.line_num + 1, None, "no data rows after the header")
    temperature, r, c, k = np.array(rows, dtype=float).T
    return ConductivityData(temperature, r, c, k, dict(UNITS), str(path))


def _expected_header() -> str:
    return "'<index>\\t" + "\\t".join(COLUMNS) + "'"


def _is_data(fields: list[str]) -> bool:
    return any(field.strip() for field in fields)


def _next_nonblank(reader) -> list[str] | None:
    return next((fields for fields in reader if _is_data(fields)), None)


def _check_header(path, line: int, header: list[str]) -> None:
    names = [name.strip() for name in header[1:]]
    if len(header) != len(COLUMNS) + 1:
        raise DataFormatError(
            path, line, None,
            f"header has {len(header)} tab-separated fields, "
            f"expected {len(COLUMNS) + 1}: {_expected_header()}",
        )
    for expected, found in zip(COLUMNS, names):
        if found != expected:
            raise DataFormatError(path, line, expected, f"header column is {found!r}, expected {expected!r}")


def _parse_row(path, line: int, fields: list[str]) -> tuple[float, ...]:
    if len(fields) != len(COLUMNS) + 1:
        expected = f"expected {len(COLUMNS) + 1} (index + {', '.join(COLUMNS)})"
        raise DataFormatError(path, line, None, f"{len(fields)} fields, {expected}")
    return tuple(parse_cell(path, line, column, cell) for column, cell in zip(COLUMNS, fields[1:]))


def parse_cell(path, line: int, column: str, cell: str) -> float:
    text = cell.strip()
    if text.lower() in MISSING:
        raise DataFormatError(path, line, column, f"missing value ({cell!r})")
    try:
        value = float(text)
    except ValueError:
        raise DataFormatError(path, line, column, f"not a number: {cell!r}") from None
    if not math.isfinite(value):
        raise DataFormatError(path, line, column, f"not a finite number: {cell!r}")
    check, meaning = _BOUNDS[column]
    if not check(value):
        raise DataFormatError(path, line, column, f"physically impossible value {value:g}: must be {meaning}")
    return value


# --- reading query points -----------------------------------------------------------------

QUERY_COLUMNS = ("T [K]", "r", "c [mol/kg]")
"""Columns of a query file (any order; an unnamed first column is taken as a row index)."""


def read_queries(path) -> np.ndarray:
    """The points of a query file, shape (n, 3) in the order of ``QUERY_COLUMNS``.

    Comma-, tab- or semicolon-separated, with a header naming the FZJ columns ``T [K]``, ``r``
    and ``c [mol/kg]`` in any order. Any other named column, a missing one, or an impossible
    value raises :class:`DataFormatError` naming the file, line and column.
    """
    path = pathlib.Path(path)
    lines = read_text(path).splitlines()
    header_line = next((i for i, line in enumerate(lines) if line.strip()), None)
    if header_line is None:
        raise DataFormatError(path, 1, None, f"empty file: expected a header with {QUERY_COLUMNS}")
    delimiter = max(",\t;", key=lines[header_line].count)
    reader = csv.reader(lines[header_line:], delimiter=delimiter)
    header = [name.strip() for name in next(reader)]
    columns = _query_columns(path, header_line + 1, header)
    points = []
    for number, fields in enumerate(reader, start=header_line + 2):
        if not _is_data(fields):
            continue
        if len(fields) != len(header):
            raise DataFormatError(path, number, None, f"{len(fields)} fields, expected {len(header)}")
        points.append([parse_cell(path, number, name, fields[columns[name]]) for name in QUERY_COLUMNS])
    if not points:
        raise DataFormatError(path, header_line + 2, None, "no query rows after the header")
    return np.array(points, dtype=float)


def _query_columns(path, line, header) -> dict[str, int]:
    named = {name: i for i, name in enumerate(header) if not (i == 0 and name == "")}
    unknown = sorted(set(named) - set(QUERY_COLUMNS))
    missing = [name for name in QUERY_COLUMNS if name not in named]
    if unknown or missing or len(named) != len(header) - (header[0] == ""):
        raise DataFormatError(path, line, None, f"header {header} must name the columns "
                              f"{list(QUERY_COLUMNS)} once each (any order)"
                              + (f"; unknown: {unknown}" if unknown else "")
                              + (f"; missing: {missing}" if missing else ""))
    return named


# --- the built-in data set -----------------------------------------------------------------

BUILTIN_TEMPERATURES = tuple(243.15 + 10.0 * i for i in range(10))
"""K, -30 to 60 °C in 10 K steps, like the FZJ campaign."""

_N_FORMULATIONS = 85
_C_CLUSTERS = (0.2, 0.25, 0.3, 0.4, 0.6, 0.8, 0.85, 1.0, 1.05, 1.2, 1.5, 1.55, 1.7, 1.8, 1.9, 2.0, 2.1)
_C_WEIGHTS = (3, 2, 2, 1, 9, 3, 4, 8, 6, 3, 5, 9, 3, 3, 2, 2, 3)
_REPLICATE_WEIGHTS = (5, 7, 15, 28, 9, 10, 6, 5)  # of 1..8 replicates, as counted in the FZJ set
_REPLICATE_NOISE = 0.02  # relative, per replicate
_PREPARATION_NOISE = 0.03  # relative, per formulation, same at every temperature
_PC_ONLY_FRACTION = 0.08


def builtin_data(seed: int = 0) -> ConductivityData:
    """A pre-generated conductivity set in the shape of the FZJ campaign, from the Flores 2022 law.

    85 formulations on a grid clustered in salt content as in a real high-throughput campaign
    (r in [0.09, 1], c in [0.19, 2.1] mol/kg), T = 243.15..333.15 K in 10 K steps, 1-8 replicates
    per formulation. Each formulation carries a preparation offset (relative, sd 3 %) that is the
    same at every temperature, as a batch effect does, and each replicate 2 % relative noise.
    Points where the law is out of range (negative at low T and high salt) are dropped, as the
    real campaign lacks points that froze or could not be measured. Deterministic for a seed.
    """
    rng = np.random.default_rng(seed)
    formulations = _builtin_formulations(rng)
    replicates = rng.choice(np.arange(1, 9), size=len(formulations), p=_normalised(_REPLICATE_WEIGHTS))
    preparation = 1.0 + _PREPARATION_NOISE * rng.standard_normal(len(formulations))
    columns = {"temperature": [], "r": [], "c": [], "conductivity": []}
    for (r, c), n, offset in zip(formulations, replicates, preparation):
        for temperature in BUILTIN_TEMPERATURES:
            truth = float(simulator.flores2022(r, c, temperature))
            noise = 1.0 + _REPLICATE_NOISE * rng.standard_normal(n)  # drawn even if dropped: stable streams
            if math.isnan(truth):
                continue
            values = np.round(np.clip(truth * offset * noise, 0.0, None), 3)
            for name, value in (("temperature", temperature), ("r", r), ("c", c)):
                columns[name].extend([value] * n)
            columns["conductivity"].extend(values)
    return ConductivityData(**columns, units=dict(UNITS), source=f"builtin:flores2022:seed={seed}")


def _normalised(weights) -> np.ndarray:
    weights = np.asarray(weights, dtype=float)
    return weights / weights.sum()


def _builtin_formulations(rng: np.random.Generator) -> np.ndarray:
    """85 distinct (r, c) pairs rounded to 3 decimals, clustered in c, some PC-only (r = 1)."""
    chosen: dict[tuple[float, float], None] = {}
    while len(chosen) < _N_FORMULATIONS:
        centre = rng.choice(_C_CLUSTERS, p=_normalised(_C_WEIGHTS))
        c = round(float(np.clip(centre + 0.008 * rng.standard_normal(), 0.19, 2.1)), 3)
        r = 1.0 if rng.random() < _PC_ONLY_FRACTION else round(float(rng.uniform(0.09, 1.0)), 3)
        chosen.setdefault((r, c), None)
    return np.array(list(chosen))


# --- choosing between them -----------------------------------------------------------------


def load_or_builtin(path: str | os.PathLike | None = None, seed: int = 0) -> ConductivityData:
    """The FZJ file at ``path`` if it exists, otherwise the built-in set (logged as a warning).

    A file that exists but is malformed still raises :class:`DataFormatError`: falling back
    silently would hide a broken data file. ``source`` of the result says which data was used.
    """
    if path is not None and pathlib.Path(path).is_file():
        data = load_fzj(path)
        LOGGER.info("conductivity data: %s (%d rows)", data.source, len(data))
        return data
    data = builtin_data(seed)
    if path is None:
        LOGGER.info("no conductivity file given: using the built-in data set %s", data.source)
    else:
        LOGGER.warning("conductivity file %s not found: using the built-in data set %s", path, data.source)
    return data
