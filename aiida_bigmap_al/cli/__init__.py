"""``bigmap-al``: one module per command group, all attached to :func:`main`."""

from .root import main

__all__ = ["main"]
