"""The same campaign submitted to a real daemon (ZeroMQ broker built into it), not run in-process."""

from aiida import orm

from aiida_bigmap_al.calcjobs import SimulationCalcJob
from aiida_bigmap_al.workchains import ActiveLearningWorkChain

from .test_simulation_campaign import campaign_inputs, simulator_code  # noqa: F401 (fixture)


def test_campaign_runs_on_the_daemon(aiida_profile, simulator_code, submit_and_await):  # noqa: F811
    node = submit_and_await(ActiveLearningWorkChain, timeout=240,
                            **campaign_inputs(simulator_code, [298.15]))
    assert node.is_finished_ok, node.exit_message
    jobs = [c for c in node.called if c.process_class is SimulationCalcJob]
    assert len(jobs) == 4 and all(job.is_finished_ok for job in jobs)
    assert orm.load_node(node.outputs.dataset.pk)["version"] == 2  # start, then one batch appended
