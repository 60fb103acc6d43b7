"""The bot's own words (hints, help, notices, summaries), kept in ``conversations/texts/*.yaml``.

Each field is a Jinja2 template; the variables each one receives are listed in that file's comments.
"""

from __future__ import annotations

from pathlib import Path as FsPath

from jinja2 import TemplateSyntaxError, meta
from pydantic import ConfigDict, ValidationError

from bot.flows.checks import html_problems, unknown_tests_and_filters
from bot.flows.errors import FlowError, FlowLoadError
from bot.flows.loader import display_path, from_pydantic
from bot.flows.model import _Strict
from bot.flows.yaml_source import YamlDocument, YamlSyntaxError, load_yaml
from bot.render import parse_template

TEXTS_FILE = FsPath("texts") / "bot.yaml"


class Texts(_Strict):
    """Every sentence the bot says outside the flows themselves."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    # engine: questions and hints
    scale_legend: str
    optional_note: str
    multi_note: str
    skip_button: str
    done_button: str
    hint_text_empty: str
    hint_text_too_short: str
    hint_text_too_long: str
    hint_choice: str
    hint_several: str
    hint_menu: str
    hint_multi_empty: str
    hint_scale: str
    cannot_skip: str
    nothing_before: str
    earlier_answer: str
    skipped_answer: str
    flow_updated: str
    cancelled: str
    # conversation service
    welcome: str
    welcome_back: str
    welcome_back_waiting: str
    help: str
    no_active_flow: str
    nothing_to_cancel: str
    busy_with_other_flow: str
    unknown_command: str
    stale_button: str
    flow_removed: str
    lessons_empty: str
    text_only: str
    # Telegram adapter
    private_only: str
    not_allowed: str
    something_went_wrong: str
    chosen_answer: str
    menu_start: str
    menu_help: str
    menu_lessons: str
    menu_back: str
    menu_skip: str
    menu_cancel: str
    menu_sos: str
    # safety and onboarding
    crisis_reply: str
    crisis_continue_button: str
    crisis_stop_button: str
    crisis_stopped: str
    crisis_paused: str
    safety_question: str
    safety_question_again: str
    safety_yes_button: str
    safety_no_button: str
    onboarding_button: str
    onboarding_done: str
    onboarding_kept: str
    onboarding_reminder: str
    # free text outside a flow: offering to work through it, and starting with what was written
    setback_offer: str
    setback_offer_yes_button: str
    setback_offer_no_button: str
    setback_offer_declined: str
    started_with_words: str
    menu_export: str
    menu_forget: str
    # /lessons, /export, /forget (texts/lessons.yaml)
    lessons_page: str
    lessons_period_empty: str
    lessons_period_week: str
    lessons_period_month: str
    lessons_period_30d: str
    lessons_period_all: str
    outcome_done: str
    outcome_partly: str
    outcome_not_yet: str
    outcome_open: str
    outcome_planned: str
    outcome_let_go: str
    lessons_week_button: str
    lessons_30d_button: str
    lessons_month_button: str
    lessons_all_button: str
    lessons_previous_button: str
    lessons_next_button: str
    lessons_delete_button: str
    lessons_delete_spoken: str
    lessons_previous_spoken: str
    lessons_next_spoken: str
    delete_confirm: str
    delete_yes_button: str
    delete_no_button: str
    deleted_entry: str
    kept_entry: str
    chart_caption: str
    chart_title: str
    chart_moods_title: str
    chart_moods_low: str
    chart_moods_high: str
    chart_before: str
    chart_after: str
    chart_eased: str
    chart_same: str
    chart_stronger: str
    chart_average_before: str
    chart_average_after: str
    chart_entries: str
    chart_months: str
    # /done and /edit (texts/lessons.yaml)
    done_pick: str
    done_pick_button: str
    done_pick_spoken: str
    done_none: str
    done_ask: str
    done_done_button: str
    done_partly_button: str
    done_drop_button: str
    done_keep_button: str
    done_saved: str
    done_gone: str
    edit_pick: str
    edit_pick_button: str
    edit_pick_spoken: str
    edit_none: str
    edit_which: str
    edit_lesson_button: str
    edit_next_step_button: str
    edit_outcome_button: str
    edit_ask: str
    edit_keep_button: str
    edit_saved: str
    edit_kept: str
    edit_too_long: str
    menu_done: str
    menu_edit: str
    export_caption: str
    export_empty: str
    export_markdown: str
    export_run_markdown: str
    export_started: str
    export_waiting: str
    export_failed: str
    forget_confirm: str
    forget_yes_button: str
    forget_no_button: str
    forgotten: str
    forget_kept: str
    # /checkin and the daily nudge (texts/checkins.yaml)
    checkin_settings: str
    checkin_on_button: str
    checkin_off_button: str
    checkin_time_button: str
    checkin_timezone_button: str
    checkin_ask_time: str
    checkin_ask_timezone: str
    checkin_here_button: str
    checkin_timezone_suggestions: str
    checkin_timezone_problem: str
    checkin_time_problem: str
    checkin_saved: str
    checkin_zone_saved_off: str
    checkin_fixed_offset_note: str
    checkin_turned_off: str
    checkin_offer: str
    checkin_offer_yes_button: str
    checkin_offer_no_button: str
    checkin_offer_declined: str
    nudge_backoff_notice: str
    snooze_button: str
    skip_today_button: str
    snoozed: str
    skipped_today: str
    location_unexpected: str
    checkin_when: str
    menu_checkin: str
    # when a next step is due, check-ins held back by a flow, flows set aside (texts/next_steps.yaml)
    day_today_button: str
    day_tomorrow_button: str
    day_this_week_button: str
    day_weekend_button: str
    day_next_week_button: str
    day_not_sure_button: str
    day_shown: str
    hint_day: str
    hint_day_past: str
    nudge_set_aside: str
    resume_offer: str
    resume_button: str
    resumed: str
    resumed_swapped: str
    nothing_to_resume: str
    set_aside_welcome_back: str
    menu_resume: str
    # reading what people type (texts/words.yaml): comma-separated words and phrases, never shown
    words_numbers: str
    words_ordinals: str
    words_around_numbers: str
    words_filler: str
    words_negation: str
    words_setback: str
    words_about_the_bot: str
    words_yes: str
    words_no: str
    words_clear_yes: str
    words_keep: str
    words_begin: str
    words_turn_on: str
    words_turn_off: str
    words_timezone: str
    words_later: str
    words_skip_today: str
    words_next_page: str
    words_previous_page: str
    words_resume: str
    words_day_today: str
    words_day_tomorrow: str
    words_day_this_week: str
    words_day_weekend: str
    words_day_next_week: str
    words_day_next_month: str
    words_day_not_sure: str
    words_weekdays: str
    words_months: str
    words_day_filler: str
    words_day_next: str
    words_day_this: str
    words_day_in: str
    words_day_units: str
    words_week_units: str
    words_day_one: str
    words_day_couple: str
    words_day_few: str
    # what an answer signals (texts/words.yaml, read by bot/cues.py)
    words_stuck: str
    words_stuck_around: str
    words_others: str
    words_blaming: str
    words_not_my_fault: str
    words_self: str
    # the terminal chat's own words around the bot's messages (texts/terminal.yaml)
    terminal_stale: str
    terminal_scale: str
    terminal_times: str
    terminal_multi: str
    terminal_pause: str
    terminal_saved: str
    terminal_bye: str
    # finding lessons that say the same thing (texts/lesson_words.yaml), never shown
    words_lesson_filler: str
    words_lesson_concepts: str
    words_lesson_opposites: str


_SCALE = frozenset({"min", "max", "min_label", "max_label"})
_FLOWS = frozenset({"flows"})
VARIABLES: dict[str, frozenset[str]] = {
    "scale_legend": _SCALE,
    "hint_scale": _SCALE,
    "hint_text_too_short": frozenset({"min", "length"}),
    "hint_text_too_long": frozenset({"max", "length"}),
    "hint_choice": frozenset({"options", "multiple"}),
    "hint_several": frozenset({"named", "options"}),
    "hint_menu": frozenset({"options", "confirm"}),
    "onboarding_reminder": frozenset({"button", "kept"}),
    "setback_offer_declined": _FLOWS,
    "started_with_words": frozenset({"title", "words"}),
    "cannot_skip": frozenset({"kind"}),
    "earlier_answer": frozenset({"answer"}),
    "chosen_answer": frozenset({"answer"}),
    "flow_updated": frozenset({"title"}),
    "cancelled": frozenset({"title"}),
    "welcome": _FLOWS,
    "help": _FLOWS,
    "no_active_flow": _FLOWS,
    "onboarding_done": _FLOWS,
    "flow_removed": _FLOWS,
    "welcome_back": _FLOWS | {"title"},
    "welcome_back_waiting": _FLOWS | {"options", "kept", "words"},
    "busy_with_other_flow": _FLOWS | {"title", "requested"},
    "unknown_command": _FLOWS | {"command"},
    "nothing_to_cancel": _FLOWS,
    "text_only": _FLOWS,
    "crisis_stopped": _FLOWS,
    "crisis_paused": _FLOWS,
    "crisis_reply": _FLOWS | {"lines", "emergency", "has_flow", "asked", "other_language"},
    "safety_question": _FLOWS,
    "safety_question_again": _FLOWS,
    "lessons_page": frozenset(
        {
            "period",
            "count",
            "avg_before",
            "avg_after",
            "avg_same",
            "moods",
            "held",
            "recurring",
            "checkin_days",
            "streak",
            "page",
            "pages",
            "entries",
        }
    ),
    "lessons_period_empty": frozenset({"period"}),
    "outcome_planned": frozenset({"day"}),
    "chart_caption": frozenset({"feelings", "moods"}),
    "done_pick": frozenset({"steps"}),
    "done_pick_button": frozenset({"number"}),
    "done_pick_spoken": frozenset({"number"}),
    "done_ask": frozenset({"step", "date"}),
    "done_saved": frozenset({"outcome"}),
    "edit_pick": frozenset({"entries"}),
    "edit_pick_button": frozenset({"number"}),
    "edit_pick_spoken": frozenset({"number"}),
    "edit_which": frozenset({"date", "lesson", "next_step"}),
    "edit_ask": frozenset({"part", "current"}),
    "edit_saved": frozenset({"part", "text"}),
    "edit_too_long": frozenset({"max"}),
    "lessons_delete_button": frozenset({"number"}),
    "lessons_delete_spoken": frozenset({"number"}),
    "delete_confirm": frozenset({"lesson", "date"}),
    "export_caption": frozenset({"date"}),
    "export_markdown": frozenset({"date"}),
    "export_run_markdown": frozenset({"run"}),
    "forgotten": frozenset({"runs"}),
    "checkin_settings": frozenset({"enabled", "time", "timezone", "place", "next"}),
    "checkin_ask_timezone": frozenset({"starting", "time", "here"}),
    "checkin_here_button": frozenset({"here"}),
    "checkin_timezone_suggestions": frozenset({"text", "places"}),
    "checkin_zone_saved_off": frozenset({"enabled", "time", "timezone", "place", "next"}),
    "checkin_fixed_offset_note": frozenset({"offset"}),
    "checkin_timezone_problem": frozenset({"text", "reason"}),
    "checkin_time_problem": frozenset({"text"}),
    "checkin_saved": frozenset({"time", "timezone", "place", "next"}),
    "day_shown": frozenset({"kind", "days", "weekday", "day", "month", "year"}),
    "hint_day": frozenset({"options"}),
    "hint_day_past": frozenset({"options"}),
    "nudge_set_aside": frozenset({"title"}),
    "resume_offer": frozenset({"title"}),
    "resumed": frozenset({"title"}),
    "resumed_swapped": frozenset({"title", "other"}),
    "set_aside_welcome_back": frozenset({"title"}),
    "checkin_when": frozenset({"days", "clock", "weekday", "day", "month"}),
    "chart_average_before": frozenset({"average"}),
    "chart_average_after": frozenset({"average"}),
    "chart_entries": frozenset({"count", "group", "about"}),
    "terminal_scale": frozenset({"min", "max"}),
    "terminal_times": frozenset({"times"}),
    "terminal_pause": frozenset({"button"}),
    "terminal_saved": frozenset({"path"}),
}
"""The variables each text receives; a text naming any other is an error at load time, not at run time."""

COUNTED = {"chart_months": 12}
"""Texts that are a comma-separated list of exactly this many names."""


def load_texts(conversations: FsPath) -> Texts:
    """Load and check every ``texts/*.yaml`` under the conversations folder as one set of texts.

    Each text may live in any of the files (``bot.yaml`` holds most; ``lessons.yaml`` the summary's);
    a text defined twice, an unknown or missing one, and a template error are reported as file:line.
    """
    folder = conversations / TEXTS_FILE.parent
    files = sorted(folder.glob("*.yaml")) if folder.is_dir() else []
    if not files:
        shown = display_path(conversations / TEXTS_FILE)
        raise FlowLoadError([FlowError(shown, 1, "texts", None, "cannot read the file: No such file or directory")])
    errors: list[FlowError] = []
    merged: dict[str, object] = {}
    home: dict[str, tuple[str, YamlDocument]] = {}
    for file in files:
        shown = display_path(file)
        try:
            document = load_yaml(file.read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            errors.append(FlowError(shown, 1, "texts", None, "the file is not UTF-8 text; save it as UTF-8"))
            continue
        except OSError as problem:
            errors.append(FlowError(shown, 1, "texts", None, f"cannot read the file: {problem.strerror}"))
            continue
        except YamlSyntaxError as problem:
            errors.append(FlowError(shown, problem.line, "texts", None, f"not valid YAML: {problem.problem}"))
            continue
        if document.value is None:
            continue
        if not isinstance(document.value, dict):
            errors.append(FlowError(shown, 1, "texts", None, "a texts file must be a mapping of names to texts"))
            continue
        for name, value in document.value.items():
            if name in home:
                where = home[name][0]
                message = f"this text is already defined in {where}; keep one of them"
                errors.append(FlowError(shown, document.line_of((name,)), "texts", name, message))
                continue
            if (name,) in document.wrapped:
                message = "this text goes on over several lines in quotes, and YAML joins them with spaces; "
                message += f"to keep its line breaks, write it as a block ('{name}: |-', then its lines indented)"
                errors.append(FlowError(shown, document.line_of((name,)), "texts", name, message))
            merged[name] = value
            home[name] = (shown, document)
    if errors:
        raise FlowLoadError(errors)
    main_file = display_path(conversations / TEXTS_FILE)
    try:
        texts = Texts.model_validate(merged)
    except ValidationError as invalid:
        for detail in invalid.errors():
            key = str(detail["loc"][0]) if detail["loc"] else ""
            shown, document = home.get(key, (main_file, YamlDocument(value=merged)))
            errors.append(from_pydantic(detail, document, shown, "texts", Texts))
        raise FlowLoadError(errors) from None
    for name, source in texts.model_dump().items():
        shown, document = home[name]
        line = document.line_of((name,))
        try:
            tree = parse_template(source)
        except TemplateSyntaxError as problem:
            errors.append(FlowError(shown, line, "texts", name, f"template error: {problem.message}"))
            continue
        allowed = VARIABLES.get(name, frozenset())
        if name in COUNTED and len([item for item in source.split(",") if item.strip()]) != COUNTED[name]:
            message = f"needs {COUNTED[name]} names separated by commas"
            errors.append(FlowError(shown, line, "texts", name, message))
        if odd := list(unknown_tests_and_filters(tree, "this text")):
            errors.extend(FlowError(shown, line, "texts", name, problem) for problem in odd)
            continue  # Jinja2 cannot list the names a template uses when it names an unknown filter
        for unknown in sorted(meta.find_undeclared_variables(tree) - allowed):
            offer = ", ".join(sorted(allowed)) or "none"
            message = f"uses '{unknown}', which this text is not given; it can use: {offer}"
            errors.append(FlowError(shown, line, "texts", name, message))
        plain = name.startswith(("menu_", "words_")) or (name.startswith("chart_") and name != "chart_caption")
        if name.endswith(("_button", "_markdown")) or plain:
            continue  # buttons, the command menu, the chart, the Markdown export, words read: plain text, not HTML
        errors.extend(FlowError(shown, line, "texts", name, problem) for problem in html_problems(tree))
    if errors:
        raise FlowLoadError(errors)
    return texts
