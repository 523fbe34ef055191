"""``analyse_gitt``: the GITT analysis as a calcfunction, so the diffusion coefficients of a
measurement keep their provenance (the raw table and the diffusion length they came from).

The analysis itself is :mod:`aiida_bigmap_al.analysis.gitt` (pure numpy); this module only
moves its input and output in and out of AiiDA nodes.
"""

from __future__ import annotations

from aiida import orm
from aiida.engine import ExitCode, calcfunction

from ..analysis.gitt import GittError, analyse, read_table

__all__ = ["EXIT_BAD_TABLE", "analyse_gitt"]

#: Exit status of a table that cannot be read or holds no analysable pulse.
EXIT_BAD_TABLE = 400


@calcfunction
def analyse_gitt(table: orm.SinglefileData, volume_to_area: orm.Float) -> orm.Dict | ExitCode:
    """Per pulse of ``table`` (CSV or HDF5, see :func:`~aiida_bigmap_al.analysis.gitt.read_table`),
    the Weppner-Huggins diffusion coefficient; ``volume_to_area`` is V_M m_B / (M_B S) in cm.

    Returns a ``Dict`` with ``pulses``, one object per pulse (as ``bigmap-al gitt --json``), or
    exit status 400 with the reason when the table is unreadable or has no pulse to analyse.
    """
    try:
        with table.as_path() as path:
            pulses = analyse(read_table(path), volume_to_area.value)
    except GittError as error:
        return ExitCode(EXIT_BAD_TABLE, f"{table.filename}: {error}")
    return orm.Dict({"volume_to_area_cm": volume_to_area.value,
                     "pulses": [pulse.as_dict() for pulse in pulses]})
