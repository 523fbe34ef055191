"""``ExperimentParser`` on what an instrument may send back: the files of one real job, and broken variants.

One experiment is measured for real; then each case gives the parser a calculation node like that
job's (same inputs, request and job id) whose retrieved files are the real ones with one thing
broken, and checks the exit code that names it.
"""

from __future__ import annotations

import json
import uuid

import pytest
from aiida import orm
from aiida.common.links import LinkType
from aiida.engine import run_get_node

from aiida_bigmap_al.calcjobs.experiment import ExperimentCalcJob
from aiida_bigmap_al.instrument_bridge.register import register
from aiida_bigmap_al.parsers.experiment import ExperimentParser

from ..conftest import TOKEN, LiveServer, rig_config
from .conftest import conductivity_rig
from .test_experiment import _suggestion

CODES = ExperimentCalcJob.exit_codes


@pytest.fixture(scope="module")
def measured(aiida_profile, tmp_path_factory):
    """A finished experiment on a live server, and the content of its retrieved files."""
    server = LiveServer(rig_config(conductivity_rig(tmp_path_factory.mktemp("rig")))).start()
    token = tmp_path_factory.mktemp("token") / "token"
    token.write_text(TOKEN)
    try:
        code = register(f"rig-{uuid.uuid4().hex[:8]}", server.url, token_file=token, poll_interval=0.1,
                        safe_interval=0.0, check=False).code
        _, node = run_get_node(ExperimentCalcJob, code=code, suggestion=_suggestion())
    finally:
        server.stop()
    assert node.is_finished_ok, node.exit_message
    retrieved = node.outputs.retrieved.base.repository
    return node, {name: retrieved.get_object_content(name, mode="rb") for name in retrieved.list_object_names()}


def _reparse(original, files):
    """Parse a copy of ``original`` whose retrieved folder holds ``files`` (name -> bytes)."""
    node = orm.CalcJobNode(computer=original.computer, process_type=original.process_type)
    for label in ("suggestion", "code", "method"):
        node.base.links.add_incoming(original.inputs[label], LinkType.INPUT_CALC, label)
    node.set_option("resources", {})
    node.set_job_id(original.get_job_id())
    node.base.repository.put_object_from_bytes(original.base.repository.get_object_content("request.json", "rb"),
                                               "request.json")
    node.store()
    retrieved = orm.FolderData()
    for name, content in files.items():
        retrieved.base.repository.put_object_from_bytes(content, name)
    retrieved.base.links.add_incoming(node, LinkType.CREATE, "retrieved")
    retrieved.store()
    results, parsing = ExperimentParser.parse_from_node(node, store_provenance=False)
    return parsing.exit_status, parsing.exit_message, results


def _edit(files, **changes):
    result = json.loads(files["result.json"])
    for key, value in changes.items():
        if isinstance(value, dict):
            result[key] = {**result[key], **value}
        else:
            result[key] = value
    return {**files, "result.json": json.dumps(result).encode()}


def test_the_real_files_parse_to_the_same_measurement(measured):
    node, files = measured
    status, _, results = _reparse(node, files)
    assert status == 0
    value = node.outputs.measurement["fom_data"]["value"]  # stored: AiiDA keeps 14 significant digits
    assert results["measurement"]["fom_data"]["value"] == pytest.approx(value, rel=1e-13)
    assert results["raw_data"].get_content(mode="rb") == files["raw.h5"]


CASES = {
    "no result file": (lambda f: {"raw.h5": f["raw.h5"]}, CODES.ERROR_RESULT_MISSING, "was not retrieved"),
    "not JSON": (lambda f: {**f, "result.json": b"{oops"}, CODES.ERROR_INVALID_RESULT, "result.json"),
    "another job's result": (lambda f: _edit(f, job_id="0" * 32), CODES.ERROR_INVALID_RESULT, "not of this job"),
    "another request": (lambda f: _edit(f, parameters={"temperature": 300.0}), CODES.ERROR_INVALID_RESULT,
                        "the rig ran temperature=300.0"),
    "unknown unit": (lambda f: _edit(f, result={"unit": "furlongs"}), CODES.ERROR_INVALID_RESULT, "furlongs"),
    "no value": (lambda f: _edit(f, result=None), CODES.ERROR_INVALID_RESULT, "the result of a done job"),
    "a job still running": (lambda f: _edit(f, state="running"), CODES.ERROR_INVALID_RESULT,
                            "result.json: state: Value error, a result is written once a job has ended"),
    "no raw data": (lambda f: {"result.json": f["result.json"]}, CODES.ERROR_RAW_DATA_MISSING, "raw.h5"),
    "raw data not HDF5": (lambda f: {**f, "raw.h5": b"not hdf5"}, CODES.ERROR_INVALID_RESULT, "not an HDF5 file"),
    "failed job": (lambda f: _edit(f, state="failed", message="step 'fill' (move_to_cell) error: no reply"),
                   CODES.ERROR_INSTRUMENT_FAULT, "no reply"),
    "cancelled job": (lambda f: _edit(f, state="cancelled", message="cancelled by the lab"),
                      CODES.ERROR_JOB_CANCELLED, "cancelled by the lab"),
}


@pytest.mark.parametrize("case", CASES)
def test_broken_results_end_with_the_exit_code_that_names_them(measured, case):
    node, files = measured
    change, code, text = CASES[case]
    status, message, results = _reparse(node, change(files))
    assert status == code.status and text in message
    assert "measurement" not in (results or {})
