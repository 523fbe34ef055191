"""The Python client against a real broker: the tenant's loop by hand, errors, retries and token renewal."""

from __future__ import annotations

import time

import pytest

from aiida_bigmap_al.broker.client import BrokerClient, BrokerClientError

from .conftest import PASSWORD, BrokerProcess, parameters, populate


def test_a_request_served_through_the_client(broker):
    alice, bob = broker.client("alice"), broker.client("bob")
    lab_a, lab_b = broker.tenants["lab-a"], broker.tenants["lab-b"]
    uuid = alice.post_request("conductivity", ["two_electrode"], {"two_electrode": parameters(0.15)}, lab_a,
                              metadata={"aiida_process_uuid": "9f1c"})
    assert alice.result_for_request(uuid) is None
    mine = [item for item in bob.pending_requests("conductivity", "two_electrode") if item["uuid"] == uuid]
    assert mine and mine[0]["request"]["metadata"] == {"aiida_process_uuid": "9f1c"}
    assert "is reserved" in bob.reserve(uuid)
    with pytest.raises(BrokerClientError) as refused:
        alice.reserve(uuid)
    assert refused.value.status_code == 409
    result = bob.post_result(uuid, "conductivity", "two_electrode", {"conductivity": {"value": 11.2}},
                             {"two_electrode": parameters(0.15)}, lab_b)
    assert alice.result_for_request(uuid)["uuid"] == result
    assert alice.get_request(uuid)["status"] == "resolved"
    assert bob.get_result(result)["result"]["data"] == {"conductivity": {"value": 11.2}}
    assert bob.update_result_status(result, "deleted", "wrong sample") == f"result {result} is deleted"
    assert alice.result_for_request(uuid) is None
    unsolicited = bob.post_unsolicited_result("conductivity", "two_electrode", {"conductivity": {"value": 3.0}},
                                              {"two_electrode": parameters(0.5)}, lab_b)
    assert bob.get_result(unsolicited)["status"] == "original"
    other = alice.post_request("conductivity", ["two_electrode"], {"two_electrode": parameters(0.16)}, lab_a)
    assert "retracted" in alice.retract(other, "found it in the literature")
    assert {t["name"] for t in alice.tenants()} >= {"lab-a", "lab-b"}
    assert any(c["method"] == "two_electrode" for c in alice.capabilities())


def test_client_errors_carry_status_and_the_offending_field(broker):
    alice = broker.client("alice")
    with pytest.raises(BrokerClientError) as refused:
        alice.post_request("conductivity", ["two_electrode"], {"two_electrode": {"formulation": "none"}},
                           broker.tenants["lab-a"])
    assert refused.value.status_code == 422
    assert refused.value.detail[0]["loc"] == ["body", "parameters", "two_electrode", "formulation"]
    with pytest.raises(BrokerClientError) as refused:
        BrokerClient(broker.url, "alice", "not the password")
    assert refused.value.status_code == 401


def test_the_same_idempotency_key_gives_the_same_request(broker):
    alice = broker.client("alice")
    body = ("conductivity", ["two_electrode"], {"two_electrode": parameters(0.77)}, broker.tenants["lab-a"])
    first = alice.post_request(*body, idempotency_key="lane-1-iteration-4")
    assert alice.post_request(*body, idempotency_key="lane-1-iteration-4") == first  # what a retry sends
    assert alice.post_request(*body) != first  # a new call, a new key


def test_an_expired_token_is_renewed_once(tmp_path, sqlite_db):
    populate(sqlite_db, tmp_path)
    server = BrokerProcess(sqlite_db, tmp_path / "log", "--token-seconds", "1").wait_ready()
    try:
        client = BrokerClient(server.url, "alice", PASSWORD)
        first = client.token
        time.sleep(2.1)
        assert client.tenants()  # 401 "token expired", then logged in again
        assert client.token != first
        stale = BrokerClient(server.url, token=first)  # no credentials: the 401 reaches the caller
        with pytest.raises(BrokerClientError) as refused:
            stale.tenants()
        assert refused.value.status_code == 401 and "expired" in str(refused.value.detail)
    finally:
        server.stop()
