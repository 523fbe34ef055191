"""The campaign ledger stored in AiiDA: the campaign's group, its suggestions' extras, and its lock.

The rules (budget, claim) are in :mod:`aiida_bigmap_al.ledger`; this module only stores the
ledger. The lanes of a campaign share the group ``bigmap-al/campaign/<uuid>``: every suggestion
of the campaign is in it with the extra ``status`` (a :class:`~aiida_bigmap_al.ledger.Status`),
a measured one also with ``measurement``, the UUID of its measurement node, which is in the
group too.

Why a lock, and why this one. A lane reads the ledger, fits (about a second), suggests and
registers its point; two lanes on two daemon workers that do this at the same moment both
read a ledger without the other's point and measure the same point twice. A claim is atomic
only if reading the ledger, checking the point and registering it happen under one lock held
across all daemon workers, on SQLite and PostgreSQL alike. :func:`locked` makes that lock out
of a unique database row: the group ``bigmap-al/campaign/<uuid>/lock``. Group labels are
unique per type string (a ``UniqueConstraint('label', 'type_string')`` in both storage
backends of aiida-core), so of two workers storing it, the second gets an ``IntegrityError``
and waits; deleting the group releases the lock. The other way considered, one unique group
per claimed point, enforces exact equality only: it cannot refuse a point *within a
tolerance* of another, nor make the budget check part of the same transaction. The lock is
held only for the few queries of a claim, never during a fit or a measurement, so waiting is
rare and short; a lock older than :data:`STALE_AFTER` seconds was left by a worker that died
while holding it and is broken. Its age comes from the group's creation time, written by the
holder's clock: workers on several machines need synchronised clocks (NTP), as AiiDA's own
process times do.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import random
import time
import typing as t

from aiida import orm
from aiida.common import exceptions, timezone
from plumpy import greenback_bridge

from ..ledger import Entry, Status, point_of_row, point_of_suggestion

__all__ = ["CampaignLockTimeout", "CampaignState", "create_group", "entries", "locked", "pause", "read", "record",
           "register"]

LOGGER = logging.getLogger(__name__)

#: Extras of a suggestion in the campaign's group.
STATUS, MEASUREMENT = "status", "measurement"
#: Seconds after which a lock is taken to be left by a dead worker (a claim takes well under one).
STALE_AFTER = 30.0
#: Seconds a lane waits for the lock before it gives up (longer than STALE_AFTER, so a stale lock is broken first).
WAIT_AT_MOST = 120.0
#: Seconds between two attempts to take the lock: the first wait, doubled after each failed
#: attempt up to the last. Every attempt is a write to the database, so lanes that waited
#: at a fixed short interval slowed the holder they were waiting for (on SQLite, one writer
#: at a time) and burnt the CPU that the other lanes' fits needed.
RETRY_FIRST, RETRY_AT_MOST = 0.01, 0.2
#: Seconds between two checks whether a held lock is stale.
CHECK_STALE_EVERY = 1.0


class CampaignLockTimeout(RuntimeError):
    """The campaign's lock could not be taken in time."""


class CampaignState(t.NamedTuple):
    """What the lanes have done so far, oldest first: measurements, pending and failed suggestions,
    and the suggestion of each measurement (by the measurement's UUID)."""

    measured: list
    pending: list
    failed: list
    suggestion_of: dict


def create_group(campaign_uuid: str) -> orm.Group:
    """The new, empty group of a campaign."""
    return orm.Group(label=f"bigmap-al/campaign/{campaign_uuid}").store()


def read(group: orm.Group) -> CampaignState:
    """The campaign so far, from one query for the whole group (nodes with their extras)."""
    query = orm.QueryBuilder().append(orm.Group, filters={"uuid": group.uuid}, tag="group")
    query.append(orm.Node, with_group="group", project=["*", "extras"], tag="node")
    query.order_by({"node": {"ctime": "asc"}})
    nodes = query.all()
    suggestion_of = {extras[MEASUREMENT]: node for node, extras in nodes if extras.get(STATUS) == Status.MEASURED}
    return CampaignState(
        measured=[node for node, _ in nodes if node.uuid in suggestion_of],
        pending=[node for node, extras in nodes if extras.get(STATUS) == Status.PENDING],
        failed=[node for node, extras in nodes if extras.get(STATUS) == Status.FAILED],
        suggestion_of=suggestion_of)


