"""Rate-limit windows as the forges last described them, shared by every process through the
state store: workers write them after each scan, pace on them, and /status shows them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from workers.runtime.state import State

NAMESPACE = "rate-budget"
FIELDS = ("remaining", "limit", "reset")


@dataclass(frozen=True)
class RateBudget:
    """A rate-limit window as the forge's last answer described it."""

    remaining: int
    limit: int
    reset_at: float  # Unix time the window refills; 0 when the forge did not say


def record(state: State, forge: str, budgets: Mapping[str, RateBudget]) -> None:
    """Share what `forge` last said about each window (per installation id, or "token")."""
    values: dict[str, float] = {}
    for who, budget in budgets.items():
        values[f"{forge}|{who}|remaining"] = float(budget.remaining)
        values[f"{forge}|{who}|limit"] = float(budget.limit)
        values[f"{forge}|{who}|reset"] = budget.reset_at
    if values:
        state.put(NAMESPACE, values)


def recorded(numbers: Mapping[str, float], forge: str, who: str) -> RateBudget | None:
    prefix = f"{forge}|{who}|"
    try:
        return RateBudget(
            int(numbers[prefix + "remaining"]),
            int(numbers[prefix + "limit"]),
            numbers[prefix + "reset"],
        )
    except KeyError:
        return None


def windows(numbers: Mapping[str, float]) -> dict[tuple[str, str], RateBudget]:
    """Every window recorded, by (forge, installation id or "token")."""
    found: dict[tuple[str, str], RateBudget] = {}
    for key in numbers:
        forge, _, rest = key.partition("|")
        who, _, field = rest.rpartition("|")
        if field == FIELDS[0]:
            budget = recorded(numbers, forge, who)
            if budget is not None:
                found[forge, who] = budget
    return found
