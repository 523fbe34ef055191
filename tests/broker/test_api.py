"""Every endpoint of the broker over real HTTP, with the refusals a tenant relies on."""

from __future__ import annotations

import socket
import time

import jwt
import pytest
import requests

from .conftest import PASSWORD, SECRET, parameters


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def request_body(tenant: str, method: str = "two_electrode", **kwargs) -> dict:
    return {"quantity": "conductivity", "methods": [method], "parameters": {method: parameters(**kwargs)},
            "tenant_uuid": tenant}


def result_body(tenant: str, request_uuid: str, value: float = 10.5, method: str = "two_electrode") -> dict:
    return {"data": {"conductivity": {"value": value}}, "quantity": "conductivity", "method": [method],
            "parameters": {method: parameters()}, "tenant_uuid": tenant, "request_uuid": request_uuid}


@pytest.fixture(scope="module")
def tokens(broker):
    return {user: broker.token(user) for user in ("alice", "bob", "dora", "reader")}


def post(broker, path, token, **kwargs):
    return requests.post(broker.url + path, headers=bearer(token), **kwargs)


def get(broker, path, token, **kwargs):
    return requests.get(broker.url + path, headers=bearer(token), **kwargs)


def new_request(broker, tokens, **kwargs) -> str:
    answer = post(broker, "/requests/", tokens["alice"], json=request_body(broker.tenants["lab-a"], **kwargs))
    assert answer.status_code == 200, answer.text
    return answer.json()


# --- authentication -----------------------------------------------------------------------------------

def test_authenticate_returns_a_bearer_token_with_and_without_trailing_slash(broker):
    for path in ("/user_management/authenticate", "/user_management/authenticate/"):
        answer = requests.post(broker.url + path, data={"username": "alice", "password": PASSWORD,
                                                        "grant_type": "", "scope": ""})
        assert answer.status_code == 200, answer.text
        assert answer.json()["token_type"] == "bearer"
        assert jwt.decode(answer.json()["access_token"], SECRET, algorithms=["HS256"])["sub"] == "alice"


def test_wrong_password_and_unknown_user_are_refused_alike(broker):
    for user, password in (("alice", "wrong password"), ("mallory", PASSWORD)):
        answer = requests.post(broker.url + "/user_management/authenticate",
                               data={"username": user, "password": password})
        assert answer.status_code == 401
        assert answer.json() == {"detail": "incorrect username or password"}


@pytest.mark.parametrize("method, path", [
    ("GET", "/requests/00000000-0000-0000-0000-000000000000"), ("POST", "/requests/"), ("GET", "/pending_requests/"),
    ("POST", "/requests/x/update_status/?new_status=reserved"), ("POST", "/results/"), ("GET", "/results/x"),
    ("GET", "/results_requested/x"), ("POST", "/results/post_unsolicited_result"), ("GET", "/capabilities/"),
    ("GET", "/tenants/"), ("POST", "/results/x/update_status/?new_status=deleted"),
    ("POST", "/api/broker/post/measurement"), ("GET", "/api/broker/get/pending")])
def test_every_endpoint_but_authentication_needs_a_token(broker, method, path):
    answer = requests.request(method, broker.url + path, json={})
    assert answer.status_code == 401, answer.text
    assert answer.headers["WWW-Authenticate"] == "Bearer"


def test_expired_and_forged_tokens_are_refused(broker):
    now = int(time.time())
    expired = jwt.encode({"sub": "alice", "iat": now - 100, "exp": now - 10}, SECRET, algorithm="HS256")
    forged = jwt.encode({"sub": "alice", "iat": now, "exp": now + 3600}, "not-the-secret-" * 3, algorithm="HS256")
    unsigned = jwt.encode({"sub": "alice", "exp": now + 3600}, None, algorithm="none")
    answer = get(broker, "/capabilities/", expired)
    assert answer.status_code == 401 and "expired" in answer.json()["detail"]
    for token in (forged, unsigned, "not.a.token"):
        answer = get(broker, "/capabilities/", token)
        assert answer.status_code == 401 and answer.json()["detail"] == "invalid token"


