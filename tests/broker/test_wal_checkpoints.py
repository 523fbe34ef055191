"""A serving broker on SQLite checkpoints its write-ahead log by itself, off the request path.

The commits of the server never checkpoint (a commit that did would wait for the database
file's fsync); a thread of the server does, every second. What a user relies on: the database
file alone (a backup copying ``broker.sqlite``, say) is at most a moment behind the broker, and
the log does not grow without end.
"""

from __future__ import annotations

import shutil
import sqlite3
import time

from .conftest import BrokerProcess, parameters, populate


def _rows_in_file_alone(path, tmp_path) -> int:
    """Requests in a copy of the database file without its WAL (what a file backup holds)."""
    copy = tmp_path / "copy.sqlite"
    shutil.copyfile(path, copy)
    try:
        with sqlite3.connect(copy) as connection:
            return connection.execute("SELECT count(*) FROM requests").fetchone()[0]
    except sqlite3.DatabaseError:  # copied in the middle of a checkpoint's writes, or not there yet
        return 0
    finally:
        for leftover in tmp_path.glob("copy.sqlite*"):
            leftover.unlink()


def test_posted_requests_reach_the_database_file_within_seconds(sqlite_db, tmp_path):
    accounts = populate(sqlite_db, tmp_path)
    server = BrokerProcess(sqlite_db, tmp_path / "server.log").wait_ready()
    try:
        alice = server.client("alice")
        for i in range(20):  # far fewer pages than SQLite's own checkpoint threshold (1000)
            alice.post_request(quantity="conductivity", methods=["two_electrode"],
                               parameters={"two_electrode": parameters(i / 100)},
                               tenant_uuid=accounts.tenants["lab-a"])
        deadline, found = time.monotonic() + 10, 0
        while time.monotonic() < deadline and found < 20:
            time.sleep(0.5)
            found = _rows_in_file_alone(sqlite_db, tmp_path)
        assert found == 20
    finally:
        server.stop()
