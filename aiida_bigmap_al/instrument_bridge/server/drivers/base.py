"""The common part of every driver: one command line out, one checked reply line back.

A driver owns one serial connection (any pyserial URL: ``/dev/ttyUSB0``, ``/dev/pts/N``,
``socket://host:port``, ``rfc2217://...``) and speaks its device's ASCII line protocol
(``<ADDRESS> <VERB> [ARGS]\\n`` -> one reply line). It never trusts a reply: every reply must
match the pattern the command expects, and a timeout, a garbled line or an ``ERR ...`` answer
raises :class:`DeviceError`, whose message names the device and the command, so that a failed job
says exactly what went wrong where.

Every line sent and received (and every timeout) is recorded with its time in a shared
:class:`TrafficLog`; the orchestrator stores it with each action in the job's HDF5 file.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import ClassVar, Literal

import serial
from pydantic import BaseModel, ConfigDict

__all__ = ["NUMBER", "DeviceError", "LineDriver", "NoSettings", "TrafficEntry", "TrafficLog"]

#: Regular expression of a decimal number in a reply.
NUMBER = r"[-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?"

Direction = Literal["TX", "RX", "TIMEOUT"]


class DeviceError(RuntimeError):
    """A device did not do what it was told: no reply, a garbled reply, or an ``ERR`` answer."""

    def __init__(self, device: str, command: str, reason: str):
        self.device, self.command, self.reason = device, command, reason
        super().__init__(f"device {device!r}, command {command!r}: {reason}")


@dataclass(frozen=True)
class TrafficEntry:
    """One line on a serial link: when (UNIX time), which device, which way, what."""

    time: float
    device: str
    direction: Direction
    line: str

    def format(self) -> str:
        """``<ISO time>\\t<device>\\t<TX|RX|TIMEOUT>\\t<line>``, the form stored in HDF5."""
        stamp = datetime.fromtimestamp(self.time, timezone.utc).isoformat(timespec="microseconds")
        return f"{stamp}\t{self.device}\t{self.direction}\t{self.line}"


class TrafficLog:
    """Thread-safe record of the raw traffic of all drivers, drained action by action."""

    def __init__(self) -> None:
        self._entries: list[TrafficEntry] = []
        self._lock = threading.Lock()

    def record(self, device: str, direction: Direction, line: str) -> None:
        with self._lock:
            self._entries.append(TrafficEntry(time.time(), device, direction, line))

    def drain(self) -> list[TrafficEntry]:
        """All entries recorded since the last drain, oldest first."""
        with self._lock:
            entries, self._entries = self._entries, []
        return entries


class NoSettings(BaseModel):
    """A device kind without settings."""

    model_config = ConfigDict(extra="forbid")


class LineDriver:
    """Base class of the drivers: connection, identification and checked queries.

    ``timeout`` (s) is how long to wait for any reply; a command that makes the device work for
    a known time adds that time, multiplied by ``time_scale`` (1 for hardware, the emulator's
    factor for an emulated device).
    """

    kind: ClassVar[str] = ""
    model: ClassVar[str] = ""  # what the device answers to ID
    Settings: ClassVar[type[BaseModel]] = NoSettings

    def __init__(
        self,
        name: str,
        url: str,
        *,
        address: str,
        settings: BaseModel | None = None,
        timeout: float = 2.0,
        time_scale: float = 1.0,
        baudrate: int = 9600,
        traffic: TrafficLog | None = None,
    ):
        self.name, self.url, self.address = name, url, address.upper()
        self.settings = settings if settings is not None else self.Settings()
        self.timeout, self.time_scale, self.baudrate = timeout, time_scale, baudrate
        self.traffic = traffic if traffic is not None else TrafficLog()
        self._port: serial.SerialBase | None = None
        self._lock = threading.Lock()

    # --- connection -----------------------------------------------------------------------------

    def open(self) -> None:
        """Open the serial URL and check (``ID``) that the right kind of device answers."""
        try:
            self._port = serial.serial_for_url(self.url, baudrate=self.baudrate, timeout=self.timeout)
        except (serial.SerialException, ValueError, OSError) as exc:
            raise DeviceError(self.name, "open", f"cannot open {self.url}: {exc}") from exc
        self.identify()

    def identify(self) -> str:
        """``ID``: the device must report the model this driver speaks to and its address."""
        match = self.query("ID", rf"ID (\S+) (\S+)")
        if match.group(1) != self.model or match.group(2).upper() != self.address:
            raise DeviceError(
                self.name, "ID", f"expected a {self.model} at address {self.address}, found {match.group(0)!r}"
            )
        return match.group(0)

    def close(self) -> None:
        if self._port is not None:
            self._port.close()
            self._port = None

    def __enter__(self) -> LineDriver:
        self.open()
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # --- queries --------------------------------------------------------------------------------

    def query(self, command: str, pattern: str, *, duration_s: float = 0.0) -> re.Match:
        """Send ``<ADDRESS> <command>`` and return the reply's match of ``pattern`` (whole line).

        Waits ``timeout + duration_s * time_scale`` seconds at most; raises :class:`DeviceError`
        on a timeout, an ``ERR`` reply or any reply that does not match.
        """
        line = self.command_line(command)
        with self._lock:
            port = self._require_port(line)
            wait_s = self.timeout + duration_s * self.time_scale
            try:
                port.reset_input_buffer()  # a late reply to an earlier command is not this one's
                self.traffic.record(self.name, "TX", line)
                port.write(line.encode("ascii") + b"\n")
                port.timeout = wait_s
                raw = port.read_until(b"\n")
            except (serial.SerialException, OSError) as exc:
                raise DeviceError(self.name, line, f"serial link failed: {exc}") from exc
        return self._check(line, raw, pattern, wait_s)

    def command_line(self, command: str) -> str:
        """The full line sent for ``command`` (as named in a :class:`DeviceError`)."""
        return f"{self.address} {command}"

    def _require_port(self, line: str) -> serial.SerialBase:
        if self._port is None:
            raise DeviceError(self.name, line, "port is not open")
        return self._port

    def _check(self, line: str, raw: bytes, pattern: str, wait_s: float) -> re.Match:
        text = raw.decode("ascii", errors="replace")
        if not raw.endswith(b"\n"):
            self.traffic.record(self.name, "TIMEOUT", text)
            got = f" (got {text!r} so far)" if text else ""
            raise DeviceError(self.name, line, f"no complete reply within {wait_s:.2f} s{got}")
        reply = text.rstrip("\r\n")
        self.traffic.record(self.name, "RX", reply)
        if reply.startswith("ERR"):
            raise DeviceError(self.name, line, f"device reported an error: {reply[3:].strip() or 'ERR'}")
        match = re.fullmatch(pattern, reply)
        if match is None:
            raise DeviceError(self.name, line, f"unexpected reply {reply!r} (expected {pattern!r})")
        return match
