"""Prometheus metrics (served on `/metrics`).

Each metric is created on first use, so prometheus_client is imported only by a process that counts
something. A process that serves no `/metrics` (the console) calls `disable()` first: then every metric
is a no-op and prometheus_client is never imported.
"""

from __future__ import annotations

from typing import Any


class _NoOp:
    """Stands for a metric (or one of its labelled children) when metrics are off."""

    def labels(self, *values: str) -> _NoOp:
        return self

    def inc(self, amount: float = 1) -> None:
        return None

    def set(self, value: float) -> None:
        return None

    def observe(self, value: float) -> None:
        return None


_NOOP = _NoOp()
_enabled = True


def disable() -> None:
    """No metric is kept from now on (metrics already in use keep counting)."""
    global _enabled
    _enabled = False


class _Metric:
    """A Counter, Gauge or Histogram of prometheus_client, created when first used."""

    def __init__(self, kind: str, name: str, documentation: str, labelnames: tuple[str, ...] = (),
                 **options: Any) -> None:
        self._spec = (kind, name, documentation, labelnames, options)
        self._real: Any = None

    def _metric(self) -> Any:
        if self._real is None:
            if not _enabled:
                return _NOOP
            import prometheus_client

            kind, name, documentation, labelnames, options = self._spec
            self._real = getattr(prometheus_client, kind)(name, documentation, labelnames, **options)
        return self._real

    def labels(self, *values: str) -> Any:
        return self._metric().labels(*values)

    def inc(self, amount: float = 1) -> None:
        self._metric().inc(amount)

    def set(self, value: float) -> None:
        self._metric().set(value)

    def observe(self, value: float) -> None:
        self._metric().observe(value)

    def __getattr__(self, name: str) -> Any:  # the rest of prometheus_client's interface (tests read `_value`)
        return getattr(self._metric(), name)


COMMANDS = _Metric("Counter", "cercle_commands_total", "Commands handled", ("command", "outcome"))
COMMAND_SECONDS = _Metric("Histogram", "cercle_command_seconds", "Time to handle a command", ("command",),
                          buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
DELIVERIES = _Metric("Counter", "cercle_deliveries_total", "Outbox deliveries", ("platform", "outcome"))
RATE_LIMITED = _Metric("Counter", "cercle_rate_limited_total", "429 answers from a platform", ("platform",))
OUTBOX_DEPTH = _Metric("Gauge", "cercle_outbox_pending", "Outbox rows waiting to be delivered")
OUTBOX_AGE = _Metric("Gauge", "cercle_outbox_oldest_seconds", "Age of the oldest pending outbox row")
SCHEDULER_RUNS = _Metric("Counter", "cercle_scheduler_runs_total", "Scheduled job runs", ("job", "outcome"))
OUTBOX_FAILED = _Metric("Gauge", "cercle_outbox_failed", "Outbox rows given up on (need an operator)")
LEADER = _Metric("Gauge", "cercle_leader", "1 on the replica that runs the scheduler and leader-only duties")
PLATFORM_UP = _Metric("Gauge", "cercle_platform_up", "1 when the platform's adapter started and reports healthy",
                      ("platform",))
ALL = (COMMANDS, COMMAND_SECONDS, DELIVERIES, RATE_LIMITED, OUTBOX_DEPTH, OUTBOX_AGE, SCHEDULER_RUNS,
       OUTBOX_FAILED, LEADER, PLATFORM_UP)


def observe_command(name: str, outcome: str, seconds: float) -> None:
    COMMANDS.labels(name, outcome).inc()
    COMMAND_SECONDS.labels(name).observe(seconds)


def exposition() -> tuple[bytes, str]:
    """Every metric, in Prometheus' text format, and its content type (for `/metrics`)."""
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    for metric in ALL:  # a metric never used yet is still listed (at zero), as before it was lazy
        metric._metric()
    return generate_latest(), CONTENT_TYPE_LATEST
