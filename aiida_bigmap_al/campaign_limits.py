"""What a campaign may ask for, checked before anything runs: sizes, temperatures, codes.

A campaign can run for days and spend real chemicals, so a value that cannot work is refused
when the campaign is launched (a campaign file, a builder or ``--submit`` alike), with the field
and what it may be, not hours later from inside a step with a traceback. The campaign file
(:mod:`.campaign_spec`) checks what it can without a profile; the workchain's input validator
(:meth:`.workchains.campaign.CampaignWorkChain.check_inputs`) checks everything, codes included.

The size limits keep a campaign within what one machine does in reasonable time and memory:

* ``budget`` (measurements in total) at most :data:`MAX_BUDGET`: the Gaussian process is refitted
  on every measurement, at a cost that grows with the cube of their number;
* ``n_candidates`` (Sobol candidates per temperature) at most :data:`MAX_N_CANDIDATES`: every
  candidate is predicted at every suggestion;
* ``batch_size`` (suggestions measured in parallel) at most :data:`MAX_BATCH_SIZE`: a batch is
  chosen one point at a time, each with a refit, and no rig has more parallel channels.

The temperatures must be above 0 K and inside the range of the code that measures them: the
simulator's model domain (:data:`~.simulator.MODELS`), or the limits an instrument server declares
for its method (``GET /methods``), read from the server when the campaign is launched.
"""

from __future__ import annotations

import logging
import math
import typing as t

from .instrument_bridge.register import EXPERIMENT_PLUGIN as INSTRUMENT_EXPERIMENT_PLUGIN
from .profile import SIMULATION_ENTRY_POINT

__all__ = ["EXPERIMENT_PLUGIN", "MAX_BATCH_SIZE", "MAX_BUDGET", "MAX_N_CANDIDATES", "SIMULATION_PLUGIN",
           "SIZE_LIMITS", "check_code_plugin", "check_size", "check_temperatures", "measuring_range"]

LOGGER = logging.getLogger(__name__)

MAX_BUDGET = 1000
"""Measurements in a campaign, the initial data included."""
MAX_N_CANDIDATES = 16384
"""Sobol candidates per temperature (2**14)."""
MAX_BATCH_SIZE = 64
"""Suggestions measured in parallel per iteration."""

#: Each size of a campaign and its allowed range, inclusive.
SIZE_LIMITS = {"budget": (1, MAX_BUDGET), "n_candidates": (1, MAX_N_CANDIDATES),
               "batch_size": (1, MAX_BATCH_SIZE), "n_initial": (1, MAX_BUDGET)}

#: The calculation plugins of the simulator's and of an instrument's code.
SIMULATION_PLUGIN = SIMULATION_ENTRY_POINT
EXPERIMENT_PLUGIN = INSTRUMENT_EXPERIMENT_PLUGIN


class Range(t.NamedTuple):
    """The temperatures (K) a code measures, and whose limits they are (for the message)."""

    low: float
    high: float
    source: str


def check_size(name: str, value: int) -> None:
    """``ValueError`` naming ``name`` and its range unless ``value`` lies in :data:`SIZE_LIMITS`."""
    low, high = SIZE_LIMITS[name]
    if not low <= value <= high:
        raise ValueError(f"`{name}` must be from {low} to {high}, got {value}")


def check_temperatures(temperatures: t.Iterable[float], where: Range | None = None) -> None:
    """Temperatures (K) above 0 and, given a range, inside it; ``ValueError`` names what is allowed."""
    temperatures = list(temperatures)
    impossible = [T for T in temperatures if not (math.isfinite(T) and T > 0)]
    if impossible:
        raise ValueError(f"`temperatures` must be finite and above 0 K, got {impossible}")
    if where is not None:
        outside = [T for T in temperatures if not where.low <= T <= where.high]
        if outside:
            raise ValueError(f"`temperatures` {outside} K lie outside {where.source}: "
                             f"[{where.low:g}, {where.high:g}] K")


def check_code_plugin(field: str, code: t.Any, allowed: t.Collection[str]) -> None:
    """The code given as ``field`` runs one of the ``allowed`` calculation plugins."""
    plugin = getattr(code, "default_calc_job_plugin", None)
    if plugin not in allowed:
        raise ValueError(f"`{field}` runs {plugin!r} (code {code.full_label}); it must be a code of "
                         f"{' or '.join(map(repr, sorted(allowed)))}")


def measuring_range(field: str, code: t.Any, model: str | None = None) -> Range | None:
    """The temperatures ``code`` can measure: the simulator model's domain, or an instrument's limits.

    An instrument server that does not answer now (a lab PC may be off while a campaign is
    submitted) gives None, with a warning: it still refuses a request outside its limits when the
    measurement reaches it. Any other failure to ask it (a refused token, a computer not configured
    for this user) is a ``ValueError``: the campaign could not measure anything there.
    """
    if code.default_calc_job_plugin == SIMULATION_PLUGIN:
        from .calcjobs.simulation import SimulationCalcJob
        from .simulator import get_model

        name = model or SimulationCalcJob.DEFAULT_MODEL
        low, high = get_model(name).domain.temperature
        return Range(low, high, f"the domain of the model {name!r} of `{field}`")
    return _instrument_range(field, code)


def _instrument_range(field: str, code: t.Any) -> Range | None:
    """The ``temperature`` limits of the experiment's method, from the server's ``GET /methods``."""
    from .calcjobs.experiment import ExperimentCalcJob
    from .instrument_bridge.client import InstrumentUnreachable
    from .instrument_bridge.transport import silenced
    from .instrument_bridge.register import PLUGIN

    computer, method = code.computer, ExperimentCalcJob.DEFAULT_METHOD
    if computer is None or computer.scheduler_type != PLUGIN:
        return None
    try:
        transport = computer.get_transport()
        with silenced(transport.logger), transport:
            methods = transport.client.methods()
    except InstrumentUnreachable as error:
        LOGGER.warning("temperatures not checked against instrument %s: %s", computer.label, error)
        return None
    except Exception as error:  # noqa: BLE001 (a token, a configuration: named in the refusal)
        raise ValueError(f"`{field}`: cannot read the limits of instrument {computer.label}: {error}") from None
    if method not in methods:
        raise ValueError(f"`{field}`: instrument {computer.label} has no method {method!r}; "
                         f"it offers {sorted(methods)}")
    limits = methods[method].get("parameters", {}).get("temperature", {})
    low, high = limits.get("min"), limits.get("max")
    return Range(-math.inf if low is None else low, math.inf if high is None else high,
                 f"the limits of method {method!r} on instrument {computer.label} (`{field}`)")
