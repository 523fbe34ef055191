"""Lanes on PostgreSQL + RabbitMQ with two daemon workers never measure a point twice.

The campaign's lock is a unique row of PostgreSQL here (on SQLite in
``tests/workchains/test_lane_claims.py``): two campaigns of four lanes, submitted with
``bigmap-al campaign run --submit`` to a two-worker daemon on a new database, as the README's
scale-up path does it (the profile comes from ``test_services_profile``'s fixture). Skips where
the services are absent, unless ``BIGMAP_AL_REQUIRE_SERVICES=1`` (set by ``.ci/run``).
"""

import json
import re
import time

import pytest
from test_services_profile import database, services_profile  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.postgres, pytest.mark.rabbitmq, pytest.mark.production]

BUDGET = 8

COUNT = """
import json
from aiida import load_profile, orm
load_profile()
node = orm.load_node({pk})
jobs = [job for lane in node.called if lane.process_label == "InstrumentLaneWorkChain"
        for job in lane.called if job.process_label == "SimulationCalcJob"]
points = {{(*sorted(job.inputs.suggestion["variables"].items()), job.inputs.suggestion["temperature"]["value"])
          for job in jobs}}
print(json.dumps({{"terminated": node.is_terminated, "exit_status": node.exit_status, "jobs": len(jobs),
                  "points": len(points), "measured": sum(job.is_finished_ok for job in jobs),
                  "rows": len(node.outputs.dataset["rows"]) if node.is_finished_ok else None}}))
"""


def test_four_lanes_on_two_workers_measure_no_point_twice_on_postgresql(services_profile, tmp_path):  # noqa: F811
    pks = []
    for seed in (0, 2):
        spec = tmp_path / f"lanes_{seed}.yaml"
        spec.write_text(f"temperatures: [298.15]\nstrategy: gp-ucb\nbudget: {BUDGET}\nn_candidates: 256\n"
                        f"seed: {seed}\nmethods:\n  instruments: {{a: bigmap-sim@localhost, b: bigmap-sim@localhost, "
                        f"c: bigmap-sim@localhost, d: bigmap-sim@localhost}}\n")
        output = services_profile("bigmap-al", "campaign", "run", str(spec), "--submit")
        pks.append(int(re.search(r"^pk=(\d+)$", output, re.M).group(1)))
    deadline = time.monotonic() + 400
    for pk in pks:
        while not (state := json.loads(services_profile("python", "-c", COUNT.format(pk=pk))))["terminated"]:
            assert time.monotonic() < deadline, f"campaign {pk} did not finish in time: {state}"
            time.sleep(2)
        assert state["exit_status"] == 0, state
        assert state["jobs"] == state["points"], f"campaign {pk} measured a point twice: {state}"
        assert BUDGET - 1 <= state["measured"] == state["rows"] <= BUDGET, state
