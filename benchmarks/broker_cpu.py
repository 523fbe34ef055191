"""CPU of the broker per posted item, in-process: the ASGI app driven without sockets (and a profile of it).

Why: on a shared machine the throughput of ``broker_load.py`` says more about the other work than
about the broker. The CPU time this process spends per ``POST /requests/`` + ``POST /results/``
pair (through the middlewares, the fast path and the store, on a temporary SQLite database in WAL
mode, with the FINALES2 ``conductivity/two_electrode`` example bodies) hardly depends on the load
beside it. What it leaves out is uvicorn's HTTP parsing, which ``broker_load.py``'s
``server_cpu_ms_per_item`` includes.

    .venv/bin/python benchmarks/broker_cpu.py                   # CPU ms per posted item (median of 5 rounds)
    .venv/bin/python benchmarks/broker_cpu.py --profile 25      # and the 25 costliest functions (cProfile)
    .venv/bin/python benchmarks/broker_cpu.py --listing         # and GET /pending_requests/ at 100,000 stored
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pathlib
import pstats
import secrets
import statistics
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import broker_load  # noqa: E402  (payloads, fill: the same bodies and database as the load benchmark)

PASSWORD = "benchmark-password"


class InProcess:
    """The broker's ASGI app on a new SQLite database, with a user, the capability and a tenant."""

    def __init__(self, directory: str):
        from aiida_bigmap_al.broker.admin import add_capability, add_tenant, add_user, open_database
        from aiida_bigmap_al.broker.app import create_app
        from aiida_bigmap_al.broker.settings import Settings

        self.db = str(pathlib.Path(directory) / "broker.sqlite")
        database = open_database(self.db)
        add_user(database, "bench", PASSWORD)
        add_capability(database, broker_load.FINALES2 / "serialized_quantities/conductivity/two_electrode.json")
        self.tenant = add_tenant(database, "bench-tenant", "bench", ["conductivity/two_electrode"])
        database.dispose()
        self.app = create_app(Settings(secret=secrets.token_urlsafe(32), db=self.db))
        self.token = self.app.state.accounts.login("bench", PASSWORD)

    async def call(self, method: str, path: str, body: bytes = b"", query: bytes = b"") -> tuple[int, bytes]:
        headers = [(b"host", b"127.0.0.1"), (b"authorization", f"Bearer {self.token}".encode()),
                   (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
                 "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "", "query_string": query,
                 "headers": headers, "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80), "app": self.app}
        sent, answer = False, {"status": 0, "body": []}

        async def receive():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.sleep(3600)

        async def send(message):
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
            elif message["type"] == "http.response.body":
                answer["body"].append(message.get("body", b""))

        await self.app(scope, receive, send)
        return answer["status"], b"".join(answer["body"])


async def post_pairs(broker: InProcess, pairs: int) -> float:
    """Post ``pairs`` requests, each followed by its result; CPU ms per posted item."""
    request, result = broker_load.payloads(broker.tenant)
    request_body = json.dumps(request).encode()
    start = time.process_time()
    for _ in range(pairs):
        status, body = await broker.call("POST", "/requests/", request_body)
        assert status == 200, body
        status, body = await broker.call("POST", "/results/", broker_load.result_body(result, json.loads(body)))
        assert status == 200, body
    return 1e3 * (time.process_time() - start) / (2 * pairs)


async def listing(broker: InProcess, stored: int) -> dict:
    broker_load.fill(broker, stored, 1000)
    figures = {}
    for limit in (100, 1000):
        times = []
        for _ in range(11):
            start = time.perf_counter()
            status, body = await broker.call("GET", "/pending_requests/",
                                             query=f"quantity=conductivity&method=two_electrode&limit={limit}".encode())
            times.append(1e3 * (time.perf_counter() - start))
            assert status == 200 and len(json.loads(body)) == limit, body[:200]
        figures[f"limit_{limit}_ms"] = round(statistics.median(times[1:]), 2)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=1000, help="request+result pairs per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", type=int, metavar="N", help="print the N costliest functions (cumulative)")
    parser.add_argument("--listing", action="store_true", help="time the listing with 100,000 stored requests")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="broker-cpu-") as tmp:
        broker = InProcess(tmp)
        asyncio.run(post_pairs(broker, 100))  # warm-up: caches, compiled statements
        rounds = [round(asyncio.run(post_pairs(broker, args.pairs)), 3) for _ in range(args.rounds)]
        print(json.dumps({"cpu_ms_per_posted_item": statistics.median(rounds), "rounds": rounds,
                          "load_average": " ".join(f"{x:.2f}" for x in os.getloadavg())}), flush=True)
        if args.profile:
            profile = cProfile.Profile(time.process_time)  # CPU, not waiting for the disk
            profile.runcall(asyncio.run, post_pairs(broker, args.pairs))
            pstats.Stats(profile).sort_stats("tottime").print_stats(args.profile)
        if args.listing:
            print(json.dumps(asyncio.run(listing(broker, 100_000))), flush=True)


if __name__ == "__main__":
    main()
