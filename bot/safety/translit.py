"""Russian typed in Latin letters ("ya ne hochu zhit", "prosti menya"), read back into Cyrillic for the
Russian patterns.

People whose phone has no Cyrillic keyboard, or who type faster without switching, write Russian in Latin
letters, each in their own way: "shch", "sch", "sh" or "w" for "щ"; "y", "i" or nothing for "ы", "й" and
"ь"; "4" for "ч". Read back letter by letter, such a message comes out close to the Cyrillic a pattern is
written in, but not equal: "zhit" is "жит", not "жить". So the patterns it is compared with are folded the
same way (:func:`fold`): without soft signs, "э" as "е", "щ" as "ш". Both sides lose
the same letters, and one Russian pattern serves both alphabets.

Only a message that reads as Russian (:func:`reads_as_latin_russian`: two of its words, or one in a short
message, are common Russian words no other language of the screen writes that way, and none is a word of
another Slavic language) is read back; an English or Spanish message never is. Letters with diacritics
("hoču", "žit") are read as their plain letters, not as Russian. Pure: no I/O.
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
        "sichas",
        "seichas",
        "shas",
        "menia",
        "menja",
        "tebia",
        "sebia",
        "tebja",
        "sebja",
    }
)
# Words of the other Slavic languages typed in Latin letters (Czech, Polish, Serbian and Croatian, Slovene,
# Bulgarian and Ukrainian transliterated), which share many of the markers ("mne", "vse", "budu", "tebe"): a
# message holding one is not read as Russian.
OTHER_SLAVIC = frozenset(
    {
        "jsem",
        "jsi",
        "jsme",
        "jste",
        "smo",
        "ste",
        "su",
        "nije",
        "sve",
        "ali",
        "kod",
        "jest",
        "nie",
        "sie",
        "czy",
        "jak",
        "shcho",
        "vzhe",
        "shte",
        "gi",
        "kao",
        "jako",
        "taky",
        "tudi",
        "zelo",
        "ker",
        "bych",
        "jsou",
        "zapiski",
        "zapiskite",
    }
)
_NEEDED_MARKERS = 2
# A short message ("hochu umeret", "prosti menya") shows few words of any kind: one marker is enough there.
_SHORT_WORDS = 6
# Whole words typed in ways no letter-by-letter reading gets back.
_WORDS = {
    "shto": "что",
    "sho": "что",
    "cho": "что",
    "4to": "что",
    "sevodnya": "сегодня",
    "sivodnya": "сегодня",
    "sevodnja": "сегодня",
    "nichevo": "ничего",
    "shas": "сеичас",
    "sichas": "сеичас",
    "uje": "уже",
    "toje": "тоже",
    "pojaluista": "пожалуиста",
    "pojalujsta": "пожалуиста",
    "mojno": "можно",
    "nujno": "нужно",
    "mejdu": "между",
    "vajno": "важно",
    "ujas": "ужас",
    "ujasno": "ужасно",
    "nadejda": "надежда",
    "kajdyi": "каждыи",
    "kajdiy": "каждыи",
    "kajdyj": "каждыи",
    "bolnitsa": "болница",
    "ulitsa": "улица",
}
_CYRILLIC = re.compile("[\u0400-\u04ff]")
# A word typed in Latin letters (a "4" may stand for "ч", an apostrophe for a soft sign).
_LATIN_WORD = re.compile(r"(?=[4']*[a-z])[a-z4']+")  # one pass: no backtracking on a long token
# Longest first, so "shch" is one letter, not "sh" + "ch". "tsya" is a verb's "-тся" ("porezatsya": "порезаться");
# "ts" elsewhere "ц" ("otets": "отец"), unless read as "тс" first (_TS_BEFORE_CONSONANT, _VERB_END).
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
# "ts" is "тс" before a consonant ("detstve": "детстве"); a verb's "-tsa", "-tca" after a vowel is "-тся"
# ("povesitsa"), in a word long enough not to be "otsa" (отца).
_TS_BEFORE_CONSONANT = re.compile(r"(?<=\w)ts(?=[bcdfghjklmnpqrstvwxz])")  # not "tsvety" (цветы)
_VERB_END = re.compile(r"(?<=\w{3}[aeiouy])(?:ts|tc)a$")
_Y_AFTER_VOWEL = re.compile(r"(?<=[aeiouy])y(?![aeou])")
# "ia", "iu", "io" after a consonant are "я", "ю", "ё" ("menia", "sebia", "vsio"; a few words such as "seriale"
# come out wrong, "серяле"). "j" before "i" or a consonant is "ж" at a word's start or after a consonant ("jit",
# "jgu"), and "й" after a vowel ("vyjdu", "proshchajte", "sejchas"); the common words with "ж" after a vowel
# ("mojno", "nujno") are in :data:`_WORDS`.
_I_AS_SOFT = re.compile(r"(?<=[bcdfghklmnprstvwxz])i([aou])")
_SOFT_VOWELS = {"a": "я", "u": "ю", "o": "е"}
_J_AS_ZH = re.compile(r"(?<![aeiouy])j(?=[ibcdfghjklmnpqrstvwxz])")
# Not "ы" as "и": "была" (was) and "била" (hit) must stay apart.
# Nor the hard sign dropped: "съел" (ate) and "сел" (sat down) must stay apart too.
_FOLD = str.maketrans({"ь": None, "э": "е", "щ": "ш", "ё": "е", "й": "и"})


def fold(text: str) -> str:
    """``text`` (Cyrillic, or a Russian pattern's source) without the letters Latin typing blurs: no soft
    sign, "э" and "ё" as "е", "щ" and "сч" as "ш" (Latin "sch" spells both: "ischeznut", "schitayu"), "й" as
    "и". Only Cyrillic letters change, so a regular expression's syntax is untouched."""
    return text.translate(_FOLD).replace("сч", "ш")


def reads_as_latin_russian(normal: str) -> bool:
    """Whether ``normal`` text (as the screen reads it) is Russian typed in Latin letters: no Cyrillic letter,
    no word of :data:`OTHER_SLAVIC`, and at least two different words of :data:`MARKERS` (one in a message of
    a few words), an apostrophe for a soft sign or not ("zhit'")."""
    if _CYRILLIC.search(normal):
        return False
    words = [word.replace("'", "") for word in normal.split() if any(character.isalpha() for character in word)]
    if any(word in OTHER_SLAVIC for word in words):
        return False
    found = {word for word in words if word in MARKERS}
    needed = 1 if len(words) <= _SHORT_WORDS else _NEEDED_MARKERS
    return len(found) >= needed


def to_cyrillic(plain: str) -> str:
    """``plain`` text (normalised without the English spellings, which would read "u" as "you") with each
    word in Latin letters read back into Cyrillic, folded (:func:`fold`); the other words, numbers and marks
    as they were."""
    return " ".join(_word_to_cyrillic(word) if _LATIN_WORD.fullmatch(word) else word for word in plain.split())


def _word_to_cyrillic(word: str) -> str:
    whole = _WORDS.get(word.replace("'", ""))
    if whole is not None:
        return whole
    word = _TS_BEFORE_CONSONANT.sub("тс", _VERB_END.sub("тся", word))
    word = _J_AS_ZH.sub("ж", _I_AS_SOFT.sub(lambda found: _SOFT_VOWELS[found.group(1)], _Y_AFTER_VOWEL.sub("и", word)))
    return fold("".join(_READ.get(piece, piece) for piece in _SPELLING.findall(word)))
