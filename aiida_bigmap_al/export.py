"""Get a finished campaign out of AiiDA: its record, an AiiDA archive, and an HDF5 file.

Three audiences, three forms:

* :func:`campaign_record` reads what a finished ``ActiveLearningWorkChain`` did from the
  provenance graph into plain JSON (which suggestion was measured by which process, with what
  result, by which model version), for ``bigmap-al campaign show`` and for the HDF5 file;
* :func:`write_archive` writes an AiiDA archive of the whole campaign (the workchain and,
  following provenance, every calcfunction, calcjob, input and output), the format Materials
  Cloud Archive takes and any AiiDA profile can import with its graph intact;
* :func:`write_hdf5` writes the campaign's data table, model history and suggestions as plain
  HDF5 columns with units, for people without AiiDA.

The caller loads a profile first (the CLI does, through :mod:`aiida_bigmap_al.profile`).
"""

from __future__ import annotations

import io
import json
import pathlib

import h5py
import numpy as np
from aiida import orm
from aiida.common.exceptions import MultipleObjectsError, NotExistent

from . import __version__
from .documents import Suggestion

__all__ = ["CAMPAIGN_PROCESS_TYPE", "CampaignError", "EXPERIMENT_PROCESS_TYPE", "HDF5_FORMAT", "campaign_record",
           "campaign_timing_record", "experiment_jobs", "load_campaign", "write_archive", "write_hdf5"]

#: ``process_type`` of the nodes of ``ActiveLearningWorkChain`` (entry point ``bigmap.active_learning``).
CAMPAIGN_PROCESS_TYPE = "aiida.workflows:bigmap.active_learning"
#: Every campaign's: ``bigmap.active_learning`` and the two modes it runs, also launched directly.
CAMPAIGN_PROCESS_TYPES = (CAMPAIGN_PROCESS_TYPE, "aiida.workflows:bigmap.batch_campaign",
                          "aiida.workflows:bigmap.lanes_campaign")
#: Entry point and ``process_type`` of ``ExperimentCalcJob``, whose jobs ``campaign_timing_record`` times.
_EXPERIMENT_ENTRY_POINT = "bigmap.experiment"
EXPERIMENT_PROCESS_TYPE = f"aiida.calculations:{_EXPERIMENT_ENTRY_POINT}"
#: Name and version of the HDF5 layout, stored in the file's root attributes.
HDF5_FORMAT = ("aiida-bigmap-al campaign", 1)
#: Input link label under which every measurement method receives its suggestion.
_SUGGESTION_LINK = "suggestion"
#: Stored for "no value" in integer columns of the HDF5 file (model version of the start, ...).
_NO_INT = -1


class CampaignError(ValueError):
    """The node asked for is not a finished, successful active-learning campaign."""


# --- finding the campaign ----------------------------------------------------------------------


def load_campaign(pk: int | str) -> orm.WorkChainNode:
    """The campaign node ``pk`` (a pk, or a UUID, which survives an archive import), checked to
    have finished successfully.

    Raises :class:`CampaignError` saying what is wrong: no such node, a node of another kind,
    a campaign still running, or one that failed (whose outputs are incomplete).
    """
    by_uuid = isinstance(pk, str) and not pk.isdigit()  # a UUID, or the start of one
    try:
        node = orm.load_node(uuid=pk) if by_uuid else orm.load_node(pk=int(pk))
    except NotExistent:
        raise CampaignError(f"no node with {'UUID' if by_uuid else 'pk'} {pk} in this profile") from None
    except MultipleObjectsError:
        raise CampaignError(f"{pk} is the start of several UUIDs: give more of it") from None
    if getattr(node, "process_type", None) not in CAMPAIGN_PROCESS_TYPES:
        kind = getattr(node, "process_label", None) or node.__class__.__name__
        raise CampaignError(f"node {pk} is a {kind}, not an ActiveLearningWorkChain or one of its "
                            f"modes ({', '.join(CAMPAIGN_PROCESS_TYPES)})")
    if not node.is_terminated:
        raise CampaignError(f"campaign {pk} has not finished yet (process state: {node.process_state.value}); "
                            f"follow it with `verdi process watch {pk}`")
    if not node.is_finished_ok:
        status = f"exit status {node.exit_status}: {node.exit_message}" if node.is_finished else node.process_state.value
        raise CampaignError(f"campaign {pk} did not finish successfully ({status}) and has no complete "
                            f"history; see `verdi process report {pk}`")
    return node