def entries(state: CampaignState, start_rows: list, names: list[str]) -> list[Entry]:
    """The ledger: the rows the campaign started from (measured), then its suggestions."""
    suggestions = [(node, Status.PENDING) for node in state.pending] + [
        (node, Status.FAILED) for node in state.failed] + [
        (node, Status.MEASURED) for node in state.suggestion_of.values()]
    return ([Entry(point_of_row(row, names), Status.MEASURED) for row in start_rows]
            + [Entry(point_of_suggestion(node.get_dict()), status, node.uuid) for node, status in suggestions])


def register(group: orm.Group, suggestions: list, status: Status) -> None:
    """Put suggestions into the campaign's ledger with this status."""
    for suggestion in suggestions:
        suggestion.base.extras.set(STATUS, status.value)
    group.add_nodes(suggestions)


def record(group: orm.Group, suggestion, measurement=None) -> None:
    """The end of a suggestion's measurement: measured (with its node), or failed without one.

    The measurement enters the group before the status says so, so a reader never sees a
    measured suggestion whose measurement it cannot find.
    """
    if measurement is None:
        suggestion.base.extras.set(STATUS, Status.FAILED.value)
        return
    group.add_nodes(measurement)
    suggestion.base.extras.set_many({STATUS: Status.MEASURED.value, MEASUREMENT: measurement.uuid})


@contextlib.contextmanager
def locked(group: orm.Group, holder: str, stale_after: float = STALE_AFTER, wait: float = WAIT_AT_MOST):
    """Hold the campaign's lock (see the module's docstring) while the block runs.

    ``holder`` says who holds it (e.g. a lane's UUID), in the lock group's description, so that
    ``verdi group show`` names the holder of a lock that was left behind.
    """
    label = f"{group.label}/lock"
    lock = _acquire(label, holder, stale_after, wait).uuid
    try:
        yield
    finally:
        if not _delete(lock):  # nothing is left to release
            LOGGER.warning("the lock %s of %s was broken as stale while held (for more than %g s?)",
                           label, holder, stale_after)


def _acquire(label: str, holder: str, stale_after: float, wait: float) -> orm.Group:
    start = time.monotonic()
    interval, checked = RETRY_FIRST, start
    while True:
        try:
            return orm.Group(label=label, description=holder).store()
        except exceptions.IntegrityError:  # another worker holds it
            pass
        now = time.monotonic()
        if now - checked >= CHECK_STALE_EVERY:
            _break_if_stale(label, stale_after)
            checked = now
        if now - start > wait:
            raise CampaignLockTimeout(f"the lock {label!r} was held by others for more than {wait:g} s")
        pause(interval * random.uniform(0.5, 1.0))  # jitter: waiting lanes do not retry in step
        interval = min(2 * interval, RETRY_AT_MOST)


def pause(seconds: float) -> None:
    """Wait without holding up the daemon worker: inside a process step (which aiida-core runs
    in a greenback portal) the worker's event loop goes on with its other processes, e.g. the
    calculation of another lane that has files to upload; elsewhere, a plain sleep."""
    if greenback_bridge.has_portal():
        greenback_bridge.sync_await(asyncio.sleep(seconds))
    else:
        time.sleep(seconds)


def _break_if_stale(label: str, stale_after: float) -> None:
    """Delete the lock ``label`` if it is older than ``stale_after`` seconds: its holder died."""
    query = orm.QueryBuilder().append(orm.Group, filters={"label": label}, project=["uuid", "time", "description"])
    held = query.first()
    if held is None:
        return
    uuid, since, holder = held
    if timezone.now() - since >= datetime.timedelta(seconds=stale_after) and _delete(uuid):
        LOGGER.warning("broke the lock %s held by %s since %s (older than %g s)", label, holder, since, stale_after)


def _delete(uuid: str) -> bool:
    """Delete the lock group ``uuid`` if it still exists. By UUID, never by a remembered pk:
    SQLite gives the pk of a deleted row to the next new one, which may be the next holder's lock."""
    try:
        pk = orm.load_group(uuid=uuid).pk
    except exceptions.NotExistent:
        return False
    orm.Group.collection.delete(pk)
    return True
