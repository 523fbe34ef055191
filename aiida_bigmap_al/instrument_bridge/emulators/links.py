"""Serial links that put an emulated device at the far end of a real byte stream.

The point of an emulator is that the driver under test cannot tell it from hardware: the driver
opens a serial URL with pyserial and exchanges bytes, exactly as with ``/dev/ttyUSB0``. Two kinds
of link give it such a URL:

* :class:`PtyLink`: a pseudo-terminal pair (``os.openpty``); the emulator holds the master side
  and the driver opens the slave path (``/dev/pts/N``) as a serial port.
* :class:`SocketLink`: a TCP server on 127.0.0.1; the driver opens ``socket://127.0.0.1:PORT``
  (pyserial's URL handler), as it would a serial-to-Ethernet converter.

Each link serves its device from a background thread, one command line at a time, as a real
device does; :meth:`EmulatorLink.stop` ends the thread and interrupts a slow operation.
"""

from __future__ import annotations

import os
import select
import socket
import threading
import tty
from collections.abc import Callable

from .base import EmulatedDevice

__all__ = ["LINK_KINDS", "EmulatorLink", "PtyLink", "SocketLink", "serve"]

#: Longest command line a device accepts; longer input is line noise and is dropped.
MAX_LINE = 4096
_POLL_S = 0.05


class EmulatorLink:
    """Base class: owns the device's serving thread and turns bytes into command lines."""

    def __init__(self, device: EmulatedDevice):
        self.device = device
        self.url: str | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._handle_lock = threading.Lock()

    def start(self) -> str:
        """Open the link and start serving; returns the pyserial URL a driver should open."""
        raise NotImplementedError

    def request_stop(self) -> None:
        """Ask the serving thread to stop and interrupt the device, without waiting."""
        self._stop.set()
        self.device.shutdown()

    def stop(self) -> None:
        """Stop serving, interrupt the device and release the link's resources."""
        self.request_stop()
        for thread in list(self._threads):
            thread.join(timeout=5)
        self._close()

    def _close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> EmulatorLink:
        if self.url is None:
            self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _serve_bytes(self, buffer: bytearray, data: bytes, write: Callable[[bytes], None]) -> None:
        """Append ``data`` to ``buffer``; answer (via ``write``) every complete line in it."""
        buffer += data
        while b"\n" in buffer:
            raw, _, rest = bytes(buffer).partition(b"\n")
            buffer[:] = rest
            line = raw.decode("ascii", errors="replace").rstrip("\r")
            with self._handle_lock:
                reply = self.device.handle(line)
            if reply is not None and not self._stop.is_set():
                write(reply.encode("ascii", errors="replace") + b"\n")
        if len(buffer) > MAX_LINE:
            buffer.clear()


class PtyLink(EmulatorLink):
    """The device on the master side of a pseudo-terminal; ``url`` is the slave's path."""

    def start(self) -> str:
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # no echo, no newline translation: a plain byte pipe
        self.url = os.ttyname(self._slave)
        self._spawn(self._run, f"pty-{self.device.address}")
        return self.url

    def _run(self) -> None:
        buffer = bytearray()
        while not self._stop.is_set():
            ready, _, _ = select.select([self._master], [], [], _POLL_S)
            if not ready:
                continue
            try:
                data = os.read(self._master, 4096)
            except OSError:  # the slave side is being torn down
                continue
            self._serve_bytes(buffer, data, lambda out: os.write(self._master, out))

    def _close(self) -> None:
        for fd in (self._master, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass


class SocketLink(EmulatorLink):
    """The device behind a TCP server on 127.0.0.1; ``url`` is ``socket://127.0.0.1:PORT``."""

    def __init__(self, device: EmulatedDevice, port: int = 0):
        super().__init__(device)
        self._port = port
        self._connections: list[socket.socket] = []

    def start(self) -> str:
        self._server = socket.create_server(("127.0.0.1", self._port))
        self._server.settimeout(_POLL_S)
        self.url = f"socket://127.0.0.1:{self._server.getsockname()[1]}"
        self._spawn(self._accept, f"socket-{self.device.address}")
        return self.url

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except (TimeoutError, OSError):
                continue
            conn.settimeout(_POLL_S)
            self._connections.append(conn)
            self._spawn(lambda: self._run(conn), f"socket-{self.device.address}-conn")

    def _run(self, conn: socket.socket) -> None:
        buffer = bytearray()
        with conn:
            while not self._stop.is_set():
                try:
                    data = conn.recv(4096)
                except TimeoutError:
                    continue
                except OSError:
                    return
                if not data:  # the driver closed the port
                    return
                try:
                    self._serve_bytes(buffer, data, conn.sendall)
                except OSError:
                    return

    def _close(self) -> None:
        self._server.close()
        for conn in list(self._connections):
            try:
                conn.close()
            except OSError:
                pass


LINK_KINDS: dict[str, type[EmulatorLink]] = {"pty": PtyLink, "socket": SocketLink}


def serve(device: EmulatedDevice, transport: str = "pty") -> EmulatorLink:
    """Start serving ``device`` over a new ``"pty"`` or ``"socket"`` link; returns the started link."""
    try:
        link = LINK_KINDS[transport](device)
    except KeyError:
        raise ValueError(f"unknown emulator transport {transport!r}; use one of {sorted(LINK_KINDS)}") from None
    link.start()
    return link
