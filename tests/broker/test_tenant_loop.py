"""The tenant loop against a real broker: claims, serves, posts; declines give the request back; no double claim."""

from __future__ import annotations

import threading

from aiida_bigmap_al.broker.tenant import Declined, TenantLoop

from .conftest import parameters


def _value(item):
    return {"conductivity": {"value": 10 * item["request"]["parameters"]["two_electrode"]["formulation"][0]["fraction"]}}


def test_the_loop_serves_each_pending_request_once(broker):
    alice, bob = broker.client("alice"), broker.client("bob")
    asked = [alice.post_request("conductivity", ["two_electrode"], {"two_electrode": parameters(f)},
                                broker.tenants["lab-a"]) for f in (0.1, 0.2, 0.3)]
    loop = TenantLoop(bob, broker.tenants["lab-b"], "conductivity", "two_electrode", _value)
    posted = loop.serve_pending()
    assert len(posted) == 3
    for uuid, fraction in zip(asked, (0.1, 0.2, 0.3)):
        result = alice.result_for_request(uuid)
        assert result["uuid"] in posted
        assert result["result"]["tenant_uuid"] == broker.tenants["lab-b"]
        assert result["result"]["data"]["conductivity"]["value"] == 10 * fraction
        assert alice.get_request(uuid)["reserved_by"] == broker.tenants["lab-b"]
    assert loop.serve_pending() == []


def test_a_declined_request_is_given_back_with_the_reason(broker):
    alice, bob = broker.client("alice"), broker.client("bob")
    uuid = alice.post_request("conductivity", ["two_electrode"], {"two_electrode": parameters(0.4)},
                              broker.tenants["lab-a"])

    def decline(item):
        raise Declined("the cell is broken")

    TenantLoop(bob, broker.tenants["lab-b"], "conductivity", "two_electrode", decline).serve_pending()
    info = alice.get_request(uuid)
    assert info["status"] == "pending" and info["reserved_by"] is None
    assert uuid in [item["uuid"] for item in alice.pending_requests("conductivity", "two_electrode")]
    alice.retract(uuid)


def test_two_loops_polling_at_once_serve_every_request_exactly_once(broker):
    alice = broker.client("alice")
    asked = {alice.post_request("conductivity", ["two_electrode"], {"two_electrode": parameters(0.01 * i)},
                                broker.tenants["lab-a"]) for i in range(20)}
    served: dict[str, list[str]] = {"lab-a": [], "lab-b": []}

    def loop(user, tenant):
        def serve(item):
            served[tenant].append(item["uuid"])
            return {"conductivity": {"value": 1.0}}
        TenantLoop(broker.client(user), broker.tenants[tenant], "conductivity", "two_electrode", serve).serve_pending()

    threads = [threading.Thread(target=loop, args=args) for args in (("alice", "lab-a"), ("bob", "lab-b"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    both = served["lab-a"] + served["lab-b"]
    assert asked <= set(both) and len(both) == len(set(both))  # nothing served twice
    for uuid in asked:
        assert alice.get_request(uuid)["status"] == "resolved"
