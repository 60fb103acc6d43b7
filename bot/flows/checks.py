"""Semantic checks of a validated flow: the step graph, the templates and what they may name.

Each check yields FlowErrors that name the step and the line, and say how to fix the problem.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from jinja2 import TemplateSyntaxError, meta, nodes

from bot.flows.errors import FlowError
from bot.flows.model import ASKED_BEFORE, FINISH, Branch, Flow, MessageStep, TextStep
from bot.flows.yaml_source import Path
from bot.render import known_tests_and_filters, parse_expression, parse_template

LineOf = Callable[[Path], int]
SHOWN = "shown"


def check_flow(flow: Flow, file: str, line_of: LineOf) -> list[FlowError]:
    """Every semantic problem in ``flow`` (empty when it is sound)."""
    return list(_check(flow, file, line_of))


def successors(flow: Flow, step_id: str) -> list[str]:
    """Every step id (or FINISH) that can follow ``step_id``, in the order they are written."""
    step = flow.step(step_id)
    assert step is not None
    if step.next is None:
        return [flow.following(step_id)]
    if isinstance(step.next, str):
        return [step.next]
    targets = [branch.goto for branch in step.next]
    if all(branch.when is not None for branch in step.next):
        targets.append(flow.following(step_id))  # no rule matched: fall through
    return targets


def _check(flow: Flow, file: str, line_of: LineOf) -> Iterator[FlowError]:
    ids = [step.id for step in flow.steps]
    index = {step.id: number for number, step in enumerate(flow.steps)}

    def error(path: Path, step: str | None, message: str) -> FlowError:
        return FlowError(file, line_of(path), flow.id, step, message)

    seen: set[str] = set()
    for number, step in enumerate(flow.steps):
        if step.id in seen:
            yield error(("steps", number, "id"), step.id, "this step id is used twice; give each step its own id")
        seen.add(step.id)
    if len(seen) != len(ids):
        return  # the graph below is ambiguous until ids are unique

    broken_target = False
    for number, step in enumerate(flow.steps):
        for path, target in _targets(step.next, ("steps", number, "next")):
            if target != FINISH and target not in index:
                broken_target = True
                known = ", ".join(ids)
                yield error(
                    path,
                    step.id,
                    f"'next' names '{target}', which is not a step; use one of: {known}, finish",
                )
            if target == step.id:
                broken_target = True
                yield error(path, step.id, "'next' points back at this same step; it would never move on")
        if isinstance(step.next, list):
            for rule, branch in enumerate(step.next[:-1]):
                if branch.when is None:
                    yield error(
                        ("steps", number, "next", rule),
                        step.id,
                        "a rule without 'if' must come last; the rules after it can never be used",
                    )
    if broken_target:
        return

    reachable = _reachable(flow, ids[0])
    for number, step in enumerate(flow.steps):
        if step.id not in reachable:
            yield error(
                ("steps", number, "id"),
                step.id,
                "no path leads to this step; point a 'next' at it or remove it",
            )
    finishing = _can_finish(flow)
    for number, step in enumerate(flow.steps):
        if step.id in reachable and step.id not in finishing:
            yield error(
                ("steps", number, "id"),
                step.id,
                "after this step the flow can never reach 'finish' (it loops forever); let one 'next' lead to finish",
            )

    for number, step in enumerate(flow.steps):
        if step.id in reachable and _talks_in_circles(flow, step.id):
            yield error(
                ("steps", number, "id"),
                step.id,
                "this message can lead back to itself through other messages with no question or "
                "button in between, so the bot would talk forever; add a 'button' or change a 'next'",
            )

    for number, step in enumerate(flow.steps):
        source = getattr(step, "read_from", None)
        if source is None:
            continue
        earlier = flow.step(source)
        if earlier is None or earlier.kind != "text" or source not in _ancestors(flow, step.id):
            yield error(
                ("steps", number, "read_from"),
                step.id,
                f"'read_from' names '{source}', which is not a text question asked before this one",
            )

    yield from _check_meaning(flow, error)
    yield from _check_templates(flow, error, reachable)


def _is_plain_message(flow: Flow, step_id: str) -> bool:
    step = flow.step(step_id)
    return isinstance(step, MessageStep) and step.button is None


def _talks_in_circles(flow: Flow, step_id: str) -> bool:
    """True when a plain message (no button) can reach itself again through plain messages only."""
    if not _is_plain_message(flow, step_id):
        return False
    frontier = [step_id]
    visited: set[str] = set()
    while frontier:
        for target in successors(flow, frontier.pop()):
            if target == step_id:
                return True
            if target != FINISH and target not in visited and _is_plain_message(flow, target):
                visited.add(target)
                frontier.append(target)
    return False


def _targets(next_: str | list[Branch] | None, path: Path) -> Iterator[tuple[Path, str]]:
    if isinstance(next_, str):
        yield path, next_
    elif isinstance(next_, list):
        for rule, branch in enumerate(next_):
            yield (*path, rule, "goto"), branch.goto


def _reachable(flow: Flow, first: str) -> set[str]:
    found = {first}
    frontier = [first]
    while frontier:
        for target in successors(flow, frontier.pop()):
            if target != FINISH and target not in found:
                found.add(target)
                frontier.append(target)
    return found


def _can_finish(flow: Flow) -> set[str]:
    finishing: set[str] = set()
    changed = True
    while changed:
        changed = False
        for step in flow.steps:
            if step.id not in finishing and any(
                target == FINISH or target in finishing for target in successors(flow, step.id)
            ):
                finishing.add(step.id)
                changed = True
    return finishing


def _ancestors(flow: Flow, step_id: str) -> set[str]:
    """Steps that can come before ``step_id`` on some path from the first step."""
    before: set[str] = set()
    first = flow.steps[0].id
    frontier = [first]
    visited = {first}
    # Walk every path from the start without passing through step_id itself.
    while frontier:
        current = frontier.pop()
        if current == step_id:
            continue
        before.add(current)
        for target in successors(flow, current):
            if target != FINISH and target not in visited:
                visited.add(target)
                frontier.append(target)
    return before


def _check_meaning(flow: Flow, error: Callable[[Path, str | None, str], FlowError]) -> Iterator[FlowError]:
    answers = set(flow.answer_ids)
    for role, step_id in flow.meaning.model_dump().items():
        if step_id is None:
            continue
        if step_id not in answers:
            yield error(
                ("meaning", role),
                None,
                f"meaning.{role} names '{step_id}', which is not a question step; "
                f"use one of: {', '.join(sorted(answers))}",
            )
            continue
        step = flow.step(step_id)
        if role.startswith("feeling_") and step is not None and step.kind != "scale":
            yield error(("meaning", role), None, f"meaning.{role} must name a scale step, not a {step.kind} step")
        if role == "next_step_day" and step is not None and step.kind != "day":
            yield error(("meaning", role), None, f"meaning.{role} must name a day step, not a {step.kind} step")
    if flow.meaning.next_step_day is not None and flow.meaning.next_step is None:
        yield error(
            ("meaning", "next_step_day"),
            None,
            "meaning.next_step_day says when the next step is due, but the flow names no next_step; add it",
        )


def _check_templates(
    flow: Flow, error: Callable[[Path, str | None, str], FlowError], reachable: set[str]
) -> Iterator[FlowError]:
    answer_ids = set(flow.answer_ids)
    inputs = set(flow.inputs)
    clash = inputs & {step.id for step in flow.steps}
    for name in sorted(clash):
        yield error(("inputs",), None, f"the input '{name}' has the same name as a step; rename one of them")
    for number, step in enumerate(flow.steps):
        if step.id == ASKED_BEFORE:
            yield error(
                ("steps", number, "id"), step.id, f"'{ASKED_BEFORE}' is a name prompts already use; rename the step"
            )
    if ASKED_BEFORE in inputs:
        yield error(("inputs",), None, f"'{ASKED_BEFORE}' is a name prompts already use; rename the input")

    def names_problems(tree: nodes.Template, allowed: set[str], what: str) -> Iterator[str]:
        unknown = list(unknown_tests_and_filters(tree, what))
        if unknown:
            yield from unknown  # Jinja2 cannot even list the names of a template with an unknown filter
            return
        for name in sorted(meta.find_undeclared_variables(tree)):
            if name == SHOWN:
                continue
            if name not in allowed:
                yield _unknown_name(name, what, answer_ids, allowed, inputs)
        for node in tree.find_all(nodes.Getattr):
            if isinstance(node.node, nodes.Name) and node.node.name == SHOWN and node.attr not in allowed:
                yield _unknown_name(f"shown.{node.attr}", what, answer_ids, allowed, inputs)

    for number, step in enumerate(flow.steps):
        if step.id not in reachable:
            continue
        before = (_ancestors(flow, step.id) & answer_ids) | inputs
        try:
            tree = parse_template(step.prompt)
        except TemplateSyntaxError as problem:
            yield error(("steps", number, "prompt"), step.id, f"template error in prompt: {problem.message}")
        else:
            for message in names_problems(tree, before | {ASKED_BEFORE}, "the prompt"):
                yield error(("steps", number, "prompt"), step.id, message)
            for message in html_problems(tree):
                yield error(("steps", number, "prompt"), step.id, f"in the prompt, {message}")
        if isinstance(step.next, list):
            known = before | ({step.id} if not isinstance(step, MessageStep) else set())
            for rule, branch in enumerate(step.next):
                if branch.when is None:
                    continue
                path = ("steps", number, "next", rule, "if")
                try:
                    condition = parse_expression(branch.when)
                except TemplateSyntaxError as problem:
                    yield error(path, step.id, f"condition error in '{branch.when}': {problem.message}")
                    continue
                for message in names_problems(condition, known, "this condition"):
                    yield error(path, step.id, message)
        if isinstance(step, TextStep) and step.offer is not None:
            # The offer is made about the answer just typed: it may use it, and what came before.
            yield from _check_offer(step, ("steps", number, "offer"), before | {step.id}, names_problems, error)
    try:
        finish = parse_template(flow.finish)
    except TemplateSyntaxError as problem:
        yield error(("finish",), None, f"template error in finish: {problem.message}")
    else:
        for message in names_problems(finish, answer_ids | inputs, "the finish template"):
            yield error(("finish",), None, message)
        for message in html_problems(finish):
            yield error(("finish",), None, f"in the finish template, {message}")


def _check_offer(
    step: TextStep,
    path: Path,
    known: set[str],
    names_problems: Callable[[nodes.Template, set[str], str], Iterator[str]],
    error: Callable[[Path, str | None, str], FlowError],
) -> Iterator[FlowError]:
    assert step.offer is not None
    try:
        condition = parse_expression(step.offer.when)
    except TemplateSyntaxError as problem:
        yield error((*path, "if"), step.id, f"condition error in '{step.offer.when}': {problem.message}")
    else:
        for message in names_problems(condition, known, "the offer's condition"):
            yield error((*path, "if"), step.id, message)
    try:
        tree = parse_template(step.offer.prompt)
    except TemplateSyntaxError as problem:
        yield error((*path, "prompt"), step.id, f"template error in the offer: {problem.message}")
        return
    for message in names_problems(tree, known, "the offer"):
        yield error((*path, "prompt"), step.id, message)
    for message in html_problems(tree):
        yield error((*path, "prompt"), step.id, f"in the offer, {message}")


def unknown_tests_and_filters(tree: nodes.Template, what: str) -> Iterator[str]:
    """A problem for each ``is test`` or ``| filter`` the shared environment does not have (a typo such as
    ``is stuk`` would otherwise only fail when a person reaches it)."""
    known_tests, known_filters = known_tests_and_filters()
    for test in tree.find_all(nodes.Test):
        if test.name not in known_tests:
            yield f"{what} uses the test '{test.name}', which does not exist; for answers: stuck, blaming_others"
    for used in tree.find_all(nodes.Filter):
        if used.name not in known_filters:
            yield f"{what} uses the filter '{used.name}', which does not exist; for long answers: first_sentence"


TELEGRAM_TAGS = frozenset(
    {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a", "code", "pre"}
    | {"blockquote", "tg-emoji"}
)
"""The HTML tags Telegram accepts; any other tag makes it refuse the whole message."""

_TAG_START = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)?")
_ENTITY = re.compile(r"&(?:[A-Za-z][A-Za-z0-9]*|#[0-9]+|#[xX][0-9A-Fa-f]+);")


def html_problems(tree: nodes.Template) -> Iterator[str]:
    """What Telegram would refuse in the template's own text (answers are escaped, so they never count).

    Telegram rejects a message with an unknown tag (``<br>``, ``<p>``) or a bare ``<`` or ``&``.
    """
    found: list[str] = []
    for data in tree.find_all(nodes.TemplateData):
        text = data.data
        for start in (index for index, char in enumerate(text) if char == "<"):
            match = _TAG_START.match(text, start)
            name = match.group(2) if match else None
            if name is None:
                found.append("a '<' that starts no tag: write &lt; for the sign itself")
            elif name.lower() not in TELEGRAM_TAGS:
                hint = "; a plain new line does that" if name.lower() in {"br", "p", "div"} else ""
                found.append(
                    f"<{name}> is not a tag Telegram accepts (use b, i, u, s, code, pre, a or blockquote){hint}"
                )
        for start in (index for index, char in enumerate(text) if char == "&"):
            if not _ENTITY.match(text, start):
                found.append("a bare '&': write &amp; for the sign itself")
    yield from dict.fromkeys(found)  # each problem once, in order


def _unknown_name(name: str, what: str, answer_ids: set[str], allowed: set[str], inputs: set[str]) -> str:
    bare = name.removeprefix(f"{SHOWN}.")
    if bare in answer_ids:
        return (
            f"{what} uses '{name}', but that answer cannot exist yet at this point; "
            "only answers from earlier steps can be used"
        )
    choices = ", ".join(sorted(allowed)) or "none yet"
    return f"{what} uses '{name}', which is not an answer or input of this flow; available here: {choices}"