# --- the record ---------------------------------------------------------------------------------


def campaign_record(node: orm.WorkChainNode) -> dict:
    """What a finished campaign did, as plain JSON (see :mod:`aiida_bigmap_al.analysis.history`).

    Each suggestion is traced through the graph to the process that measured it (the process
    with the suggestion as its ``suggestion`` input) and from there to its dataset row.
    """
    dataset, history = node.outputs.dataset.get_dict(), node.outputs.history.get_dict()
    iteration_of = {row["measurement"]: it["iteration"]
                    for it in history["iterations"] for row in it["measured"]}
    rows = [{**row, "iteration": iteration_of.get(row["measurement"], 0)} for row in dataset["rows"]]
    measured_by = _measuring_processes(node)
    row_of = {row["measurement"]: row for row in rows}
    return {
        "campaign": {"pk": node.pk, "uuid": node.uuid, "process_label": node.process_label,
                     "ctime": node.ctime.isoformat()},
        "variables": list(dataset["variables"]),
        "unit": dataset["unit"],
        "units": _units(node, dataset["unit"]),
        "best": node.outputs.best.get_dict(),
        "dataset": rows,
        "models": _models(node),
        "iterations": [
            {**{key: it[key] for key in ("iteration", "model_version", "n_measurements", "best_so_far")},
             "suggestions": [_suggestion(orm.load_node(uuid), it["iteration"], measured_by.get(uuid), row_of)
                             for uuid in it["suggestions"]]}
            for it in history["iterations"]
        ],
    }


def _units(node, value_unit):
    """Units of the dataset's columns, from the campaign's search space."""
    space = node.inputs.space.get_dict()
    units = {variable["name"]: variable.get("unit", "") for variable in space["variables"]}
    return {**units, "temperature": "K", "value": value_unit}


def _measuring_processes(node) -> dict[str, orm.ProcessNode]:
    """Suggestion UUID -> the process that measured it: called by the campaign, or by its lanes."""
    found = {}
    for call in node.called_descendants:
        for link in call.base.links.get_incoming(link_label_filter=_SUGGESTION_LINK).all():
            found[link.node.uuid] = call
    return found


def _models(node) -> list[dict]:
    """Every model the campaign (or one of its lanes) fitted, in version order, with its node's UUID."""
    fits = [call for call in node.called_descendants if call.process_label == "fit_model" and call.is_finished_ok]
    models = [{"uuid": fit.outputs.result.uuid, **fit.outputs.result.get_dict()} for fit in fits]
    return sorted(models, key=lambda model: model["version"])


def _suggestion(suggestion: orm.Dict, iteration: int, process, row_of) -> dict:
    """A suggestion document, flattened, with what became of it."""
    document = Suggestion.model_validate(suggestion.get_dict())
    entry = {
        "uuid": suggestion.uuid, "iteration": iteration,
        "variables": document.variables, "temperature": document.kelvin,
        "formulation": document.formulation,
        **document.model_dump(mode="json", include={
            "predicted_mean", "predicted_std", "acquisition_score", "acquisition", "model_version"}),
        "status": "not measured", "value": None, "origin": None, "measurement": None,
        "process": None, "exit_status": None, "message": None,
    }
    if process is None:
        return entry
    entry.update(process=process.pk, exit_status=process.exit_status,
                 message=process.exit_message or (None if process.is_finished else process.process_state.value))
    row = next((row_of[out.node.uuid] for out in process.base.links.get_outgoing().all()
                if out.node.uuid in row_of), None)
    if process.is_finished_ok and row is not None:
        entry.update(status="measured", value=row["value"], origin=row["origin"], measurement=row["measurement"])
    else:
        entry["status"] = "failed"
    return entry


# --- the timing record -------------------------------------------------------------------------


def experiment_jobs(node: orm.WorkChainNode) -> list[orm.CalcJobNode]:
    """Every ``ExperimentCalcJob`` the campaign called, directly (batch mode) or through its lanes, by pk."""
    return sorted((call for call in node.called_descendants if call.process_type == EXPERIMENT_PROCESS_TYPE),
                  key=lambda call: call.pk)


