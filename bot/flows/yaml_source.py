"""Safe YAML loading that remembers the line of every value.

PyYAML's YAML 1.1 rules turn ``9:30`` into 570, ``no`` into False and ``2024-01-02`` into a date. Flow
files are written by people, so this loader only recognises ``true``/``false``, ``null``/``~``, plain
decimal integers and floats; everything else stays a string, exactly as written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

Path = tuple[str | int, ...]


class _StrictTypesLoader(yaml.SafeLoader):
    """A SafeLoader with YAML 1.2-like scalar rules and no sexagesimal, yes/no or timestamp magic."""

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        """Refuse aliases (``*name``) before they are resolved.

        An alias repeats a value written elsewhere: a few nested ones expand to millions of values, and
        one inside its own anchor never ends. Flows don't need them.
        """
        if self.check_event(yaml.AliasEvent):
            event: yaml.Event = self.peek_event()  # type: ignore[no-untyped-call]
            line = event.start_mark.line + 1 if event.start_mark is not None else 1
            raise YamlSyntaxError(line, "anchors and aliases (& and *) are not supported")
        return super().compose_node(parent, index)


_StrictTypesLoader.yaml_implicit_resolvers = {}
_StrictTypesLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_StrictTypesLoader.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
)
_StrictTypesLoader.add_implicit_resolver("tag:yaml.org,2002:int", re.compile(r"^[-+]?[0-9]+$"), list("-+0123456789"))
_StrictTypesLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$"),
    list("-+0123456789."),
)


def _decimal_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    # PyYAML reads a leading 0 as octal (010 is 8, and 09 crashes); people mean decimal.
    return int(str(loader.construct_scalar(node)), 10)


_StrictTypesLoader.add_constructor("tag:yaml.org,2002:int", _decimal_int)


@dataclass
class YamlDocument:
    """A loaded YAML document: its plain Python value and the 1-based line of each path inside it."""

    value: Any
    lines: dict[Path, int] = field(default_factory=dict)
    key_lines: dict[Path, int] = field(default_factory=dict)
    wrapped: set[Path] = field(default_factory=set)
    """Quoted or plain text that goes on over several lines, which YAML joins with spaces (a block, ``|``,
    keeps its line breaks)."""

    def line_of(self, path: Path) -> int:
        """The line of the value at ``path``, or of its nearest ancestor that has one (1 at worst)."""
        probe = tuple(path)
        while probe:
            if probe in self.key_lines:
                return self.key_lines[probe]
            if probe in self.lines:
                return self.lines[probe]
            probe = probe[:-1]
        return self.lines.get((), 1)


class YamlSyntaxError(Exception):
    """The text is not valid YAML; ``line`` is 1-based and ``problem`` says what is wrong."""

    def __init__(self, line: int, problem: str) -> None:
        super().__init__(f"line {line}: {problem}")
        self.line = line
        self.problem = problem


def load_yaml(text: str) -> YamlDocument:
    """Parse ``text`` safely into plain dicts, lists and scalars, with the line of every node.

    Raises YamlSyntaxError for invalid YAML, duplicate keys, anchors/aliases or non-string keys.
    """
    try:
        node = yaml.compose(text, Loader=_StrictTypesLoader)
    except RecursionError:
        raise YamlSyntaxError(1, "the text is nested too deeply") from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else 1
        last_line = max(1, len(text.splitlines()))
        if line > last_line and error.context_mark is not None:
            # "Unexpected end of stream" points past the last line; where the unclosed thing began helps more.
            line = error.context_mark.line + 1
        line = min(line, last_line)
        problem = error.problem or str(error)
        if error.context:
            problem = f"{problem} ({error.context})"
        raise YamlSyntaxError(line, problem) from None
    except yaml.YAMLError as error:
        raise YamlSyntaxError(1, str(error)) from None
    document = YamlDocument(value=None)
    if node is None:
        return document
    constructor = _StrictTypesLoader("")
    try:
        document.value = _build(node, (), document, constructor)
    except RecursionError:
        raise YamlSyntaxError(1, "the text is nested too deeply") from None
    return document


def _build(node: yaml.Node, path: Path, doc: YamlDocument, constructor: yaml.SafeLoader) -> Any:
    doc.lines[path] = node.start_mark.line + 1
    if node.tag not in _ALLOWED_TAGS:
        raise YamlSyntaxError(node.start_mark.line + 1, f"tags such as {node.tag!r} are not supported")
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise YamlSyntaxError(key_node.start_mark.line + 1, "a key must be a plain word")
            key = key_node.value
            if key == "<<":
                raise YamlSyntaxError(key_node.start_mark.line + 1, "merge keys ('<<') are not supported")
            if key in result:
                raise YamlSyntaxError(key_node.start_mark.line + 1, f"the key '{key}' appears twice in the same block")
            doc.key_lines[(*path, key)] = key_node.start_mark.line + 1
            result[key] = _build(value_node, (*path, key), doc, constructor)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*path, index), doc, constructor) for index, item in enumerate(node.value)]
    assert isinstance(node, yaml.ScalarNode)
    if node.style in ('"', "'", None) and node.end_mark.line > node.start_mark.line:
        doc.wrapped.add(path)
    try:
        return constructor.construct_object(node, deep=True)
    except (ValueError, KeyError, yaml.YAMLError):
        # Only an explicit tag (such as !!int abc) can get here: the implicit rules above never misfire.
        raise YamlSyntaxError(
            node.start_mark.line + 1, f"{node.value!r} cannot be read as {node.tag.rsplit(':', 1)[-1]}"
        ) from None


_ALLOWED_TAGS = {
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
}
