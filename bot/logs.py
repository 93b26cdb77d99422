"""Logging: JSON lines when not on a terminal, readable lines on one. No secret is ever logged.

Code never logs secrets or confidential text on purpose; `Redactor` is the safety net behind
that rule: every record that reaches the handler (ours or a library's, its message, arguments and
traceback) is scrubbed of token-like strings, passwords in URLs and the configured secret values.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TextIO

MASK = "***"
_PATTERNS = (
    # Slack tokens (bot, user, app-level, refresh, config) and Matrix access tokens.
    re.compile(r"\bxox[abposre]-[A-Za-z0-9-]{6,}"),
    re.compile(r"\bxapp-[A-Za-z0-9-]{6,}"),
    re.compile(r"\bsy[tm]_[A-Za-z0-9_=-]{6,}"),
    re.compile(r"(?i)\bBearer\s+[A-Za-z0-9._~+/=-]{8,}"),
)
# The password of a URL: scheme://user:password@host.
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^:/@\s]*:)(?P<secret>[^@\s/]+)(?=@)")
# key=value or "key": "value" where the key names a secret.
_KEY_VALUE = re.compile(
    r"""(?ix)(?P<head>\b(?:password|passwd|pwd|secret|signing_secret|token|access_token|refresh_token|api_key)
        ["']?\s*[:=]\s*["']?)(?P<secret>[^\s"'&,;}]+)""")


# Cheap test first: most lines contain none of these, and skip the regular expressions.
_HINTS = ("xox", "xapp-", "syt_", "sym_", "bearer", "://", "pass", "pwd", "secret", "token", "api_key")


class Redactor:
    """Removes secrets from text: known values (the settings' tokens) and anything that looks like one."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._lock = threading.Lock()

    def add_secrets(self, values: Iterable[str | None]) -> None:
        with self._lock:
            self._values.update(v for v in values if v and len(v) >= 6)

    def redact(self, text: str) -> str:
        with self._lock:
            values = sorted(self._values, key=len, reverse=True)
        for value in values:
            if value in text:
                text = text.replace(value, MASK)
        lowered = text.lower()
        if not any(hint in lowered for hint in _HINTS):
            return text
        for pattern in _PATTERNS:
            text = pattern.sub(MASK, text)
        text = _URL_PASSWORD.sub(lambda m: m.group("head") + MASK, text)
        return _KEY_VALUE.sub(lambda m: m.group("head") + MASK, text)


REDACTOR = Redactor()


class RedactingFilter(logging.Filter):
    """A handler filter: the record's message and traceback are redacted before any formatter sees them."""

    def __init__(self, redactor: Redactor = REDACTOR) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the record
            message = f"{record.msg!r} {record.args!r}"
        record.msg = self.redactor.redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redactor.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redactor.redact(record.stack_info)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {"time": datetime.fromtimestamp(record.created, UTC).isoformat(), "level": record.levelname,
                "logger": record.name, "message": record.getMessage()}
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            data["exception"] = record.exc_text
        return json.dumps(data, ensure_ascii=False)


def make_handler(stream: TextIO | None = None, *, json_lines: bool | None = None) -> logging.Handler:
    """A stream handler with the redacting filter; JSON lines unless the stream is a terminal."""
    out = stream or sys.stderr
    handler = logging.StreamHandler(out)
    if json_lines is None:
        json_lines = not out.isatty()
    handler.setFormatter(JsonFormatter() if json_lines
                         else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    return handler


def configure(level: int = logging.INFO) -> None:
    root = logging.getLogger()
    root.handlers[:] = [make_handler()]
    root.setLevel(level)
    for noisy in ("apscheduler", "aiohttp.access", "sqlalchemy", "alembic", "nio", "slack_bolt", "slack_sdk"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    logging.captureWarnings(True)


def configure_console(verbose: bool = False, log_file: str | None = None) -> None:
    """The console prints replies on standard output and is often run as `cercle console 2>&1`: its log lines
    must not land among the replies. With `log_file` every line (INFO, or DEBUG with -v) goes there as JSON;
    without, only warnings and errors reach standard error (all of them with -v)."""
    root = logging.getLogger()
    if log_file:
        handler: logging.Handler = logging.FileHandler(log_file, encoding="utf-8")
        handler.setFormatter(JsonFormatter())
        handler.addFilter(RedactingFilter())
        root.handlers[:] = [handler]
        root.setLevel(logging.DEBUG if verbose else logging.INFO)
        return
    root.handlers[:] = [make_handler()]
    root.setLevel(logging.DEBUG if verbose else logging.WARNING)
