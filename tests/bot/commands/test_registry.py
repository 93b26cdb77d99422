from datetime import UTC, datetime

import pytest

from bot.app import default_platforms
from bot.commands.grammar import tokenize
from bot.commands.registry import CSV, INT, SLUG, TEXT, WHEN, Arg, Command, ConvertEnv, Opt, code_type
from bot.errors import UsageError
from bot.messages import Reply

ENV = ConvertEnv(default_platforms()["console"], "local", datetime(2026, 11, 23, 9, 0, tzinfo=UTC), "Europe/Paris")


def _cmd(*args: Arg, options: tuple[Opt, ...] = ()) -> Command:
    return Command(("x",), lambda ctx, **kw: Reply.private("ok"), "x", "x", args, options)


def bind(cmd: Command, line: str) -> dict[str, object]:
    return cmd.bind(tokenize(line), ENV)


def test_codes_accept_prefix_or_bare_number() -> None:
    cmd = _cmd(Arg("v", code_type("V")))
    assert bind(cmd, "V12") == {"v": 12}
    assert bind(cmd, "v12") == {"v": 12}
    assert bind(cmd, "12") == {"v": 12}
    with pytest.raises(UsageError, match="V3"):
        bind(cmd, "P12")


def test_slugs_are_validated() -> None:
    cmd = _cmd(Arg("slug", SLUG))
    assert bind(cmd, "data-science") == {"slug": "data-science"}
    assert bind(cmd, "LYON-Site") == {"slug": "lyon-site"}  # case does not matter
    for bad in ("D", "-ds", "ds-", "a" * 41, "d_s", "x", "Lyon_Site"):
        with pytest.raises(UsageError):
            bind(cmd, bad)


def test_missing_extra_and_unknown_arguments_are_named() -> None:
    cmd = _cmd(Arg("slug", SLUG), Arg("name", TEXT), options=(Opt("topics", CSV),))
    with pytest.raises(UsageError, match="<name>"):
        bind(cmd, "ds")
    with pytest.raises(UsageError, match="Unexpected 'Science'"):
        bind(cmd, "ds Data Science")
    with pytest.raises(UsageError, match="--colour"):
        bind(cmd, 'ds "Data" --colour red')
    with pytest.raises(UsageError, match="needs a value"):
        bind(cmd, 'ds "Data" --topics')
    with pytest.raises(UsageError, match="twice"):
        bind(cmd, 'ds "Data" --topics a --topics b')
    assert bind(cmd, 'ds "Data" --topics "Machine Learning", python') == {
        "slug": "ds", "name": "Data", "topics": ["machine-learning", "python"]}


def test_variadic_arguments_have_bounds() -> None:
    cmd = _cmd(Arg("options", TEXT, many=True, minimum=2, maximum=3))
    assert bind(cmd, '"a" "b"') == {"options": ["a", "b"]}
    with pytest.raises(UsageError, match="at least 2"):
        bind(cmd, '"a"')
    with pytest.raises(UsageError, match="at most 3"):
        bind(cmd, "a b c d")


def test_when_reads_durations_and_dates_in_the_future() -> None:
    cmd = _cmd(Arg("when", WHEN))
    assert bind(cmd, "2d")["when"] == datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    assert bind(cmd, "2j")["when"] == datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    # A date means the end of that day in the configured time zone (Paris: UTC+1 in December).
    assert bind(cmd, "2026-12-01")["when"] == datetime(2026, 12, 1, 22, 59, tzinfo=UTC)
    for bad in ("yesterday", "2020-01-01", "0d"):
        with pytest.raises(UsageError):
            bind(cmd, bad)


def test_numbers() -> None:
    cmd = _cmd(Arg("n", INT))
    assert bind(cmd, "3") == {"n": 3}
    with pytest.raises(UsageError):
        bind(cmd, "three")
