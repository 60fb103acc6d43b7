"""Reading the service's replies and stored answers in the safety tests."""

from __future__ import annotations

from bot.conversation import Conversations, Reply
from bot.engine import Say
from bot.render import html_to_plain


def plain(replies: list[Reply]) -> str:
    """What the replies show, as plain text."""
    return "\n".join(html_to_plain(reply.html) for reply in replies if isinstance(reply, Say))


async def answers(service: Conversations, *, flow_may_be_gone: bool = False) -> dict[str, object]:
    """The answers of tg:1's flow in progress; a missing flow fails unless ``flow_may_be_gone`` (then {})."""
    user = await service.repository.find_user("tg:1")
    assert user is not None
    state = await service.repository.active_state(user.id)
    if state is None:
        assert flow_may_be_gone, "the flow in progress is gone"
        return {}
    return dict(state.answers)
