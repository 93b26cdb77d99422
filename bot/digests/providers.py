"""Optional content from other capabilities (open positions from referrals), without importing them.

A capability registers `provider(session, community_id, topics, start, end) -> list[str]`; each returned
line is shown under the provider's title in digests. Providers must not reveal confidential data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

ProviderFunc = Callable[[Session, int, list[str], datetime, datetime], list[str]]


@dataclass(frozen=True)
class DigestProvider:
    key: str  # e.g. "positions"
    title: Callable[[], str]  # translated when the digest is built
    func: ProviderFunc


PROVIDERS: dict[str, DigestProvider] = {}


def register(key: str, title: Callable[[], str], func: ProviderFunc) -> None:
    """Add (or replace) a section of digests, e.g. referrals' open positions matching the topics."""
    PROVIDERS[key] = DigestProvider(key, title, func)


def unregister(key: str) -> None:
    PROVIDERS.pop(key, None)
