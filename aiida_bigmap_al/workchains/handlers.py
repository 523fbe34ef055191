"""What a campaign does when a measurement ends: process handlers, as in aiida-core's ``restart.py``.

A campaign never re-runs a failed measurement at the same point (its point is excluded from
later suggestions), so it is not a ``BaseRestartWorkChain``; but the rules for a failed
measurement ("report it and go on", "stop an instrument after three failures in a row") read
best the way that module writes them: methods decorated with :func:`aiida.engine.process_handler`,
called by priority (highest first) on every measurement that did not finish ok, each returning
a :class:`~aiida.engine.ProcessHandlerReport` whose non-zero exit code ends the campaign (or
lane). Which handlers were considered is kept in the extra ``considered_handlers``, per
measurement, as ``restart.py`` does.
"""

from __future__ import annotations

from inspect import getmembers

from aiida.engine import ExitCode, ProcessHandlerReport, process_handler

__all__ = ["MeasurementHandlers", "ProcessHandlerReport", "process_handler"]


class MeasurementHandlers:
    """Mixin of a WorkChain: :meth:`inspect_measurement` runs its process handlers on a failed measurement."""

    #: The extra in which ``process_handler`` records the handlers considered (see restart.py).
    _considered_handlers_extra = "considered_handlers"

    @classmethod
    def get_process_handlers(cls) -> list:
        """The methods of the class decorated with ``process_handler``, highest priority first."""
        handlers = [method for _, method in getmembers(cls) if getattr(method, "decorator", None) is process_handler]
        return sorted(handlers, key=lambda handler: handler.priority, reverse=True)

    def inspect_measurement(self, node) -> ExitCode | None:
        """Call the handlers on ``node``, a measurement that did not finish ok; the exit code to stop with, if any."""
        considered = self.node.base.extras.get(self._considered_handlers_extra, [])
        self.node.base.extras.set(self._considered_handlers_extra, [*considered, [node.pk]])
        for handler in self.get_process_handlers():
            if handler.enabled:
                report = handler(self, node)
                if report is not None and report.exit_code.status:
                    return report.exit_code
                if report is not None and report.do_break:
                    break
        return None
