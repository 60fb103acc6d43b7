"""What an answer signals: "I don't know" rather than something, someone else blamed, and how a long answer
is quoted back. Pure and synchronous, over the shipped words in conversations/texts/words.yaml."""

from __future__ import annotations

import pytest

from bot.cues import Cues, blames_others, cues_of, looks_stuck
from bot.flows.texts import Texts
from bot.render import FIRST_SENTENCE_LIMIT, first_sentence, render


@pytest.fixture(scope="module")
def cues(texts: Texts) -> Cues:
    return cues_of(texts)


@pytest.mark.parametrize(
    "typed",
    [
        "idk",
        "IDK",
        "idk 🤷",
        "dunno",
        "nothing",
        "Nothing really",
        "no idea",
        "No idea tbh",
        "?",
        "???",
        "...",
        "🤷‍♀️",
        "k",
        "not sure",
        "I'm not sure",
        "I don't know",
        "i honestly dont know",
        "i really don’t know yet",
        "no clue",
        "I have no idea",
        "can't think of anything",
        "idk what to say",
        "nah",
        "whatever",
        "beats me",
        "my mind is blank",
    ],
)
def test_answers_that_say_i_dont_know_are_stuck(typed: str, cues: Cues) -> None:
    assert looks_stuck(typed, cues)


@pytest.mark.parametrize(
    "typed",
    [
        "Start earlier and ask for help sooner",
        "idk, maybe ask for help sooner",  # unsure, but it says something
        "Not sure I should say yes to every request",
        "Nothing is ever as bad as it feels at 2am",
        "no more late nights before exams",
        "rest",
        "Call mum",
        "Sleep on it",
        "Breathe",
    ],
)
def test_answers_that_say_something_are_not_stuck(typed: str, cues: Cues) -> None:
    assert not looks_stuck(typed, cues)


@pytest.mark.parametrize(
    "typed",
    [
        "HE is the problem, not me",
        "my manager threw me under the bus in the meeting",
        "It wasn't my fault, the supplier messed up the order",
        "my coworker took credit for my work again",
        "She lied to everyone about me",
        "they ignored every warning I gave them",
        "because of my landlord I lost the deposit",
        "honestly it's all on them",
        "my ex cheated and then blamed me",
        "Thanks to my teammate the launch slipped a week",
        "I blame my boss for this",
        "The client kept changing the brief and then blamed me for the delay",
        "my sister never listens and she made me miss the train",
        "the referee was unfair the whole match",
    ],
)
def test_someone_else_blamed_is_read_in_many_phrasings(typed: str, cues: Cues) -> None:
    assert blames_others(typed, cues)


@pytest.mark.parametrize(
    "typed",
    [
        "I missed a deadline at work and my manager was upset",
        "I ruined the presentation",
        "he said I ruined it",  # what someone said about me is not blaming them
        "I'm the problem",
        "She didn't lie, I just misread it",
        "it's not his fault, I forgot to tell him",
        "I blamed my friend and now I feel bad",
        "I let my team down",
        "I was late because of the traffic",
        "I blame myself",
        "I yelled at my boss and then he went quiet",
    ],
)
def test_owning_it_or_no_one_to_blame_is_not_blaming_others(typed: str, cues: Cues) -> None:
    assert not blames_others(typed, cues)


@pytest.mark.parametrize(
    ("answer", "quoted"),
    [
        ("You are useless.", "You are useless."),
        ("You are useless. You always mess it up and everyone knows it.", "You are useless."),
        ("Why do I always do this?! Every single time.", "Why do I always do this?!"),
        ("No one will hire me\nand they're right", "No one will hire me …"),
        # An ellipsis is a pause, not the end of the sentence.
        ("whatever… i dont care anymore", "whatever… i dont care anymore"),
        ("i tried.. i really did. nobody noticed", "i tried.. i really did."),
        ("it was fine... until it wasnt", "it was fine... until it wasnt"),
        (None, ""),
    ],
)
def test_the_first_sentence_is_what_is_quoted_back(answer: str | None, quoted: str) -> None:
    assert first_sentence(answer) == quoted


@pytest.mark.parametrize(
    ("answer", "quoted"),
    [
        ("i faild my chem exam today. like really bombed it", "i faild my chem exam today …"),
        ("why me?! everyone else passed", "why me?! …"),
        ("lost the match", "lost the match"),
        ("lost the match.", "lost the match."),
        ("lost the match…", "lost the match…"),
        # An ellipsis before a line break is not doubled.
        ("so tired…\nof all of it", "so tired …"),
        ("so tired...\nof all of it", "so tired …"),
    ],
)
def test_where_the_bot_says_it_kept_the_words_a_quote_shows_that_more_follows(answer: str, quoted: str) -> None:
    assert first_sentence(answer, show_more=True) == quoted


def test_a_long_sentence_cut_just_after_an_ellipsis_ends_with_one() -> None:
    for pad in range(80, 100):
        answer = "x" * pad + " so… whatever, it went the way it always goes and I stopped caring"
        quoted = first_sentence(answer)
        assert quoted.endswith("…") and not quoted.endswith("……"), quoted


def test_a_long_first_sentence_is_cut_at_a_word_near_the_limit() -> None:
    answer = (
        "I never get anything right and I keep letting everyone down at work and at home and my family "
        "must be so tired of me by now honestly and I am too"
    )
    quoted = first_sentence(answer)
    assert quoted.endswith("…") and len(quoted) <= FIRST_SENTENCE_LIMIT + 1
    assert answer.startswith(quoted[:-1].rstrip()), "cut between words, never inside one"
    assert answer[len(quoted[:-1].rstrip())] == " "


def test_templates_ask_the_same_questions_through_their_tests_and_filter(texts: Texts) -> None:
    from bot.cues import reader_of
    from bot.render import READERS

    context = {READERS: reader_of(texts), "lesson": "dunno", "story": "he lied. Then more."}
    assert render("{{ lesson is stuck }} {{ story is blaming_others }} {{ story | first_sentence }}", context) == (
        "True True he lied."
    )
    # A skipped answer is neither stuck nor blaming: it is simply not there.
    assert render("{{ none is stuck }} {{ none is blaming_others }}", context) == "False False"
