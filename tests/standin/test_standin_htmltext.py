"""Telegram's HTML parse mode as the stand-in applies it: what is accepted, what is shown, what fails."""

from __future__ import annotations

import html

import pytest
from hypothesis import given
from hypothesis import strategies as st

from standin.htmltext import EntityParseError, parse_html, utf16_len

VALID = [
    # (source, visible text, entities as (type, offset, length))
    ("plain text", "plain text", []),
    ("<b>bold</b> and <i>italic</i>", "bold and italic", [("bold", 0, 4), ("italic", 9, 6)]),
    ("<b>outer <i>inner</i></b>", "outer inner", [("bold", 0, 11), ("italic", 6, 5)]),
    (
        "<strong>s</strong><em>e</em><ins>u</ins><del>d</del>",
        "seud",
        [("bold", 0, 1), ("italic", 1, 1), ("underline", 2, 1), ("strikethrough", 3, 1)],
    ),
    (
        "<u>u</u><s>s</s><strike>k</strike>",
        "usk",
        [("underline", 0, 1), ("strikethrough", 1, 1), ("strikethrough", 2, 1)],
    ),
    ('<span class="tg-spoiler">hidden</span>', "hidden", [("spoiler", 0, 6)]),
    ("<tg-spoiler>hidden</tg-spoiler>", "hidden", [("spoiler", 0, 6)]),
    ('<a href="https://example.org/?a=1&amp;b=2">link</a>', "link", [("text_link", 0, 4)]),
    ("<code>x = 1</code>", "x = 1", [("code", 0, 5)]),
    ("<pre>block</pre>", "block", [("pre", 0, 5)]),
    ('<pre><code class="language-python">print()</code></pre>', "print()", [("pre", 0, 7)]),
    ("<blockquote>quote</blockquote>", "quote", [("blockquote", 0, 5)]),
    ("<blockquote expandable>quote</blockquote>", "quote", [("expandable_blockquote", 0, 5)]),
    ('<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>', "👍", [("custom_emoji", 0, 2)]),
    ("<B>upper-case tags</B>", "upper-case tags", [("bold", 0, 15)]),
    ("&lt;b&gt; is &quot;bold&quot; &amp; more", '<b> is "bold" & more', []),
    ("&#65;&#x42;&#X43; numeric", "ABC numeric", []),
    ("&amp without semicolon", "& without semicolon", []),
    ("1 > 0 needs no escape", "1 > 0 needs no escape", []),
    ("  <b> padded </b>  ", "padded", [("bold", 0, 6)]),
    ("<b></b>empty tags make no entity", "empty tags make no entity", []),
    ("😀 <b>x</b>", "😀 x", [("bold", 3, 1)]),  # offsets count UTF-16 units: 😀 is two
]


@pytest.mark.parametrize(("source", "text", "entities"), VALID)
def test_valid_html_gives_visible_text_and_entities(
    source: str, text: str, entities: list[tuple[str, int, int]]
) -> None:
    parsed = parse_html(source)
    assert parsed.text == text
    assert [(e["type"], e["offset"], e["length"]) for e in parsed.entities] == entities


def test_links_and_code_languages_keep_their_arguments() -> None:
    link = parse_html('<a href="https://example.org/?a=1&amp;b=2">link</a>').entities[0]
    assert link["url"] == "https://example.org/?a=1&b=2"
    pre = parse_html('<pre><code class="language-python">print()</code></pre>').entities[0]
    assert pre["language"] == "python"
    code = parse_html('<code class="language-python">x</code>').entities[0]
    assert code == {"type": "code", "offset": 0, "length": 1}  # a language survives only on pre


INVALID = [
    ("<p>paragraph</p>", 'Unsupported start tag "p" at byte offset 0'),
    ("hi <br/>", 'Unsupported start tag "br/" at byte offset 3'),
    ("<b>never closed", 'Can\'t find end tag corresponding to start tag "b"'),
    ("<b><i>crossed</b></i>", 'Unmatched end tag at byte offset 13, expected "</i>", found "</b>"'),
    ("stray </b>", "Unexpected end tag at byte offset 6"),
    ("a < b", 'Unsupported start tag "" at byte offset 2'),
    ("1<2", "Unclosed start tag at byte offset 1"),
    ("é <x>", 'Unsupported start tag "x" at byte offset 3'),  # byte offsets count UTF-8 bytes
    ("<span>no class</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
    ('<a href="x>unterminated', 'Unclosed start tag "a" at byte offset 0'),
    ("<b>x</b", "Unclosed end tag at byte offset 4"),
    ('<tg-emoji emoji-id="abc">x</tg-emoji>', "Invalid custom emoji identifier specified"),
]


@pytest.mark.parametrize(("source", "message"), INVALID)
def test_invalid_html_is_rejected_with_telegrams_wording(source: str, message: str) -> None:
    with pytest.raises(EntityParseError) as caught:
        parse_html(source)
    assert str(caught.value) == message


@pytest.mark.parametrize("source", ["<b>Tom & Jerry</b>", "AT&T", "&nbsp;", "&#0;", "&#xD800;"])
def test_a_bare_ampersand_is_rejected_unless_lenient(source: str) -> None:
    with pytest.raises(EntityParseError, match=r'Unescaped "&"'):
        parse_html(source)
    assert "&" in parse_html(source, strict_ampersand=False).text


def test_escaped_ampersand_is_accepted() -> None:
    assert parse_html("<b>Tom &amp; Jerry</b>").text == "Tom & Jerry"


@pytest.mark.parametrize(
    ("text", "units"),
    [("", 0), ("abc", 3), ("é", 1), ("😀", 2), ("a😀b", 4), ("日本", 2)],
)
def test_utf16_length(text: str, units: int) -> None:
    assert utf16_len(text) == units


def test_visible_length_excludes_markup() -> None:
    parsed = parse_html("<b>" + "a" * 4096 + "</b>")
    assert parsed.length == 4096
    assert parse_html("&lt;" * 10).length == 10
    assert parse_html("😀" * 3).length == 6


@given(st.text(max_size=200))
def test_escaped_text_always_parses_back_to_itself(text: str) -> None:
    parsed = parse_html(f"<b>{html.escape(text)}</b>")
    assert parsed.text == text.strip()
