"""The one Jinja2 environment for everything a user reads: sandboxed, HTML-escaping, strict.

Templates produce Telegram-flavoured HTML. Every value that came from a user is escaped by autoescape,
so someone who writes ``<b>`` or ``&`` sees exactly that. ``html_to_plain`` turns the same output into
terminal text.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Protocol

from jinja2 import StrictUndefined, Template, TemplateError, nodes, pass_context
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment


def _blank_for_none(value: Any) -> Any:
    # A skipped answer is None; a person should see nothing there, not the word "None".
    return "" if value is None else value


READERS = "_readers"
"""The context key under which the engine passes an ``AnswerReader`` to the ``stuck`` and ``blaming_others``
tests. (A name with a leading underscore: the flow checker reports it if a template names it.)"""


class AnswerReader(Protocol):
    """What reads a person's answer for the template tests (``bot.cues`` provides it, with the deployer's words)."""

    def stuck(self, text: str) -> bool:
        """True when ``text`` says "I don't know" rather than something."""
        ...

    def blaming_others(self, text: str) -> bool:
        """True when ``text`` says someone else caused what happened."""
        ...


def _reader(context: Context) -> AnswerReader | None:
    reader = context.get(READERS)
    return reader if reader is not None and hasattr(reader, "stuck") else None


@pass_context
def _is_stuck(context: Context, value: Any) -> bool:
    # A skipped or non-text answer is not "idk": it is simply not there (test it with `is none`).
    reader = _reader(context)
    return isinstance(value, str) and reader is not None and reader.stuck(value)


@pass_context
def _is_blaming_others(context: Context, value: Any) -> bool:
    reader = _reader(context)
    return isinstance(value, str) and reader is not None and reader.blaming_others(value)


FIRST_SENTENCE_LIMIT = 100
"""About how many characters of a long answer are quoted back to a person."""

# A sentence ends at "!", "?" or one full stop; "…" and ".." are a pause in phone typing ("whatever… i dont
# care"), where cutting would quote half a thought.
_SENTENCE_END = re.compile(r"(?:(?<=[!?])|(?<=[^.]\.))[\"'”’)]*\s+(?=\S)|\n+")


def first_sentence(text: Any, limit: int = FIRST_SENTENCE_LIMIT, *, show_more: bool = False) -> str:
    """The first sentence of ``text`` (up to its ``.``, ``!``, ``?`` or line break; not ``…``), at most about ``limit``
    characters: a longer one is cut at a word and ends with "…". Short answers come back whole; a
    skipped one (None) as nothing. With ``show_more``, a first sentence that ends with its own full stop but
    is not the whole text ends with " …" too (where the bot says it kept what was written, so the rest is
    not taken for lost)."""
    if text is None:
        return ""
    whole = " ".join(str(text).split())
    first = _SENTENCE_END.split(str(text).strip(), maxsplit=1)[0]
    first = " ".join(first.split())
    if len(first) <= limit:
        if first == whole:
            return first
        if show_more:
            return first.rstrip(",;:.… ") + " …"
        return first.rstrip(",;:") + ("" if first[-1:] in ".!?…" else " …")
    cut = first[: limit + 1].rsplit(" ", 1)[0] if " " in first[: limit + 1] else first[:limit]
    return cut.rstrip(",;:.!?… ") + "…"


_ENVIRONMENT = ImmutableSandboxedEnvironment(
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=False,
    finalize=_blank_for_none,
)
_ENVIRONMENT.tests["stuck"] = _is_stuck
_ENVIRONMENT.tests["blaming_others"] = _is_blaming_others
_ENVIRONMENT.filters["first_sentence"] = first_sentence


_PLAIN_ENVIRONMENT = ImmutableSandboxedEnvironment(
    autoescape=False, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True
)


def render_plain(source: str, context: Mapping[str, Any]) -> str:
    """Render a template to plain text (no HTML escaping), for files such as the Markdown export; surrounding
    blank space is trimmed and one line break ends it."""
    return _plain_template(source).render(**context).strip() + "\n"


@lru_cache(maxsize=64)
def _plain_template(source: str) -> Template:
    # Compiled once: an export renders the same template once per entry, thousands of times.
    return _PLAIN_ENVIRONMENT.from_string(source)


def known_tests_and_filters() -> tuple[frozenset[str], frozenset[str]]:
    """The names of the ``is`` tests and ``|`` filters a template may use (Jinja2's own and the bot's)."""
    return frozenset(_ENVIRONMENT.tests), frozenset(_ENVIRONMENT.filters)


@lru_cache(maxsize=1024)
def _template(source: str) -> Template:
    return _ENVIRONMENT.from_string(source)


@lru_cache(maxsize=1024)
def _expression(source: str) -> Any:
    return _ENVIRONMENT.compile_expression(source, undefined_to_none=False)


def render(source: str, context: Mapping[str, Any]) -> str:
    """Render a template source to HTML with ``context``; surrounding blank space is trimmed."""
    return _template(source).render(**context).strip()


_TEMPLATE_SYNTAX = re.compile(r"\{([{%#]).*?\1?[}%#]\}", re.DOTALL)


def render_authored(source: str, context: Mapping[str, Any]) -> str:
    """Render a deployer's template (a prompt, a finish card) without ever stranding the person.

    The loader checks names and syntax, but a template can still fail at run time (comparing a skipped
    answer with a number, say). Then the template's own words are shown without its placeholders, so
    the question is still asked and the flow can go on.
    """
    try:
        return render(source, context)
    except (TypeError, ValueError, ArithmeticError, LookupError, TemplateError):
        return _TEMPLATE_SYNTAX.sub("", source).strip()


def evaluate(condition: str, context: Mapping[str, Any]) -> bool:
    """Evaluate a sandboxed Jinja2 expression to a truth value (never Python ``eval``).

    A condition that cannot be worked out (say ``feeling >= 8`` after that question was skipped, so it
    compares nothing with a number) counts as false, so the person moves on instead of getting stuck.
    """
    try:
        return bool(_expression(condition)(**context))
    except (TypeError, ValueError, ArithmeticError, LookupError, TemplateError):
        return False


def parse_template(source: str) -> nodes.Template:
    """Parse a template source; raises jinja2.TemplateSyntaxError with a line number on bad syntax."""
    return _ENVIRONMENT.parse(source)


def parse_expression(source: str) -> nodes.Template:
    """Parse a condition as an expression, wrapped so that the usual template tools can inspect it."""
    _ENVIRONMENT.compile_expression(source)
    return _ENVIRONMENT.parse("{{ (" + source + ") }}")


_TAG = re.compile(r"<[^>]+>")


def html_to_plain(text: str) -> str:
    """Telegram HTML as terminal text: tags dropped (links keep their address), entities decoded."""
    text = re.sub(r'<a href="([^"]*)">(.*?)</a>', r"\2 (\1)", text, flags=re.DOTALL)
    text = re.sub(r"</?blockquote[^>]*>", "", text)
    return html.unescape(_TAG.sub("", text))