def campaign_timing_record(node: orm.WorkChainNode) -> dict:
    """The timing record of a campaign (see :mod:`aiida_bigmap_al.analysis.timing`).

    Each experiment's steps come from ``result.json`` in its ``retrieved`` folder, or from its
    ``raw_data`` (``raw.h5``) when that is all that came back. The wall time runs from the
    campaign's creation to its last change (AiiDA stores no end time; a terminated process is
    last written when it is sealed). Raises :class:`CampaignError` for a campaign without experiments.
    """
    jobs = experiment_jobs(node)
    if not jobs:
        raise CampaignError(f"campaign {node.pk} ran no experiments (ExperimentCalcJob); timing needs "
                            f"instrument jobs (`methods.experiment.code` or `methods.instruments`)")
    return {
        "campaign": {"pk": node.pk, "uuid": node.uuid, "process_label": node.process_label,
                     "start": node.ctime.timestamp(), "end": node.mtime.timestamp()},
        "instruments": _instrument_labels(node),
        "jobs": [_job_timing(job) for job in jobs],
    }


def _instrument_labels(node) -> list[str]:
    """The computers of the campaign's experiment codes (``methods.experiment`` and ``methods.instruments``)."""
    methods = node.inputs.methods
    codes = list(methods.instruments.values()) if "instruments" in methods else []
    if "experiment" in methods and "code" in methods.experiment:
        codes.append(methods.experiment.code)
    return sorted({code.computer.label for code in codes
                   if code.default_calc_job_plugin == _EXPERIMENT_ENTRY_POINT})


def _job_timing(job: orm.CalcJobNode) -> dict:
    from .analysis.timing import steps_from_hdf5, steps_from_result
    from .instrument_bridge.protocol import RESULT_FILE

    entry = {"pk": job.pk, "uuid": job.uuid, "instrument": job.computer.label,
             "state": "done" if job.is_finished_ok else "failed",  # unless result.json says more
             "exit_status": job.exit_status, "source": None, "steps": [],
             # the CalcJob's life in AiiDA: a terminated process is last written when it is sealed
             "aiida_start": job.ctime.timestamp(), "aiida_end": job.mtime.timestamp()}
    if "retrieved" in job.outputs and RESULT_FILE in job.outputs.retrieved.base.repository.list_object_names():
        document = json.loads(job.outputs.retrieved.base.repository.get_object_content(RESULT_FILE))
        entry.update(state=document.get("state"), source=RESULT_FILE, steps=steps_from_result(document))
    elif "raw_data" in job.outputs:
        content = io.BytesIO(job.outputs.raw_data.get_content(mode="rb"))  # h5py needs a seekable file
        entry.update(source=job.outputs.raw_data.filename, steps=steps_from_hdf5(content))
    return entry


# --- the AiiDA archive -------------------------------------------------------------------------


def write_archive(node: orm.WorkChainNode, path, overwrite: bool = False) -> pathlib.Path:
    """An AiiDA archive of the campaign and everything its provenance reaches (export rules of AiiDA).

    Starting from the workchain, AiiDA's export traversal takes the processes it called, their
    inputs and outputs, the computers and codes of calcjobs, their logs and comments: the
    archive imports into any profile with the graph intact (``verdi archive import``).
    """
    from aiida.tools.archive import create_archive

    path = pathlib.Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; choose another file name or overwrite it explicitly")
    return pathlib.Path(create_archive([node], filename=path, overwrite=overwrite))


# --- the HDF5 file -----------------------------------------------------------------------------


