"""Telegram's limits on our side: 30 a second overall, about 1 a second per chat, and 429 pauses."""

from __future__ import annotations

from bot.tg.throttle import Throttle


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def make() -> tuple[Throttle, FakeClock]:
    clock = FakeClock()
    return Throttle(clock=clock, sleep=clock.sleep), clock


async def test_thirty_chats_at_once_then_the_thirty_first_waits_for_the_next_second() -> None:
    throttle, clock = make()
    for chat in range(30):
        await throttle.wait(chat)
    assert clock.now == 100.0
    await throttle.wait(30)
    assert clock.now == 101.0


async def test_one_chat_gets_a_short_burst_then_one_a_second() -> None:
    throttle, clock = make()
    for _ in range(3):
        await throttle.wait(7)
    assert clock.now == 100.0  # a reply, an edit and the next question arrive together
    await throttle.wait(7)
    await throttle.wait(7)
    assert clock.now == 102.0
    await throttle.wait(8)  # another chat is not held up by chat 7
    assert clock.now == 102.0


async def test_a_429_pauses_every_chat_and_nothing_shortens_the_pause() -> None:
    throttle, clock = make()
    throttle.pause(5)
    throttle.pause(1)  # a shorter request (or another request finishing) never ends the pause early
    assert throttle.paused_until == 105.0
    await throttle.wait(1)
    assert clock.now == 105.0
    await throttle.wait(2)
    assert clock.now == 105.0


async def test_limits_set_to_zero_send_at_once_but_a_429_still_pauses_everything() -> None:
    clock = FakeClock()
    throttle = Throttle(overall=0, per_chat=0, clock=clock, sleep=clock.sleep)
    for _ in range(100):
        await throttle.wait(7)
    assert clock.now == 100.0
    throttle.pause(3)
    await throttle.wait(8)
    assert clock.now == 103.0
