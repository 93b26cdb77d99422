"""Reading Slack's escaped command text, and escaping user text on the way out."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from adapters.slack.escaping import (
    escape_mrkdwn,
    escape_plain,
    mentioned_channels,
    mentioned_users,
    read_command_text,
    truncate_escaped,
)

_DATE = "<!date^00000000^{_}|"
_LINK = r"<https?://[^<>|\s`*~]+>"


def test_command_text_is_unescaped_but_mentions_stay_tokens() -> None:
    raw = 'nominate P3 <@U12AB|alice> "fast &amp; careful &lt;3 &gt; others" <#C99|general>'
    assert read_command_text(raw) == 'nominate P3 <@U12AB|alice> "fast & careful <3 > others" <#C99|general>'


def test_links_and_specials_become_text() -> None:
    assert read_command_text("share x <https://a.org/?q=1&amp;b=2|a.org> t") == "share x https://a.org/?q=1&b=2 t"
    assert read_command_text("idea x <!here> <mailto:a@b.org|a@b.org>") == "idea x @here a@b.org"


def test_mentions_and_channels_are_found() -> None:
    text = "role grant <@U1AB|bob> hr <@W2CD> <#C3EF|news> <#G4GH>"
    assert mentioned_users(text) == {"U1AB": "bob", "W2CD": ""}
    assert mentioned_channels(text) == {"C3EF": "#news", "G4GH": ""}


def test_escaping_blocks_mentions_links_and_formatting() -> None:
    out = escape_mrkdwn("<!channel> <@U1> <https://evil|ok> *b* _i_ ~s~ `c` & done")
    assert "<!channel>" not in out and "<@U1>" not in out and "|ok>" not in out
    assert out.startswith("&lt;!channel&gt; &lt;@U1&gt; &lt;<https://evil>|ok&gt; ")  # the real address, no label
    assert out.endswith(" &amp; done")
    assert out.count(_DATE) == 8
    assert escape_mrkdwn("> quoted\nok") == "\u00ad&gt; quoted\nok"
    assert escape_plain("a<b>&c") == "a&lt;b&gt;&amp;c"


@given(st.text(max_size=300))
def test_no_user_text_escapes_into_markup(text: str) -> None:
    out = escape_mrkdwn(text)
    without_literals = re.sub(_LINK, "", re.sub(re.escape(_DATE) + r"[*_~`]>", "", out))
    assert "<" not in without_literals and ">" not in without_literals
    assert not any(c in without_literals for c in "*_~`")


@given(st.text(max_size=500), st.integers(min_value=5, max_value=400))
def test_truncation_fits_and_never_cuts_an_escape(text: str, limit: int) -> None:
    out = truncate_escaped(text, limit)
    assert len(out) <= limit
    body = out.removesuffix("…")
    assert re.fullmatch(r"([^&<]|&(amp|lt|gt);|" + re.escape(_DATE) + r"[*_~`]>|" + _LINK + ")*", body, re.DOTALL)


def test_web_addresses_become_links_and_only_them() -> None:
    out = escape_mrkdwn("guide: https://example.org/a_b?x=1&y=2, or <https://evil|click> and https://t.co.")
    assert out == ("guide: <https://example.org/a_b?x=1&amp;y=2>, or &lt;<https://evil>|click&gt; and "
                   "<https://t.co>.")
