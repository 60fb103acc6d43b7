"""Two tiers, one screen, every path: clear risk gets the crisis reply, possible risk one gentle question first.

The screen here is the shipped one with a stand-in detector (so the tiers are exact and these tests do not
depend on how the shipped model scores a phrase): any text containing "TIER-CLEAR" is clear risk, any
containing "TIER-MAYBE" possible risk.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.conversation import (
    ONBOARD_OK,
    SAFE_NO,
    SAFE_YES,
    ButtonPress,
    Command,
    Conversations,
    Edited,
    NotText,
    Reply,
    Resume,
    Text,
    country_of_locale,
)
from bot.engine import Say
from bot.flows.catalog import Catalog
from bot.safety import Assessment, Level, Safety
from bot.storage.database import open_database
from bot.storage.repository import Repository
from tests.safety.replies import answers as stored_answers
from tests.safety.replies import plain

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
QUESTION = "Are you thinking about hurting yourself"
CRISIS = "I'm only a bot"


class TieredSafety(Safety):
    """The shipped helplines and patterns, with markers standing in for the detector's tiers."""

    def assess(self, text: str) -> Assessment:
        if "TIER-CLEAR" in text:
            return Assessment(Level.CLEAR, frozenset({"abuse"}) if "hits me" in text else frozenset())
        if "TIER-MAYBE" in text:
            return Assessment(Level.POSSIBLE)
        return super().assess(text)


@pytest.fixture
async def service(tmp_path: Path, catalog: Catalog) -> AsyncIterator[Conversations]:
    safety = TieredSafety(catalog.safety.screen, catalog.safety.helplines)
    tiered = replace(catalog, safety=safety)
    connection = await open_database(tmp_path / "db.sqlite3", NOW)
    conversations = Conversations(tiered, Repository(connection), lambda: NOW, ZoneInfo("UTC"))
    await conversations.handle("tg:1", ButtonPress(ONBOARD_OK, 0))
    try:
        yield conversations
    finally:
        await connection.close()


def buttons(replies: list[Reply]) -> list[str]:
    return [button.value for reply in replies if isinstance(reply, Say) for row in reply.buttons for button in row]


async def answers(service: Conversations) -> dict[str, object]:
    return await stored_answers(service, flow_may_be_gone=True)


async def test_possible_risk_asks_first_and_no_takes_the_message_as_its_answer(service: Conversations) -> None:
    await service.handle("tg:1", Command("quick"))
    asked = await service.handle("tg:1", Text("I failed again TIER-MAYBE"))
    assert QUESTION in plain(asked) and {SAFE_YES, SAFE_NO} <= set(buttons(asked))
    assert await answers(service) == {}  # held, not yet an answer
    went_on = plain(await service.handle("tg:1", ButtonPress(SAFE_NO, 0)))
    assert QUESTION not in went_on and CRISIS not in went_on  # not asked twice for the same message
    assert (await answers(service))["what_happened"] == "I failed again TIER-MAYBE"


async def test_yes_to_the_question_gets_the_crisis_reply_and_pauses(service: Conversations) -> None:
    await service.handle("tg:1", Command("quick"))
    await service.handle("tg:1", Text("TIER-MAYBE everything is too much"))
    reply = plain(await service.handle("tg:1", Text("yes")))
    assert CRISIS in reply and "findahelpline.com" in reply
    assert await answers(service) == {}
    assert "We're paused" in plain(await service.handle("tg:1", Text("my exam went badly")))


async def test_other_words_at_the_question_ask_again_and_keep_the_message(service: Conversations) -> None:
    await service.handle("tg:1", Command("quick"))
    await service.handle("tg:1", Text("TIER-MAYBE it all went wrong"))
    again = plain(await service.handle("tg:1", Text("hmm")))
    assert "Tap Yes or No" in again
    await service.handle("tg:1", Text("no, carry on"))
    assert (await answers(service))["what_happened"] == "TIER-MAYBE it all went wrong"


@pytest.mark.parametrize("inside_a_flow", [True, False], ids=["in-a-flow", "outside-a-flow"])
async def test_coming_back_to_the_chat_asks_the_question_again_and_keeps_the_message(
    service: Conversations, inside_a_flow: bool
) -> None:
    if inside_a_flow:
        await service.handle("tg:1", Command("quick"))
    await service.handle("tg:1", Text("TIER-MAYBE it all went wrong"))
    back = plain(await service.handle("tg:1", Resume()))
    assert QUESTION in back
    assert "Welcome back" not in back and "I'm here whenever" not in back
    await service.handle("tg:1", Text("no, carry on"))
    if inside_a_flow:
        assert (await answers(service))["what_happened"] == "TIER-MAYBE it all went wrong"


async def test_coming_back_to_the_chat_while_paused_keeps_the_pause(service: Conversations) -> None:
    await service.handle("tg:1", Command("quick"))
    await service.handle("tg:1", Text("TIER-CLEAR"))
    back = plain(await service.handle("tg:1", Resume()))
    assert "We're paused" in back and "Welcome back" not in back
    assert "We're paused" in plain(await service.handle("tg:1", Text("my exam went badly")))
    assert await answers(service) == {}


