"""Letters dressed up as other letters, read as the letters they look like.

Someone who wants a message past a filter, or a phone keyboard that switched layout in the middle of a word,
writes letters that look like the ones meant but are other characters: Cyrillic ``а`` and ``і`` inside an
English word (``і wаnt tо dіе``), a Latin ``e`` inside a Russian one (``умерeть``), letters from a styled
alphabet (``𝐝𝐢𝐞``, ``ⓓⓘⓔ``, ``🅳🅸🅴``, ``ᴅɪᴇ``, regional-indicator letters ``🇩🇮🇪``). To a person they read
as plain words; to a pattern or a word-piece tokenizer they are strangers. :func:`plain_letters` gives them
back the letters they look like, and leaves real Russian, Greek or any other script alone: a word is only
changed when it mixes scripts, or when every letter of it could be either and the rest of the message is
plainly in the other script. Pure: no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache

# Cyrillic and Greek letters that look like a Latin one, upper and lower case as each looks.
_TO_LATIN = {
    **dict(zip("АВЕЅІЈКМНОРСТХУҮ", "ABESIJKMHOPCTXYY", strict=True)),
    **dict(zip("авеѕіјкмнопрстхуүԁһԛԝӏь", "abesijkmhonpctxyydhqwlb", strict=True)),
    **dict(zip("ΑΒΕΖΗΙΚΜΝΟΡΤΥΧ", "ABEZHIKMNOPTYX", strict=True)),
    **dict(zip("αβγεηικνορτυχωϲϳ", "abyenikvoptuxwcj", strict=True)),
}
# Latin letters that look like a Cyrillic one, for a Russian word typed with a few Latin letters in it.
_TO_CYRILLIC = {
    **dict(zip("ABCEHKMOPTXY", "АВСЕНКМОРТХУ", strict=True)),
    **dict(zip("acekmopxy", "асекморху", strict=True)),
}
# Letters from the Latin block's phonetic corners that styled-text generators use as small capitals, and
# letters with a stroke used to mask a word ("dıe", "kıłł"): neither has a compatibility mapping.
_STYLED = {
    **dict(zip("ᴀʙᴄᴅᴇꜰɢʜɪᴊᴋʟᴍɴᴏᴘʀꜱᴛᴜᴠᴡʏᴢ", "abcdefghijklmnoprstuvwyz", strict=True)),
    **dict(zip("ıłøđħŧ", "ilodht", strict=True)),
}
# Invisible characters that split a word for a tokenizer and for nobody else (the zero-width joiner stays: it
# holds emoji sequences such as 👩‍👧 together).
_INVISIBLE = frozenset("\u200b\u200c\u2060\u00ad\ufeff")
_REGIONAL_A = 0x1F1E6  # REGIONAL INDICATOR SYMBOL LETTER A; two of them side by side make a flag
_NEGATIVE_CIRCLED_A = 0x1F150
_NEGATIVE_SQUARED_A = 0x1F170
_REGIONAL_RUN = re.compile("[\U0001f1e6-\U0001f1ff]+")
# A word, with an apostrophe inside it kept ("i'm" is one English word, not "i" and a lone "m").
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
_SUSPECT = re.compile("[^\x00-\x7f]")
_TWIN_SCRIPTS = re.compile("[\u0370-\u03ff\u0400-\u052f\u1f00-\u1fff]")

LATIN, CYRILLIC, GREEK = "latin", "cyrillic", "greek"


def plain_letters(text: str) -> str:
    """``text`` with every letter that is dressed up as another read as that other letter, and no invisible
    character splitting a word; anything else, case and punctuation included, unchanged. ASCII text comes
    back as it is."""
    if not _SUSPECT.search(text):
        return text
    # Regional indicators first: the invisible characters that keep them from pairing up into flags go next.
    text = _REGIONAL_RUN.sub(_regional_letters, text)
    text = _SUSPECT.sub(_styled_match, text)
    if not _TWIN_SCRIPTS.search(text):
        return text  # no Cyrillic or Greek letter: nothing can be a twin of another script's
    known: list[str | None] = []

    def dominant() -> str | None:
        if not known:  # worked out once, and only for a message that has a word it decides
            known.append(_dominant(text))
        return known[0]

    return _WORD.sub(lambda match: _resolved(match.group(0), dominant), text)


def _styled_match(match: re.Match[str]) -> str:
    return _styled(match.group(0))


@lru_cache(maxsize=2048)
def _styled(ch: str) -> str:
    """One character of a styled alphabet as its plain letter (``𝐝``, ``ⓓ``, ``🄳``, ``ᵈ``, ``ｄ``, ``🅳``, ``ᴅ``)."""
    if ch.isascii() or ch in "ªº":  # ordinals (1º, 2ª) are no disguise
        return ch
    if ch in _INVISIBLE:
        return ""
    if ch in _STYLED:
        return _STYLED[ch]
    code = ord(ch)
    for first in (_NEGATIVE_CIRCLED_A, _NEGATIVE_SQUARED_A):
        if first <= code < first + 26:
            return chr(ord("a") + code - first)
    compatible = unicodedata.normalize("NFKC", ch)
    # Only letters: "…" and "½" have compatibility forms too, and a reader should still see them as typed.
    return compatible if compatible != ch and compatible.isalpha() else ch


def _regional_letters(match: re.Match[str]) -> str:
    """Regional-indicator letters as plain ones, except a pair on its own: that is a flag (🇩🇪)."""
    run = match.group(0)
    if len(run) == 2:
        return run
    return "".join(chr(ord("a") + ord(ch) - _REGIONAL_A) for ch in run)


def _script(ch: str) -> str | None:
    code = ord(ch)
    if ch.isascii() or 0xC0 <= code <= 0x24F or 0x1E00 <= code <= 0x1EFF:
        return LATIN
    if 0x400 <= code <= 0x52F:
        return CYRILLIC
    if 0x370 <= code <= 0x3FF or 0x1F00 <= code <= 0x1FFF:
        return GREEK
    return None


def _telling(ch: str, script: str | None) -> bool:
    """True for a letter that could only be of its own script (no look-alike in the other)."""
    if script == LATIN:
        return ch not in _TO_CYRILLIC
    if script in (CYRILLIC, GREEK):
        return ch not in _TO_LATIN
    return False


def _scripts(word: str) -> frozenset[str]:
    return frozenset(script for script in map(_script, word) if script is not None)


def _tally(text: str) -> dict[str, int]:
    """How many telling letters of each script ``text`` has."""
    counts = {LATIN: 0, CYRILLIC: 0, GREEK: 0}
    for ch in text:
        script = _script(ch)
        if script is not None and ch.isalpha() and _telling(ch, script):
            counts[script] += 1
    return counts


def _leader(counts: dict[str, int]) -> str | None:
    """The script with strictly the most telling letters, or None on a tie."""
    ranked = sorted(counts.items(), key=lambda item: item[1], reverse=True)
    return ranked[0][0] if ranked[0][1] > ranked[1][1] else None


def _dominant(text: str) -> str | None:
    """The script the message is plainly written in, by its telling letters; None when it is not plain."""
    return _leader(_tally(text))


def _resolved(word: str, dominant: Callable[[], str | None]) -> str:
    """``word`` in one script: the one its telling letters (or else the message's) say it is written in."""
    if word.isascii():
        # An English word stays; only a lone Latin twin in a Russian message is read as the Russian letter.
        single = len(word) == 1 and word in _TO_CYRILLIC and dominant() == CYRILLIC
        return _TO_CYRILLIC[word] if single else word
    found = _scripts(word)
    if len(found) > 1:
        target = _leader(_tally(word)) or dominant()
    elif found and all(not _telling(ch, _script(ch)) for ch in word) and dominant() not in (None, *found):
        # Every letter could be either: the message's script decides ("і" in "і wаnt"). Not for a Latin word
        # of two letters or more in a Russian message: English words are typed in Russian ones ("мой ex", "ok").
        if found == {LATIN} and sum(ch.isalpha() for ch in word) > 1:
            return word
        target = dominant()
    else:
        return word
    if target == LATIN:
        return "".join(_TO_LATIN.get(ch, ch) if _script(ch) != LATIN else ch for ch in word)
    if target == CYRILLIC:
        return "".join(_TO_CYRILLIC.get(ch, ch) if _script(ch) == LATIN else ch for ch in word)
    return word
