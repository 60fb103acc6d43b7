"""Reading typed replies against options: numbers in any script, labels, words in a sentence, one typo,
emoji, other words an option lists, and the strict reading a destructive choice gets. Pure and synchronous."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.engine import choices_of
from bot.flows.catalog import Catalog
from bot.flows.model import ChoiceStep
from bot.flows.texts import Texts
from bot.matching import (
    Choice,
    Mode,
    NoMatch,
    Picked,
    Several,
    Words,
    ascii_digits,
    fold,
    one_typo,
    read_choice,
    read_number,
    reads_like_setback,
    word_list,
    words_of,
)


@pytest.fixture(scope="module")
def words(texts: Texts) -> Words:
    return words_of(texts)


@pytest.fixture(scope="module")
def feelings(catalog: Catalog) -> list[Choice]:
    step = catalog.flows["setback"].step("feeling")
    assert isinstance(step, ChoiceStep)
    return choices_of(step)


@pytest.fixture(scope="module")
def outcomes(catalog: Catalog) -> list[Choice]:
    step = catalog.flows["checkin"].step("how_it_went")
    assert isinstance(step, ChoiceStep)
    return choices_of(step)


@pytest.mark.parametrize(
    ("typed", "picked"),
    [
        ("4", "ashamed"),
        ("four", "ashamed"),
        ("the fourth one", "ashamed"),
        ("٤", "ashamed"),  # an Arabic-Indic digit
        ("４", "ashamed"),  # a full-width digit
        ("²", "frustrated"),  # a superscript two is still two
        ("Ashamed", "ashamed"),
        ("ASHAMED", "ashamed"),
        ("ashamed i guess", "ashamed"),
        ("ashamd", "ashamed"),  # one letter dropped
        ("sahamed", None),  # the first letter wrong: not read as a typo
        ("😳", "ashamed"),
        ("😳😳", "ashamed"),
        ("PISSED", "angry"),
        ("Ángry", "angry"),  # accents ignored
        ("i'm so frustrated with myself", "frustrated"),
        ("mostly frustration", "frustrated"),  # another ending of the same word
        ("i feel let down", "disappointed"),  # the phrase, not "down" (sad)
        ("not angry, just sad", "sad"),
        ("not really angry", None),
        ("it's all of them", "mixed"),
        ("sorry", None),  # not a typo of "worry"
        ("i don't know", None),
        ("", None),
        ("9", None),
    ],
)
def test_a_feeling_is_read_from_what_people_type(
    feelings: list[Choice], words: Words, typed: str, picked: str | None
) -> None:
    reading = read_choice(typed, feelings, words)
    assert reading == (Picked((picked,)) if picked else NoMatch())


@pytest.mark.parametrize(
    ("typed", "named"),
    [
        ("frustrated and sad", ("frustrated", "sad")),
        ("a mix of anxious, ashamed, and angry", ("anxious", "ashamed", "angry", "mixed")),
        ("😤😢", ("frustrated", "sad")),
        ("2 and 5", ("frustrated", "sad")),
    ],
)
def test_naming_several_feelings_at_a_one_answer_question_is_several(
    feelings: list[Choice], words: Words, typed: str, named: tuple[str, ...]
) -> None:
    assert read_choice(typed, feelings, words) == Several(named)


def test_a_pick_several_question_takes_every_option_named_in_their_order(feelings: list[Choice], words: Words) -> None:
    assert read_choice("sad and frustrated", feelings, words, multiple=True) == Picked(("frustrated", "sad"))
    assert read_choice("5, 2", feelings, words, multiple=True) == Picked(("frustrated", "sad"))
    assert read_choice("2, 99", feelings, words, multiple=True) == NoMatch()


@pytest.mark.parametrize(
    ("typed", "picked"),
    [
        ("done", "done"),
        ("✅", "done"),
        ("yes i did it", "done"),
        ("not yet", "not_yet"),
        ("i haven't done it yet", "not_yet"),  # "done" is denied; "yet" and "havent" say not yet
        ("nope", "not_yet"),
        ("kind of", "partly"),
        ("🌓", "partly"),
        ("not_yet", "not_yet"),  # the value itself
    ],
)
def test_how_the_next_step_went_is_read_too(outcomes: list[Choice], words: Words, typed: str, picked: str) -> None:
    assert read_choice(typed, outcomes, words) == Picked((picked,))


@pytest.mark.parametrize(
    "typed",
    ["I did not", "i did not do it", "I did not finish", "I did nothing", "nothing done", "no, i did not"],
)
def test_a_denied_done_is_never_read_as_done(outcomes: list[Choice], words: Words, typed: str) -> None:
    # A negation after the words ("i did" not) denies them too, and "did not" still names Not yet.
    assert read_choice(typed, outcomes, words) == Picked(("not_yet",))


@pytest.mark.parametrize("typed", ["done", "i did it", "yes i did", "i did, finished it"])
def test_done_in_words_is_still_done(outcomes: list[Choice], words: Words, typed: str) -> None:
    assert read_choice(typed, outcomes, words) == Picked(("done",))


def test_a_yes_and_a_no_in_one_reply_asks_which(outcomes: list[Choice], words: Words) -> None:
    assert read_choice("yes i did it, then i didnt", outcomes, words) == Several(("done", "not_yet"))


def test_a_negation_before_another_option_denies_only_that_one(feelings: list[Choice], words: Words) -> None:
    assert read_choice("sad not angry", feelings, words) == Picked(("sad",))


FORGET = [
    Choice("forget:yes", "Yes, delete everything", ("yes", "yes please", "delete everything"), value_typed=False),
    Choice("forget:no", "No, keep it", ("no", "keep", "keep it"), value_typed=False),
]


@pytest.mark.parametrize(
    ("typed", "reading"),
    [
        ("yes", Picked(("forget:yes",))),
        ("Yes!", Picked(("forget:yes",))),
        ("yes, delete everything", Picked(("forget:yes",))),
        ("1", Picked(("forget:yes",))),
        ("no", Picked(("forget:no",))),
        ("yes?", NoMatch()),  # a question is not a yes
        ("yse", NoMatch()),  # no typo allowed when it deletes
        ("yes but not my check-ins", NoMatch()),
        ("i guess yes", NoMatch()),
        ("1, 2", NoMatch()),
        ("sure", NoMatch()),
        ("yes, yes please", Picked(("forget:yes",))),  # nothing but yes
        ("yes no", NoMatch()),
    ],
)
def test_a_destructive_choice_reads_only_an_unambiguous_answer(words: Words, typed: str, reading: object) -> None:
    assert read_choice(typed, FORGET, words, mode=Mode.STRICT) == reading


def test_without_numbers_a_digit_belongs_to_something_else(words: Words) -> None:
    assert read_choice("1", FORGET, words, mode=Mode.STRICT, numbers=False) == NoMatch()


PERIODS = [
    Choice("lessons:del:7", "🗑 1", value_typed=False),
    Choice("lessons:week:1", "This week", value_typed=False),
    Choice("lessons:month:1", "This month", value_typed=False),
    Choice("lessons:all:1", "All time", value_typed=False),
]


@pytest.mark.parametrize(
    ("typed", "reading", "mode"),
    [
        ("this week", Picked(("lessons:week:1",)), Mode.FULL),
        ("week", Picked(("lessons:week:1",)), Mode.FULL),
        ("all time", Picked(("lessons:all:1",)), Mode.FULL),
        ("This Mnth", Picked(("lessons:month:1",)), Mode.FULL),  # one typo in the label
        ("1", Picked(("lessons:del:7",)), Mode.FULL),  # the label "🗑 1" itself
        ("3", Picked(("lessons:month:1",)), Mode.FULL),  # the third button
        ("this week", Picked(("lessons:week:1",)), Mode.WHOLE),
        ("3", NoMatch(), Mode.WHOLE),  # while a flow waits, a number is its answer
        ("it was a hard week", NoMatch(), Mode.WHOLE),
    ],
)
def test_menu_labels_are_read_whole_or_by_their_own_words(
    words: Words, typed: str, reading: object, mode: Mode
) -> None:
    assert read_choice(typed, PERIODS, words, mode=mode) == reading


def test_a_long_message_to_a_menu_is_not_read_for_one_of_its_words(words: Words) -> None:
    long = "this week was awful and i keep thinking about the exam all the time"
    assert read_choice(long, PERIODS, words, sentence_limit=6) == NoMatch()
    assert read_choice("show me this week", PERIODS, words, sentence_limit=6) == Picked(("lessons:week:1",))


@pytest.mark.parametrize(
    ("typed", "number"),
    [
        ("7", 7),
        ("eight", 8),
        ("Eight", 8),
        ("٣", 3),
        ("²", 2),
        ("７/10", 7),
        ("8 out of 10", 8),
        ("i'd say 6", 6),
        ("a solid 7.", 7),
        ("zero", 0),
        ("overwhelming", 10),  # the label of the top of the scale
        ("barely there", 0),
        ("7.5", None),
        ("7-8", None),
        ("6 or 7", None),
        ("11", None),
        ("eleven", None),
        ("-1", None),
        ("", None),
        ("9" * 5000, None),
        ("٣" * 5000, None),
        ("\ud800", None),
    ],
)
def test_a_scale_reads_one_whole_number_in_range(words: Words, typed: str, number: int | None) -> None:
    assert read_number(typed, 0, 10, words, "barely there", "overwhelming") == number


@pytest.mark.parametrize(
    ("typed", "number"),
    [
        ("no one cares", None),
        ("it's one of the worst days", None),
        ("It's been two weeks and still bad", None),
        ("4/5", None),  # out of 5 is another scale
        ("4 out of 5", None),
        ("four out of five", None),
        ("seven out of 10", 7),
        ("seven out of ten", 7),
        ("about a seven", 7),
        ("maybe six", 6),
        ("i'd say eight", 8),
        ("Eight.", 8),
        ("7/10", 7),
        ("a mood of 6", 6),
    ],
)
def test_a_number_word_answers_a_scale_only_as_the_whole_reply(words: Words, typed: str, number: int | None) -> None:
    assert read_number(typed, 0, 10, words) == number


def test_a_fraction_answers_a_scale_only_out_of_its_top(words: Words) -> None:
    assert read_number("4/5", 1, 5, words) == 4
    assert read_number("4/10", 1, 5, words) is None
    assert read_number("four out of five", -5, 10, words) is None


def test_a_scale_with_negative_numbers_reads_the_sign(words: Words) -> None:
    assert read_number("-3", -5, 5, words) == -3
    assert read_number("ok - 3", -5, 5, words) == 3


@pytest.mark.parametrize(
    ("typed", "word", "close"),
    [
        ("ashamd", "ashamed", True),
        ("asahmed", "ashamed", True),  # two neighbours swapped
        ("ashamedd", "ashamed", True),
        ("ashxmed", "ashamed", True),
        ("shamed", "ashamed", False),  # the first letter
        ("asamd", "ashamed", False),  # two typos
        ("09 00", "08 00", False),  # a digit is never a typo
    ],
)
def test_one_typo_is_one_letter(typed: str, word: str, close: bool) -> None:
    assert one_typo(typed, word) is close


def test_folding_gives_one_spelling(words: Words) -> None:
    assert fold("  Don’t   PANIC!! ") == "dont panic"
    assert fold("Café ²٣") == "cafe 23"
    assert ascii_digits("٣:٣٠ and ²") == "3:30 and 2"
    assert word_list("Yes, , Ok ,  Let's go") == ("yes", "ok", "lets go")


@pytest.mark.parametrize(
    ("text", "setback"),
    [
        ("i failed my nclex again", True),
        ("i messed up again", True),
        ("I had an awful day", True),
        ("My presentation didn't go well", True),
        # The words people use on a phone for failing or for a hard time, not only the textbook ones.
        ("ugh totally bombed my driving test", True),
        ("pitch tanked in front of the whole team", True),
        ("kinda choked in the final round lol", True),
        ("i f*cked up. fucked up big time", True),
        ("so stressed i cant focus on anything", True),
        ("feeling really down and lonely since the breakup", True),
        ("had a rough week tbh", True),
        ("i'm so burnt out from uni", True),
        ("didn't get the job. again", True),
        ("i couldnt stop crying after", True),
        ("why do i always fail?", True),  # a question, but about them, not the bot
        ("hello", False),
        ("how do i quit this?", False),
        ("had a great day, thanks!", False),
        ("can you remind me tomorrow", False),
        # Alarming-sounding words in good news, negated, or in a question to the bot are no setback.
        ("thanks, I crushed it today!", False),
        ("mind blown, this is great", False),
        ("the presentation was a bomb, everyone loved it", False),
        ("not sad anymore, thanks!", False),
        ("not at all stressed today", False),
        ("i'm not feeling sad, just bored", False),
        ("I didn't get a check-in yesterday", False),
        ("how do I quit my check-ins?", False),
        ("can this help with stress and anxiety?", False),
        ("is this bot for depression?", False),
        ("do you remember what i said about my awful week?", False),
        ("thanks!", False),
        ("how does this work?", False),
        ("", False),
    ],
)
def test_a_message_reads_like_a_setback_by_its_words(words: Words, text: str, setback: bool) -> None:
    assert reads_like_setback(text, words) is setback


numbers_in_any_script = st.builds(
    lambda digit, count: digit * count,
    st.characters(categories=["Nd", "No"]),
    st.integers(min_value=1, max_value=6000),
)
# Any character, lone surrogates (half of a character, as a broken client can send) included.
any_text = st.text(alphabet=st.one_of(st.characters(), st.characters(categories=["Cs"])), max_size=300)


@settings(max_examples=300, deadline=None)
@given(typed=st.one_of(numbers_in_any_script, any_text))
def test_no_typed_text_breaks_the_reading(feelings: list[Choice], words: Words, typed: str) -> None:
    number = read_number(typed, 0, 10, words)
    assert number is None or 0 <= number <= 10
    for mode in Mode:
        for multiple in (False, True):
            reading = read_choice(typed, feelings, words, multiple=multiple, mode=mode)
            assert isinstance(reading, Picked | Several | NoMatch)
    assert isinstance(reads_like_setback(typed, words), bool)
