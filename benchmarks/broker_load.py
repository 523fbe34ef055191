"""Load on the broker: the demonstrator's 30 clients, saturation at 8/32/64 clients, listing at 100,000 stored.

Starts its own broker (``bigmap-al broker serve``, a temporary SQLite database unless ``--db`` is a
PostgreSQL URL) on 127.0.0.1, registers a user, the FINALES2 conductivity capability and a tenant,
and drives it with HTTP/1.1 keep-alive clients on one asyncio loop (a small hand-written client:
a general-purpose HTTP library would cost the shared 2 cores more than the server does). Payloads
are the FINALES2 examples ``examples/requests|results/conductivity/two_electrode.json`` from
``../shared/data/finales2_schemas``. Everything is bounded (``--duration``, ``--seconds``) and the
server is stopped at the end.

    .venv/bin/python benchmarks/broker_load.py                  # all three scenarios (~2.5 min)
    .venv/bin/python benchmarks/broker_load.py --only saturation --seconds 5
    .venv/bin/python benchmarks/broker_load.py --postgres       # a new PostgreSQL database, dropped after

Scenarios: ``demonstrator`` (30 clients, one result per second each, for ``--duration`` s; every
post must succeed, p99 latency under 20 ms), ``saturation`` (8, 32 and 64 clients each posting a
request and then its result as fast as they can for ``--seconds`` s; posted items per second, no
error, every item retrievable afterwards), ``listing`` (100,000 stored requests of which 1,000
pending: ``GET /pending_requests/?quantity=&method=&limit=`` for 100 and 1,000 of them, median and worst of
20).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import pathlib
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

REPO = pathlib.Path(__file__).resolve().parents[1]
FINALES2 = REPO.parent / "shared" / "data" / "finales2_schemas"
BIN = pathlib.Path(sys.executable).parent
PASSWORD = "benchmark-password"


# --- a minimal keep-alive HTTP/1.1 client --------------------------------------------------------------

class Connection:
    """One keep-alive connection; ``call`` returns (status, body bytes)."""

    def __init__(self, port: int, token: str):
        self.port, self.token = port, token

    async def open(self) -> Connection:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        return self

    async def call(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        head = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {self.token}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
        self.writer.write(head.encode() + body)
        status_line = await self.reader.readline()
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        return int(status_line.split()[1]), await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


# --- the broker under test ------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(*args: str, stdin: str | None = None, env=None) -> str:
    done = subprocess.run([BIN / "bigmap-al", "broker", *args], input=stdin, capture_output=True, text=True,
                          env=env, check=False)
    if done.returncode:
        sys.exit(f"bigmap-al broker {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


class Broker:
    def __init__(self, db: str, workers: int):
        self.db, self.port = db, free_port()
        self.env = {**os.environ, "BIGMAP_BROKER_SECRET": secrets.token_urlsafe(32)}
        cli("user", "add", "bench", "--password-stdin", "--db", db, stdin=PASSWORD + "\n")
        cli("capability", "add", str(FINALES2 / "serialized_quantities/conductivity/two_electrode.json"), "--db", db)
        self.tenant = cli("tenant", "add", "bench-tenant", "--user", "bench", "--method",
                          "conductivity/two_electrode", "--db", db).strip().splitlines()[-1]
        self.process = subprocess.Popen(
            [BIN / "bigmap-al", "broker", "serve", "--db", db, "--host", "127.0.0.1", "--port", str(self.port),
             "--workers", str(workers)], env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    sys.exit(f"broker did not start: {self.process.stderr.read().decode()}")
                time.sleep(0.2)
        import requests
        answer = requests.post(f"http://127.0.0.1:{self.port}/user_management/authenticate",
                               data={"username": "bench", "password": PASSWORD}, timeout=30)
        self.token = answer.json()["access_token"]

    def cpu_seconds(self) -> float:
        """CPU time used so far by the server's processes (uvicorn and its workers)."""
        import psutil

        parent = psutil.Process(self.process.pid)
        total = 0.0
        for process in [parent, *parent.children(recursive=True)]:
            try:
                times = process.cpu_times()
                total += times.user + times.system
            except psutil.NoSuchProcess:
                pass
        return total

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def payloads(tenant: str) -> tuple[dict, dict]:
    request = json.loads((FINALES2 / "examples/requests/conductivity/two_electrode.json").read_text())
    result = json.loads((FINALES2 / "examples/results/conductivity/two_electrode.json").read_text())
    request["tenant_uuid"] = result["tenant_uuid"] = tenant
    return request, result


def result_body(result: dict, request_uuid: str) -> bytes:
    return json.dumps({**result, "request_uuid": request_uuid}).encode()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