def test_a_token_expires_after_the_configured_lifetime(tmp_path, sqlite_db):
    from .conftest import BrokerProcess, populate

    populate(sqlite_db, tmp_path)
    server = BrokerProcess(sqlite_db, tmp_path / "log", "--token-seconds", "1").wait_ready()
    try:
        token = server.token("alice")
        assert get(server, "/tenants/", token).status_code == 200
        time.sleep(2.1)
        answer = get(server, "/tenants/", token)
        assert answer.status_code == 401 and "expired" in answer.json()["detail"]
    finally:
        server.stop()


# --- requests -----------------------------------------------------------------------------------------

def test_post_and_get_a_request_with_and_without_trailing_slash(broker, tokens):
    body = request_body(broker.tenants["lab-a"])
    body["metadata"] = {"aiida_process_uuid": "1e7d2a6c-0000-4000-8000-000000000001"}
    uuid = post(broker, "/requests", tokens["alice"], json=body).json()
    for path in (f"/requests/{uuid}", f"/requests/{uuid}/"):
        info = get(broker, path, tokens["bob"]).json()
        assert info["uuid"] == uuid and info["status"] == "pending"
        assert info["request"] == body
        assert info["ctime"].endswith("+00:00")


def test_unknown_request_is_404(broker, tokens):
    answer = get(broker, "/requests/00000000-0000-0000-0000-000000000000", tokens["alice"])
    assert answer.status_code == 404 and "no request" in answer.json()["detail"]


def test_parameters_that_do_not_fit_the_schema_get_422_with_the_path(broker, tokens):
    body = request_body(broker.tenants["lab-a"])
    body["parameters"]["two_electrode"]["formulation"][1]["fraction"] = "a lot"
    body["parameters"]["two_electrode"]["temperature"] = -3
    answer = post(broker, "/requests/", tokens["alice"], json=body)
    assert answer.status_code == 422
    locs = [error["loc"] for error in answer.json()["detail"]]
    assert ["body", "parameters", "two_electrode", "formulation", 1, "fraction"] in locs
    assert ["body", "parameters", "two_electrode", "temperature"] in locs


@pytest.mark.parametrize("change, loc", [
    (lambda b: b.update(methods=["no_such_method"], parameters={"no_such_method": {}}), ["body", "methods", 0]),
    (lambda b: b.update(methods=["two_electrode", "molecular_dynamics"]), ["body", "parameters", "molecular_dynamics"]),
    (lambda b: b["parameters"].update(molecular_dynamics={}), ["body", "parameters", "molecular_dynamics"]),
    (lambda b: b.pop("quantity"), ["body", "quantity"]),
])
def test_malformed_requests_name_the_field(broker, tokens, change, loc):
    body = request_body(broker.tenants["lab-a"])
    change(body)
    answer = post(broker, "/requests/", tokens["alice"], json=body)
    assert answer.status_code == 422, answer.text
    assert loc in [error["loc"] for error in answer.json()["detail"]]


def test_a_request_is_posted_only_as_ones_own_tenant_and_not_by_a_reader(broker, tokens):
    answer = post(broker, "/requests/", tokens["bob"], json=request_body(broker.tenants["lab-a"]))
    assert answer.status_code == 403 and "not a tenant of account 'bob'" in answer.json()["detail"]
    answer = post(broker, "/requests/", tokens["reader"], json=request_body(broker.tenants["lab-a"]))
    assert answer.status_code == 403 and "read-only" in answer.json()["detail"]


def test_pending_requests_filtered_by_quantity_and_method(broker, tokens):
    md = new_request(broker, tokens, method="molecular_dynamics")
    te = new_request(broker, tokens)
    listed = get(broker, "/pending_requests/", tokens["reader"], params={"quantity": "conductivity",
                                                                         "method": "molecular_dynamics"}).json()
    assert md in [item["uuid"] for item in listed] and te not in [item["uuid"] for item in listed]
    assert all(set(item) == {"uuid", "ctime", "status", "request"} for item in listed)
    assert all(item["status"] == "pending" for item in listed)
    everything = [item["uuid"] for item in get(broker, "/pending_requests", tokens["reader"]).json()]
    assert everything.index(md) < everything.index(te)  # oldest first
    assert get(broker, "/pending_requests/", tokens["reader"], params={"quantity": "density"}).json() == []
    page = get(broker, "/pending_requests/", tokens["reader"], params={"limit": 1, "after": md}).json()
    assert [item["uuid"] for item in page] == [everything[everything.index(md) + 1]]


