"""Injected faults and flood control, as PTB experiences them."""

from __future__ import annotations

import datetime as dtm

import aiohttp
import pytest
import telegram
from telegram.error import NetworkError, RetryAfter, TimedOut

from standin import Fault, StandIn
from standin.faults import FaultPlan, RateLimiter, RateLimits
from standin.registry import Call, MethodTable

USER = 42


@pytest.fixture
async def chat(standin: StandIn) -> int:
    standin.user_sends_text(USER, "/start")
    return USER


@pytest.mark.parametrize(
    ("fault", "status"),
    [(Fault.server_error(), 500), (Fault.bad_gateway(), 502), (Fault.error(503, "Service Unavailable"), 503)],
)
async def test_server_errors_reach_ptb_as_network_errors(
    standin: StandIn, bot: telegram.Bot, chat: int, fault: Fault, status: int
) -> None:
    standin.inject_fault("sendMessage", fault)
    with pytest.raises(NetworkError):
        await bot.send_message(chat, "hi")
    assert standin.requests_for("sendMessage")[-1].status == status
    assert standin.bot_messages(chat) == []  # a failed request changes nothing
    assert await bot.send_message(chat, "hi again")


async def test_dropped_connection(standin: StandIn, bot: telegram.Bot, chat: int) -> None:
    standin.inject_fault("*", Fault.drop_connection())
    with pytest.raises(NetworkError):
        await bot.send_message(chat, "hi")
    record = standin.requests_for("sendMessage")[-1]
    assert (record.status, record.response) == (0, None)
    assert await bot.send_message(chat, "hi again")


async def test_delay_beyond_the_client_timeout(standin: StandIn, bot: telegram.Bot, chat: int) -> None:
    standin.inject_fault("sendMessage", Fault.delay(0.5))
    with pytest.raises(TimedOut):
        await bot.send_message(chat, "slow", read_timeout=0.1)


async def test_short_delay_then_success(standin: StandIn, bot: telegram.Bot, chat: int) -> None:
    standin.inject_fault("sendMessage", Fault.delay(0.05))
    assert (await bot.send_message(chat, "eventually")).text == "eventually"


async def test_queued_faults_happen_in_order_then_stop(standin: StandIn, bot: telegram.Bot, chat: int) -> None:
    standin.inject_fault("sendMessage", Fault.server_error(), Fault.too_many_requests(2))
    with pytest.raises(NetworkError):
        await bot.send_message(chat, "1")
    with pytest.raises(RetryAfter):
        await bot.send_message(chat, "2")
    assert await bot.send_message(chat, "3")


async def test_wildcard_faults_spare_get_updates(standin: StandIn, bot: telegram.Bot, chat: int) -> None:
    standin.inject_fault("*", Fault.server_error())
    assert len(await bot.get_updates(timeout=0)) == 1
    with pytest.raises(NetworkError):
        await bot.send_chat_action(chat, "typing")
    standin.inject_fault("getUpdates", Fault.server_error())
    with pytest.raises(NetworkError):
        await bot.get_updates(timeout=0)


def test_fault_chances_are_seeded() -> None:
    always, never = FaultPlan(seed=1), FaultPlan(seed=1)
    always.set_chance("sendMessage", Fault.server_error(), 1.0)
    never.set_chance("sendMessage", Fault.server_error(), 0.0)
    assert all(always.take("sendMessage") is not None for _ in range(20))
    assert all(never.take("sendMessage") is None for _ in range(20))
    first, second = FaultPlan(seed=7), FaultPlan(seed=7)
    for plan in (first, second):
        plan.set_chance("*", Fault.bad_gateway(), 0.5)
    assert [first.take("x") for _ in range(30)] == [second.take("x") for _ in range(30)]
    with pytest.raises(ValueError, match="between 0 and 1"):
        first.set_chance("x", Fault.bad_gateway(), 1.5)


def test_faults_from_control_json() -> None:
    assert Fault.from_json({"kind": "429", "retry_after": 7}).api_error().parameters == {"retry_after": 7}
    assert Fault.from_json({"kind": "delay", "seconds": 0.5}) == Fault.delay(0.5)
    assert Fault.from_json({"kind": "drop"}).kind == "drop"
    with pytest.raises(ValueError, match="unknown fault kind"):
        Fault.from_json({"kind": "meteor"})


async def test_fault_injection_over_http(standin: StandIn, bot: telegram.Bot, chat: int) -> None:
    async with aiohttp.ClientSession() as http:
        url = f"{standin.url}/_control/inject_fault"
        async with http.post(url, json={"method": "sendMessage", "kind": "502", "times": 2}) as response:
            assert response.status == 200
    for _ in range(2):
        with pytest.raises(NetworkError):
            await bot.send_message(chat, "hi")
    assert await bot.send_message(chat, "hi")


def test_rate_limiter_counts_per_chat_and_overall() -> None:
    now = [100.0]
    limiter = RateLimiter(RateLimits(overall=3, per_chat=1, window=1.0), clock=lambda: now[0])
    assert limiter.check(1) is None
    assert limiter.check(1) == 1  # a second message to the same chat within a second
    assert limiter.check(2) is None and limiter.check(3) is None
    assert limiter.check(4) == 1  # the fourth message overall within a second
    now[0] += 1.01
    assert limiter.check(1) is None and limiter.check(4) is None
    slow = RateLimiter(RateLimits(overall=30, per_chat=20, window=60.0), clock=lambda: now[0])
    for _ in range(20):
        assert slow.check(-100) is None
    assert slow.check(-100) == 60  # retry_after is whole seconds until the window frees a slot


async def test_rate_limit_mode(standin: StandIn, bot: telegram.Bot, chat: int) -> None:
    standin.enable_rate_limit()
    assert await bot.send_message(chat, "first")
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(chat, "second, too soon")
    assert caught.value.retry_after == dtm.timedelta(seconds=1)
    assert standin.requests_for("sendMessage")[-1].response == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 1",
        "parameters": {"retry_after": 1},
    }
    assert await bot.send_chat_action(chat, "typing")  # only sends count
    standin.disable_rate_limit()
    assert await bot.send_message(chat, "fine again")


async def test_a_failure_of_the_standin_itself_is_kept_not_hidden(bare_standin: StandIn) -> None:
    async def broken(call: Call) -> object:
        raise RuntimeError("stand-in bug")

    bare_standin.methods = MethodTable({"getMe": broken})
    with pytest.raises(NetworkError):
        async with telegram.Bot(bare_standin.token, base_url=bare_standin.bot_api_url):
            pass
    assert len(bare_standin.internal_errors) == 1
    assert "RuntimeError: stand-in bug" in bare_standin.internal_errors[0]
