"""A person's history: the /lessons summary with its pages and chart, /export, and /forget.

Each method reads through the repository inside the caller's transaction and returns replies; the
choices about what to show live in ``bot.summaries`` (pure) and the words in ``conversations/texts``.
The heavy parts (the export files, the feelings chart) are only *requested* there; :meth:`History.build`
makes them later from a read-only snapshot, off the event loop (see ``Conversations.build_heavy``).
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

from bot.effects import Button, Say
from bot.effects import Erased as Erased
from bot.effects import SendFile as SendFile
from bot.flows.contract import CHECKIN_FLOW_ID
from bot.flows.texts import Texts
from bot.render import render, render_plain
from bot.similarity import vocabulary_of
from bot.storage.protocols import ConversationStore
from bot.storage.records import HeavyRequest, User
from bot.summaries import (
    DEFAULT_PERIOD,
    PAGE_SIZE,
    PERIODS,
    checkin_days,
    day_label,
    lessons_page_context,
    page_count,
    period_start,
    recurring_lessons,
)

LESSONS = "lessons"
FORGET_YES = "forget:yes"
FORGET_NO = "forget:no"
CHART_MAX_POINTS = 500
EXPORT = "export"
CHART = "chart"
EXPORT_PAGE = 200  # runs read (and held in memory) at a time while an export is written


HistoryReply = Say | SendFile | Erased


STEP = "step"
"""/done's buttons: ``step:pick:<run>``, then ``step:<done|partly|dropped|open>:<run>``."""
EDIT = "edit"
"""/edit's buttons: ``edit:pick:<run>``, then ``edit:<lesson|next_step>:<run>``, and ``edit:keep:<run>``."""
PICK_SHOWN = 5
"""/done and /edit list this many of the newest entries to pick from."""
CORRECTION_MAX = 2000
"""The longest corrected lesson or next step kept (a flow's answers are shorter than this in practice)."""
OUTCOME_TEXT = {
    "done": "outcome_done",
    "partly": "outcome_partly",
    "not_yet": "outcome_not_yet",
    "let_go": "outcome_let_go",
    "planned": "outcome_planned",
    "not_checked": "outcome_open",
}
"""The text that words each state of a next step (``summaries.step_state``)."""


def edit_started(value: str) -> tuple[int, str] | None:
    """For the button that asks for an entry's new words (``edit:lesson:<run>``): the run and the part; else
    None. The caller reads the person's next message as those words (see :meth:`History.correct`)."""
    parts = value.split(":")
    if len(parts) == 3 and parts[0] == EDIT and parts[1] in {"lesson", "next_step"} and parts[2].isdigit():
        return int(parts[2]), parts[1]
    return None