def test_claim_release_and_double_claim(broker, tokens):
    uuid = new_request(broker, tokens)
    claim = {"request_id": uuid, "new_status": "reserved"}
    answer = post(broker, f"/requests/{uuid}/update_status/", tokens["bob"], params=claim)
    assert answer.status_code == 200, answer.text
    assert get(broker, f"/requests/{uuid}", tokens["bob"]).json()["status"] == "reserved"
    assert uuid not in [i["uuid"] for i in get(broker, "/pending_requests/", tokens["bob"]).json()]
    again = post(broker, f"/requests/{uuid}/update_status", tokens["alice"], params=claim)
    assert again.status_code == 409 and "is reserved" in again.json()["detail"]
    # only bob's tenant, which reserved it, can release it
    release = {"request_id": uuid, "new_status": "pending"}
    assert post(broker, f"/requests/{uuid}/update_status/", tokens["alice"], params=release).status_code == 403
    assert post(broker, f"/requests/{uuid}/update_status/", tokens["bob"], params=release).status_code == 200
    assert get(broker, f"/requests/{uuid}", tokens["bob"]).json()["status"] == "pending"


def test_a_tenant_reserves_only_requests_of_its_methods(broker, tokens):
    uuid = new_request(broker, tokens)
    answer = post(broker, f"/requests/{uuid}/update_status/", tokens["dora"],
                  params={"request_id": uuid, "new_status": "reserved"})
    assert answer.status_code == 403 and "conductivity/two_electrode" in answer.json()["detail"]
    answer = post(broker, f"/requests/{uuid}/update_status/", tokens["reader"],
                  params={"request_id": uuid, "new_status": "reserved"})
    assert answer.status_code == 403


def test_update_status_refusals(broker, tokens):
    uuid = new_request(broker, tokens)
    path = f"/requests/{uuid}/update_status/"
    assert post(broker, path, tokens["alice"], params={"new_status": "resolved"}).status_code == 422
    assert post(broker, path, tokens["alice"], params={"new_status": "finished"}).status_code == 422
    other = post(broker, path, tokens["alice"], params={"request_id": "other", "new_status": "reserved"})
    assert other.status_code == 422 and other.json()["detail"][0]["loc"] == ["query", "request_id"]
    assert post(broker, "/requests/nope/update_status/", tokens["alice"],
                params={"new_status": "reserved"}).status_code == 404
    # retract: only by the tenant that asked; then nothing more happens to it
    assert post(broker, path, tokens["bob"], params={"new_status": "retracted"}).status_code == 403
    answer = post(broker, path, tokens["alice"], params={"new_status": "retracted", "status_change_message": "no need"})
    assert answer.status_code == 200
    assert post(broker, path, tokens["bob"], params={"new_status": "reserved"}).status_code == 409
    late = post(broker, "/results/", tokens["bob"], json=result_body(broker.tenants["lab-b"], uuid))
    assert late.status_code == 409 and "retracted" in late.json()["detail"]


# --- results ----------------------------------------------------------------------------------------------

def test_result_resolves_its_request_and_is_found_three_ways(broker, tokens):
    uuid = new_request(broker, tokens)
    assert get(broker, f"/results_requested/{uuid}", tokens["alice"]).json() is None
    post(broker, f"/requests/{uuid}/update_status/", tokens["bob"], params={"new_status": "reserved"})
    body = result_body(broker.tenants["lab-b"], uuid)
    answer = post(broker, "/results", tokens["bob"], json=body)
    assert answer.status_code == 200, answer.text
    result_uuid = answer.json()
    info = get(broker, f"/results/{result_uuid}", tokens["reader"]).json()
    assert info["status"] == "original" and info["result"] == body and info["uuid"] == result_uuid
    assert get(broker, f"/results_requested/{uuid}/", tokens["alice"]).json() == info
    assert get(broker, f"/requests/{uuid}", tokens["alice"]).json()["status"] == "resolved"
    again = post(broker, "/results/", tokens["bob"], json=body)
    assert again.status_code == 409 and "already has a result" in again.json()["detail"]


