"""Simulated people for the reliability tests: each walks the ``setback`` flow through the stand-in.

A person answers only after the bot has shown the question (as someone holding a phone would), never
re-sends anything, and gives up with a clear failure after a timeout, so a driver can never hang.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass, field
from typing import Any, Literal

from bot.days import day_words, find_day
from standin.records import ChatMessage
from standin.requestlog import RequestRecord
from standin.server import StandIn
from tests.tg.conftest import shipped_catalog

FEELINGS = {
    "disappointed": "😞 Disappointed",
    "frustrated": "😤 Frustrated",
    "anxious": "😟 Anxious",
    "ashamed": "😳 Ashamed",
    "sad": "😢 Sad",
    "angry": "😠 Angry",
    "numb": "😶 Numb",
    "mixed": "🌀 Mixed",
}

# A line of each question of the setback flow, as the person sees it.
QUESTIONS = {
    "what_happened": "What happened?",
    "feeling": "What are you feeling most right now?",
    "intensity_before": "How strong is that feeling right now?",
    "grounding": "let's slow down for a moment",
    "harsh_voice": "What's the harshest thing you're telling yourself",
    "traps": "Does it sound like any of these?",
    "friend_voice": "What would you say to them?",
    "control": "what was in your control, and what wasn't?",
    "lesson": "What has this taught you?",
    "next_step": "What's one small next step, and when will you take it?",
    "intensity_after": "how strong is it now?",
    "finish": "Your springboard",
}


@dataclass(frozen=True)
class Move:
    """One thing the person does, and the question they then wait for."""

    kind: Literal["type", "tap"]
    value: str
    then: str


@dataclass
class Person:
    """One simulated user with their own answers to the setback flow."""

    user_id: int
    answers: dict[str, Any]
    think: tuple[float, float] = (0.0, 0.0)
    done: bool = False
    waited: list[float] = field(default_factory=list)
    waiting_since: float | None = None
    """When (the loop's clock) the person began waiting for the question they wait for now, if any."""

    @classmethod
    def make(cls, user_id: int, number: int, rng: random.Random, think: tuple[float, float]) -> Person:
        """A person whose answers are unique to them (some with HTML-looking text, some skipping a question)."""
        feeling = rng.choice(sorted(FEELINGS))
        answers: dict[str, Any] = {
            "what_happened": f"Person {number}: I missed the <b>deadline</b> & the report #{number} slipped",
            "feeling": feeling,
            "intensity_before": rng.choice([3, 6, 8, 10]) if number % 2 else rng.randint(0, 7),
            "harsh_voice": f"You never finish anything, person {number}",
            "traps": None,  # skipped: naming a thinking trap is optional
            "friend_voice": f"One late report does not define you, friend {number}",
            "control": None if number % 3 == 0 else f"I controlled my planning, not the outage ({number})",
            "lesson": f"Lesson {number}: start a day earlier and ask for help",
            "next_step": f"Next step {number}: block two hours on Monday morning",
            "intensity_after": rng.randint(0, 10),
        }
        return cls(user_id, answers, think)

    def questions(self) -> list[str]:
        """Every question this person must be shown on their path through the flow."""
        steps = ["what_happened", "feeling", "intensity_before"]
        if self.answers["intensity_before"] >= 8:
            steps.append("grounding")
        steps += ["harsh_voice", "traps", "friend_voice", "control", "lesson", "next_step", "intensity_after", "finish"]
        return [QUESTIONS[step] for step in steps]

    def moves(self) -> list[Move]:
        """What the person does, in order, and what they then expect to see."""
        a = self.answers
        moves = [
            Move("type", "/reframe", QUESTIONS["what_happened"]),
            Move("type", a["what_happened"], QUESTIONS["feeling"]),
            Move("tap", FEELINGS[a["feeling"]], QUESTIONS["intensity_before"]),
        ]
        if a["intensity_before"] >= 8:
            moves.append(Move("tap", str(a["intensity_before"]), QUESTIONS["grounding"]))
            moves.append(Move("tap", "I'm ready to go on", QUESTIONS["harsh_voice"]))
        else:
            moves.append(Move("tap", str(a["intensity_before"]), QUESTIONS["harsh_voice"]))
        moves += [
            Move("type", a["harsh_voice"], QUESTIONS["traps"]),
            Move("tap", "Skip", QUESTIONS["friend_voice"]),
            Move("type", a["friend_voice"], QUESTIONS["control"]),
            Move("tap", "Skip", QUESTIONS["lesson"])
            if a["control"] is None
            else Move("type", a["control"], QUESTIONS["lesson"]),
            Move("type", a["lesson"], QUESTIONS["next_step"]),
            Move("type", a["next_step"], QUESTIONS["intensity_after"]),
            Move("tap", str(a["intensity_after"]), QUESTIONS["finish"]),
        ]
        return moves

    def expected_answers(self) -> dict[str, Any]:
        """The answers a completed run must hold, by step id: what was typed and tapped, and the day the
        next step names ("on Monday morning"), which the flow then takes instead of asking."""
        answers = dict(self.answers)
        named = find_day(str(answers["next_step"]), day_words(shipped_catalog().texts))
        if named is not None:
            answers["next_step_when"] = named
        return answers

    async def walk(self, standin: StandIn, rng: random.Random, step_timeout: float) -> None:
        """Go through the flow: think, act, then wait (at most ``step_timeout`` s) for the next question."""
        loop = asyncio.get_running_loop()
        asked = ""  # the question this move answers
        for number, move in enumerate(self.moves()):
            await asyncio.sleep(rng.uniform(*self.think))
            if move.kind == "type":
                standin.user_sends_text(self.user_id, move.value)
            else:
                target = self._message_with_button(standin, move.value, asked)
                standin.user_presses_button(self.user_id, target.message_id, text=move.value)
            asked = move.then
            started = self.waiting_since = loop.time()
            if number == 0:
                # A newcomer first reads what the bot is and is not, and confirms with its one button.
                await standin.wait_until(
                    lambda expected=move.then: self._shown(standin, expected) or self._onboarding(standin),
                    timeout=step_timeout,
                    chat_id=self.user_id,
                    what=f"user {self.user_id} being welcomed",
                )
                card = self._onboarding(standin)
                if card is not None and not self._shown(standin, move.then):
                    await asyncio.sleep(rng.uniform(*self.think))
                    standin.user_presses_button(self.user_id, card.message_id, text=card.button_texts[0])
            await standin.wait_until(
                lambda expected=move.then: self._shown(standin, expected),
                timeout=step_timeout,
                chat_id=self.user_id,
                what=f"user {self.user_id} being asked {move.then!r}",
            )
            self.waited.append(loop.time() - started)
            self.waiting_since = None
        self.done = True

    def _onboarding(self, standin: StandIn) -> ChatMessage | None:
        cards = [message for message in standin.bot_messages(self.user_id) if message.button_texts]
        return cards[-1] if cards else None

    def _message_with_button(self, standin: StandIn, label: str, question: str) -> ChatMessage:
        """The newest message with this button under the question being answered (else the newest with it).

        A person taps under the question they are reading. After kills a chat can hold several copies of
        a question, and one failing run had a copy of the earlier question (with its own "Skip") arrive
        after the one being answered (the outbox then marked a batch sent only once all of it had gone, so
        a kill late in a batch sent it all again; it now marks each message as it goes). Tapping that copy
        is a stale press, which the bot answers with a short notice and nothing else, so this simulated
        person would wait for a next question that never comes."""
        with_button = [message for message in standin.bot_messages(self.user_id) if label in message.button_texts]
        for message in reversed(with_button):
            if question and question in message.shown_text:
                return message
        if with_button:
            return with_button[-1]
        raise AssertionError(f"user {self.user_id} has no button {label!r}:\n{standin.transcript(self.user_id)}")

    def _shown(self, standin: StandIn, expected: str) -> bool:
        return any(expected in message.shown_text for message in standin.bot_messages(self.user_id))


def check_database(rows: Any, people: list[Person], *, sqlite: bool = True) -> None:
    """Every person has exactly one completed setback run holding exactly their answers; nothing is pending.

    ``rows(query, *params)`` runs a query (``?`` for parameters) on the bot's database: its SQLite file
    (whose integrity is checked too), or PostgreSQL with ``sqlite`` False.
    """
    if sqlite:
        assert rows("PRAGMA integrity_check") == [("ok",)]
    assert rows("SELECT count(*) FROM active_runs") == [(0,)], "a flow was left in progress"
    assert rows("SELECT count(*) FROM inbox") == [(0,)], "a received update was never handled"
    assert rows("SELECT count(*) FROM outbox") == [(0,)], "a committed reply was never sent"
    for person in people:
        runs = rows(
            "SELECT runs.id, runs.flow_id FROM runs JOIN users ON users.id = runs.user_id WHERE users.external_id = ?",
            f"tg:{person.user_id}",
        )
        assert len(runs) == 1, f"user {person.user_id} has {len(runs)} completed runs, not one"
        [(run_id, flow_id)] = runs
        assert flow_id == "setback"
        stored = {
            step: json.loads(value)
            for step, value in rows("SELECT step_id, value FROM run_answers WHERE run_id = ?", run_id)
        }
        assert stored == person.expected_answers(), f"user {person.user_id}'s run holds other answers"


def check_every_question_shown(standin: StandIn, people: list[Person]) -> None:
    """Every person saw every question on their path at least once, and never an apology or a traceback."""
    for person in people:
        shown = [message.shown_text for message in standin.bot_messages(person.user_id)]
        for question in person.questions():
            assert any(question in text for text in shown), f"user {person.user_id} was never asked {question!r}"
        assert not any("Traceback" in text or "went wrong" in text for text in shown), standin.transcript(
            person.user_id
        )


def check_replies_in_order(standin: StandIn, people: list[Person]) -> None:
    """Each person was first asked each question in the flow's order (a reply sent again after a crash may
    repeat an earlier one; none may come before the one it follows)."""
    for person in people:
        shown = [message.shown_text for message in standin.bot_messages(person.user_id)]
        firsts = [next(n for n, text in enumerate(shown) if question in text) for question in person.questions()]
        assert firsts == sorted(firsts), f"user {person.user_id} saw questions out of order:\n" + standin.transcript(
            person.user_id
        )


def check_retried_patiently(
    records: list[RequestRecord], stopping: float, methods: tuple[str, ...], backoff: float
) -> None:
    """Every refused or dropped request to ``methods`` was tried again, never sooner than Telegram asked
    (retry_after) or than the bot's first ``backoff``: no hammering a server that is in trouble. Requests in
    the last 3 s before ``stopping`` (a wall-clock time) are left out: their retry may have been cut short."""
    for index, record in enumerate(records):
        if record.status not in (0, 429, 500, 502) or record.method not in methods or record.at > stopping - 3:
            continue
        retry = _next_try(records, index)
        assert retry is not None, f"a failed {record.method} was never tried again"
        wait = _retry_after(record) if record.status == 429 else backoff
        assert retry.at - record.at >= wait - 0.05, f"{record.method} retried after {retry.at - record.at:.2f} s"


def _chat(record: RequestRecord) -> str | None:
    value = record.params.get("chat_id")
    return None if value is None else str(value)


def _next_try(records: list[RequestRecord], index: int) -> RequestRecord | None:
    """The next request to the same method and chat as ``records[index]``."""
    failed = records[index]
    for later in records[index + 1 :]:
        if later.method == failed.method and _chat(later) == _chat(failed):
            return later
    return None


def _retry_after(record: RequestRecord) -> float:
    return float(((record.response or {}).get("parameters") or {}).get("retry_after", 0))


@contextlib.asynccontextmanager
async def walking(
    standin: StandIn, people: list[Person], seed: int, step_timeout: float
) -> AsyncIterator[list[asyncio.Task[None]]]:
    """Every person walks the flow in a task of their own (their pace drawn from ``seed`` and their id); the
    tasks are cancelled and awaited on leaving, however the test ends."""
    walks = [
        asyncio.create_task(person.walk(standin, random.Random(seed + person.user_id), step_timeout))
        for person in people
    ]
    try:
        yield walks
    finally:
        for walk in walks:
            walk.cancel()
        await asyncio.gather(*walks, return_exceptions=True)


async def walk_while(
    disturbance: Coroutine[Any, Any, None],
    standin: StandIn,
    people: list[Person],
    seed: int,
    step_timeout: float,
    budget: float,
) -> None:
    """Everyone walks the flow (within ``budget`` seconds in all) while ``disturbance`` runs beside them.

    The disturbance is cancelled only when the walks fail; when they finish it is awaited, so it stops at
    its next look: cancelled between killing a bot and restarting it, it would leave that bot down.
    """
    task = asyncio.create_task(disturbance)
    try:
        async with walking(standin, people, seed, step_timeout) as walks:
            await asyncio.wait_for(asyncio.gather(*walks), budget)
    except BaseException:
        task.cancel()
        raise
    finally:
        await asyncio.gather(task, return_exceptions=True)
