"""One delivery, start to finish, without a web framework: verify → parse → decide → dedupe → queue.

Talks to the shared state (dedupe claims, "scanned before" marks) and the broker only — never
to a forge. Framework-free, so tests and the web app drive the same code.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import orjson

from bot.webhooks import events
from bot.webhooks.enqueue import Enqueuer, scan_message
from bot.webhooks.one_trip import Admitted, claim_key, mark_key, one_trip_for
from bot.webhooks.verify import verify_github, verify_gitlab
from workers.jobs import ScanJob
from workers.runtime.logs import LOGGER_NAME
from workers.runtime.metrics import DeliveryMetrics
from workers.runtime.state import SCANNED, State

DELIVERIES = "delivery"  # claim namespace: deliveries already queued
INSTALLATION_SCANS = "installation-scan"  # claim namespace: initial scans already queued
DELIVERY_TTL_SECONDS = 8 * 24 * 3600  # GitHub redelivers up to a few days later
INSTALLATION_SCAN_TTL_SECONDS = 3600
QUEUE_WAIT_SECONDS = 30.0  # a commit this slow means the disk is gone: answer 503

INVALID_SIGNATURE = "invalid or missing webhook signature"
DUPLICATE = "delivery already received"
ALREADY_QUEUED = "initial scans for these repositories are already queued"
UNAVAILABLE = "could not queue the scan; retry the delivery"

logger = logging.getLogger(LOGGER_NAME)

BatchEnqueue = Callable[[Sequence[tuple[ScanJob, float]]], Future[None]]
"""`EmbeddedEnqueuer.enqueue_all_soon`: a delivery's jobs in one commit, a future for it."""


@dataclass(frozen=True)
class Outcome:
    """The answer to the forge, and what the log line adds about it."""

    status_code: int
    body: dict[str, Any]
    log: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Accepted:
    """A verified delivery with its claims taken; `jobs` (with countdowns) still to be queued."""

    context: dict[str, Any]
    delivery_key: str | None
    jobs: list[tuple[ScanJob, float]]
    declined: bool = False  # a person closed the fix PR unmerged: counted once queued


