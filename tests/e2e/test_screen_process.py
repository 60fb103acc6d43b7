"""End to end: the running bot's crisis screen reads with its encoder, not only its patterns."""

from __future__ import annotations

from bot.flows.catalog import Catalog
from bot.safety import Level
from standin.server import StandIn
from tests.e2e.harness import BotProcess, Chat

# Risk said quietly, in words no pattern was written for and the small n-gram detector does not flag.
QUIET_RISK = "been putting a few tablets aside every week. nearly enough now"


def test_only_the_encoder_notices_this_message(catalog: Catalog) -> None:
    safety = catalog.safety
    normal = safety.screen.normal(QUIET_RISK)
    assert safety.screen.verdict(QUIET_RISK).level is Level.NONE
    detector = safety.detector
    assert detector is not None and detector.probability(normal) < detector.possible


async def test_the_running_bot_asks_the_gentle_question_once_its_learned_readers_are_ready(
    standin: StandIn, bot_process: BotProcess
) -> None:
    await bot_process.start()
    await bot_process.wait_for_log("crisis screen: the learned readers are ready")
    chat = Chat(standin, 531)
    await chat.begin("/reframe", expect="What happened?")
    asked = await chat.say(QUIET_RISK, expect="Are you thinking about hurting yourself")
    reply = await chat.tap("Yes", expect="only a bot", on=asked)
    assert "findahelpline.com" in reply.shown_text
    assert bot_process.rows("SELECT count(*) FROM runs") == [(0,)]
    await bot_process.stop()