# --- scenarios ---------------------------------------------------------------------------------------------

async def demonstrator(broker: Broker, clients: int, duration: float) -> dict:
    """``clients`` clients, each posting one result per second (for requests made beforehand)."""
    request, result = payloads(broker.tenant)
    setup = await Connection(broker.port, broker.token).open()
    per_client = int(duration) + 1
    todo = []
    for _ in range(clients * per_client):
        status, body = await setup.call("POST", "/requests/", json.dumps(request).encode())
        assert status == 200, body
        todo.append(json.loads(body))
    setup.close()
    latencies, failures = [], []

    async def client(index: int) -> None:
        connection = await Connection(broker.port, broker.token).open()
        start = time.monotonic() + index / clients  # spread over the second, as independent clients are
        for n in range(per_client):
            await asyncio.sleep(max(0.0, start + n - time.monotonic()))
            if time.monotonic() - start >= duration:
                break
            t0 = time.perf_counter()
            status, body = await connection.call("POST", "/results/",
                                                 result_body(result, todo[index * per_client + n]))
            latencies.append(time.perf_counter() - t0)
            if status != 200:
                failures.append((status, body[:200]))
        connection.close()

    await asyncio.gather(*(client(i) for i in range(clients)))
    return {"clients": clients, "seconds": duration, "posted": len(latencies), "failed": len(failures),
            "p50_ms": 1e3 * percentile(latencies, 0.50), "p99_ms": 1e3 * percentile(latencies, 0.99),
            "max_ms": 1e3 * max(latencies), "failures": failures[:3]}


async def saturation(broker: Broker, clients: int, seconds: float) -> dict:
    """``clients`` clients each posting a request, then its result, as fast as they can."""
    request, result = payloads(broker.tenant)
    request_body = json.dumps(request).encode()
    posted: list[tuple[str, str]] = []
    latencies, failures = [], []
    stop = time.monotonic() + seconds

    async def client() -> None:
        connection = await Connection(broker.port, broker.token).open()
        while time.monotonic() < stop:
            t0 = time.perf_counter()
            status, body = await connection.call("POST", "/requests/", request_body)
            t1 = time.perf_counter()
            if status != 200:
                failures.append((status, body[:200]))
                continue
            request_uuid = json.loads(body)
            status, body = await connection.call("POST", "/results/", result_body(result, request_uuid))
            t2 = time.perf_counter()
            latencies.extend((t1 - t0, t2 - t1))
            if status != 200:
                failures.append((status, body[:200]))
                continue
            posted.append((request_uuid, json.loads(body)))
        connection.close()

    t_start, cpu_start, own_start = time.perf_counter(), broker.cpu_seconds(), time.process_time()
    await asyncio.gather(*(client() for _ in range(clients)))
    elapsed = time.perf_counter() - t_start
    server_cpu, client_cpu = broker.cpu_seconds() - cpu_start, time.process_time() - own_start
    missing = await _missing(broker, posted)
    return {"clients": clients, "seconds": round(elapsed, 2), "items": 2 * len(posted),
            "items_per_s": round(2 * len(posted) / elapsed, 1), "failed": len(failures),
            "p50_ms": 1e3 * percentile(latencies, 0.50), "p99_ms": 1e3 * percentile(latencies, 0.99),
            "server_cpu_ms_per_item": round(1e3 * server_cpu / max(1, 2 * len(posted)), 3),
            "client_cpu_ms_per_item": round(1e3 * client_cpu / max(1, 2 * len(posted)), 3),
            "not_retrievable": missing, "failures": failures[:3]}


async def _missing(broker: Broker, posted: list[tuple[str, str]]) -> int:
    """How many posted requests or results cannot be read back as posted (request resolved, result original)."""
    connections = [await Connection(broker.port, broker.token).open() for _ in range(8)]
    missing = 0

    async def check(connection: Connection, share: list[tuple[str, str]]) -> None:
        nonlocal missing
        for request_uuid, result_uuid in share:
            status, body = await connection.call("GET", f"/requests/{request_uuid}")
            missing += status != 200 or json.loads(body)["status"] != "resolved"
            status, body = await connection.call("GET", f"/results/{result_uuid}")
            missing += status != 200 or json.loads(body)["result"]["request_uuid"] != request_uuid
    await asyncio.gather(*(check(c, posted[i::8]) for i, c in enumerate(connections)))
    for connection in connections:
        connection.close()
    return missing