def test_result_refusals(broker, tokens):
    uuid = new_request(broker, tokens)
    post(broker, f"/requests/{uuid}/update_status/", tokens["bob"], params={"new_status": "reserved"})
    # reserved by bob's tenant: alice's, though registered for the method, may not answer it
    answer = post(broker, "/results/", tokens["alice"], json=result_body(broker.tenants["lab-a"], uuid))
    assert answer.status_code == 409 and "reserved by another tenant" in answer.json()["detail"]
    # a tenant not registered for the method
    answer = post(broker, "/results/", tokens["dora"], json=result_body(broker.tenants["dens"], uuid))
    assert answer.status_code == 403 and "not registered for conductivity/two_electrode" in answer.json()["detail"]
    # someone else's tenant
    answer = post(broker, "/results/", tokens["bob"], json=result_body(broker.tenants["lab-a"], uuid))
    assert answer.status_code == 403
    # data that does not fit the result schema, with the path
    body = result_body(broker.tenants["lab-b"], uuid)
    body["data"]["conductivity"]["value"] = "high"
    answer = post(broker, "/results/", tokens["bob"], json=body)
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "data", "conductivity", "value"]
    # a method the request did not ask for
    answer = post(broker, "/results/", tokens["alice"],
                  json=result_body(broker.tenants["lab-a"], uuid, method="molecular_dynamics"))
    assert answer.status_code == 422 and answer.json()["detail"][0]["loc"] == ["body", "method"]
    # unknown request, unknown result
    answer = post(broker, "/results/", tokens["bob"], json=result_body(broker.tenants["lab-b"], "no-such-request"))
    assert answer.status_code == 404
    assert get(broker, "/results/no-such-result", tokens["bob"]).status_code == 404
    assert get(broker, "/results_requested/no-such-request", tokens["bob"]).status_code == 404
    answer = post(broker, "/results/", tokens["reader"], json=result_body(broker.tenants["lab-b"], uuid))
    assert answer.status_code == 403


def test_amend_or_delete_a_result_then_post_a_new_one(broker, tokens):
    uuid = new_request(broker, tokens)
    first = post(broker, "/results/", tokens["bob"], json=result_body(broker.tenants["lab-b"], uuid, 1.0)).json()
    path = f"/results/{first}/update_status/"
    assert post(broker, path, tokens["alice"], params={"new_status": "amended"}).status_code == 403
    assert post(broker, path, tokens["bob"], params={"new_status": "original"}).status_code == 422
    answer = post(broker, path, tokens["bob"], params={"result_id": first, "new_status": "amended",
                                                       "status_change_message": "wrong cell constant"})
    assert answer.status_code == 200, answer.text
    assert post(broker, path, tokens["bob"], params={"new_status": "deleted"}).status_code == 409
    assert get(broker, f"/results/{first}", tokens["bob"]).json()["status"] == "amended"
    assert get(broker, f"/results_requested/{uuid}", tokens["bob"]).json() is None
    second = post(broker, "/results/", tokens["bob"], json=result_body(broker.tenants["lab-b"], uuid, 2.0)).json()
    current = get(broker, f"/results_requested/{uuid}", tokens["alice"]).json()
    assert current["uuid"] == second and current["result"]["data"]["conductivity"]["value"] == 2.0
    answer = post(broker, "/results/nope/update_status/", tokens["bob"], params={"new_status": "deleted"})
    assert answer.status_code == 404


def test_unsolicited_result_makes_a_resolved_request(broker, tokens):
    body = result_body(broker.tenants["lab-b"], "")
    answer = post(broker, "/results/post_unsolicited_result", tokens["bob"], json=body)
    assert answer.status_code == 200, answer.text
    info = get(broker, f"/results/{answer.json()}", tokens["reader"]).json()
    request_uuid = info["result"]["request_uuid"]
    request = get(broker, f"/requests/{request_uuid}", tokens["reader"]).json()
    assert request["status"] == "resolved" and request["request"]["tenant_uuid"] == broker.tenants["lab-b"]
    assert get(broker, f"/results_requested/{request_uuid}", tokens["reader"]).json()["uuid"] == answer.json()
    denied = post(broker, "/results/post_unsolicited_result", tokens["dora"],
                  json=result_body(broker.tenants["dens"], ""))
    assert denied.status_code == 403


# --- idempotency ----------------------------------------------------------------------------------------

