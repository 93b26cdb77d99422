"""Errors a command raises to answer the caller; the router turns them into a private reply."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")


class UserError(Exception):
    """Something the user can fix. The message is already translated; nothing is changed."""

    def __init__(self, message: str, *, show_usage: bool = False, argument: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.show_usage = show_usage
        self.argument = argument  # the argument or option it is about, when one is (forms show it there)


class UsageError(UserError):
    """The command is malformed: the reply adds the usage line."""

    def __init__(self, message: str, *, argument: str = "") -> None:
        super().__init__(message, show_usage=True, argument=argument)


class NotFound(UserError):
    """The thing referred to does not exist (or the caller may not know it exists)."""


class Forbidden(UserError):
    """The caller may not do this."""


@contextmanager
def about(argument: str) -> Iterator[None]:
    """Refusals raised inside are about `argument` (a form shows them under its input)."""
    try:
        yield
    except UserError as exc:
        exc.argument = exc.argument or argument
        raise


def reading(argument: str, convert: Callable[..., T], *args: Any) -> T:
    """`convert(*args)` (reading one argument's value); its refusal names `argument`."""
    with about(argument):
        return convert(*args)
