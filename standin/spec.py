"""Check Bot API requests and responses against the machine-readable Bot API specification.

The specification file (``api.json`` from PaulSonOfLars/telegram-bot-api-spec) lists every method
with its parameters (``name``, ``types``, ``required``) and return types, and every object type
with its fields, or with ``subtypes`` for a type that is one of several (ChatMember, ...).

Type expressions are the spec's own: ``Integer``, ``Float``, ``String``, ``Boolean``,
``InputFile``, ``Array of X`` (nested as needed), an object type's name, and unions given as
several entries in ``types`` ("Integer or String"). Request parameters may arrive as strings (a
form-encoded or multipart body, where integers, booleans and JSON-serialised objects are text) or
as native JSON values (a JSON body); responses are always native JSON.

Every check returns a list of problems as readable strings; an empty list means it conforms.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from standin.params import FilePart

_INTEGER_TEXT = re.compile(r"-?\d+")
_BOOLEAN_TEXTS = frozenset({"true", "false", "1", "0"})
_PRIMITIVES = frozenset({"Integer", "Float", "String", "Boolean", "InputFile"})
_ARRAY_PREFIX = "Array of "


@dataclass(frozen=True)
class FieldSpec:
    """One parameter of a method or field of a type."""

    name: str
    types: tuple[str, ...]
    required: bool


@dataclass(frozen=True)
class MethodSpec:
    """A Bot API method: its parameters by name and the types it may return."""

    name: str
    fields: Mapping[str, FieldSpec]
    returns: tuple[str, ...]


@dataclass(frozen=True)
class TypeSpec:
    """A Bot API object type: its fields, or the subtypes it is one of."""

    name: str
    fields: Mapping[str, FieldSpec]
    subtypes: tuple[str, ...]


def _fields(raw: Sequence[Mapping[str, Any]]) -> dict[str, FieldSpec]:
    return {
        str(item["name"]): FieldSpec(str(item["name"]), tuple(item["types"]), bool(item.get("required")))
        for item in raw
    }


def _describe(value: Any) -> str:
    if isinstance(value, FilePart):
        return f"an uploaded file {value.filename!r}"
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class SpecChecker:
    """Validates requests and responses against one version of the Bot API specification."""

    def __init__(self, methods: Mapping[str, MethodSpec], types: Mapping[str, TypeSpec], version: str = "") -> None:
        self.methods = dict(methods)
        self.types = dict(types)
        self.version = version
        self._by_lower = {name.lower(): spec for name, spec in self.methods.items()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SpecChecker:
        """Build a checker from the parsed specification document."""
        methods = {
            name: MethodSpec(name, _fields(raw.get("fields", [])), tuple(raw.get("returns", [])))
            for name, raw in data["methods"].items()
        }
        types = {
            name: TypeSpec(name, _fields(raw.get("fields", [])), tuple(raw.get("subtypes", [])))
            for name, raw in data["types"].items()
        }
        return cls(methods, types, str(data.get("version", "")))

    @classmethod
    def from_file(cls, path: str | Path) -> SpecChecker:
        """Build a checker from an ``api.json`` file."""
        return cls.from_json(json.loads(Path(path).read_text(encoding="utf-8")))

    def method(self, name: str) -> MethodSpec | None:
        """The method's specification (names match case-insensitively, as Telegram's do)."""
        return self._by_lower.get(name.lower())

    # -- requests ----------------------------------------------------------------------------

    def check_request(self, method: str, params: Mapping[str, Any]) -> list[str]:
        """Problems with calling ``method`` with ``params``: unknown method or parameter, missing
        required parameter, or a value of the wrong type."""
        spec = self.method(method)
        if spec is None:
            return [f"unknown method {method!r}"]
        attached = {value.removeprefix("attach://") for value in params.values() if _is_attach(value)}
        problems: list[str] = []
        for name, value in params.items():
            field = spec.fields.get(name)
            if field is None:
                if name not in attached:
                    problems.append(f"{spec.name}: unknown parameter {name!r}")
                continue
            problems.extend(self.check_value(field.types, value, f"{spec.name}: parameter {name!r}", text=True))
        for field in spec.fields.values():
            if field.required and field.name not in params:
                problems.append(f"{spec.name}: missing required parameter {field.name!r}")
        return problems

    # -- responses ---------------------------------------------------------------------------

    def check_response(self, method: str, result: Any) -> list[str]:
        """Problems with ``result`` as the ``result`` of a successful ``method`` call: unknown or
        missing fields and wrong types, checked recursively through nested objects."""
        spec = self.method(method)
        if spec is None:
            return [f"unknown method {method!r}"]
        if not spec.returns:
            return [f"{spec.name}: the specification gives no return type"]
        return self.check_value(spec.returns, result, f"{spec.name} result", text=False)

    # -- values ------------------------------------------------------------------------------

    def check_value(self, types: Sequence[str], value: Any, path: str, *, text: bool) -> list[str]:
        """Problems with ``value`` as one of ``types``. With ``text``, a string stands for a number,
        a boolean or a JSON-serialised object as a form-encoded request carries it."""
        best: list[str] | None = None
        for type_name in types:
            problems = self._check_one(type_name, value, path, text=text)
            if not problems:
                return []
            if best is None or len(problems) < len(best):
                best = problems
        if all(_is_simple(name) for name in types) or best is None:
            return [f"{path}: expected {' or '.join(types)}, got {_describe(value)}"]
        return best

    def _check_one(self, type_name: str, value: Any, path: str, *, text: bool) -> list[str]:
        if type_name.startswith(_ARRAY_PREFIX):
            return self._check_array(type_name.removeprefix(_ARRAY_PREFIX), value, path, text=text)
        if type_name in _PRIMITIVES:
            return [] if _primitive_ok(type_name, value, text=text) else [f"{path}: expected {type_name}"]
        spec = self.types.get(type_name)
        if spec is None:
            return [f"{path}: the specification has no type {type_name!r}"]
        if text and isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                return [f"{path}: expected a JSON-serialised {type_name}, got {_describe(value)}"]
        if spec.subtypes:
            return self.check_value(spec.subtypes, value, path, text=False)
        return self._check_object(spec, value, path)

    def _check_array(self, item_type: str, value: Any, path: str, *, text: bool) -> list[str]:
        if text and isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                return [f"{path}: expected a JSON-serialised Array of {item_type}, got {_describe(value)}"]
        if not isinstance(value, list):
            return [f"{path}: expected Array of {item_type}, got {_describe(value)}"]
        problems: list[str] = []
        for index, item in enumerate(value):
            problems.extend(self.check_value((item_type,), item, f"{path}[{index}]", text=False))
        return problems

    def _check_object(self, spec: TypeSpec, value: Any, path: str) -> list[str]:
        if not isinstance(value, dict):
            return [f"{path}: expected {spec.name} object, got {_describe(value)}"]
        problems: list[str] = []
        for name, item in value.items():
            field = spec.fields.get(name)
            if field is None:
                problems.append(f"{path}: unknown field {name!r} for {spec.name}")
            else:
                problems.extend(self.check_value(field.types, item, f"{path}.{name}", text=False))
        for field in spec.fields.values():
            if field.required and field.name not in value:
                problems.append(f"{path}: missing required field {field.name!r} of {spec.name}")
        return problems


def _is_attach(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("attach://")


def _is_simple(type_name: str) -> bool:
    return type_name in _PRIMITIVES


def _primitive_ok(type_name: str, value: Any, *, text: bool) -> bool:
    """Whether ``value`` is a valid ``type_name`` (Integer, Float, String, Boolean, InputFile)."""
    if type_name == "InputFile":
        return isinstance(value, FilePart) or _is_attach(value)
    if isinstance(value, FilePart):
        return False
    if text and isinstance(value, str):
        stripped = value.strip()
        if type_name == "Integer":
            return bool(_INTEGER_TEXT.fullmatch(stripped))
        if type_name == "Float":
            try:
                float(stripped)
            except ValueError:
                return False
            return True
        if type_name == "Boolean":
            return stripped.lower() in _BOOLEAN_TEXTS
        return type_name == "String"
    if type_name == "Integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if type_name == "Float":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if type_name == "Boolean":
        return isinstance(value, bool)
    return isinstance(value, str)
