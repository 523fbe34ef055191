"""``bigmap-al report``: the HTML page of real campaigns (replayed over two temperatures, replayed
with a failed measurement, measured on an emulated instrument), read as text and opened in Chromium."""

import base64
import re

import numpy as np
import pytest
import yaml
from aiida.common.links import LinkType
from aiida.engine import run_get_node
from click.testing import CliRunner

from aiida_bigmap_al.analysis.report import campaign_report, render
from aiida_bigmap_al.campaign_spec import load_spec
from aiida_bigmap_al.cli import main
from aiida_bigmap_al.learning import STRATEGIES
from aiida_bigmap_al.space import fzj_space
from aiida_bigmap_al.workchains import ActiveLearningWorkChain

from broker.test_page import _require_browser, ARGS, CHROMIUM  # noqa: I001  (tests/ is on sys.path)
from instrument_bridge.aiida.conftest import instrument, make_server, server, token_file  # noqa: F401
from test_export import replay_campaign

COLD, WARM = 283.15, 303.15
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def run(inputs):
    _, node = run_get_node(ActiveLearningWorkChain, **inputs)
    assert node.is_finished_ok, node.exit_message
    return node


@pytest.fixture(scope="module")
def two_temperatures(aiida_profile, fzj_csv, tmp_path_factory):
    """A campaign replaying the FZJ data at 10 and 30 °C, temperature a model input."""
    spec = {"temperatures": [COLD, WARM], "strategy": "gp-ucb", "budget": 5, "n_initial": 2,
            "batch_size": 2, "seed": 2, "methods": {"replay": {"data": str(fzj_csv)}}}
    path = tmp_path_factory.mktemp("spec") / "campaign.yaml"
    path.write_text(yaml.safe_dump(spec))
    return run(load_spec(path).inputs())


@pytest.fixture(scope="module")
def with_failure(aiida_profile, fzj_csv):
    """A campaign at 20 °C whose first measurement fails."""
    return run(replay_campaign(fzj_csv, budget=3))


@pytest.fixture(scope="module")
def two_temperature_page(two_temperatures, tmp_path_factory):
    """The report of ``two_temperatures``, written once by the command: (path, html)."""
    folder = tmp_path_factory.mktemp("report")
    return folder / f"report-{two_temperatures.pk}.html", write(two_temperatures, folder)


def invoke(*args):
    return CliRunner().invoke(main, ["report", *map(str, args)], catch_exceptions=False)


def write(node, tmp_path):
    out = tmp_path / f"report-{node.pk}.html"
    result = invoke(node.pk, "--out", out)
    assert result.exit_code == 0, result.output
    assert result.output == f"report: {out}\n"
    return out.read_text()


def uuids_a_reader_needs(node):
    """The campaign, its datasets, models, suggestions and measurements."""
    from aiida_bigmap_al.export import campaign_record

    record = campaign_record(node)
    return {node.uuid, *(link.node.uuid for link in node.base.links.get_outgoing(link_type=LinkType.RETURN).all()),
            *(m["uuid"] for m in record["models"]), *(m["training_data"] for m in record["models"]),
            *(s["uuid"] for it in record["iterations"] for s in it["suggestions"]),
            *(row["measurement"] for row in record["dataset"])}


def images(html):
    return re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)


def test_report_over_two_temperatures(two_temperatures, two_temperature_page):
    node, (_, html) = two_temperatures, two_temperature_page
    best = node.outputs.best
    assert f"Best: {best['value']:.3f} mS/cm" in html
    for row in best["per_temperature"]:  # the best at each temperature, in the table
        assert f'<td class="n best-at-t">{row["value"]:.4g}</td>' in html
    missing = {uuid for uuid in uuids_a_reader_needs(node) if uuid not in html}
    assert not missing
    assert "at each temperature" in html  # the surface says it is a slice per temperature
    assert "283.15 K (10.0 °C)" in html and "303.15 K (30.0 °C)" in html
    assert len(re.findall(r"<td>\d+\.\d+ K \([-\d.]+ °C\)</td><td class=\"n\">[\d.]+ &plusmn;", html)) == 2  # optima
    text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "data:", html)
    assert not re.search(r"https?:|//", text, re.IGNORECASE)  # nothing to fetch, no link out
    assert re.findall(r'src="([^"]{0,22})', html) == ["data:image/png;base64,"] * len(images(html))
    # all measurements, one best-so-far per temperature, the surface; no timing (nothing on instruments)
    assert len(images(html)) == 4
    assert all(base64.b64decode(data)[:8] == PNG_MAGIC for data in images(html))
    assert "5 measured and 0 failed of a budget of 5 measurements, in 3 iterations." in html
    assert "No time analysis: campaign" in html and "ran no experiments" in html
    assert "&#34;ucb&#34;" in html and "methods.replay.table" in html  # the strategy, in parts


