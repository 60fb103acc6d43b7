"""Letters dressed up as other letters, read as the letters they look like.

Someone who wants a message past a filter, or a phone keyboard that switched layout in the middle of a word,
writes letters that look like the ones meant but are other characters: Cyrillic ``а`` and ``і`` inside an
English word (``і wаnt tо dіе``), a Latin ``e`` inside a Russian one (``умерeть``), letters from a styled
alphabet (``𝐝𝐢𝐞``, ``ⓓⓘⓔ``, ``🅳🅸🅴``, ``ᴅɪᴇ``, regional-indicator letters ``🇩🇮🇪``). To a person they read
as plain words; to a pattern or a word-piece tokenizer they are strangers. :func:`plain_letters` gives them
back the letters they look like, and leaves real Russian, Greek or any other script alone: a word is only
changed when it mixes scripts, or when every letter of it could be either and the nearest words beside it
are plainly in the other script. Pure: no I/O.
"""

from __future__ import annotations

import re
import unicodedata
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
    **dict(zip("aceopxy", "асеорху", strict=True)),
}
# The twins that look alike in lower case too. A whole word of them may be read in the script around it ("і"
# in "і wаnt"); "мама", "нет" and "в" hold letters that only look Latin in capitals, and stay Russian.
_LOWER_TWINS = frozenset("аеорсхуіјѕԁһԛԝӏүαικνορυχϲϳ")
# Letters from the Latin block's phonetic corners that styled-text generators use as small capitals: they
# have no compatibility mapping. (Letters with a stroke, "ı", "ł", "ø", are left to the screen's patterns:
# Turkish, Polish and Danish are written with them.)
_STYLED = dict(zip("ᴀʙᴄᴅᴇꜰɢʜɪᴊᴋʟᴍɴᴏᴘʀꜱᴛᴜᴠᴡʏᴢ", "abcdefghijklmnoprstuvwyz", strict=True))
# Invisible characters that split a word for a tokenizer and for nobody else, and the blank letters (Hangul
# fillers, the empty braille cell) used the same way. The zero-width joiner stays: it holds emoji sequences
# such as 👩‍👧 together.
_INVISIBLE = frozenset("\u200b\u200c\u2060\u2061\u2062\u2063\u2064\u00ad\ufeff\u180e\u3164\u115f\u1160\uffa0\u2800")
# ISO 3166-1 alpha-2: the pairs of regional indicators that show as a flag.
_COUNTRIES = frozenset(
    re.findall(
        r"[A-Z]{2}",
        "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV "
        "BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES "
        "ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE "
        "IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY "
        "MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU "
        "NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM "
        "SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE "
        "VG VI VN VU WF WS YE YT ZA ZM ZW EU UN XK ",
    )
)
_REGIONAL_A = 0x1F1E6  # REGIONAL INDICATOR SYMBOL LETTER A; two of them side by side make a flag
_NEGATIVE_CIRCLED_A = 0x1F150
_NEGATIVE_SQUARED_A = 0x1F170
_REGIONAL_RUN = re.compile("[\U0001f1e6-\U0001f1ff]+")
# A word, with an apostrophe inside it kept ("i'm" is one English word, not "i" and a lone "m").
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
_SUSPECT = re.compile("[^\x00-\x7f]")
# Where a styled or invisible character can be: past the Latin, Greek and Cyrillic letters people write with
# and their accents, plus the soft hyphen, the micro sign, the long s and Latin ligatures ("ĳ", "ǆ"), the
# phonetic letters (U+0250-02FF: small capitals, raised letters) and Greek symbol variants ("ϰ", "ϱ", "ϵ").
_STYLABLE = re.compile(
    "[\u00ad\u00b5\u0132\u0133\u013f\u0140\u0149\u017f\u01c4-\u01cc\u01f1-\u01f3\u0250-\u02ff"
    "\u03d0-\u03f5\u0530-\U0010ffff]"
)
_LATIN_LETTER = re.compile("[A-Za-z\u00c0-\u024f\u1e00-\u1eff]")
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
    text = _STYLABLE.sub(_styled_match, text)
    if not _TWIN_SCRIPTS.search(text) or not _LATIN_LETTER.search(text):
        return text  # one script only (Latin, or Cyrillic and Greek): no letter can stand in for another's
    return _Reading(text).resolved()


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
    if ch in _TO_LATIN:
        return ch  # a twin ("ϲ"): read with the words around it, not turned into another Greek letter
    code = ord(ch)
    for first in (_NEGATIVE_CIRCLED_A, _NEGATIVE_SQUARED_A):
        if first <= code < first + 26:
            return chr(ord("a") + code - first)
    if 0xE0000 <= code <= 0xE007F:
        return ""  # tag characters: invisible
    compatible = unicodedata.normalize("NFKC", ch)
    if len(compatible) == 3 and compatible[0] == "(" and compatible[2] == ")" and compatible[1].isascii():
        compatible = compatible[1]  # a parenthesised Latin letter, "⒦" (not "㈜", a company mark)
    # Only letters: "…" and "½" have compatibility forms too, and a reader should still see them as typed.
    # Some come out as a small capital ("ᶦ" is a raised "ɪ"), read in turn.
    return _STYLED.get(compatible, compatible) if compatible != ch and compatible.isalpha() else ch


