"""schemathesis against the broker's OpenAPI document: no server error, no undocumented answer."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import content_type_conformance, not_a_server_error, status_code_conformance


@pytest.fixture(scope="module")
def api(broker):
    return schemathesis.openapi.from_url(broker.url + "/openapi.json")


@pytest.fixture(scope="module")
def headers(broker):
    return {"Authorization": f"Bearer {broker.token('alice')}"}


def test_every_answer_is_documented_and_none_is_a_server_error(api, headers):
    """Every operation, with generated (mostly invalid) inputs and a valid token of a writing account.

    The operations are walked here rather than with schemathesis' pytest plugin, which does not run
    on this pytest; the checks are the same.
    """
    checks = [not_a_server_error, status_code_conformance, content_type_conformance]
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) >= 13
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(case):
            case.call_and_validate(headers=headers, checks=checks)

        run()


def test_docs_are_served(broker):
    import requests

    assert "swagger" in requests.get(broker.url + "/docs").text.lower()
    paths = requests.get(broker.url + "/openapi.json").json()["paths"]
    assert {"/user_management/authenticate", "/requests/", "/requests/{uuid}", "/pending_requests/",
            "/requests/{uuid}/update_status/", "/results/", "/results/{uuid}", "/results_requested/{request_uuid}",
            "/results/post_unsolicited_result", "/capabilities/", "/tenants/", "/api/broker/post/measurement",
            "/api/broker/get/pending"} <= set(paths)
