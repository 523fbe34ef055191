"""A finished campaign as people read it: a table per iteration and a best-so-far plot.

Pure functions of a *campaign record*, the plain-JSON summary that
:func:`aiida_bigmap_al.export.campaign_record` reads from the provenance graph. No AiiDA import,
so the same table and plot can be made from a record saved as JSON, on a machine without AiiDA.

A record holds (only the keys used here are listed)::

    {"campaign": {"pk", "uuid", "process_label"},
     "variables": ["r", "c"], "unit": "mS/cm", "units": {"r": "g/g", "c": "mol/kg", "temperature": "K"},
     "best": {"r", "c", "temperature", "value", "origin", "measurement",
              "per_temperature": [{"r", "c", "temperature", "value", ...}, ...]},
     "dataset": [{"r", "c", "temperature", "value", "origin", "measurement", "iteration"}, ...],
     "iterations": [{"iteration", "model_version", "n_measurements", "best_so_far",
                     "suggestions": [{"variables": {"r", "c"}, "temperature", "predicted_mean",
                                      "predicted_std", "status", "value", "origin",
                                      "exit_status", "message"}, ...]}, ...]}

``status`` of a suggestion is ``measured``, ``failed`` or ``not measured``.
"""

from __future__ import annotations

import numpy as np

from ..learning.objective import best_per_temperature
from .plots import campaign_plot

__all__ = ["best_so_far", "format_best", "format_best_per_temperature", "format_table", "write_plot"]

_MISSING = "-"


def best_so_far(record: dict) -> list[float]:
    """The best value after each measurement of the dataset, in the order they were made."""
    values = [row["value"] for row in record["dataset"]]
    return np.maximum.accumulate(values).tolist() if values else []


def format_table(record: dict) -> str:
    """One line per suggestion, grouped by iteration, with what measured it and the best so far.

    The iteration, model version and best so far appear on the first line of their iteration;
    a failed measurement shows its exit status and reason instead of a value.
    """
    variables = _variables(record)
    head = (f"{'iter':>4} {'model':>5} " + " ".join(f"{name:>7}" for name in variables)
            + f" {'T/K':>7} {'predicted':>13} {'measured':>9} {'origin':<11} {'best so far':>11}")
    lines = [_title(record), f"values in {record['unit']}", head, "-" * len(head)]
    for iteration in record["iterations"]:
        for i, suggestion in enumerate(iteration["suggestions"]):
            lines.append(_suggestion_line(iteration, suggestion, variables, first=i == 0))
    lines.extend(format_best_per_temperature(record))
    lines.append(format_best(record))
    return "\n".join(lines)


def format_best(record: dict) -> str:
    """``Best: <value> <unit> at r=..., c=..., T=... K`` and which measurement found it."""
    best = record["best"]
    return (f"Best: {best['value']:.3f} {record['unit']} at {_where(best, record)}, "
            f"T={best['temperature']:.2f} K "
            f"({best['origin']}, measurement {best['measurement']})")


def format_best_per_temperature(record: dict) -> list[str]:
    """Lines ``Best at <T> K: <value> <unit> at r=..., c=...``, coldest first; none for one temperature.

    Read from the campaign's ``best`` output; campaigns summarised before it held
    ``per_temperature`` get it from their dataset.
    """
    rows = record["best"].get("per_temperature") or best_per_temperature(record["dataset"])
    if len(rows) < 2:
        return []
    return [f"Best at {row['temperature']:.2f} K: {row['value']:.3f} {record['unit']} at "
            f"{_where(row, record)}" for row in rows]


def write_plot(record: dict, path):
    """The best-so-far plot of the campaign (PNG at ``path``); returns ``path``."""
    rows = record["dataset"]
    title = f"Campaign {record['campaign']['pk']}: best so far"
    return campaign_plot(
        values=[row["value"] for row in rows],
        best=best_so_far(record),
        kinds=[row["origin"] if row.get("iteration") else "initial data" for row in rows],
        path=path, title=title, unit=record["unit"])


def _where(row: dict, record: dict) -> str:
    """``r=..., c=... mol/kg``: the row's variables with their units."""
    units = record.get("units", {})
    return ", ".join(f"{name}={row[name]:.3f}{_unit_suffix(units.get(name))}" for name in _variables(record))


def _variables(record: dict) -> list[str]:
    return list(record["variables"])


def _title(record: dict) -> str:
    campaign, iterations = record["campaign"], record["iterations"]
    measured = sum(s["status"] == "measured" for it in iterations for s in it["suggestions"])
    failed = sum(s["status"] == "failed" for it in iterations for s in it["suggestions"])
    return (f"{campaign['process_label']}<{campaign['pk']}>: {len(iterations)} iterations, "
            f"{measured} measured, {failed} failed, {len(record['dataset'])} rows in the final dataset")


def _suggestion_line(iteration, suggestion, variables, first):
    head = (f"{iteration['iteration']:>4} {_text(iteration['model_version']):>5} " if first
            else " " * 11)
    point = " ".join(f"{suggestion['variables'][name]:>7.3f}" for name in variables)
    line = f"{head}{point} {suggestion['temperature']:>7.2f} {_prediction(suggestion):>13} "
    if suggestion["status"] == "measured":
        line += f"{suggestion['value']:>9.3f} {suggestion['origin']:<11}"
    elif suggestion["status"] == "failed":
        line += f"{'FAILED':>9} {'':<11}"
    else:
        line += f"{'not measured':>21}"
    if first:
        best = iteration['best_so_far']
        line += f" {_MISSING:>11}" if best is None else f" {best:>11.3f}"
    if suggestion["status"] == "failed":
        line += f"  [exit {suggestion['exit_status']}: {suggestion['message']}]"
    return line.rstrip()


def _prediction(suggestion):
    mean, std = suggestion.get("predicted_mean"), suggestion.get("predicted_std")
    if mean is None:
        return _MISSING
    return f"{mean:.3f}" if std is None else f"{mean:.3f}±{std:.3f}"


def _text(value):
    return _MISSING if value is None else str(value)


def _unit_suffix(unit):
    return f" {unit}" if unit and unit not in {"1", "g/g"} else ""
