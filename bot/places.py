"""Where a confidential command may be typed (issue 12).

What a person types in a shared place (a Slack `@Cercle` mention in a channel, a Matrix room with other
people, a reaction there, a console channel) is read by everyone there. A nomination, an anonymous question
or a vote in an anonymous consultation typed there would give away what the command is meant to keep: so it
is refused, nothing changes, and the reply says where to type it instead. Whether a place is private is the
platform's to say (`Request.private`, set by the router from the platform's descriptor); how to reach a
private place is the platform's too (`PlatformDescriptor.private_hint`). On a platform that answers
confidential replies in the person's direct conversation (Matrix), the refusal goes there, so it comes
with the place to type the command in.

Commands typed in private only are declared by their capability (`Capability.typed_in_private`, checked by
the router before anything is read); a command that is private only in some cases (a vote in an anonymous
consultation, an anonymous question) calls `require_private` itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.errors import UserError
from bot.i18n import _

if TYPE_CHECKING:
    from bot.platforms import PlatformDescriptor


class NotHere(UserError):
    """A command that may be typed only in a private place was typed where others read it. Its reply is
    for the caller's eyes only (`Reply.confidential`)."""


def where_to_type(platform: PlatformDescriptor | None) -> str:
    """How the person reaches a private place on their platform, in the current language."""
    if platform is not None and platform.private_hint:
        return _(platform.private_hint)
    return _("Send it to Cercle in a private conversation.")


def refusal(platform: PlatformDescriptor | None, why: str = "") -> NotHere:
    """The refusal of a command typed in a shared place: why it must be private, and where to type it."""
    reason = why or _("Everyone here can read what you type, and this command is confidential: it was not run.")
    return NotHere(f"{reason} {where_to_type(platform)}")


def require_private(private: bool, platform: PlatformDescriptor | None, why: str = "") -> None:
    """Refuse (`NotHere`) unless the request came from a place private to the person."""
    if not private:
        raise refusal(platform, why)
