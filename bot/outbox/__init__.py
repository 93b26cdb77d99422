"""The outbox: durable, idempotent, rate-limited delivery of outgoing messages (design §2).

A capability never sends a message itself. It writes one outbox row per (message, target) in the
transaction of the change that caused it (`bot.outbox.queue`: `ctx.post_to_channel`,
`ctx.tell_person`, or a job's `ctx.outbox.send_to_person`). Delivery workers (`bot.outbox.worker`)
claim due rows, hand each to the platform's `Sender` (`bot.outbox.contract`), record the platform's
message id, and retry failures with backoff, honouring `Retry-After` (`bot.outbox.pacing`).

The worker is not imported here: a process that only queues messages never loads it.
"""

from bot.outbox.contract import DeliveryError, Outgoing, OutgoingEdit, RateLimit, Sender
from bot.outbox.queue import (
    Outbound,
    Outbox,
    enqueue,
    enqueue_many,
    send_to_channel,
    send_to_person,
    sent_message,
)
from bot.outbox.wakeup import Notifier

__all__ = [
    "DeliveryError",
    "Notifier",
    "Outbound",
    "Outbox",
    "Outgoing",
    "OutgoingEdit",
    "RateLimit",
    "Sender",
    "enqueue",
    "enqueue_many",
    "send_to_channel",
    "send_to_person",
    "sent_message",
]