def test_a_retried_post_with_the_same_idempotency_key_creates_nothing_new(broker, tokens):
    body = request_body(broker.tenants["lab-a"], fraction=0.31)
    headers = {**bearer(tokens["alice"]), "Idempotency-Key": "campaign-7-point-3"}
    first = requests.post(broker.url + "/requests/", json=body, headers=headers).json()
    second = requests.post(broker.url + "/requests/", json=body, headers=headers).json()
    assert first == second
    listed = [i for i in get(broker, "/pending_requests/", tokens["alice"], params={"method": "two_electrode"}).json()
              if i["request"]["parameters"]["two_electrode"]["formulation"][0]["fraction"] == 0.31]
    assert [i["uuid"] for i in listed] == [first]
    reused = requests.post(broker.url + "/requests/", json=request_body(broker.tenants["lab-a"], fraction=0.32),
                           headers=headers)
    assert reused.status_code == 422 and reused.json()["detail"][0]["loc"] == ["header", "idempotency-key"]
    # results too: the retry gets the same result back, not a 409
    result = result_body(broker.tenants["lab-b"], first)
    headers = {**bearer(tokens["bob"]), "Idempotency-Key": "answer-1"}
    assert (requests.post(broker.url + "/results/", json=result, headers=headers).json()
            == requests.post(broker.url + "/results/", json=result, headers=headers).json())
    # keys are per account: bob's "campaign-7-point-3" is a new key
    headers = {**bearer(tokens["bob"]), "Idempotency-Key": "campaign-7-point-3"}
    assert requests.post(broker.url + "/requests/", json=request_body(broker.tenants["lab-b"]),
                         headers=headers).json() != first


# --- the body limit ---------------------------------------------------------------------------------------

