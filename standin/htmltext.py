"""Telegram's HTML parse mode: validate markup, compute the visible text and its entities.

Telegram accepts a small tag set (b, strong, i, em, u, ins, s, strike, del, span class="tg-spoiler",
tg-spoiler, a href, code, pre, blockquote [expandable], tg-emoji, tg-time) and the entities &lt; &gt;
&amp; &quot; plus numeric ones. Anything else is an error whose wording follows Telegram's
(``Unsupported start tag "x" at byte offset N`` and so on; offsets are UTF-8 byte offsets into
the text that was sent).

One deliberate difference: Telegram shows a stray ``&`` that starts no entity as it is, but this
parser rejects it by default (``strict_ampersand=True``), because in a bot that escapes every
user-supplied value a bare ``&`` means a value went out unescaped.

Lengths that Telegram limits (4096 for a message, 1024 for a caption) are counted in UTF-16 code
units of the visible text, after surrounding whitespace is trimmed as Telegram trims it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

JsonDict = dict[str, Any]

ALLOWED_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "code",
        "pre",
        "blockquote",
        "tg-emoji",
        "tg-time",
    }
)

_SIMPLE_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_MARKUP_START = re.compile(r"[&<]")
_UNQUOTED_VALUE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-")
_MAX_CODE_POINT = 0x10FFFF


class EntityParseError(ValueError):
    """The text is not valid Telegram HTML; ``str(error)`` is Telegram's wording of why."""


@dataclass(frozen=True)
class ParsedText:
    """The text a chat shows and the formatting entities Telegram would attach to it."""

    text: str
    entities: tuple[JsonDict, ...] = ()

    @property
    def length(self) -> int:
        """Length in UTF-16 code units, the unit of Telegram's limits and entity offsets."""
        return utf16_len(self.text)


def utf16_len(text: str) -> int:
    """Return how many UTF-16 code units ``text`` takes (characters beyond the BMP count twice)."""
    return len(text.encode("utf-16-le")) // 2


def parse_html(source: str, *, strict_ampersand: bool = True) -> ParsedText:
    """Parse ``source`` as Telegram HTML and return the trimmed visible text with its entities.

    Raises :class:`EntityParseError` with Telegram's wording for markup Telegram rejects, and (with
    ``strict_ampersand``) for a bare ``&`` that starts no entity.
    """
    return trim(_HtmlScanner(source, strict_ampersand).run())


def plain_text(source: str, entities: tuple[JsonDict, ...] = ()) -> ParsedText:
    """Return text sent without a parse mode as the chat shows it: trimmed, entities kept."""
    return trim(ParsedText(source, entities))


def trim(parsed: ParsedText) -> ParsedText:
    """Drop leading and trailing whitespace as Telegram does, shifting and clipping entities."""
    text = parsed.text
    stripped_left = text.lstrip()
    shift = utf16_len(text) - utf16_len(stripped_left)
    result = stripped_left.rstrip()
    end = utf16_len(result)
    entities: list[JsonDict] = []
    for entity in parsed.entities:
        start = max(0, int(entity["offset"]) - shift)
        stop = min(end, int(entity["offset"]) + int(entity["length"]) - shift)
        if stop > start:
            entities.append({**entity, "offset": start, "length": stop - start})
    return ParsedText(result, tuple(entities))


@dataclass
class _OpenTag:
    name: str
    attributes: dict[str, str]
    start: int  # UTF-16 offset of the first visible character inside the tag
    source_pos: int  # index of "<" in the source