def _regional_letters(match: re.Match[str]) -> str:
    """Regional-indicator letters as plain ones, except a run of pairs that each name a country: flags (🇩🇪,
    🇩🇪🇦🇩). "🇰🇮🇱🇱" is no row of flags (there is no country LL). The price: a word that is also a row of flags
    ("🇩🇪🇦🇩", "🇷🇴🇵🇪") stays flags; flags are far more common than words spelt in them."""
    run = match.group(0)
    codes = ["".join(chr(ord("A") + ord(ch) - _REGIONAL_A) for ch in run[at : at + 2]) for at in range(0, len(run), 2)]
    if len(run) % 2 == 0 and all(code in _COUNTRIES for code in codes):
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
    """True for a letter that, as written, could only be of its own script (no look-alike in the other)."""
    if script == LATIN:
        return _base(ch) not in _TO_CYRILLIC
    if script in (CYRILLIC, GREEK):
        base = _base(ch)
        return base not in _TO_LATIN or not (base.isupper() or base in _LOWER_TWINS)
    return False


@lru_cache(maxsize=1024)
def _base(ch: str) -> str:
    """The letter without its accents ("ї": "і", "ί": "ι")."""
    return unicodedata.normalize("NFD", ch)[0] if ch.isalpha() else ch


def _twin(ch: str, table: dict[str, str]) -> str:
    """``ch`` as its twin in ``table``, accents kept ("ї" → "ï"); unchanged when it has none."""
    if ch in table:
        return table[ch]
    decomposed = unicodedata.normalize("NFD", ch)
    if decomposed[0] in table:
        return unicodedata.normalize("NFC", table[decomposed[0]] + decomposed[1:])
    return ch


def _scripts(word: str) -> frozenset[str]:
    return frozenset(script for script in map(_script, word) if script is not None)


@lru_cache(maxsize=8192)
def _leader(word: str) -> str | None:
    """The script with strictly the most telling letters in ``word``, or None on a tie (none at all, often)."""
    counts = {LATIN: 0, CYRILLIC: 0, GREEK: 0}
    for ch in word:
        script = _script(ch)
        if script is not None and ch.isalpha() and _telling(ch, script):
            counts[script] += 1
    ranked = sorted(counts.items(), key=lambda item: item[1], reverse=True)
    return ranked[0][0] if ranked[0][1] > ranked[1][1] else None


class _Reading:
    """One message's words, each resolved into one script: its own telling letters decide, else the nearest
    words on either side that have some ("с" in "покончить с собой" stays Russian, "і" in "і wаnt" reads
    "i"), else nothing changes."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.words = list(_WORD.finditer(text))
        self.leaders = [_leader(match.group(0)) for match in self.words]
        # The nearest decided script before and after each word, in one pass each way (not a search per word:
        # a paste of a thousand undecided words must not cost a million steps).
        self.before: list[str | None] = []
        last: str | None = None
        for leader in self.leaders:
            self.before.append(last)
            last = leader or last
        self.after: list[str | None] = [None] * len(self.leaders)
        last = None
        for index in range(len(self.leaders) - 1, -1, -1):
            self.after[index] = last
            last = self.leaders[index] or last

    def resolved(self) -> str:
        pieces: list[str] = []
        end = 0
        for index, match in enumerate(self.words):
            pieces.append(self.text[end : match.start()])
            pieces.append(self.word(index))
            end = match.end()
        pieces.append(self.text[end:])
        return "".join(pieces)

    def around(self, index: int) -> str | None:
        """The script of the nearest decided words on each side, when they agree (or only one side has one)."""
        left, right = self.before[index], self.after[index]
        if left and right and left != right:
            return None
        return left or right

    def word(self, index: int) -> str:
        word = self.words[index].group(0)
        if word.isascii():
            # An English word stays; only a lone Latin twin among Russian words is read as the Russian letter
            # ("c" in "покончить c собой"): English words are typed in Russian messages ("мой ex", "ok").
            if len(word) == 1 and word in _TO_CYRILLIC and self.around(index) == CYRILLIC:
                return _TO_CYRILLIC[word]
            return word
        found = _scripts(word)
        if found <= {LATIN}:
            return word
        target = self.leaders[index]
        if target is None:
            target = self.around(index)
        elif len(found) == 1:
            return word  # a Russian or Greek word with letters only Russian or Greek has
        if target == LATIN:
            return "".join(_twin(ch, _TO_LATIN) if _script(ch) != LATIN else ch for ch in word)
        if target == CYRILLIC:
            return "".join(_twin(ch, _TO_CYRILLIC) if _script(ch) == LATIN else ch for ch in word)
        return word
