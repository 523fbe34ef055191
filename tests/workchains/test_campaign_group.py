"""The campaign ledger stored in a group: statuses as extras, and the campaign-wide lock of a claim."""

import asyncio
import time
import uuid

import pytest
from aiida import orm
from plumpy import greenback_bridge

from aiida_bigmap_al.ledger import Status, budget_left
from aiida_bigmap_al.workchains import campaign_group
from aiida_bigmap_al.workchains.records import suggestion_document


def suggestion(r, c=1.0):
    return orm.Dict(suggestion_document({"r": r, "c": c}, 298.15)).store()


def lock_exists(group):
    return orm.QueryBuilder().append(orm.Group, filters={"label": f"{group.label}/lock"}).count() == 1


def test_the_group_stores_the_ledger_of_the_campaign(aiida_profile):
    group = campaign_group.create_group(str(uuid.uuid4()))
    measured, failed, pending, withdrawn = (suggestion(r) for r in (0.1, 0.2, 0.3, 0.4))
    campaign_group.register(group, [measured, failed, pending], Status.PENDING)
    campaign_group.register(group, [withdrawn], Status.WITHDRAWN)
    measurement = orm.Dict({"fom_data": {"value": 9.0}}).store()
    campaign_group.record(group, measured, measurement)
    campaign_group.record(group, failed)
    state = campaign_group.read(orm.load_group(uuid=group.uuid))
    assert [node.uuid for node in state.measured] == [measurement.uuid]
    assert [node.uuid for node in state.pending] == [pending.uuid]
    assert [node.uuid for node in state.failed] == [failed.uuid]
    assert state.suggestion_of[measurement.uuid].uuid == measured.uuid
    start = [{"r": 0.9, "c": 0.5, "temperature": 298.15, "value": 4.0}]
    entries = campaign_group.entries(state, start, ["r", "c"])
    assert sorted(entry.status.value for entry in entries) == ["failed", "measured", "measured", "pending"]
    assert budget_left(5, entries) == 2  # the start row, the measured and the pending one


def test_the_lock_is_held_by_one_holder_at_a_time_and_released(aiida_profile):
    group = campaign_group.create_group(str(uuid.uuid4()))
    with campaign_group.locked(group, holder="lane a"):
        assert lock_exists(group)
        with pytest.raises(campaign_group.CampaignLockTimeout, match="lock"):
            with campaign_group.locked(group, holder="lane b", wait=0.3):
                pass
    assert not lock_exists(group)
    with campaign_group.locked(group, holder="lane b"):  # free again
        assert lock_exists(group)
    assert not lock_exists(group)


def test_a_lock_left_by_a_dead_worker_is_broken_once_stale(aiida_profile):
    group = campaign_group.create_group(str(uuid.uuid4()))
    orm.Group(label=f"{group.label}/lock", description="a lane whose worker died").store()
    start = time.monotonic()
    with campaign_group.locked(group, holder="lane b", stale_after=0.5, wait=10):
        assert 0.5 <= time.monotonic() - start < 10
        held = orm.QueryBuilder().append(orm.Group, filters={"label": f"{group.label}/lock"},
                                         project="description").one()
        assert held == ["lane b"]
    assert not lock_exists(group)


def test_a_holder_whose_lock_was_broken_meanwhile_releases_nothing_and_says_so(aiida_profile, caplog):
    group = campaign_group.create_group(str(uuid.uuid4()))
    with campaign_group.locked(group, holder="a lane that stalled"):
        held, = orm.QueryBuilder().append(orm.Group, filters={"label": f"{group.label}/lock"}, project="id").one()
        orm.Group.collection.delete(held)  # as another worker does with a stale lock
        orm.Group(label=f"{group.label}/lock", description="the next lane").store()
    assert lock_exists(group)  # the next holder's lock is left alone
    assert "was broken as stale while held" in caplog.text


def test_a_lane_waiting_for_the_lock_leaves_its_daemon_worker_free(aiida_profile):
    # A process step runs in a greenback portal on the worker's event loop; a lane that waited
    # with a plain sleep held up every other process of that worker (another lane's calculation
    # waiting to upload, say) for as long as it waited.
    group = campaign_group.create_group(str(uuid.uuid4()))
    orm.Group(label=f"{group.label}/lock", description="a lane on another worker").store()
    ticks = []

    def wait_for_the_lock():
        with pytest.raises(campaign_group.CampaignLockTimeout):
            with campaign_group.locked(group, holder="lane b", wait=0.5):
                pass

    async def worker():
        async def another_process():
            while True:
                ticks.append(time.monotonic())
                await asyncio.sleep(0.01)

        other = asyncio.create_task(another_process())
        await greenback_bridge.run_with_portal(wait_for_the_lock)
        other.cancel()

    asyncio.run(worker())
    assert len(ticks) > 10  # with a blocking sleep: 1, before the wait began
