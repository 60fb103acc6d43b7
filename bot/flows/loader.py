"""Read flow files from disk and turn every problem into a ``file:line: flow.step: message`` error."""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable
from pathlib import Path as FsPath
from typing import Annotated, Any, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from bot.flows.checks import check_flow
from bot.flows.contract import check_checkin_file
from bot.flows.errors import FlowError, FlowLoadError
from bot.flows.model import STEP_KINDS, Branch, Flow, Meaning, Offer, Option, TextStep
from bot.flows.yaml_source import Path, YamlDocument, YamlSyntaxError, load_yaml

RESERVED_COMMANDS = frozenset(
    {
        "start",
        "help",
        "cancel",
        "back",
        "skip",
        "lessons",
        "quit",
        "sos",
        "export",
        "forget",
        "checkin",
        "settings",
        "resume",
    }
)


def display_path(path: FsPath) -> str:
    """A path as a person would type it: relative to the working directory when it is inside it."""
    try:
        return os.path.relpath(path) if not os.path.relpath(path).startswith("..") else str(path)
    except ValueError:
        return str(path)


def flow_files(path: FsPath) -> list[FsPath]:
    """The flow files at ``path``: the file itself, or every ``*.yaml``/``*.yml`` directly in the folder."""
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix in {".yaml", ".yml"} and p.is_file())
    return [path]


def load_flows(path: FsPath) -> dict[str, Flow]:
    """Load and check every flow at ``path`` (a folder or one file), keyed by flow id.

    Raises FlowLoadError holding every problem in every file, each naming ``file:line``.
    """
    files = flow_files(path)
    if not files:
        raise FlowLoadError([FlowError(display_path(path), 1, "-", None, "no flow files (*.yaml) found here")])
    flows: list[tuple[Flow, str, YamlDocument]] = []
    errors: list[FlowError] = []
    for file in files:
        flow, document, problems = load_flow_file(file)
        errors.extend(problems)
        if flow is not None and document is not None:
            flows.append((flow, display_path(file), document))
    errors.extend(_check_across(flows))
    if errors:
        raise FlowLoadError(errors)
    return {flow.id: flow for flow, _, _ in flows}


def load_flow_file(file: FsPath) -> tuple[Flow | None, YamlDocument | None, list[FlowError]]:
    """Load one flow file; returns the flow (None when broken), its document and every problem found."""
    shown = display_path(file)
    fallback_id = file.stem
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return (
            None,
            None,
            [FlowError(shown, 1, fallback_id, None, "the file is not UTF-8 text; save it as UTF-8")],
        )
    except OSError as problem:
        return (
            None,
            None,
            [FlowError(shown, 1, fallback_id, None, f"cannot read the file: {problem.strerror}")],
        )
    try:
        document = load_yaml(text)
    except YamlSyntaxError as problem:
        message = f"this is not valid YAML: {problem.problem}; check indentation, colons and quotes"
        return None, None, [FlowError(shown, problem.line, fallback_id, None, message)]
    data = document.value
    if not isinstance(data, dict):
        message = "a flow file must be a mapping with id, version, title, description, steps and finish"
        return None, document, [FlowError(shown, 1, fallback_id, None, message)]
    flow_id = data.get("id") if isinstance(data.get("id"), str) else fallback_id
    try:
        flow = Flow.model_validate(data)
    except ValidationError as invalid:
        problems = [from_pydantic(detail, document, shown, str(flow_id)) for detail in invalid.errors()]
        return None, document, _unique(problems)
    problems = check_flow(flow, shown, document.line_of) + check_checkin_file(flow, shown, file.stem, document)
    return flow, document, problems


def _check_across(flows: Iterable[tuple[Flow, str, YamlDocument]]) -> list[FlowError]:
    errors: list[FlowError] = []
    ids: dict[str, str] = {}
    commands: dict[str, str] = {}
    for flow, file, document in flows:
        if flow.id in ids:
            errors.append(
                FlowError(
                    file,
                    document.line_of(("id",)),
                    flow.id,
                    None,
                    f"the flow id is already used in {ids[flow.id]}",
                )
            )
        ids.setdefault(flow.id, file)
        if flow.command is None:
            continue
        line = document.line_of(("command",))
        if flow.command in RESERVED_COMMANDS:
            errors.append(
                FlowError(
                    file,
                    line,
                    flow.id,
                    None,
                    f"/{flow.command} is one of the bot's own commands; pick another",
                )
            )
        elif flow.command in commands:
            errors.append(
                FlowError(
                    file,
                    line,
                    flow.id,
                    None,
                    f"/{flow.command} already starts the flow in {commands[flow.command]}",
                )
            )
        commands.setdefault(flow.command, file)
    return errors


def _unique(errors: list[FlowError]) -> list[FlowError]:
    return sorted(set(errors))


def from_pydantic(
    detail: ErrorDetails, document: YamlDocument, file: str, flow_id: str, root: type[BaseModel] = Flow
) -> FlowError:
    """Turn one pydantic error into a FlowError at the line of the offending YAML key."""
    path, model = _yaml_path(detail["loc"], document.value, root)
    step_id = _step_id(path, document.value)
    where = (
        ".".join(str(part) for part in path[2:] if not isinstance(part, int))
        if step_id
        else ".".join(str(part) for part in path if not isinstance(part, int))
    )
    message = _explain(detail, where, model)
    return FlowError(file, document.line_of(path), flow_id, step_id, message)