def write_hdf5(record: dict, path, overwrite: bool = False) -> pathlib.Path:
    """The campaign's data table, model history, suggestions and iterations as HDF5 columns.

    Layout (every group is a table: one 1-D dataset per column, all of one length; numeric
    columns carry a ``units`` attribute; JSON columns hold UTF-8 JSON text; ``-1`` in an integer
    column and NaN in a float column mean "none")::

        /            attrs: format, format_version, campaign_uuid, campaign_pk, process_label,
                            unit, variables (JSON), best (JSON), created_by, conventions
        /dataset     <variables>..., temperature, value, origin, measurement_uuid, iteration
        /models      version, uuid, training_data, strategy, seed, n_observations,
                     hyperparameters, features, training_rmse
        /suggestions uuid, iteration, model_version, <variables>..., temperature, formulation,
                     predicted_mean, predicted_std, acquisition_score, acquisition, status,
                     value, measurement_uuid, exit_status, message
        /iterations  iteration, model_version, n_measurements, best_so_far
    """
    path = pathlib.Path(path)
    units, variables = record["units"], record["variables"]
    with h5py.File(path, "w" if overwrite else "x") as h5:
        h5.attrs.update({
            "format": HDF5_FORMAT[0], "format_version": HDF5_FORMAT[1],
            "campaign_uuid": record["campaign"]["uuid"], "campaign_pk": record["campaign"]["pk"],
            "process_label": record["campaign"]["process_label"], "unit": record["unit"],
            "variables": json.dumps(variables), "best": json.dumps(record["best"]),
            "created_by": f"aiida-bigmap-al {__version__}",
            "conventions": "one group per table, one 1-D dataset per column; `units` attributes on "
                           "physical columns; -1 in integer and NaN in float columns mean none; "
                           "strategy, hyperparameters, features and formulation hold JSON text",
        })
        rows = record["dataset"]
        _table(h5, "dataset", "every measurement of the final dataset, in the order made "
                              "(iteration 0: initial data given to the campaign)", [
            *[(name, float, [row[name] for row in rows], units.get(name)) for name in variables],
            ("temperature", float, [row["temperature"] for row in rows], "K"),
            ("value", float, [row["value"] for row in rows], record["unit"]),
            ("origin", str, [row["origin"] for row in rows], None),
            ("measurement_uuid", str, [row["measurement"] for row in rows], None),
            ("iteration", int, [row["iteration"] for row in rows], None),
        ])
        _table(h5, "models", "each model version: fitted on dataset version `version`",
               _model_columns(record["models"], record["unit"]))
        _table(h5, "suggestions", "each suggestion, what the model predicted and what became of it",
               _suggestion_columns(record, units))
        iterations = record["iterations"]
        _table(h5, "iterations", "the campaign's iterations", [
            ("iteration", int, [it["iteration"] for it in iterations], None),
            ("model_version", int, [it["model_version"] for it in iterations], None),
            ("n_measurements", int, [it["n_measurements"] for it in iterations], None),
            ("best_so_far", float, [it["best_so_far"] for it in iterations], record["unit"]),
        ])
    return path


def _model_columns(models, unit):
    return [
        ("version", int, [m["version"] for m in models], None),
        ("uuid", str, [m["uuid"] for m in models], None),
        ("training_data", str, [m["training_data"] for m in models], None),
        ("strategy", str, [json.dumps(m["strategy"]) for m in models], None),
        ("seed", int, [m["seed"] for m in models], None),
        ("n_observations", int, [m["n_observations"] for m in models], None),
        ("hyperparameters", str, [json.dumps(m["hyperparameters"]) for m in models], None),
        ("features", str, [json.dumps(m["features"]) for m in models], None),
        ("training_rmse", float, [m["training_rmse"] for m in models], unit),
    ]


def _suggestion_columns(record, units):
    suggestions = [s for it in record["iterations"] for s in it["suggestions"]]
    unit = record["unit"]

    def column(key, kind, unit=None, get=None):
        return key, kind, [get(s) if get else s[key] for s in suggestions], unit

    return [
        column("uuid", str),
        column("iteration", int),
        column("model_version", int),
        *[column(name, float, units.get(name), lambda s, name=name: s["variables"][name])
          for name in record["variables"]],
        column("temperature", float, "K"),
        column("formulation", str, get=lambda s: json.dumps(s["formulation"])),
        column("predicted_mean", float, unit),
        column("predicted_std", float, unit),
        column("acquisition_score", float),
        column("acquisition", str),
        column("status", str),
        column("value", float, unit),
        column("measurement_uuid", str, get=lambda s: s["measurement"]),
        column("exit_status", int),
        column("message", str),
    ]


def _table(h5, name, description, columns):
    """A group with one dataset per column ``(name, kind, values, unit)``; kind is str, int or float.

    Strings are stored as UTF-8 (``None`` as ""), integers as int64 (``None`` as -1), floats as
    float64 (``None`` as NaN), so that every column reads back with h5py or pandas alone.
    """
    group = h5.create_group(name)
    group.attrs["description"] = description
    group.attrs["columns"] = json.dumps([column[0] for column in columns])
    for column, kind, values, unit in columns:
        if kind is str:
            data = group.create_dataset(column, data=np.array(["" if v is None else v for v in values], dtype=object),
                                        dtype=h5py.string_dtype("utf-8"))
        else:
            convert = _int if kind is int else _float
            data = group.create_dataset(column, data=np.array([convert(v) for v in values],
                                                              dtype=np.int64 if kind is int else np.float64))
        if unit is not None:
            data.attrs["units"] = unit


def _int(value):
    return _NO_INT if value is None else int(value)


def _float(value):
    return float("nan") if value is None else float(value)
