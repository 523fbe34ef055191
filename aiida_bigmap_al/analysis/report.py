"""One self-contained HTML page for a finished campaign: what a reader needs to judge and find it.

``bigmap-al report PK`` writes it. The page is a single file that opens anywhere, mailed or
attached to a lab notebook: its images are PNG data URIs, its style is inline and a
Content-Security-Policy forbids every request, so it never reaches the network. Its sections:
configuration, best so far (per temperature where there are several), the response surface of
the campaign's last model with the measured points, the suggestions with their predicted mean
and std, the time per action and instrument, and the provenance (the UUIDs of every node).

Two halves, as in :mod:`aiida_bigmap_al.export` and :mod:`.history`:

* :func:`campaign_report` reads a campaign node into a *report*, plain JSON with base64 PNGs (it
  needs a loaded AiiDA profile, imported lazily so that the rendering stays free of AiiDA);
* :func:`render` turns a report into HTML with a small Jinja2 template (Jinja2 comes with
  aiida-core); autoescaping escapes every string that a user wrote (labels, names, messages).
"""

from __future__ import annotations

import base64
import io
import json
import math

import jinja2
import numpy as np

from ..feature_map import FeatureMap
from ..space import SearchSpace
from .history import format_best, write_plot
from .plots import campaign_plot

__all__ = ["best_per_temperature_curves", "campaign_report", "render", "surface_grids", "write_report"]

#: Points per axis of the response-surface grid.
GRID = 40
#: Temperatures (K) closer than this are one temperature (as in :mod:`..learning.objective`).
_SAME_T = 1e-6
_ZERO_CELSIUS = 273.15


# --- reading the campaign (needs a loaded AiiDA profile) --------------------------------------------


def campaign_report(node) -> dict:
    """The report of a finished campaign node (see :func:`~aiida_bigmap_al.export.load_campaign`)."""
    from ..export import campaign_record

    record = campaign_record(node)
    space = SearchSpace.from_dict(node.inputs.space.get_dict())
    model, model_doc = _last_model(node, record, space)
    return {
        "record": record,
        "counts": _counts(record, node.inputs.budget.value),
        "configuration": _configuration(node),
        "best_so_far": best_per_temperature_curves(record),
        "images": {"best_so_far": _best_so_far_images(record)},
        "surface": _surface_section(space, model, model_doc, record),
        "timing": _timing_section(node),
        "provenance": _provenance(node, record),
    }


def write_report(node, path) -> str:
    """Write the report page of ``node`` to ``path``; returns the HTML."""
    html = render(campaign_report(node))
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(html)
    return html


def _counts(record, budget) -> dict:
    """How much of the budget went where: measured, failed, given as initial data."""
    suggestions = [s for it in record["iterations"] for s in it["suggestions"]]
    return {"budget": budget, "iterations": len(record["iterations"]),
            "measured": sum(s["status"] == "measured" for s in suggestions),
            "failed": sum(s["status"] == "failed" for s in suggestions),
            "initial": sum(not row.get("iteration") for row in record["dataset"])}


def _configuration(node) -> dict:
    """Space, strategy, budget and every other input, the measurement methods and their codes."""
    from aiida import orm
    from aiida.common.links import LinkType

    settings, methods, codes = [], [], []
    for link in node.base.links.get_incoming(link_type=LinkType.INPUT_WORK).all():
        label, item = link.link_label.replace("__", "."), link.node
        if label in ("space", "strategy"):
            continue
        entry = {"input": label, "value": _describe(item), "uuid": item.uuid}
        (methods if label.startswith("methods.") else settings).append(entry)
        if isinstance(item, orm.AbstractCode):
            codes.append({"input": label, "label": item.full_label, "plugin": item.default_calc_job_plugin,
                          "computer": item.computer.label if item.computer else "-", "uuid": item.uuid})
    return {
        "process_label": node.process_label, "pk": node.pk, "uuid": node.uuid,
        "mode": "lanes (one lane per instrument)" if "instruments" in node.inputs.methods else "batch",
        "created": node.ctime.isoformat(timespec="seconds"), "ended": node.mtime.isoformat(timespec="seconds"),
        "space": node.inputs.space.get_dict(), "strategy": node.inputs.strategy.get_dict(),
        "settings": sorted(settings, key=lambda e: e["input"]), "methods": sorted(methods, key=lambda e: e["input"]),
        "codes": codes,
    }


def _describe(item) -> str:
    """A short text for an input node: its value, or its kind and size."""
    from aiida import orm

    if isinstance(item, (orm.Int, orm.Float, orm.Str, orm.Bool)):
        return str(item.value)
    if isinstance(item, orm.AbstractCode):
        return f"code {item.full_label}"
    if isinstance(item, orm.ArrayData):
        shapes = ", ".join(f"{name} {item.get_shape(name)}" for name in item.get_arraynames())
        return f"array: {shapes}"
    if isinstance(item, orm.Dict):
        rows = item.get("rows")
        return f"dataset of {len(rows)} rows" if isinstance(rows, list) else _short_json(item.get_dict())
    return item.__class__.__name__


