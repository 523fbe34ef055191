"""The line protocol every emulated device speaks, and its fault injection.

An emulated device stands in for a piece of lab hardware. It receives one ASCII command line at
a time, ``<ADDRESS> <VERB> [ARG ...]`` (terminated by ``\\n``; a trailing ``\\r`` is ignored),
and answers with one line:

* ``OK ...`` / a verb-specific reply such as ``T 298.150`` or ``K 7.812 T 298.15`` on success,
* ``ERR <reason>`` when the command cannot be carried out (unknown verb, bad argument, out of
  range, wrong state of the device).

Every device answers ``<ADDRESS> ID`` with ``ID <MODEL> <ADDRESS>`` so that a driver can check it
is talking to the right kind of device. Slow operations (dispensing, moving, measuring) take a
realistic time, multiplied by ``time_scale`` so that tests can run a whole job in a fraction of a
second (``time_scale=1`` is real time).

For fault tests a device can misbehave on demand (:meth:`EmulatedDevice.misbehave`, or the
emulator-only protocol command ``<ADDRESS> FAULT GARBAGE|SILENT|NONE [VERB [COUNT]]``): it then
answers garbage or nothing at all, for every command or only for one verb, for ever or for the
next ``COUNT`` matching commands.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Literal

__all__ = ["FAULT_MODES", "EmulatedDevice", "EmulatorError", "FaultMode", "parse_numbers"]

FaultMode = Literal["garbage", "silent"]
FAULT_MODES: tuple[str, ...] = ("garbage", "silent")

#: Characters of a garbage reply: none of them starts a valid reply, as line noise would not.
_GARBAGE_CHARS = "#$%&*@!?~^|<>{}\x07\x1b"


class EmulatorError(Exception):
    """A command the device refuses; its message becomes the ``ERR <reason>`` reply."""


@dataclass
class _Fault:
    mode: FaultMode
    verb: str | None
    remaining: int | None

    def applies_to(self, verb: str) -> bool:
        return (self.verb is None or self.verb == verb) and (self.remaining is None or self.remaining > 0)


class EmulatedDevice:
    """Base class: parses a command line, dispatches ``<VERB>`` to ``do_<verb>(*args)``.

    Subclasses set ``model`` and implement ``do_<verb>`` methods that take the (string) arguments
    and return the reply line, raising :class:`EmulatorError` to answer ``ERR <reason>``. They
    use :meth:`wait` for the time an operation takes, so that ``time_scale`` applies and
    :meth:`shutdown` interrupts it.
    """

    model: ClassVar[str] = "GENERIC"

    def __init__(self, address: str, *, time_scale: float = 1.0, seed: int = 0):
        if not address or not address.isalnum():
            raise ValueError(f"device address must be alphanumeric, got {address!r}")
        if not time_scale > 0:
            raise ValueError(f"time_scale must be > 0, got {time_scale}")
        self.address = address.upper()
        self.time_scale = float(time_scale)
        self.rng = random.Random(seed)
        self._fault: _Fault | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    # --- protocol -------------------------------------------------------------------------------

    def handle(self, line: str) -> str | None:
        """The reply to one command line, or ``None`` when the device stays silent."""
        words = line.strip().split()
        if len(words) < 2:
            return "ERR expected '<ADDRESS> <COMMAND> [ARGS]'"
        address, verb, args = words[0].upper(), words[1].upper(), words[2:]
        if address != self.address:
            return f"ERR unknown address {words[0]} (this is {self.address})"
        if verb == "FAULT":
            return self._fault_command(args)
        mode = self._take_fault(verb)
        if mode == "silent":
            return None
        if mode == "garbage":
            return "".join(self.rng.choice(_GARBAGE_CHARS) for _ in range(self.rng.randint(3, 12)))
        handler: Callable[..., str] | None = getattr(self, f"do_{verb.lower()}", None)
        if handler is None:
            return f"ERR unknown command {verb}"
        try:
            return handler(*args)
        except EmulatorError as exc:
            return f"ERR {exc}"
        except Exception as exc:  # an emulator bug must not kill the link: report it as a device would
            return f"ERR internal emulator error: {type(exc).__name__}: {exc}"

    def do_id(self) -> str:
        """``ID``: identify the device model and address."""
        return f"ID {self.model} {self.address}"

    # --- faults ---------------------------------------------------------------------------------

    def misbehave(self, mode: str | None, verb: str | None = None, count: int | None = None) -> None:
        """Answer garbage (``"garbage"``) or nothing (``"silent"``); ``None`` behaves again.

        ``verb`` limits the fault to one command (e.g. ``"MEASURE"``), ``count`` to the next
        ``count`` matching commands.
        """
        if mode is None or mode == "none":
            with self._lock:
                self._fault = None
            return
        if mode not in FAULT_MODES:
            raise ValueError(f"fault mode must be one of {FAULT_MODES} or None, got {mode!r}")
        if count is not None and count < 1:
            raise ValueError(f"fault count must be >= 1, got {count}")
        with self._lock:
            self._fault = _Fault(mode, verb.upper() if verb else None, count)  # type: ignore[arg-type]

    def _take_fault(self, verb: str) -> str | None:
        with self._lock:
            fault = self._fault
            if fault is None or not fault.applies_to(verb):
                return None
            if fault.remaining is not None:
                fault.remaining -= 1
            return fault.mode

    def _fault_command(self, args: list[str]) -> str:
        if not args or len(args) > 3:
            return "ERR usage: FAULT GARBAGE|SILENT|NONE [VERB [COUNT]]"
        mode = args[0].lower()
        try:
            count = int(args[2]) if len(args) == 3 else None
            self.misbehave(None if mode == "none" else mode, args[1] if len(args) > 1 else None, count)
        except ValueError as exc:
            return f"ERR {exc}"
        return "OK"

    # --- time -----------------------------------------------------------------------------------

    def wait(self, seconds: float) -> None:
        """Spend ``seconds`` of device time (``seconds * time_scale`` of wall time)."""
        if seconds > 0:
            self._stopping.wait(seconds * self.time_scale)

    def now(self) -> float:
        """Device time in seconds (wall time divided by ``time_scale``), for slow processes."""
        return time.monotonic() / self.time_scale

    def shutdown(self) -> None:
        """Interrupt any operation in progress: the emulator is being stopped."""
        self._stopping.set()


def parse_numbers(args: tuple[str, ...] | list[str], names: tuple[str, ...]) -> list[float]:
    """The arguments as floats, one per name; :class:`EmulatorError` names what is wrong."""
    if len(args) != len(names):
        raise EmulatorError(f"expected {len(names)} argument(s) {' '.join(names)}, got {len(args)}")
    values = []
    for name, text in zip(names, args):
        try:
            value = float(text)
        except ValueError:
            raise EmulatorError(f"{name} must be a number, got {text!r}") from None
        if value != value or value in (float("inf"), float("-inf")):
            raise EmulatorError(f"{name} must be finite, got {text!r}")
        values.append(value)
    return values