def _yaml_path(loc: tuple[int | str, ...], data: Any, root: type[BaseModel]) -> tuple[Path, type[BaseModel] | None]:
    """Drop the parts of pydantic's error location that are not in the YAML (union tags and the like)."""
    path: list[str | int] = []
    current = data
    model: type[BaseModel] | None = root
    for part in loc:
        if isinstance(current, dict) and isinstance(part, str) and part in current:
            model = _child_model(model, part, current)
            path.append(part)
            current = current[part]
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            path.append(part)
            current = current[part]
            model = _item_model(model, path, current)
        elif isinstance(current, dict) and isinstance(part, str) and part not in STEP_KINDS:
            path.append(part)  # a missing or unknown key: point at its parent's line
            break
    return tuple(path), model


def _child_model(model: type[BaseModel] | None, key: str, parent: dict[str, Any]) -> type[BaseModel] | None:
    if model is Flow and key == "meaning":
        return Meaning
    if model is TextStep and key == "offer":
        return Offer
    field = model.model_fields.get(key) if model is not None else None
    return (_model_inside(field.annotation) if field is not None else None) or model


def _model_inside(annotation: Any) -> type[BaseModel] | None:
    """The one model a field holds, directly or in a list, a mapping or an optional (``dict[str, list[M]]``):
    the keys its values may have. None when it holds no model, or several."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) is Annotated:
        return _model_inside(get_args(annotation)[0])
    found = {model for model in map(_model_inside, get_args(annotation)) if model is not None}
    return found.pop() if len(found) == 1 else None


def _item_model(model: type[BaseModel] | None, path: list[str | int], item: Any) -> type[BaseModel] | None:
    if len(path) == 2 and path[0] == "steps":
        kind = item.get("kind") if isinstance(item, dict) else None
        return STEP_KINDS.get(kind) if isinstance(kind, str) else None
    if path[-2:-1] == ["options"]:
        return Option
    if path[-2:-1] == ["next"]:
        return Branch
    return model


def _step_id(path: Path, data: Any) -> str | None:
    if len(path) >= 2 and path[0] == "steps" and isinstance(path[1], int):
        step = data["steps"][path[1]]
        if isinstance(step, dict) and isinstance(step.get("id"), str):
            return str(step["id"])
        return f"steps[{path[1] + 1}]"
    return None


def _allowed_keys(model: type[BaseModel] | None) -> str:
    if model is None:
        return ""
    names = [field.alias or name for name, field in model.model_fields.items()]
    return "; allowed here: " + ", ".join(names)


def _did_you_mean(key: str, model: type[BaseModel] | None) -> str:
    if model is None:
        return ""
    names = [field.alias or name for name, field in model.model_fields.items()]
    close = difflib.get_close_matches(key, names, n=1, cutoff=0.75)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _expected(context: dict[str, Any]) -> str:
    """The allowed values of a literal, as pydantic lists them (``'today', 'tomorrow' or 'weekend'``), plainly."""
    return str(context.get("expected", "")).replace("'", "").replace(" or ", ", ")


def _explain(detail: ErrorDetails, where: str, model: type[BaseModel] | None) -> str:
    kind = detail["type"]
    got = detail.get("input")
    field = where.rsplit(".", 1)[-1] if where else "this"
    context = detail.get("ctx") or {}
    if kind == "extra_forbidden":
        return f"unknown key '{field}'{_did_you_mean(field, model)}{_allowed_keys(model)}"
    if kind == "missing":
        return f"'{field}' is missing; add it"
    if kind in {"union_tag_not_found", "model_attributes_type"} and where == "":
        return "each step needs a 'kind': text, choice, scale, day or message"
    if kind == "union_tag_not_found":
        return "this step needs a 'kind': text, choice, scale, day or message"
    if kind == "union_tag_invalid":
        return f"kind '{context.get('tag')}' is not known; use text, choice, scale, day or message"
    if kind in {"bool_type", "bool_parsing"}:
        return f"'{field}' must be true or false (got {got!r}); write true or false, not yes/no"
    if kind == "literal_error":
        return f"'{field}' cannot be {got!r}; use one of: {_expected(context)}"
    if kind in {"int_type", "int_parsing", "int_from_float"}:
        return f"'{field}' must be a whole number (got {got!r})"
    if kind == "string_type":
        hint = "; put it in quotes" if isinstance(got, (int, float, bool)) else ""
        return f"'{field}' must be text (got {got!r}){hint}"
    if kind == "string_pattern_mismatch":
        return f"'{field}' must be lowercase letters, digits and _ and start with a letter (got {got!r})"
    if kind == "string_too_short":
        return f"'{field}' must not be empty"
    if kind == "string_too_long":
        return f"'{field}' is too long: at most {context.get('max_length')} characters"
    if kind in {"too_short", "too_long"}:
        return f"'{field}' {detail['msg'].lower().replace('list should', 'should')}"
    if kind in {"greater_than_equal", "less_than_equal"}:
        return f"'{field}' {detail['msg'].lower().replace('input should', 'should')}"
    if kind in {"list_type"}:
        return f"'{field}' must be a list (lines starting with '- ')"
    if kind in {"model_type", "model_attributes_type", "dict_type"}:
        return f"'{field}' must be a mapping of keys and values"
    if kind == "value_error":
        return str(context.get("error", detail["msg"]))
    return f"'{field}': {detail['msg']}"
