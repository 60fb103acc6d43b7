"""Lessons that say the same thing in other words (bot/similarity.py), measured on labelled pairs.

PAIRS holds 64 pairs of lessons as people write them: 32 that say the same thing in other words, and 32 that
do not, 20 of them hard (they share words, or the topic, but mean something else: "ask for help sooner" /
"help others sooner", "go to bed earlier" / "get up earlier", "talk less in meetings" / "talk more in
meetings"). The word lists were written with the first 40 pairs in view; the last 24 (from "held-out" on) were
written afterwards and never tuned for.

Measured with THRESHOLD = 0.5 (2026-12-01):

- all 64 pairs: 58 right, accuracy 90.6 % (same: 32/32 found; different: 26/32 kept apart)
- the 40 pairs in view while writing the lists: 39/40 (97.5 %)
- the 24 held-out pairs: 19/24 (79.2 %)

After the first held-out run, two general faults were fixed in the lists (not pair by pair): "save" and
"spend" alone no longer mean money ("save time", "spend time"), and "before"/"after" became filler. Everything
else above was measured as it came. The misses are false "same" (a shared main idea with different objects:
"listen to my body" / "listen to my manager"); they are listed in MISSES below, so a change that fixes or
breaks one shows up here. The test asserts floors (88 % overall, 75 % on the held-out pairs) rather than the
exact count, so improving the lists never fails it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.flows.catalog import Catalog
from bot.similarity import THRESHOLD, Vocabulary, features, group_lessons, same_lesson, similarity, stem, vocabulary_of
from bot.summaries import recurring_lessons

SAME, DIFFERENT = True, False

PAIRS: list[tuple[str, str, bool]] = [
    # --- in view while writing the word lists -----------------------------------------------------------
    ("Ask for help sooner", "I should have asked for help earlier", SAME),
    ("Ask for help sooner", "Don't struggle alone so long, get support early", SAME),
    ("I should have asked for help earlier", "don't struggle alone so long, get support early", SAME),
    ("Start earlier and ask for help sooner", "ask for help sooner", SAME),
    ("Start earlier", "begin sooner, don't leave it to the last minute", SAME),
    ("stop procrastinating", "start things earlier instead of putting them off", SAME),
    ("Prepare better for presentations", "practise my talk beforehand", SAME),
    ("Be kinder to myself", "stop being so hard on myself", SAME),
    ("say no more often", "I need to set boundaries with people", SAME),
    ("speak up in meetings", "share my ideas instead of staying quiet", SAME),
    ("check my work before submitting", "double check everything before I hand it in", SAME),
    ("take breaks", "step away when I'm overwhelmed", SAME),
    ("Plan ahead", "make a plan for the week", SAME),
    ("talk to my partner about how I feel", "communicate more with my partner", SAME),
    ("don't compare myself to others", "stop measuring myself against other people", SAME),
    ("it's okay to make mistakes", "mistakes are part of learning", SAME),
    ("one thing at a time", "stop multitasking and focus on one task", SAME),
    ("break big tasks into small steps", "set smaller goals", SAME),
    ("reach out to friends when I'm low", "call a friend instead of isolating", SAME),
    ("Get more sleep before exams", "go to bed early the night before an exam", SAME),
    ("Ask for help sooner", "help others sooner", DIFFERENT),
    ("go to bed earlier", "get up earlier", DIFFERENT),
    ("sleep more before exams", "study more before exams", DIFFERENT),
    ("talk less in meetings", "talk more in meetings", DIFFERENT),
    ("check my work before sending it", "send my work earlier", DIFFERENT),
    ("say no to extra work", "say yes to new challenges", DIFFERENT),
    ("take more breaks at work", "take on more work", DIFFERENT),
    ("be kinder to myself", "be kinder to my team", DIFFERENT),
    ("eat something before the exam", "study before the exam", DIFFERENT),
    ("listen more", "talk more", DIFFERENT),
    ("spend less money on takeaways", "spend less time on my phone", DIFFERENT),
    ("trust my gut", "trust other people more", DIFFERENT),
    ("ask for help sooner", "sleep more", DIFFERENT),
    ("plan my week on Sunday", "call my mum on Sunday", DIFFERENT),
    ("prepare for interviews", "exercise before work", DIFFERENT),
    ("idk", "nothing", DIFFERENT),
    ("write things down", "speak up in meetings", DIFFERENT),
    ("stay calm when my boss criticises me", "ask my boss for feedback earlier", DIFFERENT),
    ("save money each month", "save time by planning", DIFFERENT),
    ("don't take on too much", "take on more responsibility", DIFFERENT),
    # --- held-out: written after the word lists, never tuned for ----------------------------------------
    ("Don't wait until I'm drowning to ask for support", "ask for help sooner", SAME),
    ("I can't do everything on my own", "delegate more", SAME),
    ("Prep the night before", "be ready ahead of time", SAME),
    ("Give myself credit instead of beating myself up", "be gentle with myself", SAME),
    ("Rest before I burn out", "pace myself", SAME),
    ("Keep a to-do list", "organise my tasks with a schedule", SAME),
    ("Breathe before I react", "calm down before responding", SAME),
    ("Stick to a budget", "stop overspending", SAME),
    ("Go for a walk when stressed", "exercise more", SAME),
    ("Stop scrolling at night", "less screen time", SAME),
    ("Believe in myself", "stop doubting myself", SAME),
    ("Tell people what I need", "be honest about how I feel", SAME),
    ("Ask for feedback early", "ask for help sooner", DIFFERENT),
    ("Start the essay sooner", "finish the essay sooner", DIFFERENT),
    ("Listen to my body", "listen to my manager", DIFFERENT),
    ("Check the train times", "check in with my sister", DIFFERENT),
    ("Don't rush into decisions", "make decisions faster", DIFFERENT),
    ("spend more time with family", "spend less time at work", DIFFERENT),
    ("Say yes to invitations", "say no to invitations", DIFFERENT),
    ("Take notes in class", "take risks in class", DIFFERENT),
    ("Save some money", "save my work more often", DIFFERENT),
    ("be on time for work", "leave work on time", DIFFERENT),
    ("Eat breakfast", "sleep more", DIFFERENT),
    ("Practise the piano daily", "practise saying no", DIFFERENT),
]

MISSES = {
    ("check my work before sending it", "send my work earlier"),
    ("Ask for feedback early", "ask for help sooner"),
    ("Listen to my body", "listen to my manager"),
    ("Don't rush into decisions", "make decisions faster"),
    ("be on time for work", "leave work on time"),
    ("Practise the piano daily", "practise saying no"),
}
"""The pairs the similarity gets wrong today (see the docstring): written down so the count is checked."""

HELD_OUT_FROM = 40


@pytest.fixture(scope="module")
def vocab(catalog: Catalog) -> Vocabulary:
    return vocabulary_of(catalog.texts)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    from bot.flows.catalog import load_catalog

    return load_catalog(Path(__file__).resolve().parents[1] / "conversations")


def _right(pair: tuple[str, str, bool], vocab: Vocabulary) -> bool:
    first, second, same = pair
    return same_lesson(first, second, vocab) == same


def test_the_pairs_are_a_real_test_set() -> None:
    assert len(PAIRS) >= 40
    same = [pair for pair in PAIRS if pair[2]]
    assert len(same) >= 15 and len(PAIRS) - len(same) >= 15
    assert len({(a.casefold(), b.casefold()) for a, b, _ in PAIRS}) == len(PAIRS)


def test_accuracy_on_the_pairs_stays_above_its_floor(vocab: Vocabulary) -> None:
    right = [_right(pair, vocab) for pair in PAIRS]
    assert sum(right) / len(PAIRS) >= 0.88
    held_out = right[HELD_OUT_FROM:]
    assert sum(held_out) / len(held_out) >= 0.75


def test_the_known_misses_are_the_only_misses(vocab: Vocabulary) -> None:
    wrong = {(a, b) for a, b, same in PAIRS if not _right((a, b, same), vocab)}
    assert wrong <= MISSES, f"new misses: {sorted(wrong - MISSES)}"


def test_the_issue_s_three_wordings_are_one_lesson(vocab: Vocabulary) -> None:
    wordings = [
        "Don't struggle alone so long, get support early",
        "I should have asked for help earlier",
        "ask for help sooner",
        "Sleep before exams",
    ]
    groups = group_lessons(wordings, vocab)
    assert groups[0].lesson == wordings[0] and groups[0].times == 3
    assert [group.times for group in groups] == [3, 1]


def test_similarity_is_symmetric_and_bounded(vocab: Vocabulary) -> None:
    for first, second, _ in PAIRS:
        a, b = features(first, vocab), features(second, vocab)
        assert similarity(a, b, vocab) == pytest.approx(similarity(b, a, vocab))
        assert 0.0 <= similarity(a, b, vocab) <= 1.0
    assert similarity(features("ask for help", vocab), features("Ask for HELP!", vocab), vocab) == 1.0
    assert THRESHOLD == 0.5


def test_filler_only_lessons_are_never_grouped(vocab: Vocabulary) -> None:
    assert group_lessons(["idk", "idk", "I don't know", "nothing"], vocab)[0].times == 2  # the same words
    assert not same_lesson("idk", "I don't know", vocab)


def test_groups_do_not_chain_through_a_middle_lesson(vocab: Vocabulary) -> None:
    # "start earlier and ask for help" is like both; the other two are not like each other.
    groups = group_lessons(["Start earlier", "Start earlier and ask for help sooner", "Ask for help sooner"], vocab)
    assert sorted(group.times for group in groups) == [1, 2]


def test_stems_are_consistent_for_common_endings() -> None:
    assert {stem("asked"), stem("asking"), stem("asks"), stem("ask")} == {"ask"}
    assert {stem("planning"), stem("planned"), stem("plans")} == {"plan"}
    assert stem("studies") == stem("studied") == "study"
    assert stem("early") != stem("ear")
    assert stem("calling") == "call"


def test_recurring_lessons_on_the_page_are_grouped_by_meaning(vocab: Vocabulary) -> None:
    newest_first = [
        "get support early instead of struggling alone",
        "Sleep before exams",
        "I should have asked for help earlier",
        "ask for help sooner",
    ]
    [group] = recurring_lessons(newest_first, vocab)
    assert (group.lesson, group.times) == ("get support early instead of struggling alone", 3)


def test_a_long_history_is_grouped_quickly_enough_to_count(vocab: Vocabulary) -> None:
    # Not a timing test (bench/lessons.py measures that): grouping 2,000 varied lessons finishes and counts all.
    lessons = [f"ask for help sooner with project {n}" for n in range(1000)] + [
        f"sleep more before exam {n}" for n in range(1000)
    ]
    groups = group_lessons(lessons, vocab)
    assert sum(group.times for group in groups) == 2000
