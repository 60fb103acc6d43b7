"""The delivery side of the storage contract: the inbox, handled update ids (and their pruning), the
update offset, quarantine and the outbox. Every implementation of ``Storage`` must pass these."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.storage.protocols import Storage
from bot.storage.records import DeliveryLag
from tests.conftest import NOW


async def test_begins_of_an_update_closer_together_than_apart_count_as_one_attempt(storage: Storage) -> None:
    apart = timedelta(seconds=5)
    async with storage.transaction() as tx:
        await tx.record_updates([(20, 7, '{"c": 1}')], 21, NOW)
    begins = [NOW, NOW + timedelta(seconds=1), NOW + timedelta(seconds=4.9), NOW + timedelta(seconds=5)]
    counted = []
    for begun in begins:
        async with storage.transaction() as tx:
            counted.append(await tx.count_attempt(20, begun, apart))
    # Measured from the last attempt counted, not the last begin: begins every second still count every 5 s.
    assert counted == [(1, NOW), (1, NOW), (1, NOW), (2, NOW)]
    async with storage.transaction() as tx:
        assert await tx.count_attempt(20, NOW + timedelta(seconds=9), apart) == (2, NOW)
        assert await tx.count_attempt(20, NOW + timedelta(seconds=10), apart) == (3, NOW)
        # A clock that went back (or a replica's that ran ahead) does not stop the counting.
        assert await tx.count_attempt(20, NOW + timedelta(seconds=2), apart) == (4, NOW)


async def test_received_updates_wait_in_the_inbox_until_claimed_and_a_claim_counts_once(storage: Storage) -> None:
    async with storage.transaction() as tx:
        await tx.record_updates([(12, 7, '{"b": 1}'), (10, 7, '{"a": 1}')], 13, NOW)
    async with storage.transaction() as tx:
        assert await tx.pending_updates() == [(10, '{"a": 1}'), (12, '{"b": 1}')]
        apart = timedelta(seconds=5)
        assert await tx.count_attempt(10, NOW, apart) == (1, NOW)
        assert await tx.count_attempt(10, NOW + timedelta(seconds=5), apart) == (2, NOW)
        assert await tx.count_attempt(99, NOW, apart) == (0, None), "not in the inbox"
        assert await tx.claim_update(10, NOW)
        assert not await tx.claim_update(10, NOW), "a repeat is recognised"
        assert await tx.pending_updates() == [(12, '{"b": 1}')]
    async with storage.transaction() as tx:
        await tx.record_updates([(10, 7, '{"a": 1}')], None, NOW)
        assert await tx.pending_updates() == [(12, '{"b": 1}')], "an update already handled is not stored again"


async def test_a_claim_is_reported_once_after_its_transaction_commits_and_never_after_a_rollback(
    storage: Storage,
) -> None:
    async with storage.transaction() as tx:
        await tx.claim_update(5, NOW)
        assert not storage.was_claimed(5), "not before the commit"
    assert storage.was_claimed(5)
    assert not storage.was_claimed(5), "reported once"
    with pytest.raises(RuntimeError):
        async with storage.transaction() as tx:
            await tx.claim_update(6, NOW)
            raise RuntimeError
    assert not storage.was_claimed(6)
    async with storage.transaction() as tx:
        assert await tx.claim_update(6, NOW), "the rolled-back claim left nothing behind"


async def test_handled_ids_are_forgotten_after_48_hours_when_the_offset_moves(storage: Storage) -> None:
    async with storage.transaction() as tx:
        await tx.claim_update(1, NOW)
        await tx.claim_update(2, NOW + timedelta(hours=10))
    async with storage.transaction() as tx:
        await tx.record_updates([], 3, NOW + timedelta(hours=49))
    async with storage.transaction() as tx:
        assert await tx.claim_update(1, NOW), "forgotten: Telegram can no longer send it again"
        assert not await tx.claim_update(2, NOW), "still recognised: it is younger than 48 hours"


async def test_the_offset_only_moves_forward_and_can_be_dropped(storage: Storage) -> None:
    async with storage.transaction() as tx:
        assert await tx.next_update_offset() is None and await tx.last_update_seen() is None
        await tx.record_updates([], 101, NOW)
        await tx.record_updates([], 51, NOW + timedelta(hours=1))
        assert await tx.next_update_offset() == 101
        assert await tx.last_update_seen() == (100, NOW + timedelta(hours=1))
        await tx.forget_update_offset()
        assert await tx.next_update_offset() is None


async def test_a_quarantined_update_is_kept_once_and_counts_as_handled(storage: Storage) -> None:
    async with storage.transaction() as tx:
        await tx.record_updates([(5, 7, "{}")], 6, NOW)
        assert await tx.quarantine_update(5, 7, "{}", "TypeError: odd", NOW)
        assert not await tx.quarantine_update(5, 7, "{}", "TypeError: odd", NOW)
        assert await tx.quarantined_among([4, 5]) == {5}
        assert await tx.quarantined_among([]) == set()
        assert await tx.count_quarantined() == 1
        assert await tx.pending_updates() == []
        assert not await tx.claim_update(5, NOW)


async def test_replies_leave_the_outbox_in_order_once_marked_sent(storage: Storage) -> None:
    async with storage.transaction() as tx:
        first = await tx.enqueue_replies(7, ["one", "two"], NOW)
        other = await tx.enqueue_replies(8, ["elsewhere"], NOW)
    async with storage.snapshot() as view:
        assert await view.pending_replies(7) == [(first[0], 7, "one"), (first[1], 7, "two")]
        assert [payload for _, _, payload in await view.pending_replies()] == ["one", "two", "elsewhere"]
        assert sorted(await view.chats_with_pending_replies()) == [7, 8]
    async with storage.transaction() as tx:
        await tx.mark_replies_sent([first[0], *other])
    async with storage.snapshot() as view:
        assert await view.pending_replies() == [(first[1], 7, "two")]
        assert await view.chats_with_pending_replies() == [7]


async def test_the_chat_whose_reply_waited_longest_comes_first_whatever_its_id(storage: Storage) -> None:
    async with storage.transaction() as tx:
        await tx.enqueue_replies(900, ["oldest"], NOW)
        await tx.enqueue_replies(5, ["newer"], NOW)
        sent = await tx.enqueue_replies(40, ["newest", "after"], NOW)
        await tx.enqueue_replies(900, ["later for 900"], NOW)
    async with storage.snapshot() as view:
        assert await view.chats_with_pending_replies() == [900, 5, 40]
    async with storage.transaction() as tx:
        await tx.mark_replies_sent([sent[0]])
        await tx.enqueue_replies(5, ["more for 5"], NOW)
    async with storage.snapshot() as view:
        assert await view.chats_with_pending_replies() == [900, 5, 40]


async def test_forgetting_a_chat_removes_only_what_delivery_kept_for_it(storage: Storage) -> None:
    async with storage.transaction() as tx:
        await tx.record_updates([(1, 7, "{}"), (2, 8, "{}")], None, NOW)
        await tx.enqueue_replies(7, ["mine"], NOW)
        await tx.enqueue_replies(8, ["theirs"], NOW)
        await tx.quarantine_update(3, 7, "{}", "why", NOW)
        await tx.quarantine_update(4, 8, "{}", "why", NOW)
        await tx.forget_chat(7)
        assert await tx.pending_updates() == [(2, "{}")]
        assert [chat for _, chat, _ in await tx.pending_replies()] == [8]
        assert await tx.quarantined_among([3, 4]) == {4}


async def test_delivery_lag_counts_what_waits_and_dates_the_oldest_of_each(storage: Storage) -> None:
    async with storage.snapshot() as view:
        assert await view.delivery_lag() == DeliveryLag(0, None, 0, None)
    async with storage.transaction() as tx:
        await tx.record_updates([(1, 7, "{}")], None, NOW)
        await tx.record_updates([(2, 8, "{}")], None, NOW + timedelta(seconds=30))
        await tx.enqueue_replies(7, ["later"], NOW + timedelta(minutes=2))
    async with storage.snapshot() as view:
        assert await view.delivery_lag() == DeliveryLag(2, NOW, 1, NOW + timedelta(minutes=2))


async def test_a_chats_pending_updates_come_alone_and_chats_with_old_ones_are_found(storage: Storage) -> None:
    async with storage.transaction() as tx:
        await tx.record_updates([(21, 7, '{"a": 1}'), (20, 8, '{"b": 1}'), (23, 7, '{"c": 1}')], None, NOW)
        await tx.record_updates([(22, None, '{"d": 1}')], None, NOW + timedelta(seconds=5))
    async with storage.snapshot() as view:
        assert await view.pending_updates(7) == [(21, '{"a": 1}'), (23, '{"c": 1}')]
        assert await view.pending_updates(0) == [(22, '{"d": 1}')], "0 stands for updates without a chat"
        assert await view.pending_updates(9) == []
        assert await view.chats_with_pending_updates(NOW + timedelta(seconds=1)) == [7, 8]
        assert await view.chats_with_pending_updates(NOW + timedelta(seconds=6)) == [0, 7, 8]
        assert await view.chats_with_pending_updates(NOW) == [], "only those stored before the moment"
    async with storage.transaction() as tx:
        await tx.claim_update(21, NOW)
        await tx.claim_update(23, NOW)
    async with storage.snapshot() as view:
        assert await view.chats_with_pending_updates(NOW + timedelta(seconds=6)) == [0, 8]