class Receiver:
    """`decide` does the CPU work and the short state calls; `queue` talks to the broker.

    `handle` runs both. The web app calls them separately so that only a broker client that
    blocks (`Enqueuer.blocking`) costs a hop to a worker thread.
    """

    def __init__(
        self,
        secrets: Mapping[str, bytes | None],
        state: State,
        enqueuer: Enqueuer,
        *,
        installation_spacing: float,
        metrics: DeliveryMetrics | None = None,
    ) -> None:
        self._secrets = dict(secrets)  # forge -> secret; None only in insecure development mode
        self._state = state
        self._enqueuer = enqueuer
        self._spacing = installation_spacing
        self._metrics = metrics
        self._one_trip = one_trip_for(state, enqueuer)

    @property
    def queue_blocks(self) -> bool:
        return self._enqueuer.blocking

    @property
    def decide_blocks(self) -> bool:
        """True when deciding waits on the network (the shared state is Redis): the web app
        then runs the whole delivery (`handle`) in one hop to a worker thread."""
        return bool(getattr(self._state, "blocking", False))

    @property
    def admits_in_one_trip(self) -> bool:
        """True when the broker and the state are one Redis database: `handle_async` then
        decides and queues a delivery on the event loop with one Redis round trip."""
        return self._one_trip is not None

    async def handle_async(self, forge: str, headers: Mapping[str, str], body: bytes) -> Outcome:
        """`handle` with the dedupe claim, the "scanned before" check and the push in one
        atomic Lua script (bot/webhooks/one_trip.py), awaited on the event loop."""
        one_trip = self._one_trip
        assert one_trip is not None, "handle_async needs the broker and the state in one Redis"
        lowered, context = _context(forge, headers)
        asked: list[str] = []

        def ask_the_script(lock_key: str) -> bool:
            asked.append(lock_key)
            return False  # the script answers: it ignores the delivery if the mark is there

        interpreted = self._interpret(forge, lowered, body, context, ask_the_script)
        if isinstance(interpreted, Outcome):
            return self._finish(context, interpreted)
        jobs, declined = interpreted
        if len(asked) > 1 or any(job.reason == events.REASON_INSTALLATION for job in jobs):
            # Initial scans: a claim per repository and spaced countdowns. One per installation,
            # rare: the general path, off the event loop.
            return await asyncio.to_thread(self.handle, forge, headers, body)
        delivery_key = _delivery_key(forge, context)
        try:
            admitted = await one_trip.admit(
                [scan_message(job, 0.0)[1] for job in jobs],
                claim_key=claim_key(DELIVERIES, delivery_key) if delivery_key else None,
                claim_ttl_seconds=DELIVERY_TTL_SECONDS,
                mark_key=mark_key(SCANNED, asked[0]) if asked else None,
            )
        except Exception as error:  # atomic: nothing to give back, the forge retries
            return self._finish(context, _unavailable(error, queued=0))
        if admitted is Admitted.SCANNED:
            return self._finish(context, _ignored(events.NOTHING_RELEVANT))
        if admitted is Admitted.DUPLICATE:
            return self._finish(context, _duplicate())
        if declined:  # a write to the shared numbers: off the event loop
            await asyncio.to_thread(self._count_declined, forge)
        accepted = Accepted(context, delivery_key, [(job, 0.0) for job in jobs])
        return self._queued(accepted, [_queued_job(job, 0.0) for job in jobs])

    def handle(self, forge: str, headers: Mapping[str, str], body: bytes) -> Outcome:
        decision = self.decide(forge, headers, body)
        return decision if isinstance(decision, Outcome) else self.queue(decision)

    def decide(self, forge: str, headers: Mapping[str, str], body: bytes) -> Outcome | Accepted:
        """Verify, parse, interpret and dedupe one delivery; a final Outcome is logged here."""
        lowered, context = _context(forge, headers)
        decision = self._decide(forge, lowered, body, context)
        if isinstance(decision, Outcome):
            self._finish(context, decision)
        return decision

    def queue(self, accepted: Accepted) -> Outcome:
        """Hand the jobs to the broker; on failure, give the claims back so a retry gets in."""
        enqueue_all_soon = self._batch_enqueue()
        if enqueue_all_soon is not None:
            return self._queue_batch(accepted, enqueue_all_soon)
        queued: list[dict[str, Any]] = []
        for index, (job, countdown) in enumerate(accepted.jobs):
            try:
                self._enqueuer.enqueue(job, countdown=countdown)
            except Exception as error:  # broker down: let the forge's redelivery through
                return self._not_queued(accepted, index, len(queued), error)
            queued.append(_queued_job(job, countdown))
        return self._queued(accepted, queued, count_declined=True)

    @property
    def queue_awaits(self) -> bool:
        """True when the enqueuer hands back a future for a delivery's jobs
        (`enqueue_all_soon`): `queue_async`."""
        return self._batch_enqueue() is not None

    def _batch_enqueue(self) -> BatchEnqueue | None:
        enqueue_all_soon = getattr(self._enqueuer, "enqueue_all_soon", None)
        return enqueue_all_soon if callable(enqueue_all_soon) else None

    def _queue_batch(self, accepted: Accepted, enqueue_all_soon: BatchEnqueue) -> Outcome:
        done: Future[None] | None = None
        try:
            done = enqueue_all_soon(accepted.jobs)
            done.result(timeout=QUEUE_WAIT_SECONDS)
        except Exception as error:  # queue unwritable: let the forge's redelivery through
            if done is not None:
                done.cancel()  # withdrawn if its commit has not started (see queue_async)
            return self._not_queued(accepted, 0, 0, error)
        return self._queued(accepted, _queued_jobs(accepted), count_declined=True)

    async def queue_async(self, accepted: Accepted) -> Outcome:
        """`queue` for an enqueuer whose writes complete on a thread of its own (the embedded
        queue's group commit): the event loop awaits the delivery's one commit instead of a
        worker thread blocking on it.

        All the delivery's jobs are one item of the group commit, so a timeout cancels only
        this delivery's item: withdrawn if its commit has not started (the 503 then matches
        the file), left alone if it has (a redelivery may then queue the jobs twice:
        at-least-once). Never another delivery's work, never the writer.
        """
        enqueue_all_soon = self._batch_enqueue()
        assert enqueue_all_soon is not None, "queue_async needs enqueue_all_soon (queue_awaits)"
        try:
            done = asyncio.wrap_future(enqueue_all_soon(accepted.jobs))
            await asyncio.wait_for(done, QUEUE_WAIT_SECONDS)
        except Exception as error:  # queue unwritable: let the forge's redelivery through
            return self._not_queued(accepted, 0, 0, error)
        return self._queued(accepted, _queued_jobs(accepted), count_declined=True)

    def _queued(
        self, accepted: Accepted, queued: list[dict[str, Any]], *, count_declined: bool = False
    ) -> Outcome:
        repositories = ",".join(sorted({job.repo for job, _ in accepted.jobs}))
        outcome = Outcome(
            202,
            {"status": "queued", "jobs": queued},
            {"jobs": len(queued), "repository": repositories},
        )
        if accepted.declined and count_declined:
            self._count_declined(accepted.context["forge"])
        return self._finish(accepted.context, outcome)

    def _not_queued(self, accepted: Accepted, index: int, queued: int, error: Exception) -> Outcome:
        self._release(accepted.delivery_key, [job for job, _ in accepted.jobs[index:]])
        return self._finish(accepted.context, _unavailable(error, queued=queued))

    def _finish(self, context: dict[str, Any], outcome: Outcome) -> Outcome:
        """Log the delivery's final answer and count it."""
        level = logging.WARNING if outcome.status_code >= 400 else logging.INFO
        status = outcome.body.get("status") or outcome.body.get("detail")
        logger.log(level, "webhook %s", status, extra=context | outcome.log)
        if self._metrics is not None:
            # An unverified delivery's event header is anyone's text: no series of its own.
            event = None if outcome.status_code == 401 else context["event"]
            self._metrics.delivery(context["forge"], event, outcome_label(outcome))
        return outcome

    def _decide(
        self, forge: str, headers: dict[str, str], body: bytes, context: dict[str, Any]
    ) -> Outcome | Accepted:
        interpreted = self._interpret(forge, headers, body, context, self._scanned)
        if isinstance(interpreted, Outcome):
            return interpreted
        jobs, declined = interpreted
        try:
            return self._claim(forge, context, jobs, declined=declined)
        except Exception as error:  # shared state unreachable: the forge should retry later
            return _unavailable(error, queued=0)

    def _interpret(
        self,
        forge: str,
        headers: dict[str, str],
        body: bytes,
        context: dict[str, Any],
        scanned_before: events.ScannedBefore,
    ) -> Outcome | tuple[list[ScanJob], bool]:
        """Verify (before parsing anything), parse and interpret: the jobs asked for and
        whether a person declined the fix PR, or the final answer."""
        if not self._authentic(forge, headers, body):
            return Outcome(401, {"detail": INVALID_SIGNATURE})
        try:
            payload = _parse(body, headers.get("content-type", ""))
        except ValueError as error:
            return Outcome(400, {"detail": f"malformed body: {error}"})
        repository = _repository_name(payload)
        if repository:
            context["repository"] = repository
        try:
            decision = events.interpret(forge, headers, payload, scanned_before=scanned_before)
            if isinstance(decision, events.Ignored):
                return _ignored(decision.reason)
            declined = any(job.reason == events.REASON_PR_CLOSED for job in decision) and (
                events.declined_by_a_person(forge, payload)
            )
            return decision, declined
        except events.MalformedPayload as error:
            return Outcome(400, {"detail": f"malformed payload: {error}"})
        except Exception as error:  # shared state unreachable: the forge should retry later
            return _unavailable(error, queued=0)

    def _authentic(self, forge: str, headers: Mapping[str, str], body: bytes) -> bool:
        secret = self._secrets.get(forge)
        if secret is None:
            return forge in self._secrets  # served without a secret: insecure development mode
        if forge == events.GITHUB:
            return verify_github(secret, body, headers.get("x-hub-signature-256"))
        return verify_gitlab(secret, headers.get("x-gitlab-token"))

    def _scanned(self, lock_key: str) -> bool:
        return self._state.is_marked(SCANNED, lock_key)

    def _claim(
        self, forge: str, context: dict[str, Any], jobs: list[ScanJob], *, declined: bool
    ) -> Outcome | Accepted:
        delivery_key = _delivery_key(forge, context)
        if delivery_key and not self._state.claim(DELIVERIES, delivery_key, DELIVERY_TTL_SECONDS):
            return _duplicate()
        to_queue: list[ScanJob] = []
        try:
            to_queue.extend(job for job in jobs if self._first_initial_scan(job))
        except Exception:  # give back what this delivery claimed, so its retry is not a duplicate
            self._release(delivery_key, to_queue)
            raise
        if not to_queue:
            return _ignored(ALREADY_QUEUED)
        countdowns = [
            index * self._spacing if job.reason == events.REASON_INSTALLATION else 0.0
            for index, job in enumerate(to_queue)
        ]
        jobs_due = list(zip(to_queue, countdowns, strict=True))
        return Accepted(context, delivery_key, jobs_due, declined=declined)

    def _count_declined(self, forge: str) -> None:
        if self._metrics is None:
            return
        try:
            self._metrics.shared.pull_request_declined(forge)
        except Exception as error:  # a lost count must not lose the scan: log, go on
            logger.warning("could not count a declined PR", extra={"error": type(error).__name__})

    def _first_initial_scan(self, job: ScanJob) -> bool:
        if job.reason != events.REASON_INSTALLATION:
            return True
        return self._state.claim(INSTALLATION_SCANS, job.lock_key, INSTALLATION_SCAN_TTL_SECONDS)

    def _release(self, delivery_key: str | None, unqueued: list[ScanJob]) -> None:
        try:
            if delivery_key:
                self._state.release(DELIVERIES, delivery_key)
            for job in unqueued:
                if job.reason == events.REASON_INSTALLATION:
                    self._state.release(INSTALLATION_SCANS, job.lock_key)
        except Exception:  # state down too: the claims expire on their own
            logger.warning("could not release claims after a failed enqueue")