class History:
    """Summaries, exports and forgetting for one repository."""

    def __init__(self, repository: ConversationStore, texts: Texts, zone: ZoneInfo) -> None:
        self._repository = repository
        self._texts = texts
        self._zone = zone
        self._requested = False

    def take_requested(self) -> bool:
        """True once after an export or a chart was requested (so the builder can be woken up)."""
        requested, self._requested = self._requested, False
        return requested

    # --- /lessons -------------------------------------------------------------------------------------

    async def lessons(
        self,
        user: User,
        now: datetime,
        period: str = DEFAULT_PERIOD,
        page: int = 1,
        *,
        edit: bool = False,
        zone: tzinfo | None = None,
    ) -> list[HistoryReply]:
        """One page of the summary for a period, with page, period and delete buttons.

        A fresh /lessons (not a page turn) also sends the feelings chart when there is something to draw.
        """
        texts = self._texts
        repository = self._repository
        zone = zone or self._zone
        total = await repository.lesson_overview(user.id)
        if total.count == 0:
            return [Say(render(texts.lessons_empty, {}), edit=edit)]
        since = period_start(period, now, zone)
        overview = await repository.lesson_overview(user.id, since)
        label = render(getattr(texts, f"lessons_period_{period}"), {})
        if overview.count == 0:
            html = render(texts.lessons_period_empty, {"period": label})
            return [Say(html, (self._period_row(period),), seq=0, edit=edit)]
        page = min(max(page, 1), page_count(overview.count))
        entries = await repository.lessons(user.id, PAGE_SIZE, since=since, offset=(page - 1) * PAGE_SIZE)
        recurring = (
            recurring_lessons(await repository.lesson_texts(user.id, since), vocabulary_of(texts)) if page == 1 else []
        )
        checkins = checkin_days(await repository.checkin_times(user.id, now - timedelta(days=31)), zone)
        moods = await repository.checkin_moods(user.id, since) if page == 1 else []
        held = await repository.held_lessons(user.id, since) if page == 1 else []
        context = lessons_page_context(
            entries=entries,
            overview=overview,
            recurring=recurring,
            checkins=checkins,
            page=page,
            period_label=label,
            outcome_label=lambda kind, day: render(getattr(texts, OUTCOME_TEXT[kind]), {"day": day}),
            now=now,
            zone=zone,
            moods=moods,
            held=held,
        )
        rows: list[tuple[Button, ...]] = []
        first_number = (page - 1) * PAGE_SIZE + 1
        rows.append(
            tuple(
                Button(
                    render(texts.lessons_delete_button, {"number": first_number + offset}),
                    f"{LESSONS}:del:{e.run_id}",
                    render(texts.lessons_delete_spoken, {"number": first_number + offset}),
                )
                for offset, e in enumerate(entries)
            )
        )
        pages = page_count(overview.count)
        navigation = []
        if page > 1:
            previous = f"{LESSONS}:{period}:{page - 1}"
            spoken = render(texts.lessons_previous_spoken, {})
            navigation.append(Button(render(texts.lessons_previous_button, {}), previous, spoken))
        if page < pages:
            following = f"{LESSONS}:{period}:{page + 1}"
            spoken = render(texts.lessons_next_spoken, {})
            navigation.append(Button(render(texts.lessons_next_button, {}), following, spoken))
        if navigation:
            rows.append(tuple(navigation))
        rows.append(self._period_row(period))
        if not edit and page == 1 and (overview.with_feelings >= 2 or len(moods) >= 2):
            # The chart follows the page once drawn, off the event loop (see ``build``).
            await repository.request_heavy(user.id, CHART, period, now)
            self._requested = True
        return [Say(render(texts.lessons_page, context), tuple(rows), seq=0, edit=edit)]

    def _period_row(self, current: str) -> tuple[Button, ...]:
        return tuple(
            Button(render(getattr(self._texts, f"lessons_{period}_button"), {}), f"{LESSONS}:{period}:1")
            for period in PERIODS
            if period != current
        )

    # --- the heavy parts, built later from a snapshot ------------------------------------------------

    async def build(
        self, view: ConversationStore, request: HeavyRequest, now: datetime, zone: tzinfo | None, scratch: Path
    ) -> list[HistoryReply]:
        """Make what ``request`` asked for from ``view`` (a read-only snapshot): the chart, or the export files.

        CPU-bound work (drawing, rendering, writing files) runs in a worker thread; export files are
        written into ``scratch`` (private, mode 0600) and handed over as paths. Returns nothing when there
        is nothing to send any more (entries deleted since the request).
        """
        zone = zone or self._zone
        if request.kind == CHART:
            chart = await self._chart(view, request.user_id, request.detail, now, zone)
            return [] if chart is None else [chart]
        if request.kind == EXPORT:
            return await self._export_files(view, request.user_id, now, zone, scratch)
        return []

    @staticmethod
    def failed_for(texts: Texts, request: HeavyRequest) -> list[HistoryReply]:
        """What to say when a request could not be built (a chart is simply left out)."""
        return [Say(render(texts.export_failed, {}))] if request.kind == EXPORT else []

    async def _chart(
        self, view: ConversationStore, user_id: int, period: str, now: datetime, zone: tzinfo
    ) -> SendFile | None:
        """The feelings chart (before → after) with the period's check-in moods under it; either part is left
        out with fewer than two points, and with neither there is no chart."""
        since = period_start(period if period in PERIODS else DEFAULT_PERIOD, now, zone)
        entries = await view.lessons(user_id, CHART_MAX_POINTS, since=since)
        points = [
            (entry.finished_at.astimezone(zone).date(), entry.feeling_before, entry.feeling_after)
            for entry in reversed(entries)
            if entry.feeling_before is not None and entry.feeling_after is not None
        ]
        moods = [(moment.astimezone(zone).date(), mood) for moment, mood in await view.checkin_moods(user_id, since)]
        moods = moods[-CHART_MAX_POINTS:]
        feelings, with_moods = len(points) >= 2, len(moods) >= 2
        if not feelings and not with_moods:
            return None
        from bot.chart import FeelingPoint, MoodPoint, chart_words, history_chart

        texts = self._texts
        png = await asyncio.to_thread(
            history_chart,
            [FeelingPoint(day, before, after) for day, before, after in points] if feelings else [],
            [MoodPoint(day, mood) for day, mood in moods] if with_moods else [],
            title=render(texts.chart_title, {}),
            moods_title=render(texts.chart_moods_title, {}),
            moods_labels=(render(texts.chart_moods_low, {}), render(texts.chart_moods_high, {})),
            words=chart_words(texts),
        )
        caption = render(texts.chart_caption, {"feelings": feelings, "moods": with_moods})
        return SendFile("feelings.png", png, caption, "photo")

    async def button(self, user: User, value: str, now: datetime, zone: tzinfo | None = None) -> list[HistoryReply]:
        """Act on one of this module's buttons: turn a page, switch period, delete an entry, forget, settle a
        next step (/done), pick what to correct (/edit)."""
        texts = self._texts
        zone = zone or self._zone
        if value.startswith(f"{STEP}:"):
            return await self._step_button(user, value, now, zone)
        if value.startswith(f"{EDIT}:"):
            return await self._edit_button(user, value, now, zone)
        if value == FORGET_NO:
            return [Say(render(texts.forget_kept, {}), edit=True)]
        if value == FORGET_YES:
            return await self.forget(user)
        parts = value.split(":")
        if len(parts) == 3 and parts[1] == "del" and parts[2].isdigit():
            entry = await self._repository.lesson(user.id, int(parts[2]))
            if entry is None:
                return [Say(render(texts.deleted_entry, {}))]
            html = render(
                texts.delete_confirm,
                {"lesson": entry.lesson or "", "date": day_label(entry.finished_at.astimezone(zone))},
            )
            buttons = (
                (
                    Button(render(texts.delete_yes_button, {}), f"{LESSONS}:sure:{entry.run_id}"),
                    Button(render(texts.delete_no_button, {}), f"{LESSONS}:keep:{entry.run_id}"),
                ),
            )
            return [Say(html, buttons, seq=0)]
        if len(parts) == 3 and parts[1] == "sure" and parts[2].isdigit():
            await self._repository.delete_run(user.id, int(parts[2]))
            return [Say(render(texts.deleted_entry, {}), edit=True)]
        if len(parts) == 3 and parts[1] == "keep":
            return [Say(render(texts.kept_entry, {}), edit=True)]
        if len(parts) == 3 and parts[1] in PERIODS and parts[2].isdigit():
            return await self.lessons(user, now, parts[1], int(parts[2]), edit=True, zone=zone)
        return []

    # --- /done: how a next step went, or setting it down ----------------------------------------------

    async def done(
        self, user: User, now: datetime, argument: str | None, zone: tzinfo | None = None
    ) -> list[HistoryReply]:
        """/done: the person's open next steps to pick from (newest first), or straight to the one they named
        by number (``/done 2``), or to the only one."""
        zone = zone or self._zone
        steps = (await self._repository.open_next_steps(user.id, PICK_SHOWN))[:PICK_SHOWN]
        if not steps:
            return [Say(render(self._texts.done_none, {}))]
        chosen = _number_in(argument, len(steps))
        if chosen is not None or len(steps) == 1:
            return await self._ask_step(user, steps[(chosen or 1) - 1].run_id, zone)
        listed = [
            {"number": number, "text": step.text, "date": day_label(step.due)}
            for number, step in enumerate(steps, start=1)
        ]
        buttons = tuple(
            Button(
                render(self._texts.done_pick_button, {"number": number}),
                f"{STEP}:pick:{step.run_id}",
                render(self._texts.done_pick_spoken, {"number": number}),
            )
            for number, step in enumerate(steps, start=1)
        )
        return [Say(render(self._texts.done_pick, {"steps": listed}), (buttons,), seq=0)]

    async def _ask_step(self, user: User, run_id: int, zone: tzinfo) -> list[HistoryReply]:
        texts = self._texts
        entry = await self._repository.lesson(user.id, run_id)
        if entry is None or not entry.next_step:
            return [Say(render(texts.done_gone, {}))]
        html = render(texts.done_ask, {"step": entry.next_step, "date": day_label(entry.finished_at.astimezone(zone))})
        buttons = (
            (
                Button(render(texts.done_done_button, {}), f"{STEP}:done:{run_id}"),
                Button(render(texts.done_partly_button, {}), f"{STEP}:partly:{run_id}"),
            ),
            (
                Button(render(texts.done_drop_button, {}), f"{STEP}:dropped:{run_id}"),
                Button(render(texts.done_keep_button, {}), f"{STEP}:open:{run_id}"),
            ),
        )
        return [Say(html, buttons, seq=0)]

    async def _step_button(self, user: User, value: str, now: datetime, zone: tzinfo) -> list[HistoryReply]:
        _, action, run = [*value.split(":"), "", ""][:3]
        if not run.isdigit():
            return []
        if action == "pick":
            return await self._ask_step(user, int(run), zone)
        if action in {"done", "partly", "dropped"}:
            settled = await self._repository.settle_next_step(user.id, int(run), action, now)
        elif action == "open":
            # Kept open: asked about at the next check-in (from today on), as a fresh step.
            settled = await self._repository.reopen_next_step(user.id, int(run), now.astimezone(zone).date())
        else:
            return []
        if not settled:
            return [Say(render(self._texts.done_gone, {}), edit=True)]
        return [Say(render(self._texts.done_saved, {"outcome": action}), edit=True)]

    # --- /edit: correcting an entry's words ------------------------------------------------------------

    async def edit(self, user: User, argument: str | None, zone: tzinfo | None = None) -> list[HistoryReply]:
        """/edit: the newest entries to pick from, or straight to the one named by number (``/edit 1``)."""
        zone = zone or self._zone
        entries = await self._repository.lessons(user.id, PICK_SHOWN)
        if not entries:
            return [Say(render(self._texts.edit_none, {}))]
        chosen = _number_in(argument, len(entries))
        if chosen is not None or len(entries) == 1:
            return await self._edit_which(user, entries[(chosen or 1) - 1].run_id, zone)
        listed = [
            {"number": number, "date": day_label(entry.finished_at.astimezone(zone)), "lesson": entry.lesson or ""}
            for number, entry in enumerate(entries, start=1)
        ]
        buttons = tuple(
            Button(
                render(self._texts.edit_pick_button, {"number": number}),
                f"{EDIT}:pick:{entry.run_id}",
                render(self._texts.edit_pick_spoken, {"number": number}),
            )
            for number, entry in enumerate(entries, start=1)
        )
        return [Say(render(self._texts.edit_pick, {"entries": listed}), (buttons,), seq=0)]

    async def _edit_which(self, user: User, run_id: int, zone: tzinfo) -> list[HistoryReply]:
        texts = self._texts
        entry = await self._repository.lesson(user.id, run_id)
        if entry is None:
            return [Say(render(texts.done_gone, {}))]
        html = render(
            texts.edit_which,
            {
                "date": day_label(entry.finished_at.astimezone(zone)),
                "lesson": entry.lesson or "",
                "next_step": entry.next_step or "",
            },
        )
        row = [Button(render(texts.edit_lesson_button, {}), f"{EDIT}:lesson:{run_id}")]
        if entry.next_step:
            row.append(Button(render(texts.edit_next_step_button, {}), f"{EDIT}:next_step:{run_id}"))
        rows: list[tuple[Button, ...]] = [tuple(row)]
        if entry.next_step:
            rows.append((Button(render(texts.edit_outcome_button, {}), f"{STEP}:pick:{run_id}"),))
        return [Say(html, tuple(rows), seq=0)]

    async def _edit_button(self, user: User, value: str, now: datetime, zone: tzinfo) -> list[HistoryReply]:
        texts = self._texts
        _, action, run = [*value.split(":"), "", ""][:3]
        if not run.isdigit():
            return []
        if action == "pick":
            return await self._edit_which(user, int(run), zone)
        if action == "keep":
            return [Say(render(texts.edit_kept, {}), edit=True)]
        if action not in {"lesson", "next_step"}:
            return []
        entry = await self._repository.lesson(user.id, int(run))
        current = (entry.lesson if action == "lesson" else entry.next_step) if entry is not None else None
        if entry is None or not current:
            return [Say(render(texts.done_gone, {}))]
        keep = Button(render(texts.edit_keep_button, {}), f"{EDIT}:keep:{run}")
        return [Say(render(texts.edit_ask, {"part": action, "current": current}), ((keep,),), seq=0)]

    async def correct(self, user: User, run_id: int, part: str, text: str, now: datetime) -> list[HistoryReply]:
        """Take ``text`` as the new lesson or next step (``part``) of one of the person's entries."""
        texts = self._texts
        words = " ".join(text.split())
        if len(words) > CORRECTION_MAX:
            keep = Button(render(texts.edit_keep_button, {}), f"{EDIT}:keep:{run_id}")
            return [Say(render(texts.edit_too_long, {"max": CORRECTION_MAX}), ((keep,),), seq=0)]
        if not await self._repository.correct_entry(user.id, run_id, part, words, now):
            return [Say(render(texts.done_gone, {}))]
        return [Say(render(texts.edit_saved, {"part": part, "text": words}))]

    # --- /export --------------------------------------------------------------------------------------

    async def export(self, user: User, now: datetime, zone: tzinfo | None = None) -> list[HistoryReply]:
        """Ask for the export (two dated documents, sent when ready) and say it is on its way.

        One export per person waits at a time: asking again meanwhile says it is coming.
        """
        repository = self._repository
        if (
            await repository.count_runs(user.id) == 0
            and await repository.active_state(user.id) is None
            and await repository.set_aside_state(user.id) is None
        ):
            return [Say(render(self._texts.export_empty, {}))]
        fresh = await repository.request_heavy(user.id, EXPORT, "", now)
        self._requested = True
        return [Say(render(self._texts.export_started if fresh else self._texts.export_waiting, {}))]

    async def _export_files(
        self, view: ConversationStore, user_id: int, now: datetime, zone: tzinfo, scratch: Path
    ) -> list[HistoryReply]:
        """Markdown to read and JSON with every stored answer and timestamp, written page by page."""
        person = await view.export_person(user_id)
        first = await view.export_runs(user_id, limit=EXPORT_PAGE)
        if not first and person["in_progress"] is None and person["set_aside"] is None:
            return [Say(render(self._texts.export_empty, {}))]
        today = now.astimezone(zone).date().isoformat()
        header = {"exported_at": now.isoformat(), **person}
        markdown_path, json_path = _scratch_file(scratch, ".md"), _scratch_file(scratch, ".json")
        try:
            with _private(markdown_path) as markdown, _private(json_path) as data:
                await asyncio.to_thread(self._write_start, markdown, data, header, today)
                page, written = first, 0
                while page:
                    await asyncio.to_thread(self._write_runs, markdown, data, page, written)
                    written += len(page)
                    last = page[-1]
                    page = await view.export_runs(user_id, (last["finished_at"], last["id"]), EXPORT_PAGE)
                await asyncio.to_thread(data.write, "\n  ]\n}\n" if written else "]\n}\n")
        except BaseException:
            markdown_path.unlink(missing_ok=True)
            json_path.unlink(missing_ok=True)
            raise
        caption = render(self._texts.export_caption, {"date": today})
        return [
            SendFile(f"springboard-{today}.md", markdown_path, caption, "document"),
            SendFile(f"springboard-{today}.json", json_path, "", "document"),
        ]

    def _write_start(self, markdown: IO[str], data: IO[str], header: dict[str, Any], today: str) -> None:
        markdown.write(render_plain(self._texts.export_markdown, {"date": today}))
        # The small parts first, then "runs", which is written one page at a time.
        opened = json.dumps(header, ensure_ascii=False, indent=2)
        data.write(opened[:-2] + ',\n  "runs": [')

    def _write_runs(self, markdown: IO[str], data: IO[str], runs: list[dict[str, Any]], written: int) -> None:
        for number, run in enumerate(runs, start=written):
            markdown.write("\n" + render_plain(self._texts.export_run_markdown, {"run": _markdown_run(run)}))
            item = json.dumps(run, ensure_ascii=False, indent=2).replace("\n", "\n    ")
            data.write(("\n    " if number == 0 else ",\n    ") + item)

    # --- /forget --------------------------------------------------------------------------------------

    def confirm_forget(self) -> list[HistoryReply]:
        """Ask before deleting everything, with a button for each answer."""
        buttons = (
            (
                Button(render(self._texts.forget_yes_button, {}), FORGET_YES),
                Button(render(self._texts.forget_no_button, {}), FORGET_NO),
            ),
        )
        return [Say(render(self._texts.forget_confirm, {}), buttons, seq=0)]

    async def forget(self, user: User) -> list[HistoryReply]:
        """Delete everything stored about the user and say what went."""
        runs = await self._repository.forget_user(user.id)
        return [Say(render(self._texts.forgotten, {"runs": runs}), edit=True), Erased()]


