"""The disguises screen-eval can measure the screen against: stable, varied, and each one undone by the screen's
own reading of letters where the words are ones it knows."""

from __future__ import annotations

from collections import Counter

from bot.safety.disguise import KINDS, disguise, disguised, kind_of
from bot.safety.evaluation import Labelled
from bot.safety.lookalike import plain_letters
from bot.safety.normal import normalise

MESSAGES = [f"message {n}: i want to kill myself, nobody would notice" for n in range(200)]


def test_the_same_text_is_always_disguised_the_same_way() -> None:
    assert [disguise(text) for text in MESSAGES] == [disguise(text) for text in MESSAGES]


def test_every_message_is_changed_and_every_kind_is_used() -> None:
    changed = [disguise(text) for text in MESSAGES]
    assert all(new != old for new, old in zip(changed, MESSAGES, strict=True))
    kinds = Counter(kind_of(text) for text in MESSAGES)
    assert set(kinds) == set(KINDS)
    assert min(kinds.values()) >= 20


def test_a_disguised_message_keeps_its_label_and_category() -> None:
    message = Labelled("i took every pill in the house", "risk", "overdose")
    again = disguised(message)
    assert (again.label, again.category) == ("risk", "overdose")
    assert again.text != message.text


def test_a_russian_message_gets_latin_twins_not_a_styled_alphabet() -> None:
    texts = [f"не хочу больше жить, номер {n}" for n in range(100)]
    for text in [text for text in texts if kind_of(text) in KINDS[:2]]:
        changed = disguise(text)
        assert all(not ("\U0001f100" <= ch <= "\U0001f1ff") for ch in changed)
        assert plain_letters(changed) == text


def test_letters_from_another_script_and_styled_alphabets_read_back_as_written() -> None:
    for text in [text for text in MESSAGES if kind_of(text) in KINDS[:2]]:
        assert normalise(disguise(text), {}) == normalise(text, {})
