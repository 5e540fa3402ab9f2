"""Group commit: callers come back only after their item is written; items that arrive while a
commit runs share the next one; a failed write fails every caller of its batch."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import pytest

from workers.runtime.group_commit import CommitterClosed, GroupCommitter


def test_items_arriving_during_a_commit_share_the_next_one() -> None:
    batches: list[list[int]] = []
    first_commit_started = threading.Event()
    release_first_commit = threading.Event()

    def write(items: Sequence[int]) -> None:
        if not batches:
            first_commit_started.set()
            release_first_commit.wait(timeout=10)
        batches.append(list(items))

    committer: GroupCommitter[int] = GroupCommitter(write)
    with ThreadPoolExecutor(max_workers=11) as pool:
        first = pool.submit(committer.submit, 0)
        first_commit_started.wait(timeout=10)
        rest = [pool.submit(committer.submit, number) for number in range(1, 11)]
        assert not first.done()  # not back before its commit finished
        release_first_commit.set()
        for future in [first, *rest]:
            future.result(timeout=10)
    committer.close()
    assert batches[0] == [0]
    assert sorted(batches[1]) == list(range(1, 11))  # one transaction for the ten
    assert len(batches) == 2


def test_a_failed_write_fails_its_callers_and_the_next_batch_proceeds() -> None:
    calls: list[list[str]] = []

    def write(items: Sequence[str]) -> None:
        calls.append(list(items))
        if "bad" in items:
            raise OSError("disk full")

    committer: GroupCommitter[str] = GroupCommitter(write)
    with pytest.raises(OSError):
        committer.submit("bad")
    committer.submit("good")
    committer.close()
    assert calls[-1] == ["good"]
    with pytest.raises(CommitterClosed):
        committer.submit("late")


def test_an_event_loop_can_await_the_commit() -> None:
    written: list[str] = []
    committer: GroupCommitter[str] = GroupCommitter(written.extend)

    async def deliver() -> None:
        await asyncio.wrap_future(committer.submit_nowait("job"))

    asyncio.run(deliver())
    assert written == ["job"]
    committer.close()


def test_a_caller_that_gave_up_leaves_the_writer_running() -> None:
    """A waiter's timeout cancels its future (asyncio.wait_for does): the item is withdrawn and
    the writer thread goes on committing everyone else's."""
    written: list[str] = []
    first_commit_started = threading.Event()
    release_first_commit = threading.Event()

    def write(items: Sequence[str]) -> None:
        if not written:
            first_commit_started.set()
            release_first_commit.wait(timeout=10)
        written.extend(items)

    committer: GroupCommitter[str] = GroupCommitter(write)
    first = committer.submit_nowait("first")
    first_commit_started.wait(timeout=10)
    gave_up = committer.submit_nowait("gave-up")  # waits for the next batch
    assert gave_up.cancel()
    release_first_commit.set()
    first.result(timeout=10)
    committer.submit_nowait("later").result(timeout=10)
    assert written == ["first", "later"]
    assert committer.alive
    committer.close()


def test_cancelling_a_future_whose_batch_is_being_written_changes_nothing() -> None:
    written: list[str] = []
    commit_started = threading.Event()
    release_commit = threading.Event()

    def write(items: Sequence[str]) -> None:
        commit_started.set()
        release_commit.wait(timeout=10)
        written.extend(items)

    committer: GroupCommitter[str] = GroupCommitter(write)
    shared = [committer.submit_nowait("a")]
    commit_started.wait(timeout=10)
    assert not shared[0].cancel()  # its commit has started: too late to withdraw it
    release_commit.set()
    shared[0].result(timeout=10)
    assert written == ["a"]
    committer.close()


def test_a_stopped_committer_refuses_items_at_once() -> None:
    committer: GroupCommitter[str] = GroupCommitter(lambda items: None)
    assert committer.alive
    committer.close()
    assert not committer.alive
    with pytest.raises(CommitterClosed):
        committer.submit_nowait("late")