def test_an_oversized_body_is_refused_before_authentication(broker):
    big = b'{"data": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    answer = requests.post(broker.url + "/results/", data=big, headers={"Content-Type": "application/json"})
    assert answer.status_code == 413  # not 401: the limit comes first
    # a declared size is refused at once, without waiting for (or reading) the body
    with socket.create_connection(("127.0.0.1", broker.port), timeout=10) as raw:
        raw.sendall(b"POST /requests/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    b"Content-Length: 500000000\r\n\r\n")
        reply = raw.recv(4096)
    assert reply.startswith(b"HTTP/1.1 413"), reply
    # a chunked body (no declared size) is cut off once it passes the limit
    chunks = (b"x" * 65536 for _ in range(40))
    answer = requests.post(broker.url + "/requests/", data=chunks, headers={"Content-Type": "application/json"})
    assert answer.status_code == 413


# --- directory -------------------------------------------------------------------------------------------

def test_capabilities_and_tenants(broker, tokens):
    capabilities = get(broker, "/capabilities/", tokens["reader"]).json()
    keys = {f"{c['quantity']}/{c['method']}" for c in capabilities}
    assert {"conductivity/two_electrode", "density/vibrating_tube_densimetry", "measurement/experiment"} <= keys
    two_electrode = next(c for c in capabilities if c["method"] == "two_electrode")
    assert two_electrode["json_schema_specifications"]["required"] == ["formulation"]
    everything = get(broker, "/capabilities", tokens["reader"], params={"currently_available": "false"}).json()
    assert everything == capabilities
    tenants = {t["name"]: t for t in get(broker, "/tenants/", tokens["reader"]).json()}
    assert tenants["lab-a"]["uuid"] == broker.tenants["lab-a"]
    assert tenants["lab-a"]["methods"] == ["conductivity/molecular_dynamics", "conductivity/two_electrode"]
    assert tenants["dens"]["methods"] == ["density/vibrating_tube_densimetry"]


# --- the older FINALES API ----------------------------------------------------------------------------------

MEASUREMENT = {
    "formulation": {"compounds": [
        {"chemicals": [{"smiles": "[Li+].F[P-](F)(F)(F)(F)F", "name": "LiPF6"}],
         "amounts": [{"value": 1.0, "unit": "mol/kg"}], "name": "salt"},
        {"chemicals": [{"smiles": "C1COC(=O)O1", "name": "EC"}], "amounts": [{"value": 1.0, "unit": "g"}],
         "name": "EC"}],
        "ratio": [0.1, 0.9], "ratio_method": "gravimetric"},
    "temperature": {"value": 298.15, "unit": "K"}, "pending": True, "kind": {"origin": "experiment"}}


def test_older_api_pending_measurement_is_a_request_and_its_answer_a_result(broker, tokens, tmp_path):
    from aiida_bigmap_al.broker.admin import add_tenant, add_user, open_database

    database = open_database(broker.db)
    add_user(database, "rig-user", PASSWORD)
    rig = add_tenant(database, "rig", "rig-user", ["measurement/experiment"])
    database.dispose()
    posted = post(broker, "/api/broker/post/measurement", tokens["alice"], json=MEASUREMENT)
    assert posted.status_code == 200, posted.text
    request_uuid = posted.json()["id"]
    rig_token = broker.token("rig-user")
    pending = get(broker, "/api/broker/get/pending", rig_token).json()
    assert pending[request_uuid]["temperature"] == {"unit": "K", "value": 298.15}
    assert get(broker, f"/requests/{request_uuid}", rig_token).json()["request"]["quantity"] == "measurement"
    fom = {"value": 9.8, "unit": "mS/cm", "origin": {"origin": "experiment"}, "measurement_id": "m1",
           "name": "conductivity"}
    done = {**MEASUREMENT, "pending": False, "fom_data": fom}
    answer = post(broker, "/api/broker/post/measurement", rig_token, json=done, params={"request_id": request_uuid})
    assert answer.status_code == 200, answer.text
    result = get(broker, f"/results_requested/{request_uuid}", rig_token).json()
    assert result["result"]["data"]["fom_data"]["value"] == 9.8 and result["result"]["tenant_uuid"] == rig
    assert request_uuid not in get(broker, "/api/broker/get/pending", rig_token).json()
    # pydantic's own checks of a Measurement apply (the ratio must sum to 1)
    bad = {**MEASUREMENT, "formulation": {**MEASUREMENT["formulation"], "ratio": [0.5, 0.9]}}
    answer = post(broker, "/api/broker/post/measurement", tokens["alice"], json=bad)
    assert answer.status_code == 422 and answer.json()["detail"][0]["loc"][:3] == ["body", "formulation", "ratio"]
    # alice's tenants are not registered for measurement/experiment: she cannot answer one
    assert post(broker, "/api/broker/post/measurement", tokens["alice"], json=done).status_code == 403


def test_result_data_misfit_is_refused_by_a_strict_capability_and_recorded_by_a_lenient_one(broker, tokens):
    """Conductivity is registered with --strict-results here (test_result_refusals: 422 with the path);
    density is not, as FINALES2 capabilities are by default: the result is kept, the misfit recorded."""
    body = {"quantity": "density", "methods": ["vibrating_tube_densimetry"],
            "parameters": {"vibrating_tube_densimetry": parameters()}, "tenant_uuid": broker.tenants["dens"]}
    request_uuid = post(broker, "/requests/", tokens["dora"], json=body).json()
    result = {"data": {"conductivity": {"value": "dense"}}, "quantity": "density",
              "method": ["vibrating_tube_densimetry"], "parameters": body["parameters"],
              "tenant_uuid": broker.tenants["dens"], "request_uuid": request_uuid}
    answer = post(broker, "/results/", tokens["dora"], json=result)
    assert answer.status_code == 200, answer.text
    stored = get(broker, f"/results/{answer.json()}", tokens["reader"]).json()
    assert stored["status_message"] == ('data do not fit the result schema of density/vibrating_tube_densimetry: '
                                        'body.data.conductivity.value: "dense" is not of type "number"')
    # request parameters are checked whatever the capability's results mode
    body["parameters"]["vibrating_tube_densimetry"]["temperature"] = "warm"
    assert post(broker, "/requests/", tokens["dora"], json=body).status_code == 422


def test_nan_in_a_document_is_refused_not_a_server_error(broker, tokens):
    text = ('{"quantity": "conductivity", "methods": ["two_electrode"], "tenant_uuid": "%s", "parameters": '
            '{"two_electrode": {"formulation": [], "note": NaN}}, "metadata": {"x": Infinity}}'
            % broker.tenants["lab-a"])
    answer = requests.post(broker.url + "/requests/", data=text,
                           headers={**bearer(tokens["alice"]), "Content-Type": "application/json"})
    assert answer.status_code == 422, answer.text