@dataclass
class _HtmlScanner:
    source: str
    strict_ampersand: bool
    pos: int = 0
    out: list[str] = field(default_factory=list)
    out_len: int = 0
    open_tags: list[_OpenTag] = field(default_factory=list)
    entities: list[JsonDict] = field(default_factory=list)

    def run(self) -> ParsedText:
        source = self.source
        while self.pos < len(source):
            found = _MARKUP_START.search(source, self.pos)
            if found is None:
                self._emit(source[self.pos :])
                break
            self._emit(source[self.pos : found.start()])
            self.pos = found.start()
            if source[self.pos] == "&":
                self._ampersand()
            elif source.startswith("</", self.pos):
                self._end_tag()
            else:
                self._start_tag()
        if self.open_tags:
            name = self.open_tags[-1].name
            raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{name}"')
        for entity in self.entities:
            if entity["type"] == "code":
                # A language survives only on a pre block; a bare <code class="language-x"> drops it.
                entity.pop("language", None)
        ordered = sorted(self.entities, key=lambda e: (e["offset"], -e["length"]))
        return ParsedText("".join(self.out), tuple(ordered))

    # -- text -------------------------------------------------------------------------------

    def _emit(self, chunk: str) -> None:
        if chunk:
            self.out.append(chunk)
            self.out_len += utf16_len(chunk)

    def _byte_offset(self, index: int) -> int:
        return len(self.source[:index].encode("utf-8"))

    def _ampersand(self) -> None:
        decoded = decode_entity(self.source, self.pos)
        if decoded is not None:
            char, self.pos = decoded
            self._emit(char)
            return
        if self.strict_ampersand:
            raise EntityParseError(
                f'Unescaped "&" at byte offset {self._byte_offset(self.pos)}: write it as &amp; '
                "(the stand-in is stricter than Telegram, which would show it as it is)"
            )
        self._emit("&")
        self.pos += 1

    # -- tags -------------------------------------------------------------------------------

    def _start_tag(self) -> None:
        source, begin = self.source, self.pos
        end = begin + 1
        while end < len(source) and not source[end].isspace() and source[end] != ">":
            end += 1
        if end >= len(source):
            raise EntityParseError(f"Unclosed start tag at byte offset {self._byte_offset(begin)}")
        name = source[begin + 1 : end].lower()
        if name not in ALLOWED_TAGS:
            raise EntityParseError(f'Unsupported start tag "{name}" at byte offset {self._byte_offset(begin)}')
        attributes, self.pos = self._attributes(name, begin, end)
        if name == "span" and attributes.get("class") != "tg-spoiler":
            raise EntityParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {self._byte_offset(begin)}')
        if name == "tg-emoji" and not attributes.get("emoji-id", "").isdigit():
            raise EntityParseError("Invalid custom emoji identifier specified")
        if name == "tg-time" and not attributes.get("unix", "").lstrip("-").isdigit():
            raise EntityParseError("Invalid Unix time specified")
        self.open_tags.append(_OpenTag(name, attributes, self.out_len, begin))

    def _attributes(self, tag: str, begin: int, pos: int) -> tuple[dict[str, str], int]:
        """Read attributes from ``pos`` up to the closing ``>``; return them and the index after it."""
        source = self.source
        attributes: dict[str, str] = {}

        def unclosed() -> EntityParseError:
            return EntityParseError(f'Unclosed start tag "{tag}" at byte offset {self._byte_offset(begin)}')

        while True:
            while pos < len(source) and source[pos].isspace():
                pos += 1
            if pos >= len(source):
                raise unclosed()
            if source[pos] == ">":
                return attributes, pos + 1
            name_start = pos
            while pos < len(source) and not source[pos].isspace() and source[pos] not in "=>/\"'":
                pos += 1
            attr_name = source[name_start:pos].lower()
            if not attr_name:
                raise EntityParseError(
                    f'Empty attribute name in the tag "{tag}" at byte offset {self._byte_offset(begin)}'
                )
            while pos < len(source) and source[pos].isspace():
                pos += 1
            if pos >= len(source):
                raise unclosed()
            if source[pos] != "=":
                attributes[attr_name] = ""
                continue
            pos += 1
            while pos < len(source) and source[pos].isspace():
                pos += 1
            if pos >= len(source):
                raise unclosed()
            value, pos = self._attribute_value(pos, unclosed)
            attributes[attr_name] = value

    def _attribute_value(self, pos: int, unclosed: Callable[[], EntityParseError]) -> tuple[str, int]:
        source = self.source
        quote = source[pos]
        if quote in "\"'":
            pos += 1
            chars: list[str] = []
            while pos < len(source) and source[pos] != quote:
                decoded = decode_entity(source, pos) if source[pos] == "&" else None
                if decoded is not None:
                    chars.append(decoded[0])
                    pos = decoded[1]
                else:
                    chars.append(source[pos])
                    pos += 1
            if pos >= len(source):
                raise unclosed()
            return "".join(chars), pos + 1
        value_start = pos
        while pos < len(source) and source[pos] in _UNQUOTED_VALUE_CHARS:
            pos += 1
        if pos >= len(source):
            raise unclosed()
        if not source[pos].isspace() and source[pos] != ">":
            raise EntityParseError(f"Unexpected end of name token at byte offset {self._byte_offset(pos)}")
        return source[value_start:pos].lower(), pos

    def _end_tag(self) -> None:
        source, begin = self.source, self.pos
        if not self.open_tags:
            raise EntityParseError(f"Unexpected end tag at byte offset {self._byte_offset(begin)}")
        pos = begin + 2
        while pos < len(source) and not source[pos].isspace() and source[pos] != ">":
            pos += 1
        name = source[begin + 2 : pos].lower()
        while pos < len(source) and source[pos].isspace():
            pos += 1
        if pos >= len(source) or source[pos] != ">":
            raise EntityParseError(f"Unclosed end tag at byte offset {self._byte_offset(begin)}")
        top = self.open_tags[-1]
        if name and name != top.name:
            raise EntityParseError(
                f"Unmatched end tag at byte offset {self._byte_offset(begin)}, "
                f'expected "</{top.name}>", found "</{name}>"'
            )
        self.open_tags.pop()
        self.pos = pos + 1
        if self.out_len > top.start:
            self._add_entity(top, top.start, self.out_len - top.start)

    def _add_entity(self, tag: _OpenTag, offset: int, length: int) -> None:
        span = {"offset": offset, "length": length}
        previous = self.entities[-1] if self.entities else None
        same_span = previous is not None and (previous["offset"], previous["length"]) == (offset, length)
        if tag.name in _SIMPLE_ENTITY_TYPES:
            self.entities.append({"type": _SIMPLE_ENTITY_TYPES[tag.name], **span})
        elif tag.name == "a":
            href = tag.attributes.get("href", "")
            if href:
                self.entities.append({"type": "text_link", **span, "url": href})
        elif tag.name == "code":
            css_class = tag.attributes.get("class", "")
            entity: JsonDict = {"type": "code", **span}
            if css_class.startswith("language-") and len(css_class) > len("language-"):
                entity["language"] = css_class.removeprefix("language-")
            self.entities.append(entity)
        elif tag.name == "pre":
            if previous is not None and same_span and previous["type"] == "code":
                # <pre><code class="language-x">…</code></pre> is one pre block with a language.
                previous["type"] = "pre"
            else:
                self.entities.append({"type": "pre", **span})
        elif tag.name == "blockquote":
            kind = "expandable_blockquote" if "expandable" in tag.attributes else "blockquote"
            self.entities.append({"type": kind, **span})
        elif tag.name == "tg-emoji":
            self.entities.append({"type": "custom_emoji", **span, "custom_emoji_id": tag.attributes["emoji-id"]})
        elif tag.name == "tg-time":
            entity = {"type": "date_time", **span, "unix_time": int(tag.attributes["unix"])}
            if tag.attributes.get("format"):
                entity["date_time_format"] = tag.attributes["format"]
            self.entities.append(entity)


def decode_entity(source: str, pos: int) -> tuple[str, int] | None:
    """Decode the HTML entity starting at ``source[pos] == "&"`` the way Telegram does.

    Telegram knows &lt; &gt; &amp; &quot; and numeric references (&#NN; &#xHH;); the closing ``;``
    is optional. Returns the character and the index after the entity, or None if there is none.
    """
    end = pos + 1
    if source.startswith("#", end):
        end += 1
        hexadecimal = source.startswith(("x", "X"), end)
        if hexadecimal:
            end += 1
        digits_start = end
        allowed = "0123456789abcdefABCDEF" if hexadecimal else "0123456789"
        while end < len(source) and source[end] in allowed:
            end += 1
        digits = source[digits_start:end]
        if not digits:
            return None
        code_point = int(digits, 16 if hexadecimal else 10)
        if code_point == 0 or code_point > _MAX_CODE_POINT or 0xD800 <= code_point <= 0xDFFF:
            return None
        char = chr(code_point)
    else:
        while end < len(source) and source[end].isascii() and source[end].isalpha():
            end += 1
        named = _NAMED_ENTITIES.get(source[pos + 1 : end])
        if named is None:
            return None
        char = named
    if source.startswith(";", end):
        end += 1
    return char, end
