"""Telegram's limits on our side: spread sends with a margin, about 1 a second per chat, replies first, and
429s that pause only what they concern."""

from __future__ import annotations

import asyncio

import pytest

from bot.tg.throttle import MARGIN, Pacer, Throttle

CEILING_S = 60.0


def test_sends_are_spread_evenly_below_the_overall_limit() -> None:
    pacer = Pacer(overall=30, per_chat=0)
    now = 100.0
    for chat in range(27):
        assert pacer.overall_ready_in(now) <= 1e-9
        pacer.record(chat, now)
        now += pacer.interval
    # 27 sends took a whole second: 30 × (1 − 10 %) a second, never a burst of 30.
    assert now - 100.0 == pytest.approx(1.0)
    assert pacer.interval == pytest.approx(1 / (30 * (1 - MARGIN)))


@pytest.mark.parametrize("stall_every", [1, 10])
def test_late_wake_ups_are_made_up_without_ever_passing_the_limit(stall_every: int) -> None:
    pacer = Pacer(overall=30, per_chat=0)
    sent: list[float] = []
    now = 100.0
    for number in range(300):
        now += pacer.overall_ready_in(now)
        now += 0.2 if stall_every > 1 and number % stall_every == 0 else 0.02  # the event loop wakes up late
        pacer.record(number, now)
        sent.append(now)
    for first, start in enumerate(sent):
        assert len([at for at in sent[first:] if at < start + 1.0]) <= 30
    rate = (len(sent) - 1) / (sent[-1] - sent[0])
    # Sending only when "now + interval" would give 1 / (37 ms + 20 ms) ≈ 17.5 a second; the schedule keeps ~27.
    assert rate > (26 if stall_every == 1 else 19), rate  # a 0.2 s stall is made up only 3 slots deep


def test_one_chat_gets_a_short_burst_then_one_a_second() -> None:
    pacer = Pacer(overall=0, per_chat=1.0, burst=3)
    for _ in range(3):
        assert pacer.chat_ready_in(7, 100.0) == 0
        pacer.record(7, 100.0)  # a reply, an edit and the next question arrive together
    assert pacer.chat_ready_in(7, 100.0) == pytest.approx(1.0)
    assert pacer.chat_ready_in(8, 100.0) == 0  # another chat is not held up by chat 7


def test_a_429_for_one_chat_pauses_that_chat_only() -> None:
    pacer = Pacer(overall=30, per_chat=1.0)
    assert pacer.flood(7, 5, now=100.0) is False
    assert pacer.chat_ready_in(7, 100.0) == pytest.approx(5.0)
    assert pacer.chat_ready_in(8, 100.0) == 0 and pacer.overall_ready_in(100.0) == 0


def test_429s_for_several_chats_close_together_pause_everything_and_nothing_shortens_a_pause() -> None:
    pacer = Pacer(overall=30, per_chat=1.0)
    pacer.flood(7, 5, now=100.0)
    assert pacer.flood(8, 1, now=100.5) is True
    assert pacer.overall_ready_in(100.5) == pytest.approx(1.0)
    pacer.flood(None, 0.5, now=100.5)  # a shorter request never ends a pause early
    assert pacer.paused_until == pytest.approx(101.5)
    assert pacer.chat_ready_in(7, 101.5) == pytest.approx(3.5)


def test_429s_far_apart_stay_with_their_chats() -> None:
    pacer = Pacer(overall=30, per_chat=1.0)
    pacer.flood(7, 1, now=100.0)
    assert pacer.flood(8, 1, now=105.0) is False
    assert pacer.overall_ready_in(105.0) == 0


def test_idle_chats_are_forgotten_so_memory_does_not_grow_with_people() -> None:
    pacer = Pacer(overall=0, per_chat=1.0, burst=3)
    for chat in range(1000):
        pacer.record(chat, 100.0)
    pacer.flood(5, 60, now=100.0)
    pacer.forget_idle(now=110.0, busy={6})
    assert set(pacer.chats) == {5, 6}  # one still paused, one still waiting to send


async def test_limits_set_to_zero_send_at_once() -> None:
    throttle = Throttle(overall=0, per_chat=0)
    async with asyncio.timeout(CEILING_S):
        for _ in range(200):
            await throttle.wait(7)
    assert throttle.waiting() == 0


async def test_a_reply_goes_before_every_queued_bulk_send() -> None:
    throttle = Throttle(overall=40, per_chat=0)  # one send every ~28 ms
    order: list[str] = []

    async def send(name: str, chat: int, urgent: bool) -> None:
        await throttle.wait(chat, urgent)
        order.append(name)

    async with asyncio.timeout(CEILING_S):
        bulk = [asyncio.create_task(send(f"check-in {n}", n, urgent=False)) for n in range(30)]
        while throttle.waiting() < 25:  # the check-ins are queued behind the first few
            await asyncio.sleep(0.005)
        reply = asyncio.create_task(send("reply", 999, urgent=True))
        await asyncio.gather(reply, *bulk)
    # At most 5 check-ins had gone when the reply came, and one more slot may have been granted already.
    assert order.index("reply") <= 6


async def test_a_reply_waits_at_most_one_slot_behind_a_fan_out() -> None:
    throttle = Throttle(overall=40, per_chat=0)
    granted: list[str] = []

    async def send(name: str, chat: int, urgent: bool) -> None:
        await throttle.wait(chat, urgent)
        granted.append(name)

    async with asyncio.timeout(CEILING_S):
        bulk = [asyncio.create_task(send("bulk", n, urgent=False)) for n in range(40)]
        while throttle.waiting() < 35:
            await asyncio.sleep(0.005)
        before = len(granted)
        await send("reply", 999, urgent=True)
        assert len(granted) - before <= 2  # at most the slot already granted went first
        await asyncio.gather(*bulk)


async def test_a_send_given_up_does_not_hold_the_queue() -> None:
    throttle = Throttle(overall=0, per_chat=1.0, burst=1)
    async with asyncio.timeout(CEILING_S):
        await throttle.wait(7)
        stuck = asyncio.create_task(throttle.wait(7, urgent=False))  # chat 7 must wait about a second
        await asyncio.sleep(0.01)
        stuck.cancel()
        await throttle.wait(8, urgent=False)  # goes at once
    assert stuck.cancelled()