def fill(broker: Broker, stored: int, pending: int) -> None:
    """Store ``stored`` requests straight into the database (``pending`` of them pending)."""
    from aiida_bigmap_al.broker import db
    from aiida_bigmap_al.broker.schemas import Request

    request, _ = payloads(broker.tenant)
    body = Request.model_validate(request)
    database = db.Database(broker.db)
    params, methods = json.dumps(body.parameters), json.dumps(body.methods)
    with database.read() as connection:
        present = connection.execute(db.requests.select().with_only_columns(db.sa.func.count())).scalar_one()
    now = time.time()
    for start in range(present, stored, 5000):
        rows = [{"uuid": str(uuid.uuid4()), "quantity": body.quantity, "methods": methods, "parameters": params,
                 "metadata": None, "tenant_uuid": body.tenant_uuid,
                 "status": "pending" if i >= stored - pending else "resolved", "status_message": None,
                 "reserved_by": None, "ctime": now, "mtime": now} for i in range(start, min(stored, start + 5000))]
        with database.write() as connection:
            connection.execute(db.requests.insert(), rows)
            first = connection.execute(db.sa.select(db.sa.func.max(db.requests.c.id))).scalar_one() - len(rows) + 1
            connection.execute(db.request_methods.insert(),
                               [{"request_id": first + i, "method": "two_electrode"} for i in range(len(rows))])
    database.dispose()


async def listing(broker: Broker, stored: int, pending: int) -> list[dict]:
    """A tenant's poll, ``GET /pending_requests/?quantity=&method=``, of 100 and of 1,000 (the default limit)."""
    fill(broker, stored, pending)
    connection = await Connection(broker.port, broker.token).open()
    figures = []
    for limit in (100, 1000):
        times, counts = [], set()
        for _ in range(21):
            t0 = time.perf_counter()
            status, body = await connection.call(
                "GET", f"/pending_requests/?quantity=conductivity&method=two_electrode&limit={limit}")
            times.append(time.perf_counter() - t0)
            assert status == 200, body[:200]
            counts.add(len(json.loads(body)))
        times = times[1:]
        figures.append({"stored": stored, "pending": pending, "listed": sorted(counts), "bytes": len(body),
                        "median_ms": round(1e3 * statistics.median(times), 2), "max_ms": round(1e3 * max(times), 2)})
    connection.close()
    return figures


@contextlib.contextmanager
def postgres_database(wanted: bool):
    """The URL of a new database on 127.0.0.1:5432 (dropped afterwards), or ``None`` if not ``wanted``."""
    if not wanted:
        yield None
        return
    import psycopg

    admin = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
    name = f"broker_load_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name} TEMPLATE template0")
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", help="database URL (default: a new temporary SQLite file)")
    parser.add_argument("--postgres", action="store_true",
                        help="use a new database on PostgreSQL at 127.0.0.1:5432 (user postgres), dropped after")
    parser.add_argument("--workers", type=int, default=2, help="server processes")
    parser.add_argument("--only", choices=["demonstrator", "saturation", "listing"], action="append")
    parser.add_argument("--duration", type=float, default=60.0, help="demonstrator: seconds")
    parser.add_argument("--seconds", type=float, default=10.0, help="saturation: seconds per client count")
    parser.add_argument("--clients", type=int, nargs="+", default=[8, 32, 64], help="saturation: client counts")
    parser.add_argument("--stored", type=int, default=100_000, help="listing: stored requests")
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args()
    if not FINALES2.is_dir():
        sys.exit(f"FINALES2 schemas not found at {FINALES2}")
    only = args.only or ["demonstrator", "saturation", "listing"]
    with tempfile.TemporaryDirectory(prefix="broker-load-") as tmp, postgres_database(args.postgres) as url:
        broker = Broker(url or args.db or str(pathlib.Path(tmp) / "broker.sqlite"), args.workers)
        figures = {"db": "sqlite" if broker.db.endswith(".sqlite") else "postgresql",
                   "workers": args.workers, "load_average_before": load_average()}
        try:
            if "demonstrator" in only:
                figures["demonstrator"] = asyncio.run(demonstrator(broker, 30, args.duration))
                print("demonstrator:", json.dumps(figures["demonstrator"]), flush=True)
            if "saturation" in only:
                figures["saturation"] = []
                for clients in args.clients:
                    figures["saturation"].append(asyncio.run(saturation(broker, clients, args.seconds)))
                    print("saturation:", json.dumps(figures["saturation"][-1]), flush=True)
            if "listing" in only:
                figures["listing"] = asyncio.run(listing(broker, args.stored, 1000))
                print("listing:", json.dumps(figures["listing"]), flush=True)
        finally:
            broker.stop()
        figures["load_average_after"] = load_average()
        print("load average before/after:", figures["load_average_before"], "/", figures["load_average_after"])
        if args.json:
            pathlib.Path(args.json).write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
