"""Prometheus metrics: what an operator watches on `/metrics`.

Deliveries are counted where they happen, in each web process (`DeliveryMetrics`, one
prometheus_client registry per app). Scans happen in worker processes, maybe on other machines,
while Prometheus scrapes the web: so workers add their numbers to the shared state (Redis, or
the data dir's SQLite file; `SharedMetrics`), and every web process renders those totals
(`SharedMetricsCollector`). Shared totals are the whole deployment's: with several web replicas,
aggregate them with `max`, not `sum`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import Enum

import orjson
from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from workers.runtime.logs import LOGGER_NAME
from workers.runtime.state import State

NAMESPACE = "metrics"  # the shared state's namespace for these numbers
logger = logging.getLogger(LOGGER_NAME)


class Kind(Enum):
    COUNTER = "counter"
    GAUGE = "gauge"
    HISTOGRAM = "histogram"


@dataclass(frozen=True)
class Family:
    name: str  # without the `_total` a counter gets when rendered
    kind: Kind
    help: str
    labels: tuple[str, ...]
    buckets: tuple[float, ...] = ()  # histograms: upper bounds, +Inf added


SCANS = Family(
    "pullpolicy_scans",
    Kind.COUNTER,
    "Scans finished, by outcome: a pull request action (opened, updated, unchanged, closed, "
    "hands-off, branch-blocked, none), disabled, invalid-config, checked (mode: check), dropped "
    "(repository gone or access lost), failed (retries exhausted) or timed-out (time limit).",
    ("forge", "outcome"),
)
SCAN_RETRIES = Family(
    "pullpolicy_scan_retries",
    Kind.COUNTER,
    "Scans put back on the queue, by reason: rate-limited, transient (5xx, timeouts) or busy "
    "(another scan holds the repository or the installation is at its cap).",
    ("forge", "reason"),
)
FINDINGS = Family(
    "pullpolicy_findings",
    Kind.COUNTER,
    "Findings reported by finished scans (a container still unfixed is counted by each scan).",
    ("forge",),
)
PULL_REQUESTS = Family(
    "pullpolicy_pull_requests",
    Kind.COUNTER,
    "Fix pull requests opened, updated or closed by the bot, and declined (closed unmerged by "
    "someone other than the bot).",
    ("forge", "action"),
)
API_CALLS = Family(
    "pullpolicy_forge_api_calls",
    Kind.COUNTER,
    "Forge API requests made by scans, retries included.",
    ("forge",),
)
RATE_LIMIT = Family(
    "pullpolicy_forge_rate_limit_remaining",
    Kind.GAUGE,
    "Requests left in the forge's rate-limit window as last seen, per installation ('token' "
    "for a personal or project token).",
    ("forge", "installation"),
)
SCAN_DURATION = Family(
    "pullpolicy_scan_duration_seconds",
    Kind.HISTOGRAM,
    "Time a scan task ran, from taking the repository's lock to its result.",
    ("forge",),
    (0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
)
QUEUE_WAIT = Family(
    "pullpolicy_scan_queue_wait_seconds",
    Kind.HISTOGRAM,
    "Time a scan waited in the queue after it was due (first attempts only).",
    ("forge",),
    (0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600),
)
SHARED_FAMILIES = (
    SCANS,
    SCAN_RETRIES,
    FINDINGS,
    PULL_REQUESTS,
    API_CALLS,
    RATE_LIMIT,
    SCAN_DURATION,
    QUEUE_WAIT,
)
PR_ACTIONS = frozenset({"opened", "updated", "closed"})  # scan outcomes that are PR writes


def _key(family: Family, series: str, labels: Iterable[str]) -> str:
    """One stored number: family, series ("" or a histogram part) and label values."""
    return orjson.dumps([family.name, series, *labels]).decode()


class SharedMetrics:
    """Adds the workers' (and the receiver's rare) numbers to the shared state."""

    def __init__(self, state: State) -> None:
        self._state = state

    def scan_finished(
        self,
        forge: str,
        outcome: str,
        *,
        findings: int,
        api_calls: int,
        duration: float,
        queue_wait: float | None,
    ) -> None:
        amounts = {
            _key(SCANS, "", (forge, outcome)): 1.0,
            _key(FINDINGS, "", (forge,)): float(findings),
            _key(API_CALLS, "", (forge,)): float(api_calls),
        }
        if outcome in PR_ACTIONS:
            amounts[_key(PULL_REQUESTS, "", (forge, outcome))] = 1.0
        amounts |= _observation(SCAN_DURATION, (forge,), duration)
        if queue_wait is not None:
            amounts |= _observation(QUEUE_WAIT, (forge,), queue_wait)
        self._state.add(NAMESPACE, amounts)

    def scan_ended_early(self, forge: str, outcome: str, *, api_calls: int) -> None:
        """A scan that ended without a result: "dropped", "failed" (retries exhausted) or
        "timed-out" (stopped at the time limit), else put back on the queue (outcome: the retry
        reason)."""
        final = outcome in ("dropped", "failed", "timed-out")
        family, label = (SCANS, outcome) if final else (SCAN_RETRIES, outcome)
        self._state.add(
            NAMESPACE,
            {_key(family, "", (forge, label)): 1.0, _key(API_CALLS, "", (forge,)): api_calls},
        )

    def pull_request_declined(self, forge: str) -> None:
        self._state.add(NAMESPACE, {_key(PULL_REQUESTS, "", (forge, "declined")): 1.0})

    def rate_limits(self, forge: str, remaining: Mapping[str, int]) -> None:
        """Requests left per installation id (or "token"), as the forge last said."""
        values = {_key(RATE_LIMIT, "", (forge, who)): float(n) for who, n in remaining.items()}
        if values:
            self._state.put(NAMESPACE, values)


def _observation(family: Family, labels: tuple[str, ...], value: float) -> dict[str, float]:
    """A histogram observation as additions: every bucket it falls in (buckets are stored
    cumulative, as Prometheus renders them), the sum and the count."""
    amounts = {
        _key(family, f"le={float(bound)}", labels): 1.0
        for bound in family.buckets
        if value <= bound
    }
    amounts[_key(family, "le=+Inf", labels)] = 1.0
    amounts[_key(family, "sum", labels)] = value
    amounts[_key(family, "count", labels)] = 1.0
    return amounts


class SharedMetricsCollector(Collector):
    """Renders the shared numbers at scrape time. When the state cannot be read, the scrape
    still answers (with the web process's own metrics) and `pullpolicy_shared_metrics_up` is 0."""

    def __init__(self, state: State) -> None:
        self._state = state

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "pullpolicy_shared_metrics_up",
            "1 when the workers' metrics could be read from the shared state, else 0.",
        )
        try:
            stored = self._state.numbers(NAMESPACE)
        except Exception as error:  # the message may hold a URL with credentials: type only
            logger.warning("could not read shared metrics", extra={"error": type(error).__name__})
            up.add_metric([], 0.0)
            yield up
            return
        up.add_metric([], 1.0)
        yield up
        by_family: dict[str, dict[tuple[str, ...], dict[str, float]]] = {}
        for key, value in stored.items():
            name, series, *labels = orjson.loads(key)
            by_family.setdefault(name, {}).setdefault(tuple(labels), {})[series] = value
        for family in SHARED_FAMILIES:
            yield _render(family, by_family.get(family.name, {}))


