"""``bigmap-al``: one module per command group, all attached to :func:`main`."""

from .root import main
from . import cmd_simulate  # noqa: F401  (registers ``bigmap-al simulate``)

__all__ = ["main"]
