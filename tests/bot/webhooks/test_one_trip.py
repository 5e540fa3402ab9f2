"""Redis mode's one-round-trip admission (bot/webhooks/one_trip.py), against a real Redis:
each outcome of the script, through the web app as the forge sees it."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis
import redis.asyncio
from fastapi.testclient import TestClient
from pydantic import SecretStr

from bot.main import create_app
from bot.webhooks import events, one_trip, receiver
from bot.webhooks.enqueue import RedisEnqueuer
from bot.webhooks.one_trip import OneTrip, one_trip_for
from tests.bot.helpers import GITHUB_SECRET, commit, encode, github_headers, payload
from workers.jobs import SCAN_QUEUE, SCAN_QUEUES, ScanJob
from workers.runtime.settings import Settings
from workers.runtime.state import REDIS_PREFIX, SCANNED, RedisState

HELLO = "Codertocat/Hello-World"
EIGHT_DAYS_MS = 8 * 24 * 3600 * 1000


def _clean(client: redis.Redis) -> None:
    client.delete(*SCAN_QUEUES)
    for key in client.scan_iter(f"{REDIS_PREFIX}*"):
        client.delete(key)


@pytest.fixture
def direct(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    _clean(client)
    yield client
    _clean(client)
    client.close()


def _app(tmp_path: Path, url: str) -> TestClient:
    settings = Settings(
        github_app_id=1,
        github_webhook_secret=SecretStr(GITHUB_SECRET),
        data_dir=tmp_path / "data",
        broker_url=url,
        redis_url=url,
    )
    return TestClient(create_app(settings))


def _push(client: TestClient, delivery: str, data: dict[str, Any] | None = None) -> Any:
    body = encode(data or payload("github", "push.4"))  # push.4 touches README.md only
    return client.post(
        "/webhooks/github", content=body, headers=github_headers("push", body, delivery=delivery)
    )


def _queued_jobs(direct: redis.Redis) -> list[ScanJob]:
    """The jobs in the queues' lists, decoded as the worker decodes the Celery message."""
    jobs = []
    for raw in [raw for queue in SCAN_QUEUES for raw in direct.lrange(queue, 0, -1)]:
        message = orjson.loads(raw)
        args, _, _ = orjson.loads(base64.b64decode(message["body"]))
        jobs.append(ScanJob.from_dict(args[0]))
    return jobs


def _claim(delivery: str) -> str:
    return one_trip.claim_key(receiver.DELIVERIES, f"github:{delivery}")


def test_a_new_delivery_is_claimed_for_eight_days_and_in_the_queue_before_the_2xx(
    tmp_path: Path, redis_url: str, direct: redis.Redis
) -> None:
    response = _push(_app(tmp_path, redis_url), "new-1")
    assert response.status_code == 202
    assert [(job.repo, job.delivery_id) for job in _queued_jobs(direct)] == [(HELLO, "new-1")]
    assert EIGHT_DAYS_MS - 60_000 < direct.pttl(_claim("new-1")) <= EIGHT_DAYS_MS


def test_a_redelivery_is_a_duplicate_and_queues_nothing(
    tmp_path: Path, redis_url: str, direct: redis.Redis
) -> None:
    client = _app(tmp_path, redis_url)
    assert _push(client, "dup-1").status_code == 202
    again = _push(client, "dup-1")
    assert again.status_code == 200
    assert again.json() == {"status": "duplicate", "reason": receiver.DUPLICATE}
    assert len(_queued_jobs(direct)) == 1


def test_an_irrelevant_push_to_a_repository_scanned_before_is_ignored_without_a_claim(
    tmp_path: Path, redis_url: str, direct: redis.Redis
) -> None:
    state = RedisState(redis_url)
    state.mark(SCANNED, f"github:{HELLO}")  # as a worker does after a scan
    state.close()
    client = _app(tmp_path, redis_url)
    response = _push(client, "scanned-1")
    assert response.status_code == 200
    assert response.json() == {"status": "ignored", "reason": events.NOTHING_RELEVANT}
    assert direct.exists(_claim("scanned-1")) == 0
    relevant = payload("github", "push.4")
    relevant["commits"].append(commit("deploy/api.yaml"))  # asks no "scanned before"
    assert _push(client, "scanned-2", relevant).status_code == 202
    assert [job.delivery_id for job in _queued_jobs(direct)] == ["scanned-2"]


def test_a_push_refused_inside_the_script_gives_the_claim_back(
    tmp_path: Path, redis_url: str, direct: redis.Redis
) -> None:
    direct.set(SCAN_QUEUE, b"not a list")  # LPUSH fails with WRONGTYPE after the claim
    client = _app(tmp_path, redis_url)
    refused = _push(client, "refused-1")
    assert refused.status_code == 503
    assert refused.json() == {"detail": receiver.UNAVAILABLE}
    assert direct.exists(_claim("refused-1")) == 0
    direct.delete(SCAN_QUEUE)
    assert _push(client, "refused-1").status_code == 202  # the forge's retry gets in, once
    assert _push(client, "refused-1").status_code == 200
    assert [job.delivery_id for job in _queued_jobs(direct)] == ["refused-1"]