def _short_json(data, limit=200) -> str:
    text = json.dumps(data, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _last_model(node, record, space):
    """The campaign's last model, refitted from its training data as every step rebuilds it
    (:func:`~aiida_bigmap_al.workchains.functions.fitted_model`); ``(None, None)`` without one."""
    from aiida import orm

    from ..learning import Strategy
    from ..workchains.functions import fitted_model

    if "model" in node.outputs:
        document = {"uuid": node.outputs.model.uuid, **node.outputs.model.get_dict()}
    elif record["models"]:  # a lanes campaign: its lanes' latest model
        document = record["models"][-1]
    else:
        return None, None
    rows = orm.load_node(document["training_data"])["rows"]
    strategy = Strategy.model_validate(document["strategy"])
    model, _, _ = fitted_model(space, strategy, document["seed"], rows, document.get("noise"))
    trained_on = {row["measurement"] for row in rows}
    return model, {**document, "trained_on": trained_on}


def _surface_section(space, model, model_doc, record) -> dict:
    if model is None:
        return {"note": "The campaign fitted no model (its budget went to the initial design).", "image": None}
    if space.dim < 2:
        return {"note": "A response surface needs two variables; this space has one.", "image": None}
    grids = surface_grids(space, model, record["dataset"], model_doc["trained_on"])
    names, fixed = space.names, space.names[2:]
    note = (f"Model version {model_doc['version']} ({model_doc['uuid']}), refitted from its training data "
            f"({model_doc['n_observations']} rows, dataset {model_doc['training_data']}).")
    if fixed or len(grids) > 1:
        note += (f" Shown over the first two variables, {names[0]} and {names[1]}, at each temperature"
                 + (f"; {', '.join(fixed)} held at the best measured point of that temperature "
                    "(the middle of its range where none was measured)." if fixed else "."))
    return {"note": note, "image": _png(surface_plot, grids, record["unit"], record.get("units", {})),
            "optima": [{key: grid[key] for key in ("temperature", "optimum")} for grid in grids]}


def _timing_section(node) -> dict:
    """The tables of :mod:`.timing` and its plot, or why the campaign has nothing to time."""
    from ..export import CampaignError, campaign_timing_record
    from . import timing

    try:
        record = campaign_timing_record(node)
        return {"summary": timing.summary(record), "actions": timing.action_table(record),
                "instruments": timing.instrument_table(record), "note": None,
                "image": _png(lambda path: timing.write_plot(record, path))}
    except (CampaignError, timing.TimingError) as error:
        return {"note": str(error), "image": None}


def _provenance(node, record) -> dict:
    """The UUIDs of the campaign's inputs, outputs, dataset versions and measuring processes."""
    from aiida.common.links import LinkType

    outputs = [{"output": link.link_label, "type": link.node.__class__.__name__, "uuid": link.node.uuid}
               for link in node.base.links.get_outgoing(link_type=LinkType.RETURN).all()]
    datasets = [{"version": call.outputs.result["version"], "rows": len(call.outputs.result["rows"]),
                 "uuid": call.outputs.result.uuid, "creator": f"{call.process_label} {call.uuid}"}
                for call in node.called_descendants
                if call.process_label in ("append_measurements", "assemble_dataset") and call.is_finished_ok]
    if "initial_data" in node.inputs:
        start = node.inputs.initial_data
        datasets.append({"version": start["version"], "rows": len(start["rows"]), "uuid": start.uuid,
                         "creator": "input initial_data"})
    processes = {s["process"]: s for it in record["iterations"] for s in it["suggestions"] if s["process"]}
    return {"outputs": sorted(outputs, key=lambda o: o["output"]),
            "datasets": sorted(datasets, key=lambda d: (d["version"], d["rows"])),
            "measuring": [{"pk": pk, "uuid": _uuid_of(pk), "suggestion": s["uuid"], "status": s["status"]}
                          for pk, s in sorted(processes.items())]}


def _uuid_of(pk) -> str:
    from aiida import orm

    return orm.load_node(pk).uuid


# --- pure parts: curves, surfaces and images ----------------------------------------------------------


def best_per_temperature_curves(record: dict) -> list[dict]:
    """Per temperature of the dataset (coldest first): its values and their running best, in order."""
    rows = record["dataset"]
    temperatures = sorted({round(float(row["temperature"]), 6) for row in rows})
    curves = []
    for T in temperatures:
        here = [row for row in rows if abs(row["temperature"] - T) <= _SAME_T]
        values = [row["value"] for row in here]
        curves.append({"temperature": T, "values": values,
                       "best": np.maximum.accumulate(values).tolist(),
                       "kinds": [row["origin"] if row.get("iteration") else "initial data" for row in here]})
    return curves


def _best_so_far_images(record: dict) -> list[dict]:
    """The campaign's best-so-far plot; over several temperatures, one more per temperature."""
    if not record["dataset"]:
        return []
    images = [{"caption": "All measurements, in the order they were made, and the best so far.",
               "png": _png(lambda path: write_plot(record, path))}]
    curves = best_per_temperature_curves(record)
    if len(curves) > 1:
        for curve in curves:
            title = f"Best so far at {_kelvin_celsius(curve['temperature'])}"
            images.append({"caption": title, "png": _png(lambda path, c=curve, t=title: campaign_plot(
                c["values"], c["best"], c["kinds"], path, title=t, unit=record["unit"]))})
    return images


def surface_grids(space: SearchSpace, model, rows, trained_on=frozenset(), grid=GRID) -> list[dict]:
    """Predicted mean and std of ``model`` over the first two variables at each temperature.

    Further variables are held at the best measured row of the temperature (the middle of their
    range where none was measured). Each grid holds the measured rows at its temperature, split
    into those the model was trained on (``trained_on``: measurement UUIDs) and those after it.
    """
    features = FeatureMap.of(space)
    (a, b), bounds = space.names[:2], np.asarray(space.bounds, dtype=float)
    xs, ys = np.linspace(*bounds[0], grid), np.linspace(*bounds[1], grid)
    XX, YY = np.meshgrid(xs, ys)
    grids = []
    for T in features.temperatures:
        here = [row for row in rows if abs(row["temperature"] - T) <= _SAME_T]
        anchor = max(here, key=lambda row: row["value"]) if here else {
            name: float(np.mean(bounds[i])) for i, name in enumerate(space.names)}
        points = [{**{n: anchor[n] for n in space.names[2:]}, a: x, b: y} for x, y in zip(XX.ravel(), YY.ravel())]
        mean, std = (np.asarray(v).reshape(XX.shape) for v in model.predict(features.inputs(points, [T] * len(points))))
        i = np.unravel_index(np.argmax(mean), mean.shape)
        grids.append({"temperature": T, "variables": (a, b), "x": xs, "y": ys, "mean": mean, "std": std,
                      "optimum": {a: float(XX[i]), b: float(YY[i]), "mean": float(mean[i]), "std": float(std[i])},
                      "trained": [(r[a], r[b]) for r in here if r["measurement"] in trained_on],
                      "later": [(r[a], r[b]) for r in here if r["measurement"] not in trained_on]})
    return grids


def surface_plot(grids, unit, units, path):
    """Mean (left) and std (right) per temperature (one row each), measured points and optimum."""
    import matplotlib.pyplot as plt  # Agg: chosen by .plots, imported above

    figure, axes = plt.subplots(len(grids), 2, figsize=(9.6, 3.6 * len(grids)), squeeze=False,
                                constrained_layout=True)
    for row, g in zip(axes, grids):
        a, b = g["variables"]
        for ax, key, cmap in ((row[0], "mean", "viridis"), (row[1], "std", "magma")):
            filled = ax.contourf(g["x"], g["y"], g[key], levels=20, cmap=cmap)
            figure.colorbar(filled, ax=ax, label=f"{'predicted' if key == 'mean' else 'std of'} value ({unit})")
            for points, style in ((g["trained"], dict(c="white", edgecolors="black", label="trained on")),
                                  (g["later"], dict(c="red", marker="X", edgecolors="black",
                                                    label="measured after the model"))):
                if points:
                    ax.scatter(*zip(*points), s=28, linewidths=0.6, **style)
            optimum = g["optimum"]
            ax.plot(optimum[a], optimum[b], "*", color="orange", mec="black", markersize=14,
                    label=f"optimum {optimum['mean']:.3g} ± {optimum['std']:.2g}")
            ax.set(xlabel=_axis(a, units), ylabel=_axis(b, units),
                   title=f"{_kelvin_celsius(g['temperature'])}: {key}")
            ax.legend(fontsize=7, loc="best")
    figure.savefig(path, dpi=90, format="png")
    plt.close(figure)
    return path


def _axis(name, units):
    unit = units.get(name)
    return f"{name} ({unit})" if unit else name


def _kelvin_celsius(T) -> str:
    return f"{T:.2f} K ({T - _ZERO_CELSIUS:.1f} °C)"


def _png(draw, *args) -> str:
    """Base64 of the PNG that ``draw(*args, path)`` writes (to memory), for a ``data:`` URI."""
    buffer = io.BytesIO()
    draw(*args, buffer)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


# --- the page -----------------------------------------------------------------------------------------


def _number(value, digits=4) -> str:
    """A number for a table: ``digits`` significant figures; ``-`` for none or NaN."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return str(value)
    return f"{value:.{digits}g}"


_ENVIRONMENT = jinja2.Environment(loader=jinja2.PackageLoader("aiida_bigmap_al.analysis", "templates"),
                                  autoescape=True, undefined=jinja2.StrictUndefined,
                                  trim_blocks=True, lstrip_blocks=True)
_ENVIRONMENT.filters.update(num=_number, tojson_text=lambda data: json.dumps(data, sort_keys=True),
                            kelvin=_kelvin_celsius)


def render(report: dict) -> str:
    """The HTML page of a report (:func:`campaign_report`)."""
    record = report["record"]
    suggestions = [s for it in record["iterations"] for s in it["suggestions"]]
    return _ENVIRONMENT.get_template("report.html.j2").render(
        **report, suggestions=suggestions, best_text=_best_line(record))


def _best_line(record) -> str:
    return format_best(record) if record["dataset"] else "nothing measured"
