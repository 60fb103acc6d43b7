"""Letters dressed up as other letters are read as the letters they look like; real scripts are left alone."""

from __future__ import annotations

import pytest

from bot.safety.lookalike import plain_letters


@pytest.mark.parametrize(
    ("written", "read"),
    [
        # Cyrillic twins inside English words, and a word made only of twins in an English message.
        ("і wаnt tо dіе", "i want to die"),
        ("I WАNT TO KІLL MYSЕLF", "I WANT TO KILL MYSELF"),
        # Greek twins the same way.
        ("ι ωαnt tο diε", "i want to die"),
        # A Latin letter inside a Russian word (a keyboard layout switched mid-word, or on purpose).
        ("хочу умерeть", "хочу умереть"),
        ("я хoчу пoкoнчить с сoбoй", "я хочу покончить с собой"),
        # Styled alphabets: mathematical, fullwidth, circled, squared, negative squared and circled,
        # superscript, small capitals, letters with a stroke.
        ("𝐢 𝐰𝐚𝐧𝐭 𝐭𝐨 𝐝𝐢𝐞", "i want to die"),
        ("𝘥𝘪𝘦", "die"),
        ("ｄｉｅ", "die"),
        ("ⓓⓘⓔ", "die"),
        ("🄳🄸🄴", "DIE"),
        ("🅳🅸🅴", "die"),
        ("🅓🅘🅔", "die"),
        ("ᵈⁱᵉ", "die"),
        ("ᴅɪᴇ", "die"),
        ("ᶦ ʷᵃⁿᵗ ᵗᵒ ᵏᶦˡˡ ᵐʸˢᵉˡᶠ", "i want to kill myself"),
        # Accented twins keep their accent (the screen drops it later).
        ("kїll mуsеlf", "kïll myself"),
        ("dίe", "díe"),
        # Regional-indicator letters, run together (and naming no row of flags) or kept apart by a zero-width
        # space; parenthesised letters.
        ("🇩🇮🇪", "die"),
        ("🇰🇮🇱🇱", "kill"),
        ("⒦⒤⒧⒧", "kill"),
        # Greek symbol variants.
        ("ϰill", "kill"),
        ("ϲut myself", "cut myself"),
        ("🇰\u200b🇲\u200b🇸", "kms"),
        # Invisible characters inside a word.
        ("su\u200bici\u00adde", "suicide"),
    ],
)
def test_dressed_up_letters_are_read_as_the_letters_they_look_like(written: str, read: str) -> None:
    assert plain_letters(written) == read


@pytest.mark.parametrize(
    "written",
    [
        "я больше не хочу жить, мама",  # Russian, including words made only of letters with Latin twins
        "а он сказал: всё, хватит",
        "θέλω να πάω σπίτι",  # Greek
        "my babushka always said хорошо",  # a Russian word in an English message
        "tried the new café, it was ok",
        "moved to 🇩🇪 last year, miss 🇧🇷 a lot",  # flags
        "wait… it costs ½ of what I thought",  # compatibility forms that are not letters
        "fechei-me no 2º andar, 1ª vez",  # ordinals
        "日本に行きたい",
        "plain ascii stays exactly as typed!!",
        "👩\u200d👧 my girl and me",  # the zero-width joiner of an emoji sequence
        "road trip 🇩🇪🇦🇩🇱🇮 next summer",  # flags side by side
        "he said 'нет', I miss my мама",  # Russian words in an English message
        "Встреча в 5pm, ok?",  # an English word in a Russian message
        "I'm going to покончить с собой",
        "artık yaşamak istemiyorum",  # letters with a stroke belong to Turkish, Polish, Danish
        "želim da se ubijem, đubre sam",
        "㈜삼성 주가",  # a parenthesised Hangul company mark
    ],
)
def test_real_scripts_flags_and_punctuation_are_left_alone(written: str) -> None:
    assert plain_letters(written) == written


def test_a_message_of_twins_alone_is_left_as_it_is() -> None:
    # "сор" could be Latin "cop" or Russian "сор" (litter): with nothing else to go by, it stays as typed.
    assert plain_letters("сор") == "сор"
    assert plain_letters("а") == "а"


def test_english_words_typed_in_a_russian_message_stay_english() -> None:
    assert plain_letters("i'm done, серьезно. ничего не имеет смысла") == "i'm done, серьезно. ничего не имеет смысла"
    assert plain_letters("мой ex опять пришёл, ok") == "мой ex опять пришёл, ok"
    # A lone Latin twin of a Russian one-letter word is read as that word ("c" for "с").
    assert plain_letters("хочу покончить c собой") == "хочу покончить с собой"
