"""Hostile and strange input, through the real Intake and handlers in-process: nothing breaks.

Whatever a person (or a forged client) sends: no crash, no traceback shown, every message the bot sends
is one Telegram would accept, the stored state stays sound, and one press moves the flow at most once.
"""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.engine import State
from bot.flows.model import TextStep
from tests.reliability.inprocess import USER, Rig, buttons, rig
from tests.sound_state import assert_sound
from tests.tg.conftest import shipped_catalog

INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u202e", "\u2066", "\u061c"]
CONTROL = ["\x00", "\x01", "\x07", "\x08", "\x1b", "\x7f", "\r", "\t", "\v", "\f", "\x85", "\u2028"]
NASTY = [
    "",
    " ",
    "   \n\t  ",
    "<b>bold</b> <i>it</i> <a href='javascript:alert(1)'>x</a>",
    "<script>alert('hi')</script>",
    "</b></i><pre>",
    "&amp; &lt; & < > &#0; &#x110000; &bogus;",
    "**bold** __it__ `code` ```block``` [link](http://example.com) ||spoiler||",
    "'; DROP TABLE runs; --",
    "Robert'); DELETE FROM users WHERE 1=1;--",
    "1 OR 1=1",
    "{{ 7 * 7 }} {% for x in range(10**9) %}x{% endfor %} ${7*7}",
    "مرحبا، حدث شيء سيئ اليوم",
    "\u202eevil text\u202c reversed",
    "שלום עולם with mixed ltr",
    "👩‍👩‍👧‍👦🏳️‍🌈🇺🇦 🌱" * 3,
    "Z̴̡̪͊a̷͉͗l̸̰̈́g̶̱̓ȯ̸̠",
    "%s %d %n {0} {name}",
    "\\x00 \\n \\u0000",
    "/start@other_bot extra words",
    "9:30",
    "no",
    "2024-01-02",
]
VALUES = ["sad", "angry", "mixed", "5", "0", "10", "11", "-1", "__skip", "__go", "__done", "__hello", "__sos_go"]

