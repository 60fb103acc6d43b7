"""The bot's own words (hints, help, notices), kept in ``conversations/texts/bot.yaml``.

Each field is a Jinja2 template; the variables each one receives are listed in that file's comments.
"""

from __future__ import annotations

from pathlib import Path as FsPath

from jinja2 import TemplateSyntaxError
from pydantic import ConfigDict, ValidationError

from bot.flows.checks import html_problems
from bot.flows.errors import FlowError, FlowLoadError
from bot.flows.loader import display_path, from_pydantic
from bot.flows.model import _Strict
from bot.flows.yaml_source import YamlSyntaxError, load_yaml
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
    hint_multi_empty: str
    hint_scale: str
    hint_pause: str
    cannot_skip: str
    nothing_before: str
    earlier_answer: str
    skipped_answer: str
    flow_updated: str
    cancelled: str
    # conversation service
    welcome: str
    welcome_back: str
    help: str
    no_active_flow: str
    nothing_to_cancel: str
    busy_with_other_flow: str
    unknown_command: str
    stale_button: str
    flow_removed: str
    lessons: str
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
    onboarding_button: str
    onboarding_done: str


def load_texts(conversations: FsPath) -> Texts:
    """Load and check ``texts/bot.yaml`` under the conversations folder; FlowLoadError names file:line."""
    file = conversations / TEXTS_FILE
    shown = display_path(file)
    try:
        document = load_yaml(file.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise FlowLoadError(
            [FlowError(shown, 1, "texts", None, "the file is not UTF-8 text; save it as UTF-8")]
        ) from None
    except OSError as problem:
        raise FlowLoadError([FlowError(shown, 1, "texts", None, f"cannot read the file: {problem.strerror}")]) from None
    except YamlSyntaxError as problem:
        raise FlowLoadError(
            [FlowError(shown, problem.line, "texts", None, f"not valid YAML: {problem.problem}")]
        ) from None
    try:
        texts = Texts.model_validate(document.value)
    except ValidationError as invalid:
        errors = [from_pydantic(detail, document, shown, "texts", Texts) for detail in invalid.errors()]
        raise FlowLoadError(errors) from None
    errors = []
    for name, source in texts.model_dump().items():
        line = document.line_of((name,))
        try:
            tree = parse_template(source)
        except TemplateSyntaxError as problem:
            errors.append(FlowError(shown, line, "texts", name, f"template error: {problem.message}"))
            continue
        if name.endswith("_button") or name.startswith("menu_"):
            continue  # shown on buttons and in the command menu: plain text, not HTML
        errors.extend(FlowError(shown, line, "texts", name, problem) for problem in html_problems(tree))
    if errors:
        raise FlowLoadError(errors)
    return texts
