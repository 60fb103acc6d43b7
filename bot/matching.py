"""Reading what people type in reply to a question with options: flow choices and scales, the bot's menus
and confirmations, the check-in buttons.

People type on phones: lower case, a typo, an emoji, one word or a whole sentence, the label of a button
instead of a tap. One reading serves every question with options: the option's number (or a number word),
its label or value, a word of it inside a sentence, case and accents ignored, one typo, the option's emoji,
other words the option lists as meaning the same. A destructive choice reads only an unambiguous answer.

Pure: no I/O. The words it reads with (number words, yes and no, filler) come from
``conversations/texts/words.yaml`` through ``Words``, so a deployer can change or translate them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache

from bot.flows.texts import Texts

MAX_NUMBER_DIGITS = 4
"""No option or scale number has more digits; a longer run of digits is never converted (``int()`` refuses
strings over 4,300 digits, and nothing this long can be an answer anyway)."""

TYPO_MIN_LENGTH = 5
"""Words shorter than this must be typed exactly: one typo in a short word too often makes another word."""


@dataclass(frozen=True)
class Choice:
    """One option as typed text is read against it: ``value`` comes back, ``label`` is what people see,
    ``also`` lists other words or phrases that mean this option. ``value_typed``: typing the value itself
    picks it too (a flow's ``not_yet``), not so for the bot's internal button values."""

    value: str
    label: str
    also: tuple[str, ...] = ()
    value_typed: bool = True

    def phrases(self) -> tuple[str, ...]:
        """Everything that, typed as a whole, means this option (folded): label, value, ``also``."""
        value = (fold(self.value.replace("_", " ")),) if self.value_typed else ()
        return tuple(phrase for phrase in (fold(self.label), *value, *map(fold, self.also)) if phrase)


@dataclass(frozen=True)
class Picked:
    """The reply names these options (one for a single-answer question), in the options' order."""

    values: tuple[str, ...]


@dataclass(frozen=True)
class Several:
    """A single-answer question whose reply names more than one option (in the options' order)."""

    values: tuple[str, ...]


@dataclass(frozen=True)
class NoMatch:
    """The reply names none of the options."""


Reading = Picked | Several | NoMatch


class Mode(Enum):
    """How much of a reply is read.

    ``FULL``: everything (a question on screen: numbers, labels, words in a sentence, typos, emoji).
    ``WHOLE``: only a reply that is, as a whole, an option's label or one of its ``also`` phrases (allowing one
    typo; or nothing but a few of one option's phrases, "ok, let's go"), in words: a menu shown while a flow
    waits for an answer, where a number or a word belongs to the flow.
    ``STRICT``: a destructive choice, an offer, a confirmation: the whole reply is exactly the label, an
    ``also`` phrase (or nothing but a few of one option's) or the number, no typo, no question mark.
    """

    FULL = "full"
    WHOLE = "whole"
    STRICT = "strict"


@dataclass(frozen=True)
class Words:
    """The vocabulary replies are read with, each entry already folded (see ``fold``)."""

    numbers: tuple[str, ...] = ()
    """Number words, the first meaning 0 ("zero", "one", …)."""
    ordinals: tuple[str, ...] = ()
    """Ordinal words, the first meaning 1 ("first", "second", …)."""
    filler: frozenset[str] = frozenset()
    """Words that never tell options apart ("the", "i", "option")."""
    around_numbers: frozenset[str] = frozenset()
    """Words that may stand around a number word answering a scale ("about", "maybe", "i'd say")."""
    negations: frozenset[str] = frozenset()
    """Words that turn the next words around ("not", "never")."""
    setback: tuple[str, ...] = ()
    """Words and phrases that make a message read like a setback; a trailing ``*`` matches any ending."""
    about_the_bot: tuple[str, ...] = ()
    """How a question to the bot starts ("can this", "do you"): such a question is no setback."""


# --- folding: one spelling for what people type and what options say ---------------------------------

_APOSTROPHES = frozenset("'’‘`´ʼ")
_CLAUSE_BREAK = re.compile(r"[,.;:!?\n()]+|\bbut\b", re.IGNORECASE)


def fold(text: str) -> str:
    """``text`` in one canonical spelling: lower case, no accents, every decimal digit as an ASCII digit
    (``²`` → 2, ``٣`` → 3, ``５`` → 5), apostrophes dropped (``don't`` → ``dont``), every other character that
    is not a letter or digit (punctuation, emoji) turned into a single space between words."""
    compatible = unicodedata.normalize("NFKC", text)
    out: list[str] = []
    for char in unicodedata.normalize("NFKD", compatible.casefold()):
        if unicodedata.combining(char) or char in _APOSTROPHES:
            continue
        if char.isdigit():
            digit = unicodedata.decimal(char, None)
            out.append(str(digit) if digit is not None else " ")
        elif char.isalnum():
            out.append(char)
        else:
            out.append(" ")
    return " ".join("".join(out).split())


def ascii_digits(text: str) -> str:
    """``text`` with every decimal digit, in any script, written as an ASCII digit; nothing else changes
    except compatibility forms (``²`` → ``2``). ``int()`` may then be used on ASCII digit runs alone."""
    compatible = unicodedata.normalize("NFKC", text)
    out = []
    for char in compatible:
        digit = unicodedata.decimal(char, None) if char.isdigit() else None
        out.append(str(digit) if digit is not None else char)
    return "".join(out)


def emoji_of(text: str) -> frozenset[str]:
    """The pictographs in ``text`` (skin tones and variation selectors left out)."""
    return frozenset(char for char in text if unicodedata.category(char) == "So")


def _small_int(digits: str) -> int | None:
    """An ASCII digit run as a number, or None when it has more digits than any answer could."""
    if not digits.isascii() or not digits.isdigit() or len(digits.lstrip("0") or "0") > MAX_NUMBER_DIGITS:
        return None
    return int(digits.lstrip("0") or "0")  # leading zeros stripped first: "000…07" may be thousands long


def one_typo(typed: str, word: str) -> bool:
    """True when ``typed`` is ``word`` with one letter added, dropped, changed, or two neighbours swapped.

    The first letter must be right (a typo there makes another word: "sorry" is not "worry"), and the
    typo must be in a letter: a different digit is a different number ("09:00" is not "08:00").
    """
    if typed == word:
        return True
    if not typed or not word or typed[0] != word[0] or abs(len(typed) - len(word)) > 1:
        return False
    if len(typed) == len(word):
        differ = [i for i, (a, b) in enumerate(zip(typed, word, strict=True)) if a != b]
        changed = {typed[i] for i in differ} | {word[i] for i in differ}
        if any(char.isdigit() for char in changed):
            return False
        if len(differ) == 1:
            return True
        if len(differ) != 2 or differ[1] != differ[0] + 1:
            return False
        first, second = differ
        return typed[first] == word[second] and typed[second] == word[first]
    shorter, longer = (typed, word) if len(typed) < len(word) else (word, typed)
    return any(not longer[i].isdigit() and longer[:i] + longer[i + 1 :] == shorter for i in range(len(longer)))


def _same_word(typed: str, word: str, typos: bool) -> bool:
    """``typed`` means ``word``: the same, another ending of a long word (frustrating, frustrated), or with
    ``typos`` one typo in a word long enough to tell apart."""
    if typed == word:
        return True
    if len(word) >= 6 and len(typed) >= len(word) - 2 and typed.startswith(word[:-2]):
        return True
    return typos and len(word) >= TYPO_MIN_LENGTH and one_typo(typed, word)


# --- the vocabulary, from conversations/texts/words.yaml --------------------------------------------


def word_list(text: str) -> tuple[str, ...]:
    """A comma-separated list of words and phrases, each folded; empty entries dropped."""
    return tuple(entry for entry in (fold(part) for part in text.split(",")) if entry)


@lru_cache(maxsize=8)
def words_of(texts: Texts) -> Words:
    """The reading vocabulary the texts define (cached: texts never change while the bot runs)."""
    return Words(
        numbers=word_list(texts.words_numbers),
        ordinals=word_list(texts.words_ordinals),
        filler=frozenset(word_list(texts.words_filler)),
        around_numbers=frozenset(word_list(texts.words_around_numbers)),
        negations=frozenset(word_list(texts.words_negation)),
        setback=tuple(part.strip().casefold() for part in texts.words_setback.split(",") if part.strip()),
        about_the_bot=word_list(texts.words_about_the_bot),
    )


# --- numbers ------------------------------------------------------------------------------------------

_FRACTION = re.compile(r"\d\s*[.,]\s*\d")
_RANGE = re.compile(r"\d\s*[-–—]\s*\d")
_NUMBER = re.compile(r"(?<![\w-])(-)?(\d+)(?:\s*(?:/|out of|of)\s*(\d+))?(?!\w)")


def read_number(text: str, low: int, high: int, words: Words, low_label: str = "", high_label: str = "") -> int | None:
    """The one whole number ``text`` gives, when it lies from ``low`` to ``high``; else None.

    Reads digits in any script (``٣``, ``²``), also inside a sentence (``i'd say 6``), ``7/10`` and ``7 out
    of 10`` (only out of ``high``: ``4/5`` is another scale), the end labels themselves (``overwhelming`` is
    ``high``), and a number word when the reply is just that (``eight``, ``about a seven``, ``seven out of
    ten``; never inside a sentence: "no one cares" is not a 1). A fraction (``7.5``), two different numbers,
    or one out of range give None.
    """
    folded = fold(text)
    if not folded:
        return None
    for label, end in ((low_label, low), (high_label, high)):
        if label and folded == fold(label):
            return end
    digits = ascii_digits(text)
    if _FRACTION.search(digits) or _RANGE.search(digits):
        return None  # 7.5 or 7-8: not one whole number
    found: set[int | None] = set()
    for match in _NUMBER.finditer(digits):
        sign, whole, out_of = match.groups()
        value = _small_int(whole)
        if out_of is not None and _small_int(out_of) != high:
            value = None  # 4/5 on a scale to 10: out of another scale
        else:
            before = _OUT_OF.search(digits[: match.start()])
            if before is not None and fold(before.group(1)) in words.numbers:
                continue  # "seven out of 10": the 10 is the scale's top, read with the number word before it
        found.add(None if value is None else (-value if sign else value))
    found.update(_spoken_number(folded.split(), words, high))
    if len(found) != 1:
        return None
    (only,) = found
    return only if only is not None and low <= only <= high else None


_OUT_OF = re.compile(r"(\w+)\s*(?:\bout\s+of|\bof|/)\s*$", re.IGNORECASE)


def _spoken_number(tokens: list[str], words: Words, high: int) -> list[int | None]:
    """The number word a reply is made of, with only words around it that say how sure (``about a seven``)
    and an ending ``out of`` the scale's top (``seven out of ten``, ``seven of 10``): ``[number]``. ``[]``
    when the reply holds no number word or says more than the number; ``[None]`` when it is a number out of
    another scale (``four out of five`` on a scale to 10)."""

    def value(token: str) -> int | None:
        if token.isdigit():
            return _small_int(token)
        return words.numbers.index(token) if token in words.numbers else None

    rest = list(tokens)
    for tail in (("out", "of"), ("outta",), ("of",)):
        size = len(tail) + 1
        if len(rest) > size and tuple(rest[-size:-1]) == tail and value(rest[-1]) is not None:
            if value(rest[-1]) != high:
                return [None] if any(token in words.numbers for token in rest[:-size]) else []
            rest = rest[:-size]
            break
    spoken = [token for token in rest if token in words.numbers]
    if len(spoken) != 1 or any(token not in words.around_numbers for token in rest if token not in words.numbers):
        return []
    return [words.numbers.index(spoken[0])]


def _numbers_only(tokens: Sequence[str], words: Words) -> list[int | None] | None:
    """The numbers a reply is made of (``2``, ``1 and 3``, ``the second one``), or None when it says more
    than numbers. A number too long to be an option is kept as None (it names no option)."""
    numbers: list[int | None] = []
    rest = [token for token in tokens if token not in words.filler and token not in {"and", "or", "no", "nr"}]
    for index, token in enumerate(rest):
        if token.isdigit():
            numbers.append(_small_int(token))
        elif token in words.ordinals:
            numbers.append(words.ordinals.index(token) + 1)
        elif token in words.numbers:
            if index > 0 and rest[index - 1] in words.ordinals and words.numbers.index(token) == 1:
                continue  # "the second one"
            numbers.append(words.numbers.index(token))
        else:
            return None
    return numbers or None


# --- choices ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Key:
    """Words that name one option: a phrase of one or more folded words."""

    index: int
    words: tuple[str, ...]
    typos: bool


def _keys(choices: Sequence[Choice], words: Words) -> list[_Key]:
    """What names each option inside a sentence: its distinctive label words (not shared with another
    option, not filler), its whole label and value as phrases, and its ``also`` words and phrases."""
    label_words = [set(fold(choice.label).split()) for choice in choices]
    keys: list[_Key] = []
    for index, choice in enumerate(choices):
        others = set().union(*(found for i, found in enumerate(label_words) if i != index))
        for word in fold(choice.label).split():
            if word not in others and word not in words.filler and word not in words.negations:
                keys.append(_Key(index, (word,), typos=True))
        keys.extend(_Key(index, tuple(phrase.split()), typos=False) for phrase in choice.phrases())
    # Longer phrases first, so "let down" is read before "down".
    return sorted(keys, key=lambda key: -len(key.words))


@dataclass(frozen=True)
class _Hit:
    """One key found in a clause, at tokens ``start`` to ``end`` (exclusive)."""

    key: _Key
    start: int
    end: int


def _negative(key: _Key, words: Words) -> bool:
    """True when a key says no itself ("did not", "havent"): a negation next to it does not deny it."""
    return any(word in words.negations for word in key.words)


def _named_in_sentence(text: str, choices: Sequence[Choice], words: Words) -> set[int]:
    """The options a sentence names by their words, leaving out those it denies ("not angry, just sad").

    A negation up to two words before the words denies them ("not angry"), and so does one up to two words
    after them ("i did not", "i did nothing"), unless another option's words follow that negation ("sad not
    angry": the "not" is about angry). Denied words name nothing, and so do shorter ones inside them.
    Where words overlap ("i did" and "did not" in "i did not"), the longer, then the earlier, is read.
    """
    keys = _keys(choices, words)
    named: set[int] = set()
    for clause in _CLAUSE_BREAK.split(text):
        tokens = fold(clause).split()
        hits = [
            _Hit(key, start, start + len(key.words))
            for key in keys
            for start in range(len(tokens) - len(key.words) + 1)
            if _key_at(tokens, start, key)
        ]

        def denied(hit: _Hit, tokens: list[str] = tokens, hits: list[_Hit] = hits) -> bool:
            if any(token in words.negations for token in tokens[max(0, hit.start - 2) : hit.start]):
                return True
            if _negative(hit.key, words):
                return False
            for at in range(hit.end, min(hit.end + 2, len(tokens))):
                if tokens[at] in words.negations and not any(
                    other.key.index != hit.key.index and at < other.start <= at + 2 for other in hits
                ):
                    return True
            return False

        out = [hit for hit in hits if denied(hit)]
        kept = [hit for hit in hits if hit not in out and not any(_inside(hit, other) for other in out)]
        used = [False] * len(tokens)
        for hit in sorted(kept, key=lambda hit: (hit.start - hit.end, hit.start)):
            if any(used[hit.start : hit.end]):
                continue
            used[hit.start : hit.end] = [True] * (hit.end - hit.start)
            named.add(hit.key.index)
    return named


def _inside(hit: _Hit, other: _Hit) -> bool:
    """True when ``hit`` is a shorter match within ``other``'s words ("down" in "let down")."""
    return other.start <= hit.start and hit.end <= other.end and other.end - other.start > hit.end - hit.start


def _key_at(tokens: Sequence[str], start: int, key: _Key) -> bool:
    """True when ``key``'s words stand in ``tokens`` from ``start`` on."""
    window = tokens[start : start + len(key.words)]
    if len(key.words) == 1:
        return _same_word(window[0], key.words[0], key.typos)
    return all(_same_word(a, b, typos=False) for a, b in zip(window, key.words, strict=True))


def _whole(folded: str, choices: Sequence[Choice], typos: bool) -> int | None:
    """The option a whole reply spells out: its label, its value or an ``also`` phrase (one typo allowed
    in a label with ``typos``). Several options spelled the same way name none."""
    exact = {index for index, choice in enumerate(choices) if folded in choice.phrases()}
    if not exact:  # "ok, let's go": two of one option's phrases, and nothing else
        exact = {index for index, choice in enumerate(choices) if _made_of(folded.split(), choice.phrases())}
    if len(exact) == 1:
        return exact.pop()
    if exact or not typos:
        return None
    close = {
        index
        for index, choice in enumerate(choices)
        if len(fold(choice.label)) >= TYPO_MIN_LENGTH and one_typo(folded, fold(choice.label))
    }
    return close.pop() if len(close) == 1 else None


def _made_of(tokens: Sequence[str], phrases: Sequence[str]) -> bool:
    """True when ``tokens`` are, one after another, nothing but some of ``phrases`` (folded)."""
    split = [tuple(phrase.split()) for phrase in phrases]
    ends = {0}
    for at in range(len(tokens)):
        if at in ends:
            ends |= {at + len(words) for words in split if words and tuple(tokens[at : at + len(words)]) == words}
    return len(tokens) in ends and bool(tokens)


def read_choice(
    text: str,
    choices: Sequence[Choice],
    words: Words,
    *,
    multiple: bool = False,
    mode: Mode = Mode.FULL,
    numbers: bool = True,
    sentence_limit: int | None = None,
) -> Reading:
    """Which of ``choices`` a typed reply names.

    ``multiple``: several may be named (``1, 3``, ``frustrated and sad``) and all are picked. Otherwise a
    reply naming more than one is ``Several``. ``numbers``: an option's number picks it (not in ``WHOLE``
    mode, nor where a number answers something else). ``sentence_limit``: read words inside a sentence
    only when the reply has at most this many words (a long message to a menu is usually about something
    else).
    """
    folded = fold(text)
    if not choices or (not folded and not emoji_of(text)):
        return NoMatch()
    if mode is Mode.STRICT and "?" in text:
        return NoMatch()  # "yes?" is a question, not a yes
    if mode is Mode.WHOLE and not any(char.isalpha() for char in folded):
        return NoMatch()  # a bare number, even one spelling a label ("🗑 1"), belongs to what else waits
    whole = _whole(folded, choices, typos=mode is not Mode.STRICT) if folded else None
    if whole is not None:
        return Picked((choices[whole].value,))
    tokens = folded.split()
    given = _numbers_only(tokens, words) if numbers and mode is not Mode.WHOLE else None
    if given is not None and all(number is not None and 1 <= number <= len(choices) for number in given):
        picked = sorted({number - 1 for number in given if number is not None})
        if mode is Mode.STRICT and len(picked) != 1:
            return NoMatch()
        return _result([choices[index].value for index in picked], multiple)
    if mode is not Mode.FULL:
        return NoMatch()
    named: set[int] = set()
    shown = emoji_of(text)
    if shown:
        named |= {index for index, choice in enumerate(choices) if emoji_of(choice.label) & shown}
    if sentence_limit is None or len(tokens) <= sentence_limit:
        named |= _named_in_sentence(text, choices, words)
    return _result([choices[index].value for index in sorted(named)], multiple)


def _result(values: list[str], multiple: bool) -> Reading:
    if not values:
        return NoMatch()
    if len(values) == 1 or multiple:
        return Picked(tuple(values))
    return Several(tuple(values))


# --- free text ----------------------------------------------------------------------------------------


def reads_like_setback(text: str, words: Words) -> bool:
    """True when a message sounds like something went wrong ("i messed up again", "failed my exam"): it
    holds one of the setback words or phrases (``fail*`` matches failed, failing, failure) not right after
    a negation ("not sad anymore", "not so stressed"), and it is not a question to the bot ("can this help
    with stress?")."""
    tokens = fold(text).split()
    if not tokens or _asks_about_the_bot(text, tokens, words):
        return False
    for entry in words.setback:
        stem = entry.endswith("*")
        wanted = fold(entry.rstrip("*")).split()
        if not wanted:
            continue
        size = len(wanted)
        for start in range(len(tokens) - size + 1):
            window = tokens[start : start + size]
            head_same = window[:-1] == wanted[:-1]
            last = window[-1].startswith(wanted[-1]) if stem else window[-1] == wanted[-1]
            if head_same and last and not _negated(tokens, start, words):
                return True
    return False


_BETWEEN_NEGATION = frozenset({"so", "too", "that", "very", "really", "even", "as", "feeling", "at", "all"})
"""Words that may stand between a negation and what it turns around ("not so stressed", "not feeling sad")."""


def _negated(tokens: list[str], start: int, words: Words) -> bool:
    before = tokens[max(0, start - 3) : start]
    while before and before[-1] in _BETWEEN_NEGATION:
        before.pop()
    return bool(before) and before[-1] in words.negations


def _asks_about_the_bot(text: str, tokens: list[str], words: Words) -> bool:
    if not text.rstrip().endswith("?"):
        return False
    return any(tokens[: len(opening.split())] == opening.split() for opening in words.about_the_bot)
