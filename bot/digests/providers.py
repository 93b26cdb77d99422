"""Optional content from other capabilities (open positions from referrals), without importing them.

A capability registers `provider(session, topics_by_community, start, end) -> {community_id: lines}`:
digests are built in batches, so a provider answers for many communities with a few queries. Each line
is shown under the provider's title. Providers must not reveal confidential data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

ProviderFunc = Callable[[Session, dict[int, list[str]], datetime, datetime], dict[int, list[str]]]


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
