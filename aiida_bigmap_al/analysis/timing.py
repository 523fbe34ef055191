"""Where a campaign's time went: per action, per instrument, and what AiiDA added around the jobs.

The BIG-MAP demonstrator timed every HELAO action and found that motor movement dominated its
campaigns; this module does the same for the jobs of a campaign run over the instrument bridge.
It is pure (no AiiDA import): it works on a *timing record*, plain JSON that
:func:`aiida_bigmap_al.export.campaign_timing_record` reads from the provenance graph, or that
anyone can assemble from the instrument server's ``result.json`` / ``raw.h5`` files with
:func:`steps_from_result` and :func:`steps_from_hdf5`. A timing record::

    {"campaign": {"pk", "uuid", "process_label", "start", "end"},    # UNIX times (s)
     "instruments": ["rig-a", "rig-b"],                              # configured, maybe idle
     "jobs": [{"pk", "uuid", "instrument", "state", "exit_status", "source",
               "aiida_start", "aiida_end",                               # the CalcJob's life, optional
               "steps": [{"step", "action", "status", "start", "end"}]}]}   # None if skipped

What the figures mean (all in seconds):

* an action's time is the sum over its steps of ``end - start``; its *share* is that over the
  instruments' busy time, so that the actions and the ``(between actions)`` row, the server's own
  time from one step to the next, add up to 100 %;
* a job's *busy* span runs from the start of its first step to the end of its last step;
  an instrument's busy time is the sum over its jobs, its *idle* time the gaps between one job
  and the next;
* the campaign's *wall* time runs from its creation to its end in AiiDA, and an instrument's
  *AiiDA overhead* is wall time minus its busy time: everything the instrument did not spend
  measuring. Where the jobs' CalcJob lifetimes are known (``aiida_start``/``aiida_end``) it is
  split in two: *in CalcJobs*, the time a CalcJob of the instrument was open while the instrument
  did not measure for it (upload, waiting in the queue, polling, retrieval, parsing), and
  *between CalcJobs*, when none was open (fitting, suggesting, workflow steps, daemon latency).

Durations are differences of one clock each (the server's for steps, AiiDA's for the wall time),
so clocks that disagree between the lab PC and the AiiDA machine do not distort them.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime

import h5py
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

__all__ = ["BETWEEN_ACTIONS", "TimingError", "action_table", "format_tables", "instrument_table",
           "steps_from_hdf5", "steps_from_result", "summary", "write_plot"]

#: Row of the action table for the server's time between the steps of a job.
BETWEEN_ACTIONS = "(between actions)"


class TimingError(ValueError):
    """The timing record holds nothing to time, or is malformed."""


# --- reading the instrument's files ---------------------------------------------------------------


def steps_from_result(document: dict) -> list[dict]:
    """The steps of a job from its ``result.json`` document, times as UNIX seconds (None if skipped)."""
    try:
        return [{"step": s["step"], "action": s["action"], "status": s["status"],
                 "start": _unix(s.get("start")), "end": _unix(s.get("end"))}
                for s in document["steps"]]
    except (KeyError, TypeError, ValueError) as error:
        raise TimingError(f"result.json has no valid `steps` list ({type(error).__name__}: {error})") from None


def steps_from_hdf5(source) -> list[dict]:
    """The steps of a job from its ``raw.h5`` (a path or binary file object), in the order they ran."""
    try:
        with h5py.File(source, "r") as h5:
            groups = [h5["actions"][name] for name in sorted(h5["actions"])]
            return [{"step": str(g.attrs["step"]), "action": str(g.attrs["action"]),
                     "status": str(g.attrs["status"]),
                     "start": _finite(g.attrs["start_unix"]), "end": _finite(g.attrs["end_unix"])}
                    for g in groups]
    except (KeyError, OSError) as error:
        raise TimingError(f"not an instrument job log with /actions groups: {error}") from None


def _unix(iso: str | None) -> float | None:
    return datetime.fromisoformat(iso).timestamp() if iso else None


def _finite(value) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


# --- the tables --------------------------------------------------------------------------------


def summary(record: dict) -> dict:
    """The campaign's wall time, its jobs, and the instruments' busy time taken together."""
    campaign, jobs = record["campaign"], _timed_jobs(record)
    wall = campaign["end"] - campaign["start"]
    if wall <= 0:
        raise TimingError(f"the campaign's end ({campaign['end']}) is not after its start ({campaign['start']})")
    return {"pk": campaign.get("pk"), "process_label": campaign.get("process_label", "campaign"),
            "wall_s": wall, "jobs": len(record["jobs"]), "timed_jobs": len(jobs),
            "instruments": len(_instruments(record)), "busy_s": sum(_span(job) for job in jobs)}


def action_table(record: dict) -> list[dict]:
    """One row per action (most time first), then the time between actions, over all instruments."""
    totals, counts = defaultdict(float), defaultdict(int)
    for job in _timed_jobs(record):
        for step in _timed_steps(job):
            totals[step["action"]] += step["end"] - step["start"]
            counts[step["action"]] += 1
    busy = sum(_span(job) for job in _timed_jobs(record))
    rows = [{"action": action, "steps": counts[action], "total_s": total, "mean_s": total / counts[action],
             "share": total / busy if busy else 0.0}
            for action, total in sorted(totals.items(), key=lambda item: -item[1])]
    between = max(busy - sum(totals.values()), 0.0)
    rows.append({"action": BETWEEN_ACTIONS, "steps": None, "total_s": between, "mean_s": None,
                 "share": between / busy if busy else 0.0})
    return rows


def instrument_table(record: dict) -> list[dict]:
    """One row per instrument: jobs, failed jobs, busy and idle time, AiiDA overhead, utilisation.

    ``actions`` maps each action to its time on this instrument (for the stacked bars).
    """
    wall = summary(record)["wall_s"]
    by_instrument = defaultdict(list)
    for job in record["jobs"]:
        by_instrument[job["instrument"]].append(job)
    rows = []
    for name in _instruments(record):
        jobs = by_instrument.get(name, [])
        timed = sorted((job for job in jobs if _timed_steps(job)), key=lambda job: _bounds(job)[0])
        busy = sum(_span(job) for job in timed)
        idle = sum(max(_bounds(b)[0] - _bounds(a)[1], 0.0) for a, b in zip(timed, timed[1:]))
        actions = defaultdict(float)
        for job in timed:
            for step in _timed_steps(job):
                actions[step["action"]] += step["end"] - step["start"]
        open_s = _calcjob_time(jobs)
        rows.append({"instrument": name, "jobs": len(jobs),
                     "failed": sum(job.get("state") != "done" for job in jobs),
                     "busy_s": busy, "idle_s": idle, "overhead_s": wall - busy,
                     "in_calcjobs_s": None if open_s is None else max(open_s - busy, 0.0),
                     "between_calcjobs_s": None if open_s is None else max(wall - max(open_s, busy), 0.0),
                     "utilisation": busy / wall, "actions": dict(actions)})
    return rows


def format_tables(record: dict) -> str:
    """The summary line, the action table and the instrument table, as text."""
    total = summary(record)
    lines = [f"{total['process_label']}<{total['pk']}>: wall time {total['wall_s']:.2f} s, "
             f"{total['jobs']} experiments on {total['instruments']} instruments, "
             f"instruments busy {total['busy_s']:.2f} s in total", ""]
    head = f"{'action':<24} {'steps':>5} {'total/s':>9} {'mean/s':>8} {'share':>7}"
    lines += ["Time per action (share of the instruments' busy time)", head, "-" * len(head)]
    for row in action_table(record):
        steps = "" if row["steps"] is None else row["steps"]
        mean = "" if row["mean_s"] is None else f"{row['mean_s']:.3f}"
        lines.append(f"{row['action']:<24} {steps:>5} {row['total_s']:>9.3f} {mean:>8} {row['share']:>7.1%}")
    head = (f"{'instrument':<24} {'jobs':>4} {'failed':>6} {'busy/s':>9} {'idle/s':>9} "
            f"{'AiiDA overhead/s':>16} {'in CalcJobs':>11} {'between':>9} {'busy':>6}")
    lines += ["", "Time per instrument (AiiDA overhead = wall time - busy time = in CalcJobs + between CalcJobs)",
              head, "-" * len(head)]
    for row in instrument_table(record):
        lines.append(f"{row['instrument']:<24} {row['jobs']:>4} {row['failed']:>6} {row['busy_s']:>9.3f} "
                     f"{row['idle_s']:>9.3f} {row['overhead_s']:>16.3f} {_seconds(row['in_calcjobs_s']):>11} "
                     f"{_seconds(row['between_calcjobs_s']):>9} {row['utilisation']:>6.1%}")
    return "\n".join(lines)


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


# --- the plot ----------------------------------------------------------------------------------


def write_plot(record: dict, path):
    """Stacked bars per instrument (time per action, then the rest of the wall time) and the
    total per action; PNG at ``path``, returned."""
    instruments, actions = instrument_table(record), action_table(record)
    wall = summary(record)["wall_s"]
    names = [row["action"] for row in actions if row["action"] != BETWEEN_ACTIONS]
    colours = {**dict(zip(names, plt.get_cmap("tab10").colors * (len(names) // 10 + 1))),
               BETWEEN_ACTIONS: "dimgrey"}
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 0.6 * len(instruments) + 4.2),
                                         constrained_layout=True)
    y = range(len(instruments))
    offset = [0.0] * len(instruments)
    for name in names:
        widths = [row["actions"].get(name, 0.0) for row in instruments]
        left.barh(y, widths, left=offset, color=colours[name], label=name)
        offset = [a + b for a, b in zip(offset, widths)]
    between = [max(row["busy_s"] - o, 0.0) for row, o in zip(instruments, offset)]
    left.barh(y, between, left=offset, color="dimgrey", label=BETWEEN_ACTIONS)
    offset = [row["busy_s"] for row in instruments]
    if all(row["in_calcjobs_s"] is not None for row in instruments):
        parts = [("in_calcjobs_s", "lightgrey", "//", "AiiDA: CalcJob open, not measuring"),
                 ("between_calcjobs_s", "whitesmoke", "..", "AiiDA: between CalcJobs (learner, workflow)")]
    else:
        parts = [("overhead_s", "lightgrey", "//", "not measuring (AiiDA overhead)")]
    for key, colour, hatch, label in parts:
        widths = [row[key] for row in instruments]
        left.barh(y, widths, left=offset, color=colour, hatch=hatch, edgecolor="grey", label=label)
        offset = [a + b for a, b in zip(offset, widths)]
    left.set_yticks(list(y), [row["instrument"] for row in instruments])
    left.invert_yaxis()  # first instrument on top, as in the table
    left.set_xlabel("time (s)")
    left.set_title(f"Campaign {record['campaign'].get('pk')}: wall time {wall:.1f} s per instrument")
    left.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2)
    right.barh(range(len(actions)), [row["total_s"] for row in actions],
               color=[colours[row["action"]] for row in actions])
    right.set_yticks(range(len(actions)), [row["action"] for row in actions])
    right.invert_yaxis()
    right.set_xlabel("total time over all instruments (s)")
    right.set_title("Time per action")
    for i, row in enumerate(actions):
        right.annotate(f"{row['share']:.0%}", (row["total_s"], i), xytext=(3, 0),
                       textcoords="offset points", va="center", fontsize="small")
    figure.savefig(path, dpi=120, format="png")
    plt.close(figure)
    return path


# --- helpers -----------------------------------------------------------------------------------


def _instruments(record: dict) -> list[str]:
    """The configured instruments, then any other that ran a job, in order."""
    names = list(record.get("instruments") or [])
    return names + sorted({job["instrument"] for job in record["jobs"]} - set(names))


def _timed_jobs(record: dict) -> list[dict]:
    if not record.get("jobs"):
        raise TimingError(f"campaign {record['campaign'].get('pk')} has no experiment jobs to time")
    jobs = [job for job in record["jobs"] if _timed_steps(job)]
    if not jobs:
        raise TimingError(f"none of the {len(record['jobs'])} experiment jobs of campaign "
                          f"{record['campaign'].get('pk')} recorded a timed step")
    return jobs


def _timed_steps(job: dict) -> list[dict]:
    """The steps that ran (skipped ones have no times)."""
    return [step for step in job.get("steps") or [] if step["start"] is not None and step["end"] is not None]


def _calcjob_time(jobs: list[dict]) -> float | None:
    """How long at least one of ``jobs`` had its CalcJob open (union of their lifetimes), if known."""
    if not all(job.get("aiida_start") is not None and job.get("aiida_end") is not None for job in jobs):
        return None
    total, reach = 0.0, float("-inf")
    for start, end in sorted((job["aiida_start"], job["aiida_end"]) for job in jobs):
        total += max(end - max(start, reach), 0.0)
        reach = max(reach, end)
    return total


def _bounds(job: dict) -> tuple[float, float]:
    steps = _timed_steps(job)
    return min(s["start"] for s in steps), max(s["end"] for s in steps)


def _span(job: dict) -> float:
    start, end = _bounds(job)
    return end - start
