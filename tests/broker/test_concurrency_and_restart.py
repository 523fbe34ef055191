"""Claims under real concurrency, and nothing lost when the broker restarts; on SQLite and PostgreSQL."""

from __future__ import annotations

import signal
import threading
from collections import Counter

import requests

from .conftest import BrokerProcess, parameters, populate


def _request(tenant: str, fraction: float) -> dict:
    return {"quantity": "conductivity", "methods": ["two_electrode"],
            "parameters": {"two_electrode": parameters(fraction)}, "tenant_uuid": tenant}


def test_two_tenants_polling_at_once_never_both_get_a_request(any_db, tmp_path):
    accounts = populate(any_db, tmp_path)
    server = BrokerProcess(any_db, tmp_path / "server.log", workers=2).wait_ready()
    try:
        alice = server.client("alice")
        uuids = [alice.post_request(**_request(accounts.tenants["lab-a"], i / 100)) for i in range(30)]
        tokens = {"alice": alice.token, "bob": server.token("bob")}
        start = threading.Barrier(8)
        won: dict[str, list[str]] = {"alice": [], "bob": []}
        answers = Counter()

        def poller(user: str) -> None:
            session = requests.Session()
            headers = {"Authorization": f"Bearer {tokens[user]}"}
            start.wait()
            for uuid in uuids:  # every poller goes for the same requests in the same order
                answer = session.post(f"{server.url}/requests/{uuid}/update_status/", headers=headers,
                                      params={"request_id": uuid, "new_status": "reserved"})
                answers[answer.status_code] += 1
                if answer.status_code == 200:
                    won[user].append(uuid)

        threads = [threading.Thread(target=poller, args=(user,)) for user in ("alice", "bob") * 4]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        claimed = won["alice"] + won["bob"]
        assert sorted(claimed) == sorted(uuids)  # every request claimed exactly once
        assert answers == {200: 30, 409: 7 * 30}  # the others were told it is taken; no error
        for user in ("alice", "bob"):
            for uuid in won[user]:
                assert alice.get_request(uuid)["status"] == "reserved"
                # only the tenant holding it can answer it
                result = {"data": {"conductivity": {"value": 1.0}}, "quantity": "conductivity",
                          "method": ["two_electrode"], "parameters": {"two_electrode": parameters()},
                          "tenant_uuid": accounts.tenants["lab-a"], "request_uuid": uuid}
                alice_result = requests.post(f"{server.url}/results/", json=result,
                                             headers={"Authorization": f"Bearer {alice.token}"})
                assert alice_result.status_code == (200 if user == "alice" else 409)
    finally:
        server.stop()


def test_nothing_is_lost_when_the_broker_is_killed_and_restarted(any_db, tmp_path):
    accounts = populate(any_db, tmp_path)
    lab_a, lab_b = accounts.tenants["lab-a"], accounts.tenants["lab-b"]
    first = BrokerProcess(any_db, tmp_path / "server.log").wait_ready()
    try:
        alice, bob = first.client("alice"), first.client("bob")
        pending = alice.post_request(**_request(lab_a, 0.1), metadata={"aiida_process_uuid": "abc"})
        reserved = alice.post_request(**_request(lab_a, 0.2))
        resolved = alice.post_request(**_request(lab_a, 0.3))
        bob.reserve(reserved)
        bob.reserve(resolved)
        result = bob.post_result(resolved, "conductivity", "two_electrode", {"conductivity": {"value": 7.5}},
                                 {"two_electrode": parameters(0.3)}, lab_b)
        kept = alice.post_request(**_request(lab_a, 0.4), idempotency_key="point-4")
        before = {uuid: alice.get_request(uuid) for uuid in (pending, reserved, resolved, kept)}
        result_before = alice.get_result(result)
    finally:
        first.stop(signal.SIGKILL)  # no shutdown handler runs

    second = BrokerProcess(any_db, tmp_path / "server.log").wait_ready()
    try:
        alice, bob = second.client("alice"), second.client("bob")  # accounts survive too
        assert {uuid: alice.get_request(uuid) for uuid in before} == before
        assert alice.get_result(result) == result_before
        assert alice.result_for_request(resolved) == result_before
        assert [item["uuid"] for item in alice.pending_requests("conductivity", "two_electrode")] == [pending, kept]
        # the reservation holds, the idempotency key too
        assert bob.post_result(reserved, "conductivity", "two_electrode", {"conductivity": {"value": 1.0}},
                               {"two_electrode": parameters(0.2)}, lab_b)
        assert alice.post_request(**_request(lab_a, 0.4), idempotency_key="point-4") == kept
    finally:
        second.stop()