def test_redis_down_is_503_and_leaves_no_claim(tmp_path: Path, direct: redis.Redis) -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        down = f"redis://127.0.0.1:{probe.getsockname()[1]}/0"
    response = _push(_app(tmp_path, down), "down-1")
    assert response.status_code == 503
    assert response.json() == {"detail": receiver.UNAVAILABLE}


def test_a_script_unknown_to_redis_is_loaded_again(redis_url: str, direct: redis.Redis) -> None:
    admission = OneTrip(redis_url)

    async def twice() -> list[one_trip.Admitted]:
        first = await admission.admit(["m1"], claim_key="k", claim_ttl_seconds=60, mark_key=None)
        admission._sha = "0" * 40  # what a restarted Redis (or SCRIPT FLUSH) leaves us with
        second = await admission.admit(["m2"], claim_key="k2", claim_ttl_seconds=60, mark_key=None)
        return [first, second]

    assert asyncio.run(twice()) == [one_trip.Admitted.QUEUED] * 2
    assert direct.lrange(SCAN_QUEUE, 0, -1) == [b"m2", b"m1"]
    direct.delete("k", "k2")


def test_one_delivery_is_one_round_trip_and_no_redis_call_blocks_the_event_loop(
    tmp_path: Path, redis_url: str, direct: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocking_on_loop: list[str] = []
    awaited: list[str] = []
    sync_call: Any = redis.Redis.execute_command
    async_call: Any = redis.asyncio.Redis.execute_command

    def spy_sync(self: redis.Redis, *args: Any, **options: Any) -> Any:
        try:
            asyncio.get_running_loop()
            blocking_on_loop.append(str(args[0]))
        except RuntimeError:
            pass
        return sync_call(self, *args, **options)

    async def spy_async(self: redis.asyncio.Redis, *args: Any, **options: Any) -> Any:
        awaited.append(str(args[0]))
        return await async_call(self, *args, **options)

    monkeypatch.setattr(redis.Redis, "execute_command", spy_sync)
    monkeypatch.setattr(redis.asyncio.Redis, "execute_command", spy_async)
    client = _app(tmp_path, redis_url)
    assert _push(client, "trip-1").status_code == 202
    awaited.clear()  # the first delivery also loads the script
    assert _push(client, "trip-2").status_code == 202
    assert _push(client, "trip-2").status_code == 200
    assert awaited == ["EVALSHA", "EVALSHA"]
    assert blocking_on_loop == []


def test_one_trip_needs_the_broker_and_the_state_in_the_same_database() -> None:
    state = RedisState("redis://127.0.0.1:6379/3")
    assert one_trip_for(state, RedisEnqueuer("redis://127.0.0.1:6379/3")) is not None
    assert one_trip_for(state, RedisEnqueuer("redis://127.0.0.1:6379/4")) is None
    default = RedisState("redis://127.0.0.1:6379")  # database 0 unless the URL names one
    assert one_trip_for(default, RedisEnqueuer("redis://127.0.0.1:6379/0")) is not None
    state.close()
    default.close()


def test_an_installation_takes_the_general_path_with_spaced_countdowns_and_dedupe(
    tmp_path: Path, redis_url: str, direct: redis.Redis
) -> None:
    data = payload("github", "installation.1")
    template = data["repositories"][0]
    data["repositories"] = [dict(template, full_name=f"o/r{n}") for n in range(3)]
    body = encode(data)
    headers = github_headers("installation", body, delivery="inst-1")
    client = _app(tmp_path, redis_url)
    response = client.post("/webhooks/github", content=body, headers=headers)
    assert response.status_code == 202
    countdowns = [job["countdown"] for job in response.json()["jobs"]]
    assert countdowns == sorted(countdowns) and len(set(countdowns)) == 3
    assert client.post("/webhooks/github", content=body, headers=headers).status_code == 200
    assert sorted(job.repo for job in _queued_jobs(direct)) == ["o/r0", "o/r1", "o/r2"]


def test_a_person_closing_the_fix_pr_is_counted_as_declined_once(
    tmp_path: Path, redis_url: str, direct: redis.Redis
) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    pull = payload("github", "pull_request.3")
    pull["pull_request"]["head"]["ref"] = events.BOT_BRANCH
    pull["pull_request"]["user"]["login"] = "pullpolicy[bot]"  # the bot opened it
    body = encode(pull)
    headers = github_headers("pull_request", body, delivery="close-1")
    client = _app(tmp_path, redis_url)
    assert client.post("/webhooks/github", content=body, headers=headers).status_code == 202
    assert client.post("/webhooks/github", content=body, headers=headers).status_code == 200
    declined = [
        sample.value
        for family in text_string_to_metric_families(client.get("/metrics").text)
        for sample in family.samples
        if sample.name == "pullpolicy_pull_requests_total"
        and sample.labels == {"action": "declined", "forge": "github"}
    ]
    assert declined == [1.0]
