"""``bigmap-al``: one module per command group, all attached to :func:`main`."""

from .root import main
from . import cmd_simulate  # noqa: F401  (registers ``bigmap-al simulate``)
from . import cmd_setup  # noqa: F401  (registers ``bigmap-al setup``)
from . import cmd_benchmark  # noqa: F401  (registers ``bigmap-al benchmark``)
from . import cmd_instrument  # noqa: F401  (registers ``bigmap-al instrument``)
from . import cmd_campaign  # noqa: F401  (registers ``bigmap-al campaign``)
from . import cmd_campaign_run  # noqa: F401  (registers ``bigmap-al campaign run``)
from . import cmd_models  # noqa: F401  (registers ``bigmap-al models``)
from . import cmd_predict  # noqa: F401  (registers ``bigmap-al predict``)
from . import cmd_broker  # noqa: F401  (registers ``bigmap-al broker``)
from . import cmd_gitt  # noqa: F401  (registers ``bigmap-al gitt``)
from . import cmd_reproduce  # noqa: F401  (registers ``bigmap-al reproduce``)
from . import cmd_report  # noqa: F401  (registers ``bigmap-al report``)

__all__ = ["main"]
