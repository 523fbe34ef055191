"""The instrument server under an oversized unauthenticated body: its memory, and /health meanwhile.

Starts ``bigmap-al instrument serve`` on the example conductivity rig (emulated, a temporary data
directory, a random token) on 127.0.0.1, then sends ``POST /jobs`` with a ``--megabytes`` body
(default 200 MB) and no token, from a raw socket, as fast as the server takes it. Meanwhile it
reads the server's resident memory (RSS, psutil) and afterwards its peak (``VmHWM`` in
/proc) and times ``GET /health``
every 50 ms. It prints the RSS before, the peak RSS during, the worst /health latency, how many
bytes the server took before it answered, and the answer. The server is stopped at the end.

    .venv/bin/python benchmarks/instrument_server_limits.py
    .venv/bin/python benchmarks/instrument_server_limits.py --megabytes 50

A server that reads and parses the body before checking the token grows by several times the body
(Python's ``json`` and pydantic hold copies) and stops answering /health while it parses; one that
checks the token first answers 401 after the headers and closes the connection.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time

import httpx
import psutil
import yaml

REPO = pathlib.Path(__file__).resolve().parents[1]
RIG = REPO / "examples" / "rigs" / "conductivity_rig.yaml"
CHUNK = 1 << 20


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_server(workdir: pathlib.Path, port: int) -> subprocess.Popen:
    raw = yaml.safe_load(RIG.read_text())
    raw.pop("token_env")
    raw.update(token=secrets.token_urlsafe(24), data_dir=str(workdir / "data"))
    config = workdir / "rig.yaml"
    config.write_text(yaml.safe_dump(raw))
    command = [sys.executable, "-c", "import sys; from aiida_bigmap_al.cli import main; sys.exit(main())",
               "instrument", "serve", str(config), "--port", str(port), "--log-level", "warning"]
    server = subprocess.Popen(command, cwd=RIG.parent, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("the instrument server did not start")


def _send_oversized(port: int, size: int, outcome: dict) -> None:
    """POST /jobs with ``size`` bytes of JSON and no token; record what the server answered, and when."""
    head = (f"POST /jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {size}\r\n\r\n").encode()
    prefix, suffix = b'{"method": "conductivity", "parameters": {"r": [', b"0]}}"
    filler = prefix + b"0," * ((size - len(prefix) - len(suffix)) // 2) + suffix
    head = head.replace(str(size).encode(), str(len(filler)).encode())
    size = len(filler)
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(head)
        sent = 0
        try:
            while sent < size:
                sent += sock.send(memoryview(filler)[sent:sent + CHUNK])
        except OSError as error:  # the server answered and closed: the rest was never read
            outcome["send_error"] = type(error).__name__
        outcome["bytes_sent"] = sent
        sock.settimeout(120)
        try:
            answer = sock.recv(4096).decode("latin-1")
        except OSError as error:
            answer = f"(no answer: {type(error).__name__})"
    outcome["status_line"] = answer.split("\r\n", 1)[0]
    outcome["seconds"] = time.monotonic() - start


def _peak_rss(pid: int) -> int:
    """The process's high-water mark of resident memory (bytes): exact, unlike sampling."""
    status = pathlib.Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE).group(1)) * 1024


def _watch(port: int, done: threading.Event, samples: dict) -> None:
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
        while not done.is_set():
            start = time.monotonic()
            client.get("/health").raise_for_status()
            samples["worst_health"] = max(samples["worst_health"], time.monotonic() - start)
            time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--megabytes", type=int, default=200, help="size of the unauthenticated body (MB)")
    args = parser.parse_args()
    port = _free_port()
    with tempfile.TemporaryDirectory() as tmp:
        server = _start_server(pathlib.Path(tmp), port)
        try:
            time.sleep(1.0)  # let start-up allocations settle
            before = psutil.Process(server.pid).memory_info().rss
            samples, outcome, done = {"worst_health": 0.0}, {}, threading.Event()
            watcher = threading.Thread(target=_watch, args=(port, done, samples))
            watcher.start()
            _send_oversized(port, args.megabytes * 1_000_000, outcome)
            time.sleep(0.5)
            done.set()
            watcher.join()
            samples["peak_rss"] = _peak_rss(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=30)
    report = {
        "body_mb": args.megabytes,
        "rss_before_mb": round(before / 1e6, 1),
        "rss_peak_mb": round(samples["peak_rss"] / 1e6, 1),
        "health_worst_s": round(samples["worst_health"], 3),
        "answer": outcome["status_line"],
        "answer_after_s": round(outcome["seconds"], 3),
        "body_mb_sent_before_answer": round(outcome["bytes_sent"] / 1e6, 1),
    }
    print(f"{args.megabytes} MB unauthenticated POST /jobs: server RSS {report['rss_before_mb']} MB -> peak "
          f"{report['rss_peak_mb']} MB; worst /health {report['health_worst_s']} s; answer "
          f"{report['answer']!r} after {report['answer_after_s']} s, {report['body_mb_sent_before_answer']} MB sent")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
