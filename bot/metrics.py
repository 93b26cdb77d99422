"""Prometheus metrics (served on `/metrics`)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

COMMANDS = Counter("cercle_commands_total", "Commands handled", ["command", "outcome"])
COMMAND_SECONDS = Histogram("cercle_command_seconds", "Time to handle a command", ["command"],
                            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
DELIVERIES = Counter("cercle_deliveries_total", "Outbox deliveries", ["platform", "outcome"])
RATE_LIMITED = Counter("cercle_rate_limited_total", "429 answers from a platform", ["platform"])
OUTBOX_DEPTH = Gauge("cercle_outbox_pending", "Outbox rows waiting to be delivered")
OUTBOX_AGE = Gauge("cercle_outbox_oldest_seconds", "Age of the oldest pending outbox row")
SCHEDULER_RUNS = Counter("cercle_scheduler_runs_total", "Scheduled job runs", ["job", "outcome"])


def observe_command(name: str, outcome: str, seconds: float) -> None:
    COMMANDS.labels(name, outcome).inc()
    COMMAND_SECONDS.labels(name).observe(seconds)
OUTBOX_FAILED = Gauge("cercle_outbox_failed", "Outbox rows given up on (need an operator)")
LEADER = Gauge("cercle_leader", "1 on the replica that runs the scheduler and leader-only duties")
PLATFORM_UP = Gauge("cercle_platform_up", "1 when the platform's adapter started and reports healthy",
                    ["platform"])
