"""/checkin: turning the daily check-in on and off, choosing its time and timezone, and the nudge's own
buttons (snooze, skip today). Reads and writes through the repository inside the caller's transaction.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time, timedelta

from bot import checkins
from bot.checkins import CheckinSettings, CheckinState
from bot.effects import Button, Say
from bot.flows.contract import CHECKIN_FLOW_ID
from bot.flows.texts import Texts
from bot.render import render
from bot.storage.protocols import ConversationStore
from bot.storage.records import CheckinRow, User
from bot.storage.timestamps import from_db, to_db
from bot.timezones import (
    ZoneMatch,
    ZoneResult,
    ZoneSuggestions,
    is_fixed_offset,
    parse_time,
    parse_timezone,
    shown_place,
    zone_for_location,
    zone_from_ref,
)

PREFIX = "ci:"
DEFAULT_TIME = time(20, 0)
COMMON_TIMES = ("08:00", "12:30", "18:00", "21:00")
AWAITING_TIME = "time"
AWAITING_ZONE = "timezone"
AWAITING_ZONE_TO_START = "timezone:on"
"""Waiting for the timezone of someone who just said yes to check-ins: the answer turns them on."""
AWAITING_BETTER_ZONE = "timezone:better"
"""A fixed offset was just accepted with an offer to type a city instead: a place typed now replaces it,
anything else is read as usual (never "I couldn't find a timezone for 'thanks'")."""
_ZONE_WAITS = frozenset({AWAITING_ZONE, AWAITING_ZONE_TO_START, AWAITING_BETTER_ZONE})
MAX_PLACE_BUTTONS = 6


class CheckinMenu:
    """Everything a person can change about their check-ins."""

    def __init__(
        self, repository: ConversationStore, texts: Texts, default_timezone: str, here: str | None = None
    ) -> None:
        """``here``: a timezone to offer as the one-tap answer when asking for one (the terminal chat passes
        the computer's own); Telegram has none, people type a place or share their location there."""
        self._repository = repository
        self._texts = texts
        self._default_timezone = default_timezone
        self._here = here

    async def row(self, user: User) -> CheckinRow:
        """The person's stored row, or the defaults (off, 20:00, the bot's default timezone)."""
        found = await self._repository.checkin(user.id)
        if found is not None:
            return found
        return CheckinRow(CheckinSettings(False, DEFAULT_TIME, self._default_timezone), CheckinState(), False, None)

    async def show(self, user: User, now: datetime) -> list[Say]:
        """The current setting with buttons to change it."""
        row = await self.row(user)
        if row.awaiting is not None:
            await self._repository.save_checkin(user.id, replace(row, awaiting=None))
        return [self._card(row, now)]

    def _card(self, row: CheckinRow, now: datetime, edit: bool = False) -> Say:
        texts = self._texts
        settings = row.settings
        toggle = (
            Button(render(texts.checkin_off_button, {}), f"{PREFIX}off")
            if settings.enabled
            else Button(render(texts.checkin_on_button, {}), f"{PREFIX}on")
        )
        buttons = (
            (toggle,),
            (
                Button(render(texts.checkin_time_button, {}), f"{PREFIX}time"),
                Button(render(texts.checkin_timezone_button, {}), f"{PREFIX}tz"),
            ),
        )
        html = render(texts.checkin_settings, self._describe(row, now))
        return Say(html, buttons, seq=0, edit=edit)

    def _describe(self, row: CheckinRow, now: datetime) -> dict[str, object]:
        settings = row.settings
        next_text = ""
        if settings.enabled and row.state.due_at is not None:
            moment, today = row.state.due_at.astimezone(settings.zone), now.astimezone(settings.zone).date()
            next_text = render(
                self._texts.checkin_when,
                {
                    "days": (moment.date() - today).days,
                    "clock": moment.strftime("%H:%M"),
                    "weekday": f"{moment:%a}",
                    "day": moment.day,
                    "month": f"{moment:%b}",
                },
            )
        return {
            "enabled": settings.enabled,
            "time": settings.local_time.strftime("%H:%M"),
            "timezone": settings.timezone,
            "place": shown_place(settings.timezone, row.place),
            "next": next_text,
        }

    async def offer_once(self, user: User) -> list[Say]:
        """The one-time offer of check-ins (after onboarding or on /start); nothing once offered."""
        row = await self.row(user)
        if row.offered or row.settings.enabled:
            return []
        await self._repository.save_checkin(user.id, replace(row, offered=True))
        texts = self._texts
        buttons = (
            (
                Button(render(texts.checkin_offer_yes_button, {}), f"{PREFIX}offer:yes"),
                Button(render(texts.checkin_offer_no_button, {}), f"{PREFIX}offer:no"),
            ),
        )
        return [Say(render(texts.checkin_offer, {}), buttons, seq=0)]

    async def button(self, user: User, value: str, now: datetime) -> list[Say]:
        """Act on one of the check-in buttons."""
        texts = self._texts
        row = await self.row(user)
        action = value.removeprefix(PREFIX)
        if action in {"on", "offer:yes"}:
            if row.place is None:
                # Never settled silently on the bot's default timezone (20:00 UTC is 01:30 in India): ask first.
                return [replace(say, edit=True) for say in await self._ask_zone(user, replace(row, offered=True), now)]
            saved = await self._save(user, row, replace(row.settings, enabled=True), now)
            return [replace(say, edit=True) for say in saved]
        if action == "offer:no":
            return [Say(render(texts.checkin_offer_declined, {}), edit=True)]
        if action == "off":
            await self._store(user, row, replace(row.settings, enabled=False), now)
            return [Say(render(texts.checkin_turned_off, {}), edit=True)]
        if action == "time":
            await self._repository.save_checkin(user.id, replace(row, awaiting=_waiting_for(AWAITING_TIME, now)))
            times = tuple(Button(text, f"{PREFIX}at:{text}") for text in COMMON_TIMES)
            return [Say(render(texts.checkin_ask_time, {}), (times,), seq=0)]
        if action.startswith("at:"):
            chosen = parse_time(action.removeprefix("at:"))
            return await self._time_chosen(user, row, chosen, now) if isinstance(chosen, time) else []
        if action == "tz":
            await self._repository.save_checkin(user.id, replace(row, awaiting=_waiting_for(AWAITING_ZONE, now)))
            return [self._zone_question(row, starting=False)]
        if action.startswith("zone:"):
            found = zone_from_ref(action.removeprefix("zone:"))
            return await self._zone_answer(user, row, found, "", now) if found is not None else []
        if action in {"snooze", "skip"}:
            # The check-in question goes away with it (a snoozed one is asked afresh later), so it never
            # blocks /reframe or takes the next thing typed as an answer.
            active = await self._repository.active_state(user.id)
            if active is not None and active.flow_id == CHECKIN_FLOW_ID:
                await self._repository.save_state(user.id, None, now)
            if action == "snooze":
                state = checkins.snooze(row.settings, row.state, now)
                await self._repository.save_checkin(user.id, replace(row, state=state))
                return [Say(render(texts.snoozed, {}))]
            state = checkins.skip_day(row.settings, row.state, now)
            await self._repository.save_checkin(user.id, replace(row, state=state))
            return [Say(render(texts.skipped_today, {}))]
        return []

    async def typed(self, user: User, text: str, now: datetime) -> list[Say] | None:
        """Typed text while /checkin waits for a time or a timezone; None when it is not waiting (or, just
        after a fixed offset was accepted, when the text names no place: then it is read as usual)."""
        row = await self._repository.checkin(user.id)
        waiting = _still_waiting(row.awaiting if row else None, now)
        if row is None or waiting is None:
            return None
        texts = self._texts
        if waiting == AWAITING_TIME:
            chosen = parse_time(text)
            if not isinstance(chosen, time):
                return [Say(render(texts.checkin_time_problem, {"text": text.strip()[:60]}))]
            return await self._time_chosen(user, row, chosen, now)
        if waiting not in _ZONE_WAITS:
            return None
        found = parse_timezone(text)
        if waiting == AWAITING_BETTER_ZONE and not isinstance(found, ZoneMatch | ZoneSuggestions):
            return None
        return await self._zone_answer(user, row, found, text, now)

    async def location(self, user: User, latitude: float, longitude: float, now: datetime) -> list[Say]:
        """A shared location: sets the timezone when /checkin asked for one; it is never stored."""
        row = await self._repository.checkin(user.id)
        if row is None or _still_waiting(row.awaiting, now) not in _ZONE_WAITS:
            return [Say(render(self._texts.location_unexpected, {}))]
        return await self._zone_answer(user, row, zone_for_location(latitude, longitude), "📍", now)

    async def _ask_zone(self, user: User, row: CheckinRow, now: datetime) -> list[Say]:
        """Ask where the person is before check-ins start; their answer turns check-ins on."""
        await self._repository.save_checkin(user.id, replace(row, awaiting=_waiting_for(AWAITING_ZONE_TO_START, now)))
        return [self._zone_question(row, starting=True)]

    def _zone_question(self, row: CheckinRow, starting: bool) -> Say:
        """Which timezone? In the terminal, the computer's own zone is offered as the one-tap answer."""
        texts = self._texts
        here = shown_place(self._here) if self._here else ""
        values = {"starting": starting, "time": row.settings.local_time.strftime("%H:%M"), "here": here}
        if not self._here:
            return Say(render(texts.checkin_ask_timezone, values))
        button = Button(render(texts.checkin_here_button, {"here": here}), f"{PREFIX}zone:{self._here}")
        return Say(render(texts.checkin_ask_timezone, values), ((button,),), seq=0)

    async def _time_chosen(self, user: User, row: CheckinRow, chosen: time, now: datetime) -> list[Say]:
        """A time picked: check-ins go on at it, once the person's timezone is known (asked for first)."""
        settings = replace(row.settings, local_time=chosen)
        if row.place is None:
            return await self._ask_zone(user, replace(row, settings=settings), now)
        return await self._save(user, row, replace(settings, enabled=True), now)

    async def _zone_answer(
        self, user: User, row: CheckinRow, found: ZoneResult | ZoneMatch, text: str, now: datetime
    ) -> list[Say]:
        """A timezone typed, tapped or shared: saved and confirmed, a choice offered, or what went wrong."""
        texts = self._texts
        if isinstance(found, ZoneMatch):
            starting = _still_waiting(row.awaiting, now) == AWAITING_ZONE_TO_START
            settings = replace(row.settings, timezone=found.name, enabled=row.settings.enabled or starting)
            place = found.place or shown_place(found.name)
            said = await self._save(user, row, settings, now, place=place)
            if is_fixed_offset(found.name):
                # A fixed offset drifts an hour when the clocks change: say so, and let a typed city replace it.
                stored = await self.row(user)
                waiting = _waiting_for(AWAITING_BETTER_ZONE, now)
                await self._repository.save_checkin(user.id, replace(stored, awaiting=waiting))
                note = render(texts.checkin_fixed_offset_note, {"offset": found.name})
                said = [replace(said[0], html=f"{said[0].html}\n\n{note}"), *said[1:]]
            return said
        if isinstance(found, ZoneSuggestions) and found.options:
            buttons = tuple(
                (Button(option.label, f"{PREFIX}zone:{option.ref}"),) for option in found.options[:MAX_PLACE_BUTTONS]
            )
            values = {"text": text.strip()[:60], "places": found.exact}
            return [Say(render(texts.checkin_timezone_suggestions, values), buttons, seq=0)]
        reason = getattr(found, "reason", "unknown")
        return [Say(render(texts.checkin_timezone_problem, {"text": text.strip()[:60], "reason": reason}))]

    async def message_received(self, user: User, now: datetime, moved_on: bool) -> None:
        """After any message from the person: the back-off resets, and when they ``moved_on`` (a command,
        another button) typed text is no longer taken as a time or timezone. One read, at most one write."""
        row = await self._repository.checkin(user.id)
        if row is None:
            return
        updated = row
        if moved_on and row.awaiting is not None:
            updated = replace(updated, awaiting=None)
        if row.settings.enabled and row.state.unanswered > 0:
            updated = replace(updated, state=checkins.on_reply(row.settings, row.state, now))
        if updated is not row:
            await self._repository.save_checkin(user.id, updated)

    async def _store(
        self, user: User, row: CheckinRow, settings: CheckinSettings, now: datetime, place: str | None = None
    ) -> CheckinRow:
        """Save new settings with a fresh schedule; ``place`` replaces the shown place (kept when None)."""
        state = checkins.reschedule(settings, row.state, now)
        stored = CheckinRow(settings, state, True, None, row.place if place is None else place)
        await self._repository.save_checkin(user.id, stored)
        return stored

    async def _save(
        self, user: User, row: CheckinRow, settings: CheckinSettings, now: datetime, place: str | None = None
    ) -> list[Say]:
        """Save and confirm: when check-ins are on, when the next one comes; when off, the place just set
        (so a timezone changed while they are off is confirmed too), with a button to turn them on."""
        stored = await self._store(user, row, settings, now, place)
        described = self._describe(stored, now)
        if not settings.enabled:
            turn_on = Button(render(self._texts.checkin_on_button, {}), f"{PREFIX}on")
            return [Say(render(self._texts.checkin_zone_saved_off, described), ((turn_on,),), seq=0)]
        return [Say(render(self._texts.checkin_saved, described), edit=False)]


WAITING_FOR = timedelta(minutes=10)
"""How long typed text still counts as the answer to "what time?" or "which timezone?"."""


def _waiting_for(what: str, now: datetime) -> str:
    """The stored form of "waiting for a time (or timezone) since now"."""
    return f"{what}|{to_db(now)}"


def _still_waiting(stored: str | None, now: datetime) -> str | None:
    """What /checkin is still waiting for (time or timezone), or None once it is older than WAITING_FOR."""
    if not stored:
        return None
    what, _, since = stored.partition("|")
    if not since or now - from_db(since) > WAITING_FOR:
        return None
    return what
