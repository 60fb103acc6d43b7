"""The conversation side of the storage contract: people, flow state, runs and lessons, check-ins, heavy
requests. Every implementation of ``Storage`` must pass these (see conftest.py)."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest

from bot.checkins import CheckinSettings, CheckinState
from bot.engine import CompletedRun, State, StoredAnswer
from bot.storage.protocols import Storage
from bot.storage.records import CheckinRow, User
from tests.conftest import NOW


def a_state(flow_id: str = "quick", step: str = "lesson", **answers: str) -> State:
    return State(flow_id, 1, step, NOW, answers=dict(answers), answered_at=dict.fromkeys(answers, NOW), seq=3)


def a_run(lesson: str | None = "Ask for help sooner", *, finished: int = 0, flow_id: str = "quick") -> CompletedRun:
    at = NOW + timedelta(minutes=finished)
    answers = {"lesson": StoredAnswer(lesson, lesson or "", at)} if lesson else {}
    meaning = {"lesson": lesson, "next_step": "Email Dana", "feeling_before": 8, "feeling_after": 4}
    return CompletedRun(flow_id, 1, "Quick reflection", at, at, answers, {}, meaning)


async def test_a_person_is_created_once_and_found_by_their_external_id(storage: Storage) -> None:
    async with storage.transaction() as tx:
        assert await tx.find_user("cli:ana") is None
        ana = await tx.user("cli:ana", NOW)
        again = await tx.user("cli:ana", NOW + timedelta(days=1))
    assert again.id == ana.id and again.created_at == NOW
    async with storage.transaction() as tx:
        bo = await tx.user("tg:7", NOW)
    assert bo.id != ana.id


async def test_what_is_kept_about_a_person_between_messages_comes_back(storage: Storage) -> None:
    async with storage.transaction() as tx:
        ana = await tx.user("cli:ana", NOW)
        await tx.remember_pending_flow(ana.id, "reframe")
        await tx.hold_for_safety(ana.id, '{"held": 1}')
        await tx.keep_awaiting(ana.id, '{"words": "x"}')
    found = await _find(storage, "cli:ana")
    assert (found.pending_flow, found.safety_hold, found.awaiting, found.onboarded) == (
        "reframe",
        '{"held": 1}',
        '{"words": "x"}',
        False,
    )
    async with storage.transaction() as tx:
        await tx.mark_onboarded(ana.id, NOW)
        await tx.hold_for_safety(ana.id, None)
        await tx.keep_awaiting(ana.id, None, words_removed=True)
    found = await _find(storage, "cli:ana")
    assert found.onboarded and found.pending_flow is None
    assert found.safety_hold is None and found.awaiting is None


async def test_a_flow_position_round_trips_exactly_and_can_be_set_aside(storage: Storage) -> None:
    state = a_state(what="I missed the deadline")
    async with storage.transaction() as tx:
        ana = await tx.user("cli:ana", NOW)
        await tx.save_state(ana.id, state, NOW + timedelta(minutes=5))
    async with storage.transaction() as tx:
        assert await tx.active_state(ana.id) == state
        assert await tx.active_touched_at(ana.id) == NOW + timedelta(minutes=5)
        await tx.set_aside(ana.id, state, NOW + timedelta(minutes=5), NOW + timedelta(days=1))
        assert await tx.active_state(ana.id) is None
        assert await tx.set_aside_state(ana.id) == state
    async with storage.transaction() as tx:
        assert await tx.take_set_aside(ana.id) == state
        assert await tx.take_set_aside(ana.id) is None
        await tx.save_state(ana.id, None, NOW)
        assert await tx.active_state(ana.id) is None


async def test_completed_runs_are_the_lessons_newest_first_and_only_the_owners(storage: Storage) -> None:
    async with storage.transaction() as tx:
        ana = await tx.user("cli:ana", NOW)
        bo = await tx.user("cli:bo", NOW)
        first = await tx.save_run(ana.id, a_run("Start earlier", finished=1))
        second = await tx.save_run(ana.id, a_run("Ask for help sooner", finished=2))
        await tx.save_run(ana.id, a_run(None, finished=3))  # no lesson: not a lesson entry
        await tx.save_run(bo.id, a_run("Bo's own", finished=4))
    async with storage.snapshot() as view:
        lessons = await view.lessons(ana.id)
        overview = await view.lesson_overview(ana.id)
        assert [entry.run_id for entry in lessons] == [second, first]
        assert lessons[0].lesson == "Ask for help sooner" and lessons[0].next_step == "Email Dana"
        assert (lessons[0].feeling_before, lessons[0].feeling_after) == (8, 4)
        assert (overview.count, overview.average_before, overview.average_after) == (2, 8, 4)
        assert await view.lesson(bo.id, first) is None, "someone else's entry is never theirs"
        assert await view.count_runs(ana.id) == 3
        assert await view.run_answers(first) == {"lesson": "Start earlier"}
        assert await view.lesson_texts(ana.id) == ["Ask for help sooner", "Start earlier"]


async def test_an_entry_can_be_settled_corrected_and_deleted_by_its_owner_only(storage: Storage) -> None:
    async with storage.transaction() as tx:
        ana = await tx.user("cli:ana", NOW)
        bo = await tx.user("cli:bo", NOW)
        run = await tx.save_run(ana.id, a_run())
        assert not await tx.settle_next_step(bo.id, run, "done", NOW)
        assert await tx.settle_next_step(ana.id, run, "done", NOW)
        assert await tx.correct_entry(ana.id, run, "lesson", "Ask at once", NOW)
        entry = await tx.lesson(ana.id, run)
        assert entry is not None and entry.lesson == "Ask at once" and entry.next_step_outcome == "done"
        assert await tx.open_next_steps(ana.id) == []
        assert await tx.reopen_next_step(ana.id, run, date(2025, 3, 20))
        assert [step.run_id for step in await tx.open_next_steps(ana.id)] == [run]
        assert not await tx.delete_run(bo.id, run)
        assert await tx.delete_run(ana.id, run)
        assert await tx.lessons(ana.id) == []


async def test_check_in_settings_round_trip_and_the_due_are_paged_oldest_first(storage: Storage) -> None:
    settings = CheckinSettings(True, time(20, 0), "Europe/Berlin")
    async with storage.transaction() as tx:
        people = [await tx.user(f"cli:{name}", NOW) for name in ("a", "b", "c")]
        for minutes, person in enumerate(people):
            state = CheckinState(due_at=NOW + timedelta(minutes=minutes), unanswered=minutes)
            await tx.save_checkin(person.id, CheckinRow(settings, state, True, None, "Berlin"))
    async with storage.snapshot() as view:
        row = await view.checkin(people[1].id)
        assert row == CheckinRow(
            settings, CheckinState(due_at=NOW + timedelta(minutes=1), unanswered=1), True, None, "Berlin"
        )
        later = NOW + timedelta(hours=1)
        page = await view.due_checkins(later, limit=2)
        assert [user_id for user_id, _, _ in page] == [people[0].id, people[1].id]
        rest = await view.due_checkins(later, limit=2, after=(page[-1][2], page[-1][0]))
        assert [(user_id, external_id) for user_id, external_id, _ in rest] == [(people[2].id, "cli:c")]
        assert await view.due_checkins(NOW - timedelta(minutes=1)) == []


async def test_one_nudge_a_local_date(storage: Storage) -> None:
    async with storage.transaction() as tx:
        ana = await tx.user("cli:ana", NOW)
        assert await tx.record_nudge(ana.id, date(2025, 3, 14), NOW, None, reminder=False)
        assert not await tx.record_nudge(ana.id, date(2025, 3, 14), NOW, None, reminder=False)
        assert await tx.record_nudge(ana.id, date(2025, 3, 15), NOW, None, reminder=False)


async def test_a_revisit_is_asked_once_per_kind_and_its_answer_kept(storage: Storage) -> None:
    async with storage.transaction() as tx:
        ana = await tx.user("cli:ana", NOW)
        run = await tx.save_run(ana.id, a_run())
        past = await tx.past_lessons(ana.id, NOW - timedelta(days=1), NOW + timedelta(days=1))
        assert [(lesson.run_id, lesson.lesson) for lesson in past] == [(run, "Ask for help sooner")]
        asked = await tx.ask_revisit(ana.id, run, "week", date(2025, 3, 21), NOW)
        assert asked is not None
        assert await tx.ask_revisit(ana.id, run, "week", date(2025, 3, 22), NOW) is None
        await tx.answer_revisit(ana.id, asked, "yes", NOW)
        revisit = await tx.revisit_on(ana.id, date(2025, 3, 21))
        assert revisit is not None and (revisit.id, revisit.answer, revisit.kind) == (asked, "yes", "week")
        assert [held.run_id for held in await tx.held_lessons(ana.id)] == [run]


async def test_a_heavy_request_waits_once_per_kind_and_is_taken_once(storage: Storage) -> None:
    async with storage.transaction() as tx:
        ana = await tx.user("cli:ana", NOW)
        assert await tx.request_heavy(ana.id, "export", "", NOW)
        assert not await tx.request_heavy(ana.id, "export", "newer", NOW)
        assert await tx.request_heavy(ana.id, "chart", "week", NOW)
    async with storage.snapshot() as view:
        waiting = await view.heavy_requests()
    assert [(r.kind, r.detail, r.external_id) for r in waiting] == [
        ("export", "newer", "cli:ana"),
        ("chart", "week", "cli:ana"),
    ]
    async with storage.transaction() as tx:
        assert await tx.take_heavy(waiting[0].id)
        assert not await tx.take_heavy(waiting[0].id)


async def test_forgetting_a_person_leaves_nothing_of_them_and_others_untouched(storage: Storage) -> None:
    async with storage.transaction() as tx:
        ana = await tx.user("cli:ana", NOW)
        bo = await tx.user("cli:bo", NOW)
        for person in (ana, bo):
            await tx.save_run(person.id, a_run())
            await tx.save_state(person.id, a_state(), NOW)
            await tx.request_heavy(person.id, "export", "", NOW)
        assert await tx.forget_user(ana.id) == 1
    assert await _missing(storage, "cli:ana")
    async with storage.snapshot() as view:
        assert await view.lessons(ana.id) == [] and await view.active_state(ana.id) is None
        assert [r.user_id for r in await view.heavy_requests()] == [bo.id]
        assert len(await view.lessons(bo.id)) == 1


async def test_nothing_of_a_failed_transaction_is_kept(storage: Storage) -> None:
    with pytest.raises(RuntimeError):
        async with storage.transaction() as tx:
            await tx.user("cli:ana", NOW)
            raise RuntimeError("the handler failed")
    assert await _missing(storage, "cli:ana")


async def test_a_snapshot_sees_what_was_committed(storage: Storage) -> None:
    async with storage.transaction() as tx:
        ana = await tx.user("cli:ana", NOW)
        await tx.save_state(ana.id, a_state(), NOW)
    async with storage.snapshot() as view:
        assert await view.active_state(ana.id) == a_state()
        export = await view.export(ana.id)
    assert export["in_progress"] == a_state().to_json() and export["runs"] == []


async def _find(storage: Storage, external_id: str) -> User:
    async with storage.snapshot() as view:
        found = await view.find_user(external_id)
    assert found is not None
    return found


async def _missing(storage: Storage, external_id: str) -> bool:
    async with storage.snapshot() as view:
        return await view.find_user(external_id) is None


async def test_a_persons_transactions_apply_one_after_the_other(storage: Storage) -> None:
    import asyncio

    order: list[str] = []
    first_holds = asyncio.Event()
    second_asks = asyncio.Event()

    async def first() -> None:
        async with storage.transaction() as tx:
            await tx.lock_person("tg:1")
            first_holds.set()
            await second_asks.wait()
            await asyncio.sleep(0.5)  # the second is waiting by now (it would have gone ahead otherwise)
            order.append("first commits")

    async def second() -> None:
        await first_holds.wait()
        second_asks.set()
        async with storage.transaction() as tx:
            await tx.lock_person("tg:1")
            order.append("second holds the lock")

    await asyncio.wait_for(asyncio.gather(first(), second()), 30)
    assert order == ["first commits", "second holds the lock"]


async def test_a_check_in_row_can_be_claimed_by_one_transaction_at_a_time(storage: Storage) -> None:
    settings = CheckinSettings(True, time(20, 0), "Europe/Berlin")
    async with storage.transaction() as tx:
        ana = await tx.user("cli:ana", NOW)
        await tx.save_checkin(ana.id, CheckinRow(settings, CheckinState(due_at=NOW), True, None, None))
        assert await tx.claim_checkin(ana.id)
    async with storage.transaction() as tx:
        assert await tx.claim_checkin(ana.id), "free again once the transaction that held it ended"