@pytest.mark.parametrize(
    "incoming",
    [
        Text("TIER-CLEAR"),
        Command("reframe", "TIER-CLEAR I want to die"),
        Command("lessons", "TIER-CLEAR"),
        Edited("TIER-CLEAR edited later"),
        NotText("photo", "TIER-CLEAR in a caption"),
    ],
    ids=["typed", "after-a-flow-command", "after-another-command", "edited", "caption"],
)
async def test_every_path_reaches_the_screen(service: Conversations, incoming: object) -> None:
    reply = plain(await service.handle("tg:1", incoming))  # type: ignore[arg-type]
    assert CRISIS in reply


async def test_a_further_risk_message_while_paused_gets_the_helplines_again(service: Conversations) -> None:
    await service.handle("tg:1", Command("quick"))
    await service.handle("tg:1", Text("TIER-CLEAR"))
    again = plain(await service.handle("tg:1", Text("TIER-CLEAR still")))
    assert CRISIS in again and "We're paused" not in again


async def test_an_edit_without_risk_changes_nothing(service: Conversations) -> None:
    await service.handle("tg:1", Command("quick"))
    await service.handle("tg:1", Text("I missed the bus"))
    assert await service.handle("tg:1", Edited("I missed the train")) == []
    assert (await answers(service))["what_happened"] == "I missed the bus"


async def test_sos_on_its_own_does_not_thank_anyone_for_telling(service: Conversations) -> None:
    reply = plain(await service.handle("tg:1", Command("sos")))
    assert CRISIS in reply and not reply.startswith("Thank you for telling me")


async def test_words_about_abuse_add_the_abuse_lines(service: Conversations, catalog: Catalog) -> None:
    reply = plain(await service.handle("tg:1", Text("TIER-CLEAR he hits me")))
    abuse = catalog.safety.helplines.topics["abuse"]["everywhere"]
    assert abuse and all(line.name in reply for line in abuse)


@pytest.mark.parametrize(("locale", "expected"), [("pt-BR", "188"), ("de", "TelefonSeelsorge"), ("ja", "0120 279 338")])
async def test_without_a_timezone_the_apps_language_picks_the_helplines(
    service: Conversations, locale: str, expected: str
) -> None:
    handled = await service.handle_update("tg:1", Text("TIER-CLEAR"), locale=locale)
    assert expected in plain(handled.replies)


def test_a_locale_says_a_country_only_when_it_is_sure() -> None:
    assert country_of_locale("pt-br") == "BR"
    assert country_of_locale("en_GB") == "GB"
    assert country_of_locale("fr") == "FR"
    assert country_of_locale("en") is None and country_of_locale("es") is None and country_of_locale(None) is None


async def test_an_edited_message_held_for_the_question_is_never_taken_as_an_answer(service: Conversations) -> None:
    await service.handle("tg:1", Command("quick"))
    await service.handle("tg:1", Text("I missed a deadline at work"))
    await service.handle("tg:1", Edited("I missed a deadline TIER-MAYBE"))
    again = plain(await service.handle("tg:1", ButtonPress(SAFE_NO, 0)))
    assert "teach you" in again  # the current question, shown again
    assert await answers(service) == {"what_happened": "I missed a deadline at work"}


async def test_a_held_answer_is_only_taken_for_the_question_it_was_written_for(service: Conversations) -> None:
    await service.handle("tg:1", Command("quick"))
    await service.handle("tg:1", Text("TIER-MAYBE it all went wrong"))
    await service.handle("tg:1", Command("cancel"))  # the question it answered is gone
    await service.handle("tg:1", Command("quick"))
    await service.handle("tg:1", Text("I missed the bus"))
    await service.handle("tg:1", ButtonPress(SAFE_NO, 0))
    assert await answers(service) == {"what_happened": "I missed the bus"}


async def test_an_old_held_message_is_let_go(tmp_path: Path, catalog: Catalog) -> None:
    moments = [NOW]
    safety = TieredSafety(catalog.safety.screen, catalog.safety.helplines)
    connection = await open_database(tmp_path / "old.sqlite3", NOW)
    service = Conversations(
        replace(catalog, safety=safety), Repository(connection), lambda: moments[0], ZoneInfo("UTC")
    )
    try:
        await service.handle("tg:1", ButtonPress(ONBOARD_OK, 0))
        await service.handle("tg:1", Command("quick"))
        await service.handle("tg:1", Text("TIER-MAYBE everything"))
        moments[0] = NOW.replace(day=2)  # a day later
        reply = plain(await service.handle("tg:1", Text("no")))
        assert QUESTION not in reply
        user = await service.repository.find_user("tg:1")
        assert user is not None and user.safety_hold is None
    finally:
        await connection.close()


@pytest.mark.parametrize("name", ["kms", "wanttodie", "killmyself"])
async def test_a_command_name_is_screened_too(service: Conversations, name: str) -> None:
    assert CRISIS in plain(await service.handle("tg:1", Command(name)))


async def test_sos_with_words_gets_the_helplines_not_the_question(service: Conversations) -> None:
    reply = plain(await service.handle("tg:1", Command("sos", "please TIER-MAYBE")))
    assert CRISIS in reply and QUESTION not in reply


@pytest.mark.parametrize(
    "masked", ["I-want-to-kill-myself", "kill-myself", "i.want.to.die", "i_want_to_die", "k i l l m y s e l f"]
)
def test_joined_and_spaced_out_words_are_read(catalog: Catalog, masked: str) -> None:
    assert catalog.safety.assess(masked).level is Level.CLEAR
