"""The page for people in the loop, driven in a real headless Chromium (Debian's, via Playwright).

A person logs in, sees the pending requests of their tenant's methods (and no others), claims one,
types a result that does not fit the capability's schema (the page names the offending field),
corrects it and submits it; the broker then holds that result for the request, from their tenant.
"""

from __future__ import annotations

import json
import os
import pathlib

import pytest
import requests

from .conftest import PASSWORD, parameters

CHROMIUM = pathlib.Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = pytest.mark.browser


def _require_browser() -> None:
    """Skip (or, in CI, fail) with a clear reason when Chromium or Playwright is absent."""
    missing = [] if CHROMIUM.exists() else [f"{CHROMIUM} (apt-get install chromium)"]
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("Playwright for Python (pip install playwright)")
    if missing:
        reason = "the browser test needs " + " and ".join(missing)
        if os.environ.get("BIGMAP_AL_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{reason}, but BIGMAP_AL_REQUIRE_SERVICES=1 requires it")
        pytest.skip(reason)


@pytest.fixture
def page():
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield browser.new_page()
        finally:
            browser.close()


def test_page_is_served_with_a_strict_content_policy(broker):
    answer = requests.get(broker.url + "/page", timeout=10)
    assert answer.status_code == 200 and "text/html" in answer.headers["content-type"]
    assert "script-src 'self'" in answer.headers["content-security-policy"]
    assert requests.get(broker.url + "/user_management/me", timeout=10).status_code == 401


def test_me_names_the_accounts_tenants_and_methods(broker):
    with broker.client("alice") as alice:
        me = alice.call("GET", "/user_management/me")
    assert me["name"] == "alice" and me["read_only"] is False
    assert me["tenants"] == [{"uuid": broker.tenants["lab-a"],
                              "methods": ["conductivity/molecular_dynamics", "conductivity/two_electrode"]}]


def test_a_person_claims_a_request_and_submits_its_result(broker, page):
    with broker.client("alice") as alice:
        wanted = alice.post_request("conductivity", ["two_electrode"], {"two_electrode": parameters(0.3)},
                                    broker.tenants["lab-a"])
    with broker.client("dora") as dora:
        other = dora.post_request("density", ["vibrating_tube_densimetry"],
                                  {"vibrating_tube_densimetry": parameters(0.1)}, broker.tenants["dens"])

    page.goto(broker.url + "/page")
    page.fill("#username", "bob")
    page.fill("#password", "wrong password")
    page.click("#login-button")
    page.wait_for_selector("#errors li")
    assert "incorrect username or password" in page.inner_text("#errors")

    page.fill("#password", PASSWORD)
    page.click("#login-button")
    page.wait_for_selector(f"tr[data-uuid='{wanted}']")
    assert page.inner_text("#who") == "bob"
    assert page.locator(f"tr[data-uuid='{other}']").count() == 0  # bob serves no density method

    page.click(f"tr[data-uuid='{wanted}'] button.claim")
    page.wait_for_selector("#claimed:not([hidden])")
    assert page.inner_text("#claimed-uuid") == wanted
    assert broker.client("bob").get_request(wanted)["status"] == "reserved"

    page.fill("#result-data", "{not json")
    page.click("#submit-result")
    page.wait_for_selector("#errors li")
    assert page.inner_text("#errors").startswith("data: not JSON")

    page.fill("#result-data", json.dumps({"conductivity": {"value": "high"}}))
    page.click("#submit-result")
    page.wait_for_selector("#errors li:has-text('conductivity')")  # (no wait_for_function: the CSP forbids eval)
    errors = page.inner_text("#errors")
    assert "body.data.conductivity.value" in errors and "number" in errors

    page.fill("#result-data", json.dumps({"conductivity": {"value": 7.25}}))
    page.click("#submit-result")
    page.wait_for_selector("#message:has-text('submitted for request')")
    assert page.inner_text("#errors") == ""
    assert page.locator(f"tr[data-uuid='{wanted}']").count() == 0

    with broker.client("bob") as bob:
        result = bob.result_for_request(wanted)
        assert bob.get_request(wanted)["status"] == "resolved"
    assert result["uuid"] in page.inner_text("#message")
    assert result["result"]["data"] == {"conductivity": {"value": 7.25}}
    assert result["result"]["tenant_uuid"] == broker.tenants["lab-b"]
