"""Text as the crisis screen reads it: one spelling for the many ways people type (and hide) a word.

People write on phones, misspell, and sometimes mask the words that matter (``k1ll``, ``s*icide``,
``d i e``, ``todie``). Normalising undoes that, so the patterns and the learned detector see one form.
Pure: no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from itertools import product

from bot.safety.lookalike import plain_letters
from bot.safety.prefilter import literal_characters

_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'", "´": "'", "ʼ": "'", "“": '"', "”": '"'})
# Digits and symbols people put in place of letters ("k1ll", "$uicide", "d1e", "k!ll").
_LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i", "|": "i", "¡": "i"}
)
_LEET_L = str.maketrans({**{chr(k): v for k, v in _LEET.items()}, "1": "l", "|": "l"})
# The same in a Russian word: "п0к0нчить", "у6ить", "с@м", "ум3р3ть".
_CYRILLIC_LEET = str.maketrans({"0": "о", "3": "з", "4": "ч", "6": "б", "@": "а"})
_CYRILLIC_LEET_E = str.maketrans({"0": "о", "3": "е", "4": "ч", "6": "б", "@": "а"})
_MASKS = "0134567@$!¡|*._-"
# Words whose masked, spaced or glued forms are worth restoring. Restoring only these keeps everyday
# words ("5pm", "b4", "studied") as they were.
RISK_WORDS = frozenset(
    {
        "kill",
        "killing",
        "killed",
        "die",
        "dying",
        "died",
        "dead",
        "death",
        "suicide",
        "suicidal",
        "unalive",
        "overdose",
        "od",
        "cut",
        "cutting",
        "harm",
        "hurt",
        "hang",
        "myself",
        "end",
        "pills",
        "starve",
        "starving",
        "purge",
        "purging",
        "jump",
        "rope",
        "noose",
        "blade",
        "bleed",
        "live",
        "alive",
        "exist",
        "gone",
        "self",
        "kms",
        "kys",
        "ctb",
    }
)
# Short words that get glued to a risk word when typing fast ("todie", "killmyself", "wannadie").
_GLUE = frozenset({"to", "wanna", "want", "gonna", "going", "me", "i", "im", "just", "so", "lets", "let", "a", "my"})
_PIECES = RISK_WORDS | _GLUE
_ABBREVIATIONS = frozenset({"od", "kms", "kys", "ctb"})
_LONG_RISK_WORDS = tuple(word for word in RISK_WORDS if len(word) >= 3)
# Letters with a stroke that no language of the patterns uses, and that mask a word ("dıe", "kıłł").
_STROKED = str.maketrans("łøđħŧ", "lodht")  # not the dotless "ı": Turkish "kıl" (hair) is no "kill"


@lru_cache(maxsize=1)
def _unseen() -> dict[int, str | None]:
    """Every combining or enclosing mark and format character to nothing, every control character to a space
    (built once, on the first message that is not plain ASCII)."""
    table: dict[int, str | None] = {}
    # Planes 0, 1 and 14 hold every such character; the others hold only letters (or nothing yet).
    for code in (*range(0x20000), *range(0xE0000, 0xE1000)):
        category = unicodedata.category(chr(code))
        if category in ("Mn", "Me", "Cf"):
            table[code] = None
        elif category == "Cc":
            table[code] = " "
    return table


_ASCII_CONTROLS = {code: " " for code in (*range(0x20), 0x7F)}
_SPACED = re.compile(r"\b(?:[a-z0-9@$!*] ){2,}[a-z0-9@$!*]\b")
_JOINERS = re.compile(r"(?<=[^\W\d_])[-_.](?=[^\W\d_])")
# Possessive: a word that is not followed by a mark is given up at once, not tried again letter by letter.
_DOTTED = re.compile(r"\b[^\W\d_]++(?:[.\-_][^\W\d_]++)+\b")
# A letter held down or typed again and again ("dieeee", "kiiill", "myselffff"): three or more in a row.
_STRETCH = re.compile(r"([^\W\d_])\1{2,}")
_STRETCH_GATE = re.compile(r"(\w)\1\1")  # the same, looser and three times quicker: is any word worth a look?


def _unmask_chunk(chunk: str, spellings: dict[str, str], words: frozenset[str]) -> str:
    """A space-separated piece of text with any masked risk word restored (sentence marks kept apart)."""
    whole = _unmask_word(chunk, spellings, words)
    if whole != chunk:
        return whole
    core = chunk.rstrip(".,?!:;")
    if core and core != chunk:
        restored = _unmask_word(core, spellings, words)
        if restored != core:
            return f"{restored} {chunk[len(core) :]}"
    return chunk


def _unmask_word(word: str, spellings: dict[str, str], words: frozenset[str]) -> str:
    """``k1ll`` → ``kill``, ``s*icide`` → ``suicide``, ``m*king`` → ``making`` when that is one of ``words``
    (the screen's patterns' words) and no other fits; any other word unchanged."""
    if not any(ch in _MASKS for ch in word) or not any(ch.isalpha() for ch in word):
        return word
    cyrillic = any("\u0400" <= ch <= "\u04ff" for ch in word)
    # A "1" or "|" may stand for an "l" as well as an "i" ("ki11"), a "3" in a Russian word for "е" or "з".
    readings = (_CYRILLIC_LEET, _CYRILLIC_LEET_E) if cyrillic else (_LEET, _LEET_L)
    plains = list(dict.fromkeys(word.translate(reading) for reading in readings))
    for plain in plains:
        if plain.isalpha() and (plain in _PIECES or (len(plain) >= 5 and plain in words)):
            return plain  # a risk word, a short word around one ("w4nt t0"), a long pattern word
    for plain in plains:
        if plain.isalpha():
            held = _unstretched(plain, spellings, words) if _STRETCH.search(plain) else None  # "k1llll"
            restored = held or _glued(plain)
            if restored:
                return restored
    plain = plains[0]
    if plain.isalpha():
        return word
    core = plain.strip("._-*")
    if "*" in core or "." in core or "-" in core or "_" in core:
        return _wildcard(core) or _wildcard_in(core, words) or word
    starred = plain.strip("._-")
    if starred != core and "*" in starred and core.isalpha():
        return _censored(starred) or word  # "s*****e": a star for each letter
    return word


@lru_cache(maxsize=1024)
def _censored(masked: str) -> str | None:
    """The one risk word of four letters or more that ``masked`` spells with a star for each hidden letter,
    with two letters or more showing ("s*****e"): "s***", "r***" or "d**" are swear words as often as not."""
    if len(masked) < 4 or sum(ch != "*" for ch in masked) < 2:
        return None
    return _only_fit(re.compile("".join("." if ch == "*" else re.escape(ch) for ch in masked)), _LONG_RISK_WORDS)


@lru_cache(maxsize=4096)
def _wildcard(masked: str) -> str | None:
    """The one risk word that ``masked`` can stand for, with ``*``/``.`` hiding one or more letters."""
    return _only_fit(
        re.compile("".join(".{1,3}" if ch in "*._-" else re.escape(ch) for ch in masked)), _LONG_RISK_WORDS
    )


@lru_cache(maxsize=1024)
def _wildcard_in(masked: str, words: frozenset[str]) -> str | None:
    """The one word of ``words`` that ``masked`` can stand for (``*`` hiding one to three letters), when at
    least four of its letters show: "cart*la" → "cartela", not "w*th" → "with" or "worth", nor "sl*t" →
    "slit"."""
    if "*" not in masked or sum(ch.isalpha() for ch in masked) < 4 or not masked[0].isalpha():
        return None
    pattern = re.compile("".join(".{1,3}" if ch == "*" else re.escape(ch) for ch in masked))
    stars = masked.count("*")
    shortest, longest = len(masked), len(masked) + 2 * stars
    fitting_length = (word for word in _by_first_letter(words).get(masked[0], ()) if shortest <= len(word) <= longest)
    return _only_fit(pattern, fitting_length)


def _only_fit(pattern: re.Pattern[str], candidates: Iterable[str]) -> str | None:
    """The one candidate ``pattern`` matches whole; None when none or several do (no guessing between them)."""
    found = [word for word in candidates if pattern.fullmatch(word)]
    return found[0] if len(found) == 1 else None


@lru_cache(maxsize=4)
def _by_first_letter(words: frozenset[str]) -> dict[str, tuple[str, ...]]:
    index: dict[str, list[str]] = {}
    for word in words:
        index.setdefault(word[0], []).append(word)
    return {letter: tuple(found) for letter, found in index.items()}


@lru_cache(maxsize=8192)
def _glued(word: str) -> str | None:
    """``todie`` → ``to die``; only when every piece is a known short word and one is a risk word."""
    if len(word) < 5 or len(word) > 24 or word in _PIECES:
        return None

    def split(rest: str, depth: int) -> list[str] | None:
        if rest in _PIECES:
            return [rest]
        if depth == 0:
            return None
        for cut in range(len(rest) - 1, 0, -1):
            head = rest[:cut]
            if head in _PIECES:
                tail = split(rest[cut:], depth - 1)
                if tail is not None:
                    return [head, *tail]
        return None

    pieces = split(word, 3)
    if pieces is None or not any(piece in RISK_WORDS for piece in pieces):
        return None
    return " ".join(pieces)


def _join_spaced(match: re.Match[str]) -> str:
    """``d i e`` → ``die``, ``k i l l m y s e l f`` → ``kill myself``; other spaced letters unchanged."""
    joined = match.group(0).replace(" ", "").translate(_LEET)
    if joined in RISK_WORDS:
        return joined
    return _glued(joined) or _wildcard(joined) or match.group(0)


def normalise(text: str, spellings: dict[str, str], words: frozenset[str] = frozenset()) -> str:
    """Text as the screen compares it: letters dressed up as others read as those (:func:`plain_letters`),
    NFKC, lower case, straight apostrophes, no zero-width characters or accents, masked, spaced-out and
    stretched risk words restored (and any of ``words``, the words the screen's patterns are written with:
    :func:`pattern_words`), single spaces, punctuation split off, and common misspellings corrected word by
    word."""
    text = unicodedata.normalize("NFKC", plain_letters(text)).translate(_APOSTROPHES)
    if text.isascii():
        # Most messages: no format character or accent can be in them, only control characters to space.
        text = text.casefold().translate(_ASCII_CONTROLS)
    else:
        # Accents, enclosing marks and format characters (zero-width ones hide inside a word) vanish, control
        # characters space; the marks before casefolding too, as one of them folds into a letter ("ͅ": "ι").
        unseen = _unseen()
        text = unicodedata.normalize("NFD", text).translate(unseen).casefold()
        text = unicodedata.normalize("NFD", text).translate(unseen).translate(_STROKED)
    text = _SPACED.sub(_join_spaced, text)
    text = _DOTTED.sub(lambda match: _dotted(match, words), text)
    # "i-want-to-die", "i.want.to.die", "kill_myself": joiners between letters read as spaces.
    text = _JOINERS.sub(" ", text)
    chunks = [_unmask_chunk(chunk, spellings, words) for chunk in text.split()]
    tokens = re.findall(r"[\w']+|[^\w\s']", " ".join(chunks))
    restored: list[str] = []
    stretched = _STRETCH_GATE.search(text) is not None
    for word in tokens:
        if stretched and _STRETCH.search(word):
            word = _unstretched(word, spellings, words) or word
        word = spellings.get(word, word)
        glued = _glued(word) if word.isalpha() else None
        restored.append(glued or word)
    return " ".join(" ".join(restored).split())


def _unstretched(word: str, spellings: dict[str, str], words: frozenset[str]) -> str | None:
    """``dieeee`` → ``die``, ``kiiilll`` → ``kill``, ``tooonight`` → ``tonight``: each run of three or more of
    a letter cut to two or else one, when that gives a word the screen knows (a risk word, a short word glued
    to one, a listed spelling, one of ``words``); None otherwise, and the word stays as typed. Never an
    abbreviation ("odddd" is odd, "kyssss" kisses), and a risk word made by doubling a held letter only when
    no reading with that letter single is known ("nooooose" is a nose, "pillllls" still pills)."""
    runs = list(_STRETCH.finditer(word))
    if len(set(word)) == 1:  # "kkkkk", "zzzz", "hhhh": a laugh or a sound, not a word held
        return None
    doubled_into_risk = None
    # Two before one: "sooon" is "soon" before "son". (Many runs: all to two, or all to one.)
    choices = product((2, 1), repeat=len(runs)) if len(runs) <= 3 else iter(((2,) * len(runs), (1,) * len(runs)))
    for lengths in choices:
        pieces, end = [], 0
        for run, length in zip(runs, lengths, strict=True):
            pieces.append(word[end : run.start()] + run.group(1) * length)
            end = run.end()
        candidate = "".join(pieces) + word[end:]
        if candidate in _ABBREVIATIONS or (len(candidate) < 4 and candidate in spellings):
            continue
        if 2 in lengths and candidate in RISK_WORDS:
            doubled_into_risk = doubled_into_risk or candidate
            continue
        if candidate in RISK_WORDS or candidate in spellings or candidate in words or _glued(candidate):
            return candidate
    return doubled_into_risk


def letters_never_read(pattern: str) -> dict[str, str]:
    """The letters (and combining accents) a screen pattern matches as written that normalised text never
    holds, each with what the screen reads in its place (``ё``: ``е``, ``ç``: ``c``, ``ß``: ``ss``, ``W``:
    ``w``, an accent: nothing). A pattern holding one cannot match where it was meant to. Escapes such as
    ``\\W``, comments, group names, character classes and patterns that ignore case are not checked."""
    return unread_letters(literal_characters(pattern))


def unread_letters(characters: Iterable[str]) -> dict[str, str]:
    """:func:`letters_never_read` for characters already read off a pattern (``GuardedPattern.literals``)."""
    found: dict[str, str] = {}
    for character in characters:
        if character.isalpha() or unicodedata.category(character) == "Mn":
            read = _read_alone(character)
            if read != character:
                found[character] = read
    return found


@lru_cache(maxsize=1024)
def _read_alone(character: str) -> str:
    return normalise(character, {})


def _dotted(match: re.Match[str], words: frozenset[str]) -> str:
    """``k.i.l.l`` → ``kill``, ``a.shamed`` → ``ashamed`` (one of ``words``); ``no-one``, ``well-being`` and
    ``tired.so`` stay as they were (the joiners then read as spaces): a joined form is only taken from
    ``words`` when a piece is no word of its own."""
    pieces = re.split(r"[.\-_]", match.group(0))
    joined = "".join(pieces)
    if len(pieces) < 3 and all(len(piece) == 1 for piece in pieces):
        return match.group(0)  # initials ("o.d.", "p.s."): three letters or more before they are read as a word
    if joined in RISK_WORDS:
        return joined
    if joined in words and not all(piece in words or piece in _PIECES for piece in pieces):
        return joined
    return match.group(0)


_PATTERN_NOISE = re.compile(r"\\.|\(\?P?<\w+>|\(\?#[^)]*\)|\[[^\]]*\]|\{\d*,?\d*\}")


def pattern_words(sources: Iterable[str]) -> frozenset[str]:
    """The words (two letters or more) written out in regular expressions: the words the patterns look for.
    Escapes, character classes, group names and comments are no words; a suffix in a group ("ing" of
    ``kill(?:ing)?``) may come out as one, which does no harm to the uses above."""
    found: set[str] = set()
    for source in sources:
        found.update(re.findall(r"[^\W\d_]{2,}", _PATTERN_NOISE.sub(" ", source)))
    return frozenset(found)
