"""Rendering: user text is escaped, and a deployer's template that fails at run time never strands anyone."""

from __future__ import annotations

from datetime import UTC, datetime

from bot import engine
from bot.flows.model import Flow
from bot.flows.texts import Texts
from bot.render import html_to_plain, render, render_authored

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def test_user_text_is_escaped_for_telegram_html() -> None:
    assert render("You said: {{ a }}", {"a": "<b> & </b>"}) == "You said: &lt;b&gt; &amp; &lt;/b&gt;"


def test_html_becomes_plain_terminal_text() -> None:
    assert (
        html_to_plain('<b>Bold</b> &amp; <i>it</i> <a href="https://x.org">here</a>')
        == "Bold & it here (https://x.org)"
    )


def test_a_failing_template_still_shows_its_words() -> None:
    shown = render_authored("Before {{ a < b }} after.", {"a": None, "b": 3})
    assert shown == "Before  after."


def test_a_finish_comparing_a_skipped_answer_still_finishes_and_stores(texts: Texts) -> None:
    flow = Flow.model_validate(
        {
            "id": "fragile",
            "version": 1,
            "title": "Fragile",
            "description": "A finish that compares an optional answer.",
            "steps": [
                {
                    "id": "before",
                    "kind": "scale",
                    "prompt": "Before?",
                    "min_label": "low",
                    "max_label": "high",
                    "optional": True,
                },
                {"id": "after", "kind": "scale", "prompt": "After?", "min_label": "low", "max_label": "high"},
            ],
            "finish": "{% if after < before %}Better.{% endif %} Saved.",
        }
    )
    state, _ = engine.start(flow, NOW, texts)
    assert state is not None
    state, _ = engine.advance(flow, state, engine.Skip(), NOW, texts)
    assert state is not None
    state, effects = engine.advance(flow, state, engine.Answer("4"), NOW, texts)
    assert state is None
    finished = [effect for effect in effects if isinstance(effect, engine.Finished)]
    assert len(finished) == 1 and finished[0].run.answers["after"].value == 4
    card = [effect for effect in effects if isinstance(effect, engine.Say)][-1]
    assert "Saved." in card.html


def test_a_list_with_an_optional_part_keeps_one_item_per_line(texts: Texts) -> None:
    steps = [{"number": 1, "text": "Hang a hook", "date": "2 Dec"}, {"number": 2, "text": "Set an alarm", "date": ""}]
    lines = html_to_plain(render(texts.done_pick, {"steps": steps})).splitlines()
    assert lines[1:] == ["1. Hang a hook (2 Dec)", "2. Set an alarm"]
