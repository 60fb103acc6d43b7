"""Messages dressed up the way someone hides words from a filter, to measure the screen against it.

``springboard screen-eval FILE --disguise`` screens every message of a labelled set in one of four disguises
instead of as written, and prints the same figures: how much of the risk still gets through to the question
or the reply, and how many harmless messages the disguise makes look alarming. The disguises are the ones
seen in the wild: letters swapped for their twins from another script (Cyrillic ``а`` for Latin ``a``, and
the other way round in a Russian message), a styled alphabet (``𝐝𝐢𝐞``, ``ｄｉｅ``, ``ⓓⓘⓔ``, ``🅳🅸🅴``,
``ᴅɪᴇ``), letters held down (``diiieee``) and words broken up (``k-ill``, ``su.icide``, ``s*icide``, a
zero-width space inside a word). Which disguise a message gets, and where, follows from a hash of its text:
the same file gives the same run every time. Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import random
import re

from bot.safety.evaluation import Labelled

KINDS = ("letters from another script", "a styled alphabet", "letters held down", "words broken up")

_LATIN_TWINS = dict(zip("aceopxyABCEHKMOPTXY", "асеорхуАВСЕНКМОРТХУ", strict=True))
_CYRILLIC_TWINS = {cyrillic: latin for latin, cyrillic in _LATIN_TWINS.items() if latin.islower()}
_SMALL_CAPITALS = dict(zip("abcdefghijklmnoprstuvwyz", "ᴀʙᴄᴅᴇꜰɢʜɪᴊᴋʟᴍɴᴏᴘʀꜱᴛᴜᴠᴡʏᴢ", strict=True))
# Where each styled alphabet's small "a" (or capital "A", for those with capitals only) sits.
_ALPHABETS = (
    ("mathematical bold", 0x1D41A),
    ("fullwidth", 0xFF41),
    ("circled", 0x24D0),
    ("negative squared", 0x1F170),
    ("regional indicators", 0x1F1E6),
)
_WORD = re.compile(r"[^\W\d_]+")
_ZERO_WIDTH_SPACE = "\u200b"


def disguised(message: Labelled) -> Labelled:
    """``message`` with its text in the disguise its hash picks; label and category unchanged."""
    return Labelled(disguise(message.text), message.label, message.category)


def kind_of(text: str) -> str:
    """Which of :data:`KINDS` :func:`disguise` puts ``text`` in."""
    return KINDS[_seed(text) % len(KINDS)]


def disguise(text: str) -> str:
    """``text`` in one of :data:`KINDS` (see :func:`kind_of`), placed by a hash of the text. A Russian message
    gets Latin twins for a styled alphabet (the alphabets are Latin); any text with a word of two letters or
    more is changed."""
    # Not for secrecy: a generator seeded by the text makes every run of the same file the same.
    rng = random.Random(_seed(text))  # noqa: S311
    kind = kind_of(text)
    cyrillic = sum("\u0400" <= ch <= "\u04ff" for ch in text) > sum(ch.isascii() and ch.isalpha() for ch in text)
    if kind == KINDS[0] or (kind == KINDS[1] and cyrillic):
        twins = _CYRILLIC_TWINS if cyrillic else _LATIN_TWINS
        swappable = [at for at, ch in enumerate(text) if ch in twins]
        swapped = {at for at in swappable if rng.random() < 0.5} or set(swappable[:1])
        return "".join(twins[ch] if at in swapped else ch for at, ch in enumerate(text))
    if kind == KINDS[1]:
        return _styled(text, rng)
    change = _held_down if kind == KINDS[2] else _broken_up
    found = list(_WORD.finditer(text))
    words = [match for match in found if len(match.group(0)) >= 4] or [m for m in found if len(m.group(0)) >= 2]
    # A third of the longer words, and at least one.
    chosen = [match for match in words if rng.random() < 1 / 3] or words[:1]
    pieces, end = [], 0
    for match in chosen:
        pieces.append(text[end : match.start()] + change(match.group(0), rng))
        end = match.end()
    return "".join(pieces) + text[end:]


def _seed(text: str) -> int:
    return int(hashlib.sha256(text.encode("utf-8", errors="replace")).hexdigest(), 16)


def _styled(text: str, rng: random.Random) -> str:
    """The Latin letters of ``text`` in one styled alphabet (small capitals, or one of :data:`_ALPHABETS`)."""
    choice = rng.randrange(len(_ALPHABETS) + 1)
    if choice == len(_ALPHABETS):
        return "".join(_SMALL_CAPITALS.get(ch.lower(), ch) if ch.isascii() else ch for ch in text)
    name, first = _ALPHABETS[choice]
    # Two regional indicators side by side show as a flag: a zero-width space after each keeps it a letter.
    after = _ZERO_WIDTH_SPACE if name == "regional indicators" else ""
    return "".join(
        chr(first + ord(ch.lower()) - ord("a")) + after if ch.isascii() and ch.isalpha() else ch for ch in text
    )


def _held_down(word: str, rng: random.Random) -> str:
    """``word`` with one letter typed three to five times."""
    at = rng.randrange(len(word))
    return word[:at] + word[at] * rng.randint(3, 5) + word[at + 1 :]


def _broken_up(word: str, rng: random.Random) -> str:
    """``word`` with a mark inside (a hyphen, a dot, a zero-width space), or now and then a vowel starred out."""
    vowels = [at for at, ch in enumerate(word[1:-1], start=1) if ch in "aeiou"]
    if vowels and rng.random() < 0.25:
        at = rng.choice(vowels)
        return word[:at] + "*" + word[at + 1 :]
    at = rng.randrange(1, len(word))
    return word[:at] + rng.choice(("-", ".", _ZERO_WIDTH_SPACE)) + word[at:]
