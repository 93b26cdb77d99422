"""Times, dates and numbers in the reader's language and zone; typography by language."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.i18n import use_locale
from bot.i18n.formats import day, duration, moment, number, percent, zone_name
from bot.i18n.typography import colon, problems, quoted

WHEN = datetime(2026, 11, 30, 22, 30, tzinfo=UTC)


@pytest.mark.parametrize(("locale", "zone", "expected"), [
    ("en", "Europe/Paris", "Nov 30, 2026, 11:30\u202fPM (Paris)"),
    ("fr", "Europe/Paris", "30 nov. 2026, 23:30 (Paris)"),
    ("en", "America/New_York", "Nov 30, 2026, 5:30\u202fPM (New York)"),
    ("fr", "Asia/Tokyo", "1 déc. 2026, 07:30 (Tokyo)"),
    ("en", "UTC", "Nov 30, 2026, 10:30\u202fPM (UTC)"),
])
def test_a_moment_is_shown_in_the_readers_zone_and_language(locale: str, zone: str, expected: str) -> None:
    with use_locale(locale, zone=zone):
        assert moment(WHEN) == expected


def test_utc_is_named_only_for_readers_in_utc() -> None:
    with use_locale("en", zone="Europe/Paris"):
        assert "UTC" not in moment(WHEN)
    with use_locale("fr", zone="UTC"):
        assert moment(WHEN).endswith("(UTC)")


def test_stored_naive_times_are_utc() -> None:
    with use_locale("en", zone="Europe/Paris"):
        assert moment(WHEN.replace(tzinfo=None)) == moment(WHEN)


def test_a_day_is_the_readers_day() -> None:
    with use_locale("fr", zone="Asia/Tokyo"):
        assert day(WHEN) == "1 déc. 2026"
    with use_locale("en", zone="America/New_York"):
        assert day(WHEN) == "Nov 30, 2026"
        assert day(date(2026, 1, 2)) == "Jan 2, 2026"


def test_durations_numbers_and_percentages() -> None:
    with use_locale("fr"):
        assert duration(timedelta(hours=2)) == "2\u00a0heures"
        assert percent(50) == "50\u00a0%"
        assert number(12345) == "12\u202f345"
    with use_locale("en"):
        assert duration(timedelta(days=3)) == "3 days"
        assert percent(33.4) == "33%"
        assert number(12345) == "12,345"


def test_zone_names_are_read_loosely_and_checked() -> None:
    assert zone_name("europe/paris") == "Europe/Paris"
    assert zone_name(" UTC ") == "UTC"
    assert zone_name("Mars/Olympus") is None
    assert zone_name("localtime") is None


def test_labels_and_quotes_by_language() -> None:
    with use_locale("fr"):
        assert f"Site{colon()}Lyon" == "Site\u202f: Lyon"
        assert quoted("Fermeture") == "«\u202fFermeture\u202f»"
    with use_locale("en"):
        assert f"Site{colon()}Lyon" == "Site: Lyon"
        assert quoted("Closure") == "“Closure”"


def test_typography_problems_ignore_times_urls_and_commands() -> None:
    assert problems("À 10:00, voir https://x.org et !cercle aide\u202f: ok\u202f?", "fr") == []
    assert problems("matrix:@alice:example.org", "fr") == []
    assert problems("Usage: help", "en") == []
    assert problems("Usage\u202f: aide", "en") == ["a no-break space before ':' in English"]
