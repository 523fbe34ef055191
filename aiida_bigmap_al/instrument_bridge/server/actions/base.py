"""What an action is: a named, parameterised high-level step that drives one or more devices.

As in HELAO, a method (what a job asks for, e.g. "conductivity") is an ordered list of actions
(prepare formulation, move to cell, equilibrate temperature, measure, clean). An action declares

* ``roles``: which devices it needs, by role name and device kind (the rig configuration maps
  roles to its devices, so the same action serves rigs with differently named devices);
* ``Params``: a pydantic model of its parameters, so a bad request is refused at submission;
* ``outputs``: the keys of the result it returns (a method's ``result`` template may refer to
  them as ``@step.key``, and the configuration is checked against them);
* ``check``: feasibility on this rig (limits that live in the device settings), run at submission;
* ``run``: the work itself, returning a JSON-serialisable dict that echoes what was done.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from ..drivers import LineDriver

__all__ = ["Action", "ActionContext", "ActionError", "Devices", "JobInterrupted", "NoParams", "Role"]

#: Devices given to an action: role -> driver, or role -> list of drivers for a "many" role.
Devices = dict[str, "LineDriver | list[LineDriver]"]


class ActionError(RuntimeError):
    """An action could not reach its goal although every device answered (e.g. no equilibrium)."""


class JobInterrupted(RuntimeError):
    """The job was cancelled, or the server is shutting down: stop at the next safe point."""


@dataclass(frozen=True)
class Role:
    """A device an action needs: its kind, and whether the role takes a list of devices."""

    kind: str
    many: bool = False


class NoParams(BaseModel):
    """An action without parameters."""

    model_config = ConfigDict(extra="forbid")


class ActionContext:
    """What a running action may ask of the orchestrator: whether to stop, and how to wait."""

    def __init__(self, interrupted: Callable[[], str | None] | None = None):
        self._interrupted = interrupted or (lambda: None)
        self._never = threading.Event()

    def check(self) -> None:
        """Raise :class:`JobInterrupted` if the job was cancelled or the server is stopping."""
        reason = self._interrupted()
        if reason:
            raise JobInterrupted(reason)

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of wall time, checking for interruption at least every 0.1 s."""
        deadline = time.monotonic() + seconds
        while True:
            self.check()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self._never.wait(min(remaining, 0.1))


class Action:
    """Base class of the actions; subclasses are stateless and registered in ``ACTIONS``."""

    name: ClassVar[str] = ""
    roles: ClassVar[dict[str, Role]] = {}
    Params: ClassVar[type[BaseModel]] = NoParams
    outputs: ClassVar[tuple[str, ...]] = ()

    def check(self, params: Any, devices: Devices) -> None:
        """Raise ``ValueError`` (naming the parameter) if the rig cannot do this; talks to no device."""

    def run(self, params: Any, devices: Devices, ctx: ActionContext) -> dict[str, Any]:
        raise NotImplementedError