def test_report_shows_failures_takes_a_uuid_and_writes_beside_by_default(with_failure, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    node = with_failure
    result = invoke(node.uuid)
    assert result.exit_code == 0, result.output
    html = (tmp_path / f"report-{node.uuid}.html").read_text()
    assert html.count('class="failed"') == 1 and "exit 300: no row of table" in html
    assert "3 measured and 1 failed of a budget of 3 measurements, in 2 iterations." in html
    assert "at each temperature" not in html  # one temperature and two variables: the plain surface
    assert not {uuid for uuid in uuids_a_reader_needs(node) if uuid not in html}
    assert len(images(html)) == 2


def test_user_strings_are_escaped(with_failure):
    report = campaign_report(with_failure)
    report["configuration"]["methods"][0]["value"] = '<script>alert("x")</script>'
    report["record"]["campaign"]["process_label"] = "<b>"
    html = render(report)
    assert "<script>" not in html and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html


def test_a_bad_pk_or_a_node_that_is_no_campaign_is_a_clear_error(with_failure, tmp_path):
    out = tmp_path / "r.html"
    missing = invoke(987654, "--out", out)
    assert missing.exit_code == 1 and missing.output == "Error: no node with pk 987654 in this profile\n"
    data = with_failure.outputs.dataset.pk
    other = invoke(data, "--out", out)
    assert other.exit_code == 1 and f"node {data} is a Dict, not an ActiveLearningWorkChain" in other.output
    fit = next(c for c in with_failure.called_descendants if c.process_label == "fit_model")
    assert "is a fit_model, not" in invoke(fit.pk, "--out", out).output
    assert not out.exists()
    assert invoke("twelve").exit_code == 2


@pytest.mark.browser
def test_the_page_renders_with_its_images_in_chromium(two_temperatures, two_temperature_page):
    _require_browser()
    from playwright.sync_api import sync_playwright

    path, html = two_temperature_page
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page()
            errors, requests = [], []
            page.on("console", lambda message: message.type == "error" and errors.append(message.text))
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on("request", lambda request: requests.append(request.url))
            page.goto(path.as_uri(), wait_until="load")
            shown = page.eval_on_selector_all(
                "img", "imgs => imgs.map(i => [i.complete, i.naturalWidth, i.getBoundingClientRect().width])")
            title, best = page.title(), page.inner_text("#best")
        finally:
            browser.close()
    assert len(shown) == len(images(html)) == 4
    assert all(complete and natural > 0 and width > 0 for complete, natural, width in shown), shown
    assert errors == []
    assert [url for url in requests if not url.startswith(("file:", "data:"))] == []
    assert title == f"Campaign {two_temperatures.pk}: ActiveLearningWorkChain"
    assert best.startswith(f"Best: {two_temperatures.outputs.best['value']:.3f} mS/cm")


@pytest.mark.slow
def test_report_of_a_lanes_campaign_on_two_instruments_times_its_actions(instrument, server, tmp_path):  # noqa: F811
    """Four measurements in two lanes on the emulated conductivity rig (registered twice, as two
    instruments, over the bridge): the time section, its instruments and the lanes' last model."""
    from aiida import orm

    rigs = {"a": instrument(server.url).code, "b": instrument(server.url).code}
    node = run({
        "space": orm.Dict(fzj_space(temperatures=[298.15]).to_dict()),
        "strategy": orm.Dict(STRATEGIES["gp-ucb"].model_dump(mode="json")),
        "budget": orm.Int(4), "n_candidates": orm.Int(64), "seed": orm.Int(1),
        "methods": {"instruments": rigs},
    })
    html = write(node, tmp_path)
    assert "lanes (one lane per instrument) mode" in html
    assert "No time analysis" not in html and 'id="action-table"' in html
    assert "measure_conductivity" in html and "(between actions)" in html
    for code in rigs.values():
        assert code.uuid in html and f"<td>{code.computer.label}</td>" in html
    assert not {uuid for uuid in uuids_a_reader_needs(node) if uuid not in html}
    assert "The campaign fitted no model" not in html
    assert len(images(html)) == 3  # best so far, surface, timing


def test_a_campaign_without_a_model_says_so(aiida_profile, fzj_csv, tmp_path):
    """Budget spent on the initial design: no model, no surface, and the page says why."""
    node = run(replay_campaign(fzj_csv, budget=2, missing_first=False))
    html = write(node, tmp_path)
    assert "The campaign fitted no model (its budget went to the initial design)." in html
    assert len(images(html)) == 1 and 'id="model-table"' in html


def test_surfaces_over_three_variables_hold_the_third_at_the_best_point_of_each_temperature():
    """The first two variables are gridded; the third sits where each temperature's best was measured."""
    from aiida_bigmap_al.analysis.report import GRID, surface_grids
    from aiida_bigmap_al.feature_map import FeatureMap
    from aiida_bigmap_al.space import SearchSpace

    space = SearchSpace.from_dict({"variables": [{"name": "r", "low": 0, "high": 1}, {"name": "c", "low": 0, "high": 2},
                                                 {"name": "x", "low": 0, "high": 1}],
                                   "conditions": {"temperature": {"values": [280.0, 300.0], "unit": "K"}}})
    generator = np.random.default_rng(0)
    rows = [{"r": r, "c": c, "x": x, "temperature": T, "value": r + c * x + T / 100, "measurement": f"m{i}"}
            for i, (r, c, x, T) in enumerate(zip(*generator.random((3, 12)), [280.0, 300.0] * 6))]
    features = FeatureMap.of(space)
    model = features.build(STRATEGIES["gp-ucb"], 0).fit(*features.rows_to_arrays(rows))
    grids = surface_grids(space, model, rows, trained_on={f"m{i}" for i in range(10)})
    assert [g["temperature"] for g in grids] == [280.0, 300.0]
    for g in grids:
        best = max((row for row in rows if row["temperature"] == g["temperature"]), key=lambda row: row["value"])
        corner = features.inputs([{"r": 1.0, "c": 2.0, "x": best["x"]}], [g["temperature"]])  # c * x matters
        assert g["mean"].shape == g["std"].shape == (GRID, GRID)
        assert g["mean"][-1, -1] == pytest.approx(model.predict(corner)[0][0])
        assert g["optimum"]["mean"] == pytest.approx(g["mean"].max())
        assert len(g["trained"]) + len(g["later"]) == 6
    assert sum(len(g["later"]) for g in grids) == 2
