"""Russian typed in Latin letters ("ya ne hochu zhit", "prosti menya"), read back into Cyrillic for the
Russian patterns.

People whose phone has no Cyrillic keyboard, or who type faster without switching, write Russian in Latin
letters, each in their own way: "shch", "sch", "sh" or "w" for "щ"; "y", "i" or nothing for "ы", "й" and
"ь"; "4" for "ч". Read back letter by letter, such a message comes out close to the Cyrillic a pattern is
written in, but not equal: "zhit" is "жит", not "жить". So the patterns it is compared with are folded the
same way (:func:`fold`): without soft signs, "э" as "е", "щ" as "ш". Both sides lose
the same letters, and one Russian pattern serves both alphabets.

Only a message that reads as Russian (:func:`reads_as_latin_russian`: two of its words are common Russian
words no other language of the screen writes that way) is read back; an English or Spanish message never
is. Pure: no I/O.
"""

from __future__ import annotations

import re

# Common Russian words as people type them in Latin letters, none of them a word in English, German, Spanish,
# French or Portuguese ("ya", "ne", "da", "net", "on", "my" and "ty" are, so they are left out).
MARKERS = frozenset(
    {
        "menya",
        "mne",
        "mnoi",
        "mnoj",
        "mnoy",
        "tebya",
        "tebe",
        "sebya",
        "sebe",
        "eto",
        "etot",
        "chto",
        "shto",
        "4to",
        "uzhe",
        "uje",
        "vse",
        "vsyo",
        "vsio",
        "vsem",
        "vsex",
        "vsekh",
        "vseh",
        "bolshe",
        "nichego",
        "nicho",
        "nikto",
        "nikomu",
        "nikogda",
        "segodnya",
        "sevodnya",
        "zavtra",
        "vchera",
        "prosti",
        "prostite",
        "spasibo",
        "hochu",
        "khochu",
        "xochu",
        "ho4u",
        "budet",
        "budu",
        "prosto",
        "voobshche",
        "voobshe",
        "vobshe",
        "vabshe",
        "tolko",
        "kogda",
        "esli",
        "yesli",
        "pochemu",
        "zachem",
        "mozhno",
        "mozhet",
        "teper",
        "seychas",
        "sejchas",
        "sechas",
        "ochen",
        "zhit",
        "zhizn",
        "umeret",
        "ustal",
        "ustala",
        "rebyata",
        "pozhaluista",
        "pozhalujsta",
        "pojaluista",
        "blin",
        "kak-to",
        "potomu",
        "tozhe",
        "toje",
        "skazal",
        "skazala",
        "govorit",
        "znayu",
        "znaju",
        "dumayu",
        "dumaju",
    }
)
_NEEDED_MARKERS = 2
_CYRILLIC = re.compile("[\u0400-\u04ff]")
# A word typed in Latin letters (a "4" may stand for "ч", an apostrophe for a soft sign).
_LATIN_WORD = re.compile(r"[a-z4']*[a-z][a-z4']*")
# Longest first, so "shch" is one letter, not "sh" + "ch". "ts" before "ya" or "a" at a word's end is the "тс"
# of a verb ("porezatsya": "порезаться"); elsewhere "ц" ("otets": "отец").
_SPELLINGS = (
    ("shch", "щ"),
    ("sch", "щ"),
    ("tsya", "тся"),
    ("tsja", "тся"),
    ("sh", "ш"),
    ("ch", "ч"),
    ("zh", "ж"),
    ("kh", "х"),
    ("ts", "ц"),
    ("tz", "ц"),
    ("yo", "е"),
    ("jo", "е"),
    ("ye", "е"),
    ("je", "е"),
    ("yu", "ю"),
    ("ju", "ю"),
    ("ya", "я"),
    ("ja", "я"),
)
_LETTERS = {
    "a": "а",
    "b": "б",
    "v": "в",
    "g": "г",
    "d": "д",
    "e": "е",
    "z": "з",
    "i": "и",
    "y": "ы",  # after a vowel "й" (:data:`_Y_AFTER_VOWEL`), which the normaliser reads as "и"
    "j": "и",
    "k": "к",
    "l": "л",
    "m": "м",
    "n": "н",
    "o": "о",
    "p": "п",
    "r": "р",
    "s": "с",
    "t": "т",
    "u": "у",
    "f": "ф",
    "h": "х",
    "x": "х",
    "c": "ц",
    "q": "к",
    "w": "ш",
    "4": "ч",
    "'": "",  # a soft sign, which fold drops (or a hard one, rarer)
}
_SPELLING = re.compile("|".join(re.escape(latin) for latin, _ in _SPELLINGS) + "|.", re.DOTALL)
_READ = dict(_SPELLINGS) | _LETTERS
_TS_AT_END = re.compile(r"ts(?=a\b)")
_Y_AFTER_VOWEL = re.compile(r"(?<=[aeiouy])y(?![aeou])")
# Not "ы" as "и": "была" (was) and "била" (hit) must stay apart.
# Nor the hard sign dropped: "съел" (ate) and "сел" (sat down) must stay apart too.
_FOLD = str.maketrans({"ь": None, "э": "е", "щ": "ш", "ё": "е", "й": "и"})


def fold(text: str) -> str:
    """``text`` (Cyrillic, or a Russian pattern's source) without the letters Latin typing blurs: no soft
    sign, "э" and "ё" as "е", "щ" as "ш", "й" as "и". Only Cyrillic letters change, so a regular
    expression's syntax is untouched."""
    return text.translate(_FOLD)


def reads_as_latin_russian(normal: str) -> bool:
    """Whether ``normal`` text (as the screen reads it) is Russian typed in Latin letters: no Cyrillic letter,
    and at least two different words of :data:`MARKERS`."""
    if _CYRILLIC.search(normal):
        return False
    found = {word for word in normal.split() if word in MARKERS}
    return len(found) >= _NEEDED_MARKERS


def to_cyrillic(plain: str) -> str:
    """``plain`` text (normalised without the English spellings, which would read "u" as "you") with each
    word in Latin letters read back into Cyrillic, folded (:func:`fold`); the other words, numbers and marks
    as they were."""
    return " ".join(_word_to_cyrillic(word) if _LATIN_WORD.fullmatch(word) else word for word in plain.split())


def _word_to_cyrillic(word: str) -> str:
    word = _Y_AFTER_VOWEL.sub("и", _TS_AT_END.sub("тс", word))
    return fold("".join(_READ.get(piece, piece) for piece in _SPELLING.findall(word)))