_LABELS = {202: "queued", 400: "malformed", 401: "unauthorized", 413: "too-large"}


def outcome_label(outcome: Outcome) -> str:
    """The `outcome` label of the deliveries metric: queued, ignored, duplicate, unauthorized,
    malformed, too-large or unavailable."""
    if outcome.status_code == 200:
        return str(outcome.body.get("status", "ignored"))
    return _LABELS.get(outcome.status_code, "unavailable")


def _unavailable(error: Exception, *, queued: int) -> Outcome:
    # The exception's text may hold a broker URL with credentials: log its type only.
    return Outcome(503, {"detail": UNAVAILABLE}, {"error": type(error).__name__, "jobs": queued})


def _duplicate() -> Outcome:
    return Outcome(200, {"status": "duplicate", "reason": DUPLICATE})


def _queued_jobs(accepted: Accepted) -> list[dict[str, Any]]:
    return [_queued_job(job, countdown) for job, countdown in accepted.jobs]


def _queued_job(job: ScanJob, countdown: float) -> dict[str, Any]:
    return {"repo": job.repo, "reason": job.reason, "countdown": countdown}


def _context(forge: str, headers: Mapping[str, str]) -> tuple[dict[str, str], dict[str, Any]]:
    """The headers with lower-case names, and the log line's fields known before verifying."""
    lowered = {name.lower(): value for name, value in headers.items()}
    context: dict[str, Any] = {
        "forge": forge,
        "event": lowered.get("x-github-event") or lowered.get("x-gitlab-event"),
        "delivery_id": _delivery_id(forge, lowered),
    }
    return lowered, context


