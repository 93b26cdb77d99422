"""Times, dates, durations and numbers as the reader reads them: their language, their time zone.

Times are stored in UTC; they are shown only through these helpers, in the zone of whoever reads
the message (`current_zone()`: the person's `profile timezone`, else `CERCLE_TIMEZONE` — also for
channel posts, whose readers are many). A time names its zone ("Nov 30, 2026, 9:00 AM (Paris)"),
so a reader never has to guess; "UTC" appears only when the reader's zone is UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel.dates import format_date, format_time, format_timedelta, get_datetime_format, get_timezone_location
from babel.numbers import format_decimal, format_percent

from bot.i18n import current_locale, current_zone, note_moment


@cache
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def reader_zone(name: str | None = None) -> ZoneInfo:
    return _zone(name or current_zone())


def local(when: datetime, zone: str | None = None) -> datetime:
    """`when` (UTC when naive, as stored) in the reader's zone."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(reader_zone(zone))


def zone_label(zone: str | None = None) -> str:
    """The zone as the reader knows it: a city ("Paris", "New York"), or "UTC"."""
    tz = reader_zone(zone)
    if tz.key in ("UTC", "Etc/UTC", "Etc/Universal", "Universal", "Zulu", "Etc/Zulu"):
        return "UTC"
    return get_timezone_location(tz, locale=current_locale(), return_city=True)


def moment(when: datetime, zone: str | None = None) -> str:
    """A date and time: "Nov 30, 2026, 9:00 AM (Paris)", "30 nov. 2026, 09:00 (Paris)"."""
    shown = local(when, zone)
    locale = current_locale()
    pattern = str(get_datetime_format("medium", locale=locale)).replace("'", "")
    text = pattern.replace("{1}", format_date(shown, "medium", locale=locale)) \
                  .replace("{0}", format_time(shown, "short", locale=locale))
    text = f"{text} ({zone_label(zone)})"
    note_moment(text, int(shown.timestamp()))  # Slack shows it in each reader's zone (`Message.moments`)
    return text


def day(when: datetime | date, zone: str | None = None) -> str:
    """A date, in the reader's zone when it is a moment: "Nov 30, 2026", "30 nov. 2026"."""
    shown = local(when, zone).date() if isinstance(when, datetime) else when
    return format_date(shown, "medium", locale=current_locale())


def duration(delta: timedelta) -> str:
    """A length of time, rounded the way people say it: "3 hours", "3 heures"."""
    return format_timedelta(delta, threshold=2, locale=current_locale())


def percent(value: float) -> str:
    """A share from 0 to 100: "42%", "42 %"."""
    return format_percent(round(value) / 100, locale=current_locale())


def language_name(code: str) -> str:
    """A language named in the reader's language: "French", "français"."""
    from babel import Locale

    return Locale.parse(code).get_language_name(current_locale()) or code


def number(value: int | float) -> str:
    return format_decimal(value, locale=current_locale())


_NOT_ZONES = {"localtime", "factory", "posixrules"}


@cache
def _zones() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones() if name.lower() not in _NOT_ZONES}


def zone_name(text: str) -> str | None:
    """The IANA name of a zone as typed (`europe/paris` → `Europe/Paris`); None when there is none."""
    return _zones().get(text.strip().lower())


__all__ = ["day", "duration", "language_name", "local", "moment", "number", "percent", "reader_zone", "zone_label",
           "zone_name"]