def _render(family: Family, series: Mapping[tuple[str, ...], Mapping[str, float]]) -> Metric:
    labels = list(family.labels)
    if family.kind is Kind.HISTOGRAM:
        histogram = HistogramMetricFamily(family.name, family.help, labels=labels)
        for values, parts in sorted(series.items()):
            bounds = [*(str(float(b)) for b in family.buckets), "+Inf"]
            buckets = [(bound, parts.get(f"le={bound}", 0.0)) for bound in bounds]
            histogram.add_metric(list(values), buckets, parts.get("sum", 0.0))
        return histogram
    rendered: CounterMetricFamily | GaugeMetricFamily
    if family.kind is Kind.COUNTER:
        rendered = CounterMetricFamily(family.name, family.help, labels=labels)
    else:
        rendered = GaugeMetricFamily(family.name, family.help, labels=labels)
    for values, parts in sorted(series.items()):
        rendered.add_metric(list(values), parts.get("", 0.0))
    return rendered


OTHER = "other"  # the label of every value outside a known set
# The event names the deliveries metric counts by name (those the receiver handles), per forge.
# The event header is not covered by the signature: a replayed signed body with made-up names
# must not mint new series, so any other name is counted as "other".
DELIVERY_EVENTS: Mapping[str, frozenset[str]] = {
    "github": frozenset(
        {"ping", "push", "installation", "installation_repositories", "pull_request"}
    ),
    "gitlab": frozenset({"Push Hook", "Tag Push Hook", "Merge Request Hook"}),
}


class DeliveryMetrics:
    """The web process's own numbers, and the registry `/metrics` renders.

    Label values that come from a request are bounded here, whoever the caller: a forge or an
    event outside DELIVERY_EVENTS is counted as "other", so no header value can add a series.
    """

    def __init__(self, state: State) -> None:
        self.registry = CollectorRegistry()
        self._deliveries = Counter(
            "pullpolicy_webhook_deliveries",
            "Webhook deliveries answered, by forge, event and outcome (queued, ignored, "
            "duplicate, unauthorized, malformed, too-large, incomplete, timed-out, unavailable, "
            "not-configured).",
            ["forge", "event", "outcome"],
            registry=self.registry,
        )
        self.shared = SharedMetrics(state)
        self.registry.register(SharedMetricsCollector(state))

    def delivery(self, forge: str, event: str | None, outcome: str) -> None:
        """Count one answered delivery; `event` None for one whose header is not trusted."""
        known = DELIVERY_EVENTS.get(forge)
        if known is None:
            forge, event = OTHER, None if event is None else OTHER
        elif event is not None and event not in known:
            event = OTHER
        self._deliveries.labels(forge, event or "", outcome).inc()
