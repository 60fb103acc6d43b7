"""The conversation service end to end: commands, flows, storage and restarts, on a temp database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import aiosqlite
import pytest

from bot.conversation import (
    ONBOARD_OK,
    STORY_NO,
    STORY_YES,
    ButtonPress,
    Command,
    Conversations,
    Incoming,
    NotText,
    Reply,
    Resume,
    Text,
)
from bot.engine import CONTINUE_VALUE, Say, Stale
from bot.flows.catalog import Catalog
from bot.render import html_to_plain, render
from bot.storage.database import open_database
from bot.storage.repository import Repository
from tests.conftest import NOW

PERSON = "tg:1001"


@dataclass
class FakeClock:
    """A clock that moves only when told to."""

    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now

    def tick(self, minutes: int = 1) -> None:
        self.now += timedelta(minutes=minutes)


@dataclass
class Bot:
    """One Conversations service on its own connection, as one run of the process would have it."""

    conversations: Conversations
    connection: aiosqlite.Connection
    clock: FakeClock
    onboarded: set[str] = field(default_factory=set)

    async def send(self, incoming: Incoming | str, who: str = PERSON) -> list[Reply]:
        self.clock.tick()
        if who not in self.onboarded:
            # Every person first confirms onboarding (tests/test_onboarding.py covers that step itself).
            self.onboarded.add(who)
            await self.conversations.handle(who, ButtonPress(ONBOARD_OK, 0))
        if isinstance(incoming, str):
            incoming = Command(incoming[1:]) if incoming.startswith("/") else Text(incoming)
        return await self.conversations.handle(who, incoming)

    async def text_of(self, incoming: Incoming | str, who: str = PERSON) -> str:
        """Everything the person reads in reply, as plain text."""
        replies = await self.send(incoming, who)
        return "\n".join(html_to_plain(reply.html) for reply in replies if isinstance(reply, Say))

    def question(self, replies: list[Reply]) -> Say:
        questions = [reply for reply in replies if isinstance(reply, Say) and reply.step_id is not None]
        assert questions, replies
        return questions[-1]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "springboard.sqlite3"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


async def start_bot(db_path: Path, catalog: Catalog, clock: FakeClock) -> Bot:
    connection = await open_database(db_path, clock())
    conversations = Conversations(catalog, Repository(connection), clock, ZoneInfo("Europe/Berlin"))
    return Bot(conversations, connection, clock)


@pytest.fixture
async def bot(db_path: Path, catalog: Catalog, clock: FakeClock) -> AsyncIterator[Bot]:
    running = await start_bot(db_path, catalog, clock)
    try:
        yield running
    finally:
        await running.connection.close()


def commands_in(text: str) -> set[str]:
    return {word.rstrip(":,.") for word in text.split() if word.startswith("/")}


async def test_reframe_from_start_to_finish_then_lessons_lists_the_lesson(bot: Bot, catalog: Catalog) -> None:
    welcome = await bot.text_of("/start")
    assert "/reframe" in welcome and "/quick" in welcome
    first = await bot.send("/reframe")
    assert bot.question(first).step_id == "what_happened"
    moves = ("I snapped at my sister", "6", "4", "I'm a terrible person", "/skip", "You were exhausted, apologise")
    for answer in moves:
        replies = await bot.send(answer)
    assert bot.question(replies).step_id == "control"
    await bot.send("/skip")
    await bot.send("Tiredness makes me short-tempered")
    await bot.send("Call her tonight and say sorry")
    finish = await bot.text_of("2")
    assert "Your springboard" in finish
    assert "Lesson: Tiredness makes me short-tempered" in finish
    assert "😠 Angry: 4 → 2" in finish

    lessons = await bot.text_of("/lessons")
    assert "You worked through 1 setback." in lessons
    assert "💡 Tiredness makes me short-tempered" in lessons
    assert "👣 Call her tonight and say sorry" in lessons
    assert "14 Mar 2025 · Work through a setback" in lessons  # the local date, in the bot's timezone
    # Nothing is left in progress.
    assert await bot.text_of("hello again") == html_to_plain(
        render(catalog.texts.no_active_flow, {"flows": _flows(catalog)})
    )


def _flows(catalog: Catalog) -> list[dict[str, str | None]]:
    return [
        {"command": flow.command, "title": flow.title, "description": flow.description} for flow in catalog.commanded
    ]


async def test_a_restart_resumes_at_the_same_step(db_path: Path, catalog: Catalog, clock: FakeClock) -> None:
    before = await start_bot(db_path, catalog, clock)
    try:
        await before.send("/reframe")
        await before.send("My flight was cancelled")
        replies = await before.send("1")
        asked_before = before.question(replies)
    finally:
        await before.connection.close()

    after = await start_bot(db_path, catalog, clock)
    try:
        replies = await after.send(Resume())
        lead, *_ = replies
        assert isinstance(lead, Say)
        assert lead.html == render(catalog.texts.welcome_back, {"title": "Work through a setback"})
        question = after.question(replies)
        assert question.step_id == asked_before.step_id == "intensity_before"
        assert question.html == asked_before.html
        # A button shown before the restart still works afterwards.
        replies = await after.send(ButtonPress("3", question.seq))
        assert after.question(replies).step_id == "harsh_voice"
    finally:
        await after.connection.close()


async def test_free_text_without_a_flow_suggests_what_to_start(bot: Bot, catalog: Catalog) -> None:
    second = await bot.text_of("hello there")
    assert {"/reframe", "/quick"} <= commands_in(second)
    assert second == html_to_plain(render(catalog.texts.no_active_flow, {"flows": _flows(catalog)}))
    sticker = await bot.text_of(NotText("sticker"))
    assert sticker == html_to_plain(catalog.texts.text_only)


async def test_cancel_stores_nothing(bot: Bot, catalog: Catalog) -> None:
    await bot.send("/quick")
    await bot.send("I forgot my friend's birthday")
    await bot.send("Put birthdays in my calendar")
    cancelled = await bot.text_of("/cancel")
    assert cancelled == html_to_plain(render(catalog.texts.cancelled, {"title": "Quick reflection"}))
    assert await bot.text_of("/lessons") == html_to_plain(catalog.texts.lessons_empty)
    user = await bot.conversations.repository.find_user(PERSON)
    assert user is not None
    assert await bot.conversations.repository.count_runs(user.id) == 0
    assert await bot.conversations.repository.active_state(user.id) is None
    assert await bot.text_of("/cancel") == catalog.texts.nothing_to_cancel


async def test_starting_another_flow_midway_is_refused_kindly_and_the_place_is_kept(bot: Bot, catalog: Catalog) -> None:
    await bot.send("/reframe")
    await bot.send("I failed the exam")
    busy, question = await bot.send("/quick")
    assert isinstance(busy, Say)
    assert busy.html == render(
        catalog.texts.busy_with_other_flow, {"title": "Work through a setback", "requested": "Quick reflection"}
    )
    assert isinstance(question, Say) and question.step_id == "feeling", "the question is shown again"
    # Still at the same question: the next answer is taken as the feeling.
    replies = await bot.send("Ashamed")
    assert bot.question(replies).step_id == "intensity_before"
    again = await bot.send("/reframe")
    assert bot.question(again).step_id == "intensity_before", "the same command just shows the question again"


async def test_each_person_has_their_own_place(bot: Bot) -> None:
    await bot.send("/reframe", who="tg:1")
    await bot.send("/quick", who="tg:2")
    replies = await bot.send("Lost my keys", who="tg:1")
    assert bot.question(replies).step_id == "feeling"
    replies = await bot.send("Lost my wallet", who="tg:2")
    assert bot.question(replies).step_id == "lesson"


async def test_an_old_button_after_the_flow_ended_changes_nothing(bot: Bot) -> None:
    await bot.send("/quick")
    for answer in ("Missed the bus", "Leave earlier", "Set an alarm for 7"):
        await bot.send(answer)
    assert await bot.send(ButtonPress(CONTINUE_VALUE, 3)) == [Stale()]


async def test_unknown_commands_point_to_help(bot: Bot, catalog: Catalog) -> None:
    assert await bot.text_of("/frobnicate") == html_to_plain(
        render(catalog.texts.unknown_command, {"command": "frobnicate"})
    )


async def answers(bot: Bot, who: str = PERSON) -> dict[str, object]:
    user = await bot.conversations.repository.find_user(who)
    assert user is not None
    state = await bot.conversations.repository.active_state(user.id)
    return {} if state is None else dict(state.answers)


def values_of(replies: list[Reply]) -> list[str]:
    return [button.value for reply in replies if isinstance(reply, Say) for row in reply.buttons for button in row]


async def test_a_setback_typed_outside_a_flow_is_offered_as_the_first_answer(bot: Bot) -> None:
    offer = await bot.send("i messed up again")
    assert values_of(offer) == [STORY_YES, STORY_NO]
    assert "look at it together" in html_to_plain(offer[0].html)
    started = await bot.send(ButtonPress(STORY_YES, 0))
    assert bot.question(started).step_id == "feeling"
    assert await answers(bot) == {"what_happened": "i messed up again"}


@pytest.mark.parametrize("typed", ["yes", "Yes, let's look at it", "sure", "1", "ok let's go"])
async def test_the_offer_is_taken_by_typing_yes(bot: Bot, typed: str) -> None:
    await bot.send("I had an awful day at work")
    started = await bot.send(typed)
    assert bot.question(started).step_id == "feeling"
    assert await answers(bot) == {"what_happened": "I had an awful day at work"}


async def test_the_offers_own_command_takes_it_up_with_the_words_kept(bot: Bot) -> None:
    await bot.send("i failed my driving test again")
    started = await bot.send("/reframe")
    assert bot.question(started).step_id == "feeling"
    assert await answers(bot) == {"what_happened": "i failed my driving test again"}


async def test_another_flows_command_after_the_offer_starts_it_afresh(bot: Bot) -> None:
    await bot.send("i failed my driving test again")
    started = await bot.send("/quick")
    assert bot.question(started).step_id == "what_happened"
    assert await answers(bot) == {}


async def test_not_now_keeps_nothing_and_a_later_yes_starts_nothing(bot: Bot) -> None:
    await bot.send("my exam went badly, i failed it")
    declined = await bot.text_of("not now")
    assert "whenever you want" in declined and "/reframe" in declined
    assert "I'm here whenever" in await bot.text_of("yes")
    assert await answers(bot) == {}
    user = await bot.conversations.repository.find_user(PERSON)
    assert user is not None and user.awaiting is None, "nothing the person wrote is kept any more"


async def test_other_words_after_the_offer_are_read_as_what_they_are(bot: Bot, catalog: Catalog) -> None:
    await bot.send("i messed up again")
    idle = await bot.text_of("hello")
    assert idle == html_to_plain(render(catalog.texts.no_active_flow, {"flows": _flows(catalog)}))
    assert await bot.send(ButtonPress(STORY_YES, 0)) != [], "an old offer tapped later still starts the flow"


async def test_a_caption_answers_a_text_question(bot: Bot) -> None:
    await bot.send("/quick")
    replies = await bot.send(NotText("photo", "I dropped the ball on the launch"))
    assert "What did it teach you?" in html_to_plain(bot.question(replies).html)
    assert await answers(bot) == {"what_happened": "I dropped the ball on the launch"}
    without = await bot.text_of(NotText("photo"))
    assert "only read text" in without


async def test_a_caption_answers_a_choice_and_outside_a_flow_is_free_text(bot: Bot) -> None:
    await bot.send("/reframe")
    await bot.send("Lost the match")
    replies = await bot.send(NotText("document", "😤"))
    assert bot.question(replies).step_id == "intensity_before"
    assert (await answers(bot))["feeling"] == "frustrated"
    await bot.send("/cancel")
    offer = await bot.send(NotText("photo", "i failed the driving test"))
    assert values_of(offer) == [STORY_YES, STORY_NO]


@pytest.mark.parametrize(
    ("feeling", "stored"),
    [("²", "frustrated"), ("٣", "anxious"), ("ashamed i guess", "ashamed"), ("ashamd", "ashamed"), ("😳", "ashamed")],
)
async def test_a_choice_reads_digits_in_any_script_words_typos_and_emoji(bot: Bot, feeling: str, stored: str) -> None:
    await bot.send("/reframe")
    await bot.send("I froze in the interview")
    replies = await bot.send(feeling)
    assert bot.question(replies).step_id == "intensity_before"
    assert (await answers(bot))["feeling"] == stored


@pytest.mark.parametrize(("typed", "stored"), [("eight", 8), ("٣", 3), ("7/10", 7), ("i'd say 6", 6)])
async def test_a_scale_reads_number_words_and_digits_in_any_script(bot: Bot, typed: str, stored: int) -> None:
    await bot.send("/reframe")
    await bot.send("I froze in the interview")
    await bot.send("anxious")
    await bot.send(typed)
    assert (await answers(bot))["intensity_before"] == stored


async def test_several_feelings_get_asked_which_fits_best(bot: Bot) -> None:
    await bot.send("/reframe")
    await bot.send("I froze in the interview")
    replies = await bot.send("honestly frustrated and sad")
    hint = bot.question(replies)
    assert hint.step_id == "feeling"
    assert "😤 Frustrated and 😢 Sad" in html_to_plain(hint.html)
    assert "feeling" not in await answers(bot)
    replies = await bot.send("sad")
    assert bot.question(replies).step_id == "intensity_before"


async def test_a_menu_shown_mid_flow_reads_only_whole_labels_and_leaves_numbers_to_the_flow(bot: Bot) -> None:
    await bot.send("/quick")
    for answer in ("Missed the bus", "Leave earlier", "Set an alarm for 7", "today"):
        await bot.send(answer)
    await bot.send("/reframe")
    await bot.send("Forgot my friend's birthday")
    await bot.send("/lessons")  # a menu with 🗑 1, This week, …
    assert "this week" in await bot.text_of("This week")  # its label still works
    replies = await bot.send("1")  # …but a number answers the flow's question
    assert bot.question(replies).step_id == "intensity_before"
    assert (await answers(bot))["feeling"] == "disappointed"


async def test_lone_surrogates_are_replaced_not_stored_broken(bot: Bot) -> None:
    await bot.send("/quick")
    await bot.send("I lost \ud83d the \udc00 keys")
    assert (await answers(bot))["what_happened"] == "I lost \ufffd the \ufffd keys"


async def test_words_kept_for_a_declined_offer_leave_no_trace_on_disk(bot: Bot, db_path: Path) -> None:
    await bot.send("MARKER-offer-51b2 i failed my exam")
    files = [db_path, db_path.with_name(db_path.name + "-wal"), db_path.with_name(db_path.name + "-shm")]

    def on_disk() -> bytes:
        return b"".join(file.read_bytes() for file in files if file.exists())

    assert b"MARKER-offer-51b2" in on_disk()  # the check can fail: the words were kept
    await bot.send("not now")
    assert b"MARKER-offer-51b2" not in on_disk()


async def test_words_after_a_flow_command_answer_its_first_question(bot: Bot) -> None:
    replies = await bot.send(Command("reframe", "I missed the deadline again"))
    assert bot.question(replies).step_id == "feeling"
    assert await answers(bot) == {"what_happened": "I missed the deadline again"}
    await bot.send("/cancel")
    replies = await bot.send(Command("quick", "no"))  # too short for the question: it is asked as usual
    assert bot.question(replies).step_id == "what_happened"


async def test_back_with_nothing_open_the_person_is_told_what_can_be_started(
    db_path: Path, catalog: Catalog, clock: FakeClock
) -> None:
    before = await start_bot(db_path, catalog, clock)
    try:
        await before.send("/reframe")
        await before.send("/cancel")
    finally:
        await before.connection.close()
    after = await start_bot(db_path, catalog, clock)
    try:
        (greeting,) = await after.send(Resume())
        assert isinstance(greeting, Say)
        assert greeting.html.startswith("I'm here whenever you want to work through something.")
        assert "/reframe" in greeting.html and "/quick" in greeting.html
    finally:
        await after.connection.close()


async def test_back_with_the_bots_question_unanswered_it_is_shown_again_and_still_answers(
    db_path: Path, catalog: Catalog, clock: FakeClock
) -> None:
    before = await start_bot(db_path, catalog, clock)
    try:
        (offer,) = await before.send("ugh i totally bombed the job interview this morning")
        assert isinstance(offer, Say) and offer.buttons  # "want to work through it?" with Yes / No
    finally:
        await before.connection.close()
    after = await start_bot(db_path, catalog, clock)
    try:
        lead, again = await after.send(Resume())
        assert isinstance(lead, Say) and isinstance(again, Say)
        # What they wrote is no longer on screen: the lead says what the offer is about.
        words = "ugh i totally bombed the job interview this morning"
        assert lead.html == render(catalog.texts.welcome_back_waiting, {"kept": True, "options": [], "words": words})
        assert not lead.buttons
        assert (again.html, again.buttons) == (offer.html, offer.buttons)
        # Shown again, it answers as before, and the words written before the restart were kept.
        replies = await after.send("yes")
        assert after.question(replies).step_id == "feeling"
        assert await answers(after) == {"what_happened": "ugh i totally bombed the job interview this morning"}
    finally:
        await after.connection.close()


async def test_back_after_a_hint_the_question_itself_comes_again_and_ages_as_before(
    db_path: Path, catalog: Catalog, clock: FakeClock
) -> None:
    before = await start_bot(db_path, catalog, clock)
    try:
        await before.send("/reframe")
        await before.send("my boss called me useless in front of everyone")
        await before.send("/cancel")
        (question,) = await before.send("/forget")
        assert isinstance(question, Say) and question.buttons
        (hint,) = await before.send("hmm what")
        assert isinstance(hint, Say) and hint.html != question.html
    finally:
        await before.connection.close()
    clock.tick(minutes=11 * 60)
    after = await start_bot(db_path, catalog, clock)
    try:
        _, again = await after.send(Resume())
        assert isinstance(again, Say) and (again.html, again.buttons) == (question.html, question.buttons)
    finally:
        await after.connection.close()
    # Being shown again does not make it younger: twelve hours after it was asked, it is no longer waiting.
    clock.tick(minutes=2 * 60)
    later = await start_bot(db_path, catalog, clock)
    try:
        (greeting,) = await later.send(Resume())
        assert isinstance(greeting, Say) and not greeting.buttons
        assert greeting.html.startswith("I'm here whenever you want to work through something.")
    finally:
        await later.connection.close()


async def test_a_no_with_a_reason_declines_the_offer_and_more_told_meanwhile_is_kept(bot: Bot) -> None:
    await bot.send("i bombed my driving test")
    (declined,) = await bot.send("not now, too stressed to think about it")
    assert isinstance(declined, Say) and not declined.buttons
    assert declined.html == render(
        bot.conversations.catalog.texts.setback_offer_declined, {"flows": _flows(bot.conversations.catalog)}
    )
    # Told more while the offer is open: what was told first is kept, and the rest follows it.
    await bot.send("failed my chem exam today")
    (offer,) = await bot.send("and then i cried the whole bus ride home")
    assert isinstance(offer, Say) and offer.buttons
    replies = await bot.send("yes")
    assert bot.question(replies).step_id == "feeling"
    assert await answers(bot) == {
        "what_happened": "failed my chem exam today\nand then i cried the whole bus ride home"
    }


async def test_back_to_buttons_kept_without_their_message_they_are_named(
    db_path: Path, catalog: Catalog, clock: FakeClock
) -> None:
    """A menu stored before its message was kept still comes back: its buttons, named in the lead."""
    before = await start_bot(db_path, catalog, clock)
    try:
        (offer,) = await before.send("i got dumped over text and i can't focus on anything")
        assert isinstance(offer, Say)
        await before.connection.execute("UPDATE users SET awaiting = json_remove(awaiting, '$.menu.html')")
        await before.connection.commit()
    finally:
        await before.connection.close()
    after = await start_bot(db_path, catalog, clock)
    try:
        (lead,) = await after.send(Resume())
        assert isinstance(lead, Say)
        labels = [button.label for row in offer.buttons for button in row]
        expected = {"kept": False, "options": labels, "words": "i got dumped over text and i can't focus on anything"}
        assert lead.html == render(catalog.texts.welcome_back_waiting, expected)
        assert lead.buttons == offer.buttons
        assert all(label in html_to_plain(lead.html) for label in labels)
    finally:
        await after.connection.close()
