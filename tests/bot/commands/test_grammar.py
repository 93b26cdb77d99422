import pytest

from bot.app import default_platforms
from bot.commands.grammar import ChannelRef, ParseError, UserRef, tokenize


def texts(line: str) -> list[str]:
    return [t.text for t in tokenize(line)]


def test_quotes_group_words_in_every_style() -> None:
    assert texts('share ds https://x.org "A guide"') == ["share", "ds", "https://x.org", "A guide"]
    assert texts("idea ds “Plus de café”") == ["idea", "ds", "Plus de café"]
    assert texts("idea ds « Plus de thé »") == ["idea", "ds", "Plus de thé"]
    assert texts("idea ds «\u202fPlus de thé\u202f»") == ["idea", "ds", "Plus de thé"]


def test_unclosed_quote_is_a_clear_error() -> None:
    with pytest.raises(ParseError, match="quote"):
        tokenize('community create ds "Data')


def test_lists_with_spaces_after_commas_are_one_argument() -> None:
    assert texts("profile skills python, ml ,sql") == ["profile", "skills", "python, ml ,sql"]
    assert texts('profile skills "machine learning", python') == ["profile", "skills", "machine learning, python"]


def test_options_are_recognised_but_not_inside_quotes() -> None:
    tokens = tokenize('consult open ds "--not an option" --closes 2d')
    assert [t.is_option for t in tokens] == [False, False, False, False, True, False]


def parse_user(token: str, platform: str, workspace: str) -> UserRef | None:
    """A mention, read the way the platform's descriptor reads it (the grammar asks the descriptor)."""
    return default_platforms()[platform].parse_user(token, workspace)


def parse_channel(token: str, platform: str, workspace: str) -> ChannelRef | None:
    return default_platforms()[platform].parse_channel(token, workspace)


@pytest.mark.parametrize(("platform", "token", "user_id", "workspace"), [
    ("slack", "<@U123ABC>", "U123ABC", "T1"),
    ("slack", "<@U123ABC|alice>", "U123ABC", "T1"),
    ("matrix", "@alice:example.org", "@alice:example.org", "example.org"),
    ("console", "@alice", "alice", "local"),
])
def test_mentions_per_platform(platform: str, token: str, user_id: str, workspace: str) -> None:
    ref = parse_user(token, platform, "T1")
    assert ref is not None and ref.user_id == user_id and ref.workspace == workspace


@pytest.mark.parametrize(("platform", "token"), [("slack", "@alice"), ("matrix", "<@U1>"), ("console", "alice")])
def test_a_mention_in_another_platforms_syntax_is_not_one(platform: str, token: str) -> None:
    assert parse_user(token, platform, "T1") is None


def test_channel_references_per_platform() -> None:
    slack = parse_channel("<#C0123|general>", "slack", "T1")
    assert slack is not None and slack.channel_id == "C0123" and slack.label == "#general"
    room = parse_channel("!abc:example.org", "matrix", "example.org")
    assert room is not None and room.channel_id == "!abc:example.org"
    alias = parse_channel("#town:example.org", "matrix", "example.org")
    assert alias is not None
    console = parse_channel("#general", "console", "local")
    assert console is not None and console.channel_id == "general"
