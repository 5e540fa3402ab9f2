"""The embedded broker is at-least-once: a taken message is leased, never lost; only an ack
deletes it. Real kombu connections on a real file; a real process killed holding a message."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kombu.connection
import pytest

from workers.runtime.sqlite_queue import Lease, NewMessage, SqliteQueue, broker_url
from workers.runtime.sqlite_transport import store_for

QUEUE = "scans"
Connection: Any = kombu.connection.Connection  # kombu is untyped


@pytest.fixture
def url(tmp_path: Path) -> str:
    return broker_url(tmp_path / "queue.sqlite")


def publish(url: str, body: str, **options: Any) -> None:
    with Connection(url) as connection:
        connection.SimpleQueue(QUEUE).put(body, **options)


@pytest.fixture
def consumer(url: str) -> Iterator[Any]:
    with Connection(url, transport_options={"visibility_timeout": 3600}) as connection:
        queue = connection.SimpleQueue(QUEUE)
        yield queue
        queue.close()


def get(url: str, **transport_options: Any) -> Any:
    """One message from a fresh consumer (a new connection, as a restarted worker has)."""
    with Connection(url, transport_options=transport_options) as connection:
        queue = connection.SimpleQueue(QUEUE)
        try:
            message = queue.get(timeout=0.5)
        except queue.Empty:
            return None
        body = message.payload
        message.ack()
        return body


def test_a_taken_message_is_hidden_until_acknowledged_then_gone(url: str, consumer: Any) -> None:
    publish(url, "scan-1")
    message = consumer.get(timeout=1)
    assert get(url) is None  # leased by the first consumer
    message.ack()
    assert get(url) is None


def test_a_rejected_message_comes_back_at_once(url: str, consumer: Any) -> None:
    publish(url, "scan-1")
    consumer.get(timeout=1).reject(requeue=True)
    assert get(url) == "scan-1"


def test_a_consumer_that_closes_hands_back_what_it_did_not_acknowledge(url: str) -> None:
    publish(url, "scan-1")
    with Connection(url, transport_options={"visibility_timeout": 3600}) as connection:
        queue = connection.SimpleQueue(QUEUE)
        queue.get(timeout=1)
        queue.close()  # a warm shutdown: unacknowledged messages are restored
    assert get(url) == "scan-1"
    assert get(url) is None  # restored in place, not copied


def test_a_lease_that_runs_out_makes_the_message_available_again(url: str) -> None:
    publish(url, "scan-1")
    with Connection(url, transport_options={"visibility_timeout": 0}) as connection:
        connection.SimpleQueue(QUEUE).get(timeout=1)  # taken with a lease of 0 s, never acked
        assert get(url) == "scan-1"


TAKE_AND_HANG = """
import sys, time
import workers.runtime.sqlite_transport
from kombu import Connection
with Connection(sys.argv[1], transport_options={"visibility_timeout": 3600}) as connection:
    message = connection.SimpleQueue("scans").get(timeout=10)
    print("taken", message.payload, flush=True)
    time.sleep(600)
"""


def test_a_message_held_by_a_killed_consumer_returns_when_the_next_one_starts(url: str) -> None:
    publish(url, "scan-1")
    holder = subprocess.Popen(
        [sys.executable, "-c", TAKE_AND_HANG, url], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().split() == ["taken", "scan-1"]
        assert get(url, visibility_timeout=3600) is None  # its holder is alive: still leased
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    assert get(url, visibility_timeout=3600) == "scan-1"  # long before the lease runs out


def payload_of(lease: Lease | None) -> str | None:
    return None if lease is None else lease.payload


def test_a_message_with_a_due_time_waits_for_it(tmp_path: Path) -> None:
    store = SqliteQueue(tmp_path / "queue.sqlite")
    store.put_many([NewMessage(QUEUE, "later", "{}", due_at=2**40), NewMessage(QUEUE, "now", "{}")])
    assert store.size(QUEUE) == 1
    assert payload_of(store.take(QUEUE, 60)) == "{}"
    assert store.take(QUEUE, 60) is None  # "later" is not due; "now" is leased
    store.close()


def test_only_dead_holders_lose_their_leases(tmp_path: Path) -> None:
    store = SqliteQueue(tmp_path / "queue.sqlite")
    store.put_many([NewMessage(QUEUE, "a", '"a"'), NewMessage(QUEUE, "b", '"b"')])
    assert payload_of(store.take(QUEUE, 3600, holder=111)) == '"a"'
    assert payload_of(store.take(QUEUE, 3600, holder=222)) == '"b"'
    assert store.release_dead_holders(alive=[222]) == 1
    assert payload_of(store.take(QUEUE, 3600)) == '"a"'
    assert store.take(QUEUE, 3600) is None
    store.close()


def test_a_lease_that_ran_out_is_no_longer_its_holder_s_to_ack_or_release(tmp_path: Path) -> None:
    store = SqliteQueue(tmp_path / "queue.sqlite")
    store.put_many([NewMessage(QUEUE, "a", '"a"')])
    first = store.take(QUEUE, 0, holder=111)  # runs out at once
    second = store.take(QUEUE, 3600, holder=222)  # another consumer takes the message
    assert first is not None and second is not None
    assert not store.release(first)  # the first one's shutdown: not its message any more
    assert store.take(QUEUE, 3600) is None  # still leased by the second
    assert not store.ack(first)  # the first one's late ack
    assert store.release(second)
    assert payload_of(store.take(QUEUE, 3600)) == '"a"'  # not deleted by the stale ack
    store.close()


def test_a_consumer_whose_lease_ran_out_leaves_the_next_holder_s_message_alone(url: str) -> None:
    """Two consumers of one process (one pid): the lease itself, not only its holder, decides."""
    publish(url, "scan-1")
    with Connection(url, transport_options={"visibility_timeout": 0}) as slow:
        stale = slow.SimpleQueue(QUEUE)
        late = stale.get(timeout=1)  # its lease runs out at once
        with Connection(url, transport_options={"visibility_timeout": 3600}) as next_one:
            running = next_one.SimpleQueue(QUEUE)
            message = running.get(timeout=1)
            late.ack()  # the slow consumer finishes late: the message stays
            stale.close()  # and shuts down: nothing handed back
            assert get(url) is None  # still held by the next consumer
            message.reject(requeue=True)
            assert get(url) == "scan-1"  # neither deleted nor duplicated
            running.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() is POSIX")
def test_a_forked_child_opens_its_own_store(tmp_path: Path) -> None:
    """A pool process forked after a hard time limit must not use the parent's connections."""
    path = str(tmp_path / "queue.sqlite")
    parent_store = store_for(path)
    parent_store.put_many([NewMessage(QUEUE, "a", '"a"')])
    pid = os.fork()
    if pid == 0:  # the child: report through the exit code only
        code = 1
        try:
            child_store = store_for(path)
            if child_store is not parent_store and payload_of(child_store.take(QUEUE, 60)):
                code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert store_for(path) is parent_store  # the parent keeps its own
    assert parent_store.take(QUEUE, 60) is None  # the child's lease was written to the file