_OUTCOMES = {"done": "done", "partly": "partly done", "not_yet": "not yet"}


def _markdown_run(run: dict[str, Any]) -> dict[str, Any]:
    """One run as the Markdown export's template reads it."""
    return {
        "title": run["flow_title"],
        "finished": run["finished_at"][:16].replace("T", " ") + " UTC",
        "started": run["started_at"][:16].replace("T", " ") + " UTC",
        "lesson": run["lesson"],
        "next_step": run["next_step"],
        "outcome": "set down" if run["next_step_let_go_at"] else _OUTCOMES.get(run["next_step_outcome"] or "", "open"),
        "due": run["next_step_due"],
        "lesson_corrected": (run["lesson_corrected_at"] or "")[:10],
        "next_step_corrected": (run["next_step_corrected_at"] or "")[:10],
        "mood": run["meaning"].get("mood", "") if run["flow_id"] == CHECKIN_FLOW_ID else "",
        "revisits": run["revisits"],
        "answers": [
            {"step": answer["step"], "answer": answer["shown"], "at": answer["answered_at"][11:16]}
            for answer in run["answers"]
        ],
    }


def _number_in(argument: str | None, count: int) -> int | None:
    """The list number typed after a command (``/done 2``), when it is one of 1..``count``; else None."""
    words = (argument or "").strip().lstrip("#").split()
    if len(words) == 1 and words[0].isdigit() and 1 <= int(words[0]) <= count:
        return int(words[0])
    return None


def _scratch_file(folder: Path, suffix: str) -> Path:
    """A new, unguessable file name in ``folder`` (created private if missing)."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder / f"{secrets.token_hex(16)}{suffix}"


def _private(path: Path) -> IO[str]:
    """Open a new file for writing that only this account can read: it holds what people wrote."""
    return os.fdopen(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600), "w", encoding="utf-8")
