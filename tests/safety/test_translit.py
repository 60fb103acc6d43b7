"""Russian typed in Latin letters, read back into Cyrillic for the Russian patterns (bot.safety.translit)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.safety import Safety, load_safety, normalise
from bot.safety.assessment import Level
from bot.safety.screen import LATIN_READ_AS, folded
from bot.safety.translit import fold, reads_as_latin_russian, to_cyrillic

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def safety() -> Safety:
    return load_safety(ROOT / "conversations")


@pytest.mark.parametrize(
    ("latin", "cyrillic"),
    [
        ("ya ne hochu zhit", "я не хочу жит"),
        ("soobshchenie", "сообшение"),
        ("soobshenie", "сообшение"),  # "sh" for "щ": both fold to "ш"
        ("lu4she", "лучше"),
        ("porezatsya", "порезатся"),  # the "тс" of a verb, not "ц"
        ("otets", "отец"),
        ("posledniy", "последнии"),  # "й" as the normaliser reads it
        ("kotoryi", "которыи"),
        ("byla", "была"),  # "ы" kept: "была" (was) is not "била" (hit)
        ("moya", "моя"),
        ("lyublyu", "люблю"),
        ("ub'yu", "убю"),
        ("zhit'", "жит"),
        ("eto", "ето"),
        ("vyjdu", "выиду"),  # "j" after a vowel: "й"
        ("jgu", "жгу"),  # "j" at the start, before a consonant: "ж"
        ("mojno", "можно"),  # a common word with "ж" after a vowel
        ("tsvety", "цветы"),  # "ts" at a word's start: "ц"
        ("ischeznut", "ишезнут"),  # "sch" and "щ" fold alike, as "сч" does in the patterns
    ],
)
def test_latin_words_read_back_as_the_folded_cyrillic(latin: str, cyrillic: str) -> None:
    assert to_cyrillic(latin) == cyrillic


def test_numbers_marks_and_other_scripts_are_left_as_they_were() -> None:
    assert to_cyrillic("v 2019 , мама 🙂 !") == "в 2019 , мама 🙂 !"


def test_fold_drops_what_latin_typing_blurs_and_keeps_what_it_does_not() -> None:
    assert fold("жить больше щётка это мой") == "жит болше шетка ето мои"
    assert fold("съел была") == "съел была"  # the hard sign and "ы" tell words apart ("сел", "била")
    assert fold(r"\bжить\b(?! сегодня)") == r"\bжит\b(?! сегодня)"  # a regular expression's syntax untouched


@pytest.mark.parametrize(
    "text",
    [
        "ya ne hochu bolshe zhit",
        "prosti menya, mne ochen stydno",
        "eto moe poslednee soobshchenie vsem",
    ],
)
def test_russian_in_latin_letters_is_recognised(text: str) -> None:
    assert reads_as_latin_russian(normalise(text, {}))


@pytest.mark.parametrize(
    "text",
    [
        "ya no puedo más, ya me voy",  # Spanish "ya" is no Russian word here
        "ne t'inquiète pas, je vais bien",
        "da ist nichts mehr, ne",
        "my mom is on the net all day",
        "thanks a lot, spasibo for the lovely gift and the card!",  # one Russian word in a longer English message
        "vcera jsem byla doma, mne je zle a vse me boli",  # Czech: words of another Slavic language
        "ja sam bila kod kuce, sve je ok",  # Serbian
        "это последнее сообщение от меня, prosti menya",  # Cyrillic: the Russian patterns read it as written
    ],
)
def test_other_languages_and_cyrillic_are_not_read_back(text: str) -> None:
    assert not reads_as_latin_russian(normalise(text, {}))


@pytest.mark.parametrize(
    "said",
    [
        "Privet, eto poslednee soobshchenie ot menya. Parol ot noutbuka tvoj den rozhdeniya",
        "mne kazhetsya ya skoro sebya ub'yu, chestno",
        "ya tak ustal zhit, zachem voobshche vse eto",
        "otchim opyat napilsya i skazal chto ubyot menya i mamu",
        "spasibo za vse. ty byla samym lu4shim chto so mnoj slu4ilos. prosti menya",
        "mne nado sdelat sebe bolno chtoby uspokoitsya",
        # spellings the review found: "ia" for "я", "j" for "ж", "-tsa" for "-ться", "uje", one marker in a few words
        "vsem budet lu4she bez menia",
        "ya ustala jit'",
        "hochu povesitsa",
        "kogda menya uje ne budet",
        "xochu umeret'",
        # after the code review: "j" for "й" after a vowel, "sch" for "сч", punctuation is no word, "sam" is Russian
        "vsem proshchajte navsegda",
        "prosto hochu ischeznut",
        "ya seichas vyprygnu iz okna, prosti",
        "ya sam sebya ub'yu segodnya",
    ],
)
def test_russian_in_latin_letters_reaches_the_russian_patterns(safety: Safety, said: str) -> None:
    verdict = safety.screen.verdict(said)
    assert verdict.level is Level.POSSIBLE  # a reading back is a guess: the question, never the full reply alone
    assert verdict.language == LATIN_READ_AS
    assert not verdict.kept  # the readers may weigh it


def test_a_latin_pattern_still_sends_the_full_reply(safety: Safety) -> None:
    assert safety.screen.verdict("ya hochu umeret, ne shuchu").level is Level.CLEAR


@pytest.mark.parametrize(
    "said",
    [
        "u menya byla depressiya v 2019, seichas vse horosho, rabotayu i splyu normalno",  # "была", not "била"
        "vecherom sel i vypisal vse voprosy kotorye zadavali, budu gotovitsya",  # "сел", not "съел"
        "zavtra ekzamen, ya ustala, no uzhe pochti vse vyuchila",
        "otdala vse detskie veshi podruge, mne oni uzhe ne nuzhny",  # "детские": "ts" before a consonant
    ],
)
def test_everyday_russian_in_latin_letters_is_left_alone(safety: Safety, said: str) -> None:
    assert safety.screen.verdict(said).level is Level.NONE


def test_a_message_read_back_is_flagged_as_its_cyrillic_twin_is(safety: Safety) -> None:
    latin = safety.screen.verdict("mne nado porezatsya, tolko eto pomogaet")
    cyrillic = safety.screen.verdict("мне надо порезаться, только это помогает")
    assert (latin.level, latin.language) == (cyrillic.level, cyrillic.language)


def test_every_russian_pattern_still_compiles_folded(safety: Safety) -> None:
    russian = safety.screen.languages[LATIN_READ_AS]
    for patterns in (russian.benign, russian.risk, russian.possible):
        for before, after in zip(patterns, folded(patterns), strict=True):
            # Folded where it holds a letter to fold; never left as written because folding broke it.
            assert after.regex.pattern == fold(before.regex.pattern)
