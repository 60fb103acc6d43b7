"""Telegram's limits, kept by the real process at their defaults (every other process test runs unpaced).

About one message a second per chat after a short burst, at most 30 a second overall, and a 429 that
pauses every send, to every chat, for its ``retry_after``. Times are read from the stand-in's request log.
"""

from __future__ import annotations

import pytest

from standin import Fault
from standin.requestlog import RequestRecord
from standin.server import StandIn
from tests.e2e.harness import REPLY_CEILING_S, BotProcess

BURST = 3  # bot/tg/throttle.py PER_CHAT_BURST
SLACK_S = 0.15  # timer and scheduling jitter allowed around each limit


@pytest.fixture
def paced(bot_process: BotProcess) -> BotProcess:
    """The bot with Telegram's real limits (the settings' defaults), as a deployment runs it."""
    bot_process.extra_env.update({"SEND_LIMIT_PER_SECOND": "30", "SEND_LIMIT_PER_CHAT_PER_SECOND": "1"})
    return bot_process


def _sends(standin: StandIn, chat_id: int | None = None) -> list[RequestRecord]:
    return [
        record
        for record in standin.requests_for("sendMessage")
        if chat_id is None or str(record.params.get("chat_id")) == str(chat_id)
    ]


async def test_one_chat_gets_a_short_burst_then_about_one_message_a_second(standin: StandIn, paced: BotProcess) -> None:
    await paced.start()
    for _ in range(8):
        standin.user_sends_text(701, "/help")
    await standin.wait_until(lambda: len(_sends(standin, 701)) >= 8, timeout=REPLY_CEILING_S, what="eight replies")
    times = [record.at for record in _sends(standin, 701)]
    # A token bucket of BURST at one a second: any stretch of k messages spans at least k - BURST seconds.
    for first in range(len(times)):
        for last in range(first + BURST, len(times)):
            assert times[last] - times[first] >= (last - first + 1 - BURST) - SLACK_S, times
    assert times[-1] - times[0] >= 8 - BURST - SLACK_S


async def test_forty_people_at_once_get_at_most_thirty_messages_a_second(standin: StandIn, paced: BotProcess) -> None:
    await paced.start()
    for person in range(40):
        standin.user_sends_text(7100 + person, "/help")
    await standin.wait_until(lambda: len(_sends(standin)) >= 40, timeout=REPLY_CEILING_S, what="forty replies")
    times = sorted(record.at for record in _sends(standin))
    for first, started in enumerate(times):
        within = [at for at in times[first:] if at < started + 1.0 - SLACK_S]
        assert len(within) <= 30, f"{len(within)} messages within a second from {started}"


async def test_a_429_for_one_chat_pauses_that_chat_only_for_its_retry_after(
    standin: StandIn, paced: BotProcess
) -> None:
    await paced.start()
    standin.inject_fault("sendMessage", Fault.too_many_requests(2))
    standin.user_sends_text(7201, "/help")
    await standin.wait_until(
        lambda: any(record.status == 429 for record in _sends(standin)), timeout=REPLY_CEILING_S, what="the 429"
    )
    await paced.wait_for_log("flood control")  # the bot has read the 429
    standin.user_sends_text(7202, "/help")  # another chat, while the first one's pause lasts
    await standin.wait_until(
        lambda: len([record for record in _sends(standin) if record.ok]) >= 2, timeout=REPLY_CEILING_S, what="both"
    )
    refused = next(record for record in _sends(standin) if record.status == 429)
    delivered = {str(record.params["chat_id"]): record.at for record in _sends(standin) if record.ok}
    assert delivered["7201"] >= refused.at + 2 - SLACK_S  # the flooded chat waited its retry_after
    assert delivered["7202"] < delivered["7201"]  # the other chat did not wait for it


async def test_429s_for_several_chats_at_once_pause_every_chat(standin: StandIn, paced: BotProcess) -> None:
    await paced.start()
    standin.inject_fault("sendMessage", Fault.too_many_requests(2), times=2)
    standin.user_sends_text(7301, "/help")
    standin.user_sends_text(7302, "/help")
    await standin.wait_until(
        lambda: len([record for record in _sends(standin) if record.status == 429]) >= 2,
        timeout=REPLY_CEILING_S,
        what="two 429s",
    )
    await paced.wait_for_log("flood control across chats")
    standin.user_sends_text(7303, "/help")  # a third chat, while the overall pause lasts
    await standin.wait_until(
        lambda: len([record for record in _sends(standin) if record.ok]) >= 3, timeout=REPLY_CEILING_S, what="all"
    )
    last_refused = max(record.at for record in _sends(standin) if record.status == 429)
    delivered = [record for record in _sends(standin) if record.ok]
    assert {str(record.params["chat_id"]) for record in delivered} == {"7301", "7302", "7303"}
    assert all(record.at >= last_refused + 2 - SLACK_S for record in delivered)