def _delivery_key(forge: str, context: Mapping[str, Any]) -> str | None:
    delivery_id = context["delivery_id"]
    return f"{forge}:{delivery_id}" if delivery_id else None


def _ignored(reason: str) -> Outcome:
    return Outcome(200, {"status": "ignored", "reason": reason}, {"reason": reason})


def _delivery_id(forge: str, headers: Mapping[str, str]) -> str | None:
    if forge == events.GITHUB:
        return events.github_delivery_id(headers)
    return events.gitlab_delivery_id(headers)


def _parse(body: bytes, content_type: str) -> dict[str, Any]:
    """The JSON object of a delivery; GitHub repository hooks may send it form-encoded."""
    if content_type.split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
        fields = parse_qs(body.decode("utf-8"), strict_parsing=True)
        if len(fields.get("payload", [])) != 1:
            raise ValueError("form body without one payload field")
        text: str | bytes = fields["payload"][0]
    else:
        text = body
    try:
        payload = orjson.loads(text)  # the receiver's hot path: ~5x faster than json
    except orjson.JSONDecodeError as error:
        raise ValueError(f"not JSON ({type(error).__name__})") from None
    if not isinstance(payload, dict):
        raise ValueError("not a JSON object")
    return payload


def _repository_name(payload: Mapping[str, Any]) -> str | None:
    for container, name in (("repository", "full_name"), ("project", "path_with_namespace")):
        value = payload.get(container)
        if isinstance(value, Mapping) and isinstance(value.get(name), str):
            return str(value[name])
    return None
