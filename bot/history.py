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
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import IO, Any, Literal
from zoneinfo import ZoneInfo

from bot.engine import Button, Say
from bot.flows.texts import Texts
from bot.render import render, render_plain
from bot.storage.repository import HeavyRequest, Repository, User
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


@dataclass(frozen=True)
class SendFile:
    """A file to send: a ``document`` (the exports) or a ``photo`` (the feelings chart).

    ``content`` is the bytes, or a file holding them that the receiver takes over (an export is written
    to disk page by page, never held in memory whole).
    """

    filename: str
    content: bytes | Path
    caption_html: str
    kind: Literal["document", "photo"]


@dataclass(frozen=True)
class Erased:
    """Everything stored about the person was deleted: adapters drop what they keep on their side too."""


HistoryReply = Say | SendFile | Erased


def is_history_button(value: str) -> bool:
    """True for the values of the buttons this module puts under its messages."""
    return value.startswith(f"{LESSONS}:") or value in {FORGET_YES, FORGET_NO}


class History:
    """Summaries, exports and forgetting for one repository."""

    def __init__(self, repository: Repository, texts: Texts, zone: ZoneInfo) -> None:
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
        recurring = recurring_lessons(await repository.lesson_texts(user.id, since)) if page == 1 else []
        checkins = checkin_days(await repository.checkin_times(user.id, now - timedelta(days=31)), zone)
        outcomes = {
            "done": render(texts.outcome_done, {}),
            "partly": render(texts.outcome_partly, {}),
            "not_yet": render(texts.outcome_not_yet, {}),
            "open": render(texts.outcome_open, {}),
        }
        context = lessons_page_context(
            entries=entries,
            overview=overview,
            recurring=recurring,
            checkins=checkins,
            page=page,
            period_label=label,
            outcome_labels=outcomes,
            now=now,
            zone=zone,
        )
        rows: list[tuple[Button, ...]] = []
        first_number = (page - 1) * PAGE_SIZE + 1
        rows.append(
            tuple(
                Button(
                    render(texts.lessons_delete_button, {"number": first_number + offset}), f"{LESSONS}:del:{e.run_id}"
                )
                for offset, e in enumerate(entries)
            )
        )
        pages = page_count(overview.count)
        navigation = []
        if page > 1:
            navigation.append(Button(render(texts.lessons_previous_button, {}), f"{LESSONS}:{period}:{page - 1}"))
        if page < pages:
            navigation.append(Button(render(texts.lessons_next_button, {}), f"{LESSONS}:{period}:{page + 1}"))
        if navigation:
            rows.append(tuple(navigation))
        rows.append(self._period_row(period))
        if not edit and page == 1 and overview.with_feelings >= 2:
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
        self, view: Repository, request: HeavyRequest, now: datetime, zone: tzinfo | None, scratch: Path
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

    def failed(self, request: HeavyRequest) -> list[HistoryReply]:
        """What to say when a request could not be built (a chart is simply left out)."""
        return [Say(render(self._texts.export_failed, {}))] if request.kind == EXPORT else []

    async def _chart(self, view: Repository, user_id: int, period: str, now: datetime, zone: tzinfo) -> SendFile | None:
        since = period_start(period if period in PERIODS else DEFAULT_PERIOD, now, zone)
        entries = await view.lessons(user_id, CHART_MAX_POINTS, since=since)
        points = [
            (entry.finished_at.astimezone(zone).date(), entry.feeling_before, entry.feeling_after)
            for entry in reversed(entries)
            if entry.feeling_before is not None and entry.feeling_after is not None
        ]
        if len(points) < 2:
            return None
        from bot.chart import FeelingPoint, feelings_chart

        png = await asyncio.to_thread(
            feelings_chart,
            [FeelingPoint(day, before, after) for day, before, after in points],
            title=render(self._texts.chart_title, {}),
        )
        return SendFile("feelings.png", png, render(self._texts.chart_caption, {}), "photo")

    async def button(self, user: User, value: str, now: datetime, zone: tzinfo | None = None) -> list[HistoryReply]:
        """Act on one of this module's buttons: turn a page, switch period, delete an entry, forget."""
        texts = self._texts
        zone = zone or self._zone
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
        self, view: Repository, user_id: int, now: datetime, zone: tzinfo, scratch: Path
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
        chat_id = int(user.external_id[3:]) if user.external_id.startswith("tg:") else None
        runs = await self._repository.forget_user(user.id, chat_id)
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
        "outcome": _OUTCOMES.get(run["next_step_outcome"] or "", "open"),
        "due": run["next_step_due"],
        "answers": [
            {"step": answer["step"], "answer": answer["shown"], "at": answer["answered_at"][11:16]}
            for answer in run["answers"]
        ],
    }


def _scratch_file(folder: Path, suffix: str) -> Path:
    """A new, unguessable file name in ``folder`` (created private if missing)."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder / f"{secrets.token_hex(16)}{suffix}"


def _private(path: Path) -> IO[str]:
    """Open a new file for writing that only this account can read: it holds what people wrote."""
    return os.fdopen(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600), "w", encoding="utf-8")