texts = st.one_of(
    st.text(max_size=120),
    st.sampled_from(NASTY),
    st.text(alphabet=st.sampled_from(INVISIBLE + CONTROL + [" ", "a"]), max_size=12),
    st.builds(
        lambda piece, count: piece * count,
        st.sampled_from(["a ", "🌱", "&<>", "\u200b", "👩‍👩‍👧", "ب ", "x"]),
        st.integers(min_value=400, max_value=4200),
    ),
)
commands = st.sampled_from(
    [
        "/reframe",
        "/quick",
        "/back",
        "/skip",
        "/cancel",
        "/start",
        "/help",
        "/lessons",
        "/nonsense",
        "/QUICK@springboard_test_bot",
        "/",
    ]
)
callback_data = st.one_of(
    st.none(),
    st.text(max_size=100),
    st.builds(
        lambda seq, value: f"{seq}:{value}",
        st.integers(min_value=-3, max_value=10**13),
        st.sampled_from([*VALUES, "", "x" * 80, "1:2:3"]),
    ),
)
actions = st.lists(
    st.one_of(
        st.tuples(st.just("answer"), st.just("")),
        st.tuples(st.just("text"), texts),
        st.tuples(st.just("command"), commands),
        st.tuples(st.just("press"), callback_data),
        st.tuples(st.just("inline"), callback_data),
        st.tuples(st.just("stale"), st.integers(min_value=0, max_value=40)),
        st.tuples(st.just("edit"), texts),
    ),
    min_size=1,
    max_size=10,
)
EXAMPLES = settings(max_examples=75, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def sound(state: State | None) -> None:
    """A stored state that belongs to a real flow, sits on a real step, and holds only valid answers."""
    assert_sound(shipped_catalog(), state)


async def answer_current(session: Rig, number: int) -> None:
    """Give a valid answer to whatever is asked now: a button of the current question, or fitting text."""
    state = await session.state()
    if state is None:
        await session.say("/reframe")
        return
    prefix = f"{state.seq}:"
    for sent in reversed(session.sent() + session.sent("editMessageText")):
        found = [button["callback_data"] for button in buttons(sent) if button["callback_data"].startswith(prefix)]
        # Where several can be picked, one tick and then Done answers it (another tap would untick).
        done = [data for data in found if data.endswith(":__done")]
        usable = done if done and state.selection else [data for data in found if not data.endswith(":__skip")]
        if usable:
            await session.deliver(session.press(usable[0], sent))
            return
    await session.say(f"An honest answer, number {number}")


def seq_of(data: str | None) -> int | None:
    head, separator, _ = (data or "").partition(":")
    return int(head) if separator and head.isdigit() and len(head) < 12 else None


async def apply(session: Rig, kind: str, value: Any, number: int) -> str | None:
    """Do one action; returns the callback data pressed, if it was a press."""
    if kind == "answer":
        await answer_current(session, number)
    elif kind in ("text", "command"):
        await session.say(value)
    elif kind == "press":
        with_buttons = [sent for sent in session.sent() if buttons(sent)]
        await session.deliver(session.press(value, with_buttons[-1] if with_buttons else None))
        return str(value)
    elif kind == "inline":
        await session.deliver(session.press(value, None))
        return str(value)
    elif kind == "stale":
        shown = [(sent, button) for sent in session.sent() for button in buttons(sent)]
        if shown:
            sent, button = shown[value % len(shown)]
            await session.deliver(session.press(button["callback_data"], sent))
            return str(button["callback_data"])
    elif kind == "edit":
        # The person edits the last message they sent.
        await session.deliver(session.message(value, edited=True, message_id=session.next_message_id))
    return None


@EXAMPLES
@given(steps=actions)
@example(steps=[("answer", ""), ("answer", ""), ("answer", ""), ("text", "🌱" * 2000)])
@example(steps=[("text", "a " * 2100), ("text", "\u200b\u200b\u200b"), ("text", "\x00\x01\x02")])
@example(steps=[("press", "x" * 100), ("inline", "1:sad"), ("press", None), ("press", "99999999999999:sad")])
async def test_any_sequence_of_strange_input_keeps_the_conversation_sound(steps: list[tuple[str, Any]]) -> None:
    async with rig() as session:
        await session.start_flow("/reframe")
        for number, (kind, value) in enumerate(steps):
            before = await session.state()
            sent_before = len(session.sent())
            pressed = await apply(session, kind, value, number)
            after = await session.state()

            assert session.problems == [], session.problems
            assert [record.getMessage() for record in session.errors.records] == []
            sound(after)
            if before is not None and after is not None and after.started_at == before.started_at:
                assert after.seq - before.seq in (0, 1), "one update moved the flow more than one step"
            if kind == "edit":
                assert after == before and len(session.sent()) == sent_before, "an edited message changed things"
            if pressed is not None and before is not None and seq_of(pressed) != before.seq:
                assert after == before, "a press on another question's button changed the state"
            if kind == "text" and before is not None and after is not None and after.seq == before.seq + 1:
                step = shipped_catalog().flows[before.flow_id].step(before.step)
                if isinstance(step, TextStep):
                    assert after.answers[before.step] == value.strip(), "a typed answer was stored altered"
        assert await session.scalar("SELECT count(*) FROM inbox") == 0
        assert await session.scalar("SELECT count(*) FROM outbox") == 0
        for answers in await session.runs():
            assert answers, "a completed run without answers"


async def walk_to(session: Rig, step_id: str) -> None:
    """From a fresh start of ``setback``, answer validly until ``step_id`` is asked."""
    await session.start_flow("/reframe")
    for number in range(20):
        state = await session.state()
        assert state is not None
        if state.step == step_id:
            return
        await answer_current(session, number)
    raise AssertionError(f"never reached {step_id}")


async def test_long_answers_are_quoted_back_by_their_first_words_in_one_telegram_message() -> None:
    async with rig() as session:
        await walk_to(session, "harsh_voice")
        # About 2000 characters (the step's limit), 4000 UTF-16 units: only its start is quoted back.
        await session.say("You 🌱 " + "never get anything right 🌱 " * 70)
        await session.say("/skip")  # no thinking trap
        state = await session.state()
        assert state is not None and state.step == "friend_voice"
        assert session.problems == []
        shown = session.texts_shown()[-1]
        assert "“You 🌱 never get anything right" in shown and "…”" in shown
        assert shown.count("🌱") < 10, "a long answer is quoted by its first words, not whole"
        assert "What would you say to them?" in shown


async def test_a_double_tap_moves_the_flow_once_and_the_second_tap_is_told_it_is_stale() -> None:
    async with rig() as session:
        await walk_to(session, "feeling")
        before = await session.state()
        assert before is not None
        question = next(sent for sent in reversed(session.sent()) if buttons(sent))
        sad = next(button["callback_data"] for button in buttons(question) if "Sad" in button["text"])
        asked = len([text for text in session.texts_shown() if "How strong" in text])

        await asyncio.gather(*(session.intake.accept([session.press(sad, question)]) for _ in range(2)))
        await session.intake.drain(10)
        session.check_sent()

        after = await session.state()
        assert after is not None and after.seq == before.seq + 1 and after.answers["feeling"] == "sad"
        assert len([text for text in session.texts_shown() if "How strong" in text]) == asked + 1
        answers = session.sent("answerCallbackQuery")[-2:]
        assert [bool(answer.get("text")) for answer in answers] == [False, True]
        assert session.problems == [] and session.errors.records == []


async def test_ten_taps_on_different_buttons_at_once_apply_only_the_first() -> None:
    async with rig() as session:
        await walk_to(session, "intensity_before")
        before = await session.state()
        assert before is not None
        question = next(sent for sent in reversed(session.sent()) if buttons(sent))
        presses = [session.press(button["callback_data"], question) for button in buttons(question)[:10]]

        await asyncio.gather(*(session.intake.accept([press]) for press in presses))
        await session.intake.drain(10)
        session.check_sent()

        after = await session.state()
        assert after is not None and after.seq == before.seq + 1
        assert after.answers["intensity_before"] == 0, "not the first tap was applied"
        stale = [answer for answer in session.sent("answerCallbackQuery")[-10:] if answer.get("text")]
        assert len(stale) == 9
        assert session.problems == [] and session.errors.records == []


async def test_ten_messages_sent_at_once_are_applied_once_each_in_order() -> None:
    async with rig() as session:
        await session.start_flow("/quick")
        shown_before = len(session.texts_shown())
        texts = [f"Message number {n} from a fast thumb" for n in range(10)]
        texts[3] = "tomorrow"  # when the next step is due
        messages = [session.message(text) for text in texts]

        await asyncio.gather(*(session.intake.accept([message]) for message in messages))
        await session.intake.drain(10)
        session.check_sent()

        [answers] = await session.runs()
        assert answers == {
            "what_happened": "Message number 0 from a fast thumb",
            "lesson": "Message number 1 from a fast thumb",
            "next_step": "Message number 2 from a fast thumb",
            "next_step_when": "+1",
        }
        assert await session.state() is None
        # One reply each, in order: the next three questions, the summary, then a nudge for each of the rest.
        replies = session.texts_shown()[shown_before:]
        assert len(replies) == 10
        assert "teach you" in replies[0] and "next step" in replies[1] and "When would" in replies[2]
        assert "Saved." in replies[3]
        assert len(set(replies[4:])) == 1 and "Saved." not in replies[4]
        assert session.problems == [] and session.errors.records == []


async def test_repeated_and_out_of_order_updates_apply_exactly_once() -> None:
    async with rig() as session:
        other = USER + 1
        await session.start_flow("/quick")
        await session.start_flow("/quick", user=other)
        first = session.message("The first answer, sent first", update_id=1_000)
        late = session.message("An answer whose id is lower", user=other, update_id=900)

        await session.deliver(first)
        await session.deliver(late)  # a lower id than one already handled: still new, still applied
        await session.deliver(first, late)  # Telegram sending both again
        await session.deliver(late)

        mine, theirs = await session.state(), await session.state(other)
        assert mine is not None and mine.answers == {"what_happened": "The first answer, sent first"}
        assert theirs is not None and theirs.answers == {"what_happened": "An answer whose id is lower"}
        assert sum("teach you" in text for text in session.texts_shown(USER)) == 1
        assert sum("teach you" in text for text in session.texts_shown(other)) == 1
        assert await session.scalar("SELECT value FROM bot_state WHERE key = 'update_offset'") == "1001"
        assert session.problems == [] and session.errors.records == []


async def test_an_edited_answer_changes_nothing_and_gets_no_reply() -> None:
    async with rig() as session:
        await session.start_flow("/quick")
        original = session.message("I lost my keys on the way to work")
        await session.deliver(original)
        sent = len(session.sent())
        assert original.message is not None
        await session.deliver(session.message("I lost my job", edited=True, message_id=original.message.message_id))
        state = await session.state()
        assert state is not None and state.answers == {"what_happened": "I lost my keys on the way to work"}
        assert len(session.sent()) == sent
        assert session.errors.records == []
