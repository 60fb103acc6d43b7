"""The multilingual reader and the blend: what they promise on their own, and how the screen uses them."""

from __future__ import annotations

import dataclasses
import json
import math
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pytest

from bot.safety import Level, Safety, load_safety
from bot.safety.blend import BLEND_FILE, FEATURES, Blend, Readings, load_blend, save_blend
from bot.safety.detector import MODEL_DIR
from bot.safety.encoder import Encoder
from bot.safety.encoder import passages as encoder_passages
from bot.safety.loading import ENCODER_MIN_WORDS, word_count
from bot.safety.logistic import log_odds
from bot.safety.multilingual import (
    EMBEDDING_SIZE,
    HEAD_FILE,
    MULTILINGUAL_FILE,
    PASSAGE_WORDS,
    WINDOW_WORDS,
    Head,
    MultilingualReader,
    load_multilingual,
    passages,
    save_head,
)

CONVERSATIONS = Path(__file__).resolve().parents[2] / "conversations"
CORPUS = Path(__file__).parent / "corpus"


@pytest.fixture(scope="module")
def warm() -> Safety:
    """A screen of its own with every learned reader loaded."""
    safety = load_safety(CONVERSATIONS)
    assert safety.wait_ready(120), "the learned readers (bot/safety/model/) could not be loaded"
    return safety


@pytest.fixture(scope="module")
def reader(warm: Safety) -> MultilingualReader:
    found = warm.readers.multilingual
    assert found is not None
    return found


@pytest.mark.parametrize(
    ("risk", "everyday"),
    [
        (
            "ich will einfach nicht mehr leben, alles ist sinnlos",
            "ich will einfach nicht mehr arbeiten heute, alles ist zu viel",
        ),
        ("quiero morirme, ya no aguanto más esta vida", "quiero dormir, ya no aguanto más esta semana de exámenes"),
        (
            "je veux mourir, je ne vois plus aucune raison de rester",
            "je veux partir en vacances, je ne vois plus mes amis",
        ),
        ("eu quero morrer, não aguento mais viver assim", "eu quero mudar de emprego, não aguento mais esse chefe"),
        ("я больше не хочу жить, всё бессмысленно", "я больше не хочу работать на этой работе"),
    ],
)
def test_it_reads_risk_in_the_other_languages_above_an_everyday_sentence_of_the_same_shape(
    reader: MultilingualReader, risk: str, everyday: str
) -> None:
    # One reader among several: what it promises is the order, and a clear lean towards risk for risk.
    assert reader.probability(risk) > max(0.5, reader.probability(everyday))


def test_a_long_message_is_scored_by_its_most_worrying_passage(reader: MultilingualReader) -> None:
    story = "the review went badly and my manager read out every missed deadline in front of the team. " * 10
    risk = "ich habe schon abschiedsbriefe geschrieben und weiß, wo das seil ist."
    assert len(passages(story + risk)) > 1
    assert reader.probability(story + risk) > reader.probabilities([story + risk])[0]
    assert reader.probability(story + risk) > 2 * reader.probability(story)


def test_passages_keep_whole_sentences_and_every_word() -> None:
    text = " ".join(f"sentence {n} is about a long bad week at work." for n in range(30))
    found = passages(text)
    assert len(found) > 1
    assert all(len(passage.split()) <= PASSAGE_WORDS for passage in found)
    assert " ".join(found).split() == text.split()
    assert passages("short one") == ["short one"]
    assert passages("") == [""]


def test_a_missing_wrong_or_uninstalled_head_means_no_reader(tmp_path: Path) -> None:
    def embed(texts: list[str]) -> np.ndarray:
        return np.ones((len(texts), EMBEDDING_SIZE), dtype=np.float32)

    def head(inputs: int, hidden: int, out_bias: float) -> Head:
        return Head(
            np.full((inputs, hidden), 0.01, dtype=np.float32),
            np.full(hidden, -1.0, dtype=np.float32),
            np.ones(hidden, dtype=np.float32),
            out_bias,
        )

    assert load_multilingual(tmp_path, lambda: embed) is None
    save_head(tmp_path, head(3, 4, 0.0), 0.0, {})
    assert load_multilingual(tmp_path, lambda: embed) is None  # not shaped for the 512-number embedding
    save_head(tmp_path, head(EMBEDDING_SIZE, 4, 1.0), 0.25, {})
    assert load_multilingual(tmp_path, lambda: None) is None  # the embedding is not installed
    found = load_multilingual(tmp_path, lambda: embed)
    assert found is not None
    # Each hidden unit: max(0, 512 × 0.01 − 1) = 4.12; four of them and the output's bias of 1.
    assert found.probability("anything") == pytest.approx(1 / (1 + math.exp(-(4 * 4.12 + 1.0))), rel=1e-5)
    assert found.demote_below == 0.25
    (tmp_path / MULTILINGUAL_FILE).write_text("{not json", encoding="utf-8")
    assert load_multilingual(tmp_path, lambda: embed) is None
    save_head(tmp_path, head(EMBEDDING_SIZE, 4, 1.0), 0.25, {})
    (tmp_path / HEAD_FILE).write_bytes(b"not an archive")
    assert load_multilingual(tmp_path, lambda: embed) is None
    save_head(tmp_path, head(EMBEDDING_SIZE, 4, 1.0), 0.25, {})
    (tmp_path / HEAD_FILE).write_bytes((tmp_path / HEAD_FILE).read_bytes()[:100])  # cut short on the way
    assert load_multilingual(tmp_path, lambda: embed) is None


def test_the_blend_is_a_logistic_model_over_log_odds(tmp_path: Path) -> None:
    blend = Blend((2.0, 1.0, 0.5, -1.0, 1.0), bias=-0.5, possible=0.5, withdraw_below=0.2, withdraw_demoted_below=0.1)
    readings = Readings(pattern_question=True, encoder=0.9, ngram=None, multilingual=0.2)
    score = -0.5 + 2.0 + log_odds(0.9) - 1.0 + log_odds(0.2)
    assert blend.probability(readings) == pytest.approx(1 / (1 + math.exp(-score)))
    # A pattern's question stands down to withdraw_below; a message no pattern flagged is asked from possible.
    assert blend.asks(readings) is (blend.probability(readings) >= 0.2)
    unflagged = dataclasses.replace(readings, pattern_question=False)
    assert blend.asks(unflagged) is (blend.probability(unflagged) >= 0.5)
    assert log_odds(1.0) == pytest.approx(-log_odds(0.0)) and math.isfinite(log_odds(1.0))
    save_blend(tmp_path, blend, {"made": "here"})
    assert load_blend(tmp_path) == blend


def test_a_blend_written_for_other_features_is_not_used(tmp_path: Path) -> None:
    assert load_blend(tmp_path) is None
    save_blend(tmp_path, Blend((1.0,) * len(FEATURES), 0.0, 0.5), {})
    stored = json.loads((tmp_path / BLEND_FILE).read_text(encoding="utf-8"))
    stored["features"] = [*FEATURES, "length"]
    stored["coefficients"] = [1.0] * (len(FEATURES) + 1)
    (tmp_path / BLEND_FILE).write_text(json.dumps(stored), encoding="utf-8")
    assert load_blend(tmp_path) is None


def test_the_screen_asks_in_the_other_languages_where_no_pattern_was_written(warm: Safety) -> None:
    # No pattern in screen.yaml matches these (checked below); the multilingual reader carries them.
    for text in (
        "ich weiß nicht mehr, wofür ich jeden morgen aufstehe",
        "no sé para qué sigo levantándome cada mañana",
        "je ne sais plus pourquoi je me lève le matin",
        "não sei mais por que continuo acordando todo dia",
        "не знаю, зачем я вообще просыпаюсь по утрам",
    ):
        assert warm.screen.verdict(text).level is Level.NONE
        assert warm.assess(text).level is Level.POSSIBLE, text


def test_the_blend_decides_below_the_full_reply_within_its_two_cuts(warm: Safety) -> None:
    blend = warm.readers.blend
    assert blend is not None
    text = "my phone is dying and the charger is at the office, so i will be quiet tonight"
    normal = warm.screen.normal(text)
    for pattern in (Level.NONE, Level.POSSIBLE):
        readings = warm.readings(text, normal, word_count(normal), pattern, only_if_it_decides=True)
        assert readings is not None
        found = warm.learned_score(text, normal, word_count(normal), pattern)
        assert found == (blend.probability(readings), blend.asks(readings))
    assert warm.assess(text).level is (Level.POSSIBLE if found[1] else Level.NONE)


def test_a_demoted_full_reply_is_withdrawn_only_under_its_own_cut(warm: Safety) -> None:
    blend = warm.readers.blend
    assert blend is not None

    def with_cut(cut: float) -> Safety:
        readers = dataclasses.replace(warm.readers, blend=dataclasses.replace(blend, withdraw_demoted_below=cut))
        return dataclasses.replace(warm, _readers=readers)

    # A pattern sends the full reply; the encoder reads a film essay and demotes it to the question.
    essay = "we discussed the suicide scene in that film for my media studies essay, it was handled with care"
    assert warm.screen.verdict(essay).level is Level.CLEAR
    assert with_cut(0.0).assess(essay).level is Level.POSSIBLE
    assert with_cut(1.0).assess(essay).level is Level.NONE
    # A full reply the encoder does not demote is never withdrawn, whatever the cut.
    plain = "i want to kill myself, i failed the exam again and i have the pills here"
    assert with_cut(1.0).assess(plain).level is Level.CLEAR
    # The shipped cut decides by the blend's reading of the message as a pattern's question.
    normal = warm.screen.normal(essay)
    readings = warm.readings(essay, normal, word_count(normal), Level.POSSIBLE)
    assert readings is not None
    withdrawn = blend.probability(readings) < blend.withdraw_demoted_below
    assert warm.assess(essay).level is (Level.NONE if withdrawn else Level.POSSIBLE)
    # The score reported is the one that decided: the blend's, not the demoting reader's.
    assert warm.assess(essay).score == pytest.approx(blend.probability(readings))
    # A blend that leans the other way moves the score with it; the demoting reader's reading stays put.
    shifted = dataclasses.replace(blend, bias=blend.bias + 2.0)
    moved = dataclasses.replace(warm, _readers=dataclasses.replace(warm.readers, blend=shifted)).assess(essay)
    assert moved.score == pytest.approx(shifted.probability(readings))
    assert moved.score != pytest.approx(warm.assess(essay).score)
    # Before the blend is loaded, a demoted full reply keeps its question.
    unblended = dataclasses.replace(warm, _readers=dataclasses.replace(warm.readers, blend=None))
    assert unblended.assess(essay).level is Level.POSSIBLE


def test_the_encoder_is_left_out_only_where_it_cannot_change_the_answer(warm: Safety) -> None:
    blend = warm.readers.blend
    assert blend is not None
    rows = [json.loads(line) for line in (CORPUS / "dev.jsonl").read_text(encoding="utf-8").splitlines()[::7]]
    left_out = read = 0
    for row in rows:
        normal = warm.screen.normal(row["text"])
        words, pattern = word_count(normal), warm.screen.verdict(row["text"]).level
        if words < ENCODER_MIN_WORDS or pattern is Level.CLEAR:
            continue
        everything = warm.readings(row["text"], normal, words, pattern)
        assert everything is not None
        asked = warm.learned_score(row["text"], normal, words, pattern)[1]
        assert asked == blend.asks(everything), row["text"]
        settled = blend.asks_whatever_the_encoder_reads(
            everything.pattern_question, everything.ngram, everything.multilingual
        )
        if settled is None:
            read += 1
        else:
            left_out += 1
            assert settled == asked
            for reading in (0.0, 0.3, 0.7, 1.0):
                assert blend.asks(dataclasses.replace(everything, encoder=reading)) == settled
    assert left_out > 20 and read > 20, (left_out, read)  # both ways taken on a few hundred messages


def test_a_long_message_is_screened_the_same_when_the_encoder_stops_reading_early(warm: Safety) -> None:
    shipped = warm.readers.encoder
    assert shipped is not None

    def screen_with(kind: type[_Reader]) -> tuple[Safety, _Reader]:
        encoder = kind(**{field.name: getattr(shipped, field.name) for field in dataclasses.fields(shipped)})
        return dataclasses.replace(warm, _readers=dataclasses.replace(warm.readers, encoder=encoder)), encoder

    stopping, counted = screen_with(_Counted)
    reading_all, _ = screen_with(_EveryPassage)
    rows = [json.loads(line) for line in (CORPUS / "dev.jsonl").read_text(encoding="utf-8").splitlines()]
    long = [row["text"] for row in rows if len(encoder_passages(shipped.pieces, warm.screen.normal(row["text"]))) > 1]
    stops = {Level.CLEAR: 0, Level.POSSIBLE: 0, Level.NONE: 0}  # by the patterns' verdict: which path stopped
    for text in long[::2]:
        before = len(counted.read)
        assert stopping.assess(text).level is reading_all.assess(text).level, text
        whole = len(encoder_passages(shipped.pieces, warm.screen.normal(text)))
        stops[warm.screen.verdict(text).level] += 0 < len(counted.read) - before < whole
    # Both paths stop early somewhere: a full reply's demotion check and the blend's reading.
    assert stops[Level.CLEAR] >= 1 and stops[Level.POSSIBLE] + stops[Level.NONE] >= 1, stops


def _one_after_the_other(safety: Safety, text: str, pattern: Level) -> Readings:
    """The readings the screen took before its readers ran side by side: the multilingual reader first, then the
    encoder only where it could change the answer, stopping once it could not."""
    readers, normal = safety.readers, safety.screen.normal(text)
    blend, encoder, multilingual = readers.blend, readers.encoder, readers.multilingual
    assert blend is not None and encoder is not None and multilingual is not None and safety.detector is not None
    words, question = word_count(normal), pattern is Level.POSSIBLE
    ngram = safety.detector.probability(normal) if words >= 6 else None
    other = multilingual.probability(text)
    if blend.asks_whatever_the_encoder_reads(question, ngram, other) is not None:
        return Readings(question, 0.5, ngram, other)
    top = blend.asks(Readings(question, 1.0, ngram, other))
    reading = encoder.probability(normal, enough=lambda high: blend.asks(Readings(question, high, ngram, other)) == top)
    return Readings(question, reading, ngram, other)


@pytest.mark.parametrize("multilingual_delay", [0.0, 0.05])
def test_the_readers_side_by_side_take_the_readings_of_one_after_the_other(
    warm: Safety, multilingual_delay: float
) -> None:
    # However the two threads finish (the multilingual reader held back, or not), the readings are the same.
    multilingual = warm.readers.multilingual
    assert multilingual is not None
    threads: set[str] = set()

    def held_back(text: str) -> float:
        threads.add(threading.current_thread().name)
        time.sleep(multilingual_delay)
        return multilingual.probability(text)

    slow = dataclasses.replace(multilingual, embed=multilingual.embed)
    object.__setattr__(slow, "probability", held_back)
    screen = dataclasses.replace(warm, _readers=dataclasses.replace(warm.readers, multilingual=slow))
    rows = [json.loads(line) for line in (CORPUS / "dev.jsonl").read_text(encoding="utf-8").splitlines()]
    texts = [row["text"] for row in rows if word_count(warm.screen.normal(row["text"])) >= ENCODER_MIN_WORDS]
    chosen = texts[:: 40 if multilingual_delay else 6]
    for text in chosen:
        normal = warm.screen.normal(text)
        for pattern in (Level.NONE, Level.POSSIBLE):
            beside = screen.readings(text, normal, word_count(normal), pattern, only_if_it_decides=True)
            assert beside == _one_after_the_other(warm, text, pattern), text
    assert threads and all(name.startswith("screen-multilingual") for name in threads), threads


def test_a_fault_in_a_passage_read_only_while_the_other_reader_was_busy_costs_nothing(warm: Safety) -> None:
    # Beside a slow multilingual reader the encoder reads on past the passage that settles the answer; a fault
    # in such a passage, which one after the other would never have read, must not cost the readings.
    shipped, multilingual = warm.readers.encoder, warm.readers.multilingual
    assert shipped is not None and multilingual is not None
    counted = _Counted(**{field.name: getattr(shipped, field.name) for field in dataclasses.fields(shipped)})
    counting = dataclasses.replace(warm, _readers=dataclasses.replace(warm.readers, encoder=counted))
    rows = [json.loads(line) for line in (CORPUS / "dev.jsonl").read_text(encoding="utf-8").splitlines()]
    found = None
    for row in rows:
        normal = warm.screen.normal(row["text"])
        if len(encoder_passages(shipped.pieces, normal)) < 3 or word_count(normal) < ENCODER_MIN_WORDS:
            continue
        counted.read.clear()
        expected = _one_after_the_other(counting, row["text"], Level.NONE)
        if len(counted.read) == 1:  # settled by its first passage
            found = row["text"], expected
            break
    assert found is not None, "no long dev message settled by its first passage"
    text, expected = found

    def held_back(text: str) -> float:
        time.sleep(0.2)
        return multilingual.probability(text)

    slow = dataclasses.replace(multilingual)
    object.__setattr__(slow, "probability", held_back)
    faulty = _FaultyAfterFirst(**{field.name: getattr(shipped, field.name) for field in dataclasses.fields(shipped)})
    screen = dataclasses.replace(warm, _readers=dataclasses.replace(warm.readers, encoder=faulty, multilingual=slow))
    normal = warm.screen.normal(text)
    assert screen.readings(text, normal, word_count(normal), Level.NONE, only_if_it_decides=True) == expected
    assert len(faulty.read) > 1, "the encoder read on while the multilingual reader was busy"


@dataclasses.dataclass(frozen=True)
class _FaultyAfterFirst(Encoder):
    """The shipped encoder, reading every passage after its first as NaN (a fault)."""

    read: list[int] = dataclasses.field(default_factory=list)

    def probabilities(self, batch: list[list[int]]) -> list[float]:
        self.read.append(len(batch))
        return super().probabilities(batch) if len(self.read) == 1 else [math.nan]


def test_numpy_runs_its_products_on_one_thread_once_the_readers_are_loaded(warm: Safety) -> None:
    from threadpoolctl import threadpool_info

    assert warm.readers.multilingual is not None
    blas = [pool for pool in threadpool_info() if pool["user_api"] == "blas"]
    assert blas and all(pool["num_threads"] == 1 for pool in blas), blas


def test_an_encoder_fault_on_a_passage_keeps_the_patterns_verdict(warm: Safety) -> None:
    shipped = warm.readers.encoder
    assert shipped is not None

    def faulty(hidden: Any, hide: Any) -> Any:
        return np.full_like(hidden, np.nan)

    broken = dataclasses.replace(
        warm, _readers=dataclasses.replace(warm.readers, encoder=dataclasses.replace(shipped, runner=faulty))
    )
    plain = "i want to kill myself. i failed the exam again and i have the pills here"
    assert warm.screen.verdict(plain).level is Level.CLEAR
    assert broken.assess(plain).level is Level.CLEAR  # a NaN is no reading of "harmless"
    with pytest.raises(ValueError, match="NaN"):
        dataclasses.replace(shipped, runner=faulty).probability(plain)


_Reader = TypeVar("_Reader", bound=Encoder)


@dataclasses.dataclass(frozen=True)
class _EveryPassage(Encoder):
    """The shipped encoder, reading every passage whatever the caller says is enough."""

    def probability(self, text: str, enough: Callable[[float], bool] | None = None) -> float:
        return super().probability(text)


@dataclasses.dataclass(frozen=True)
class _Counted(Encoder):
    """The shipped encoder, noting each passage it reads."""

    read: list[int] = dataclasses.field(default_factory=list)

    def probabilities(self, batch: list[list[int]]) -> list[float]:
        self.read.extend(len(passage) for passage in batch)
        return super().probabilities(batch)


def test_a_long_message_typed_without_full_stops_is_read_in_windows(reader: MultilingualReader) -> None:
    story = "heute hat mein chef im meeting gesagt dass unser projekt gestrichen wird und wir alles abgeben sollen " * 8
    risk = "und ich will nicht mehr leben und habe schon abschiedsbriefe geschrieben"
    found = passages(story + risk)
    assert len(found) > 2 and all(len(passage.split()) <= WINDOW_WORDS for passage in found)
    assert found[-1].split()[-1] == "geschrieben"
    assert reader.probability(story + risk) > max(0.5, 2 * reader.probability(story))


def test_text_cut_inside_an_emoji_is_still_read(reader: MultilingualReader) -> None:
    assert 0.0 <= reader.probability("i can't do this anymore \ud83d") <= 1.0


def test_without_the_multilingual_files_the_encoder_and_detector_screen_as_before(tmp_path: Path) -> None:
    for name in ("model.json", "index.bin", "weights.bin", "encoder.npz", "encoder.json"):
        (tmp_path / name).write_bytes((MODEL_DIR / name).read_bytes())
    safety = load_safety(CONVERSATIONS, tmp_path)
    assert not safety.wait_ready(120)  # not every reader
    assert safety.encoder is not None and safety.readers.blend is None
    assert safety.assess("i want to kill myself").level is Level.CLEAR
    text = "been putting a few tablets aside every week. nearly enough now"
    assert safety.assess(text).score == pytest.approx(safety.encoder.probability(safety.screen.normal(text)))


class _BrokenReader:
    """A learned reader that fails on every message (a corrupt model, a runtime fault)."""

    demote_below = 0.5

    def probability(self, text: str) -> float:
        raise RuntimeError("the reader broke")


@pytest.mark.parametrize(
    "text",
    [
        "i swallowed every one of my sleeping pills about an hour ago",  # a pattern's full reply
        "i dont want to be here anymore after failing that exam again",  # a pattern's question or a reader's
        "der prüfungsstress bringt mich um, ich will nicht mehr leben",  # another language's pattern
        "the exam went badly but i will study harder for the next one",  # nothing
    ],
)
def test_a_reader_that_fails_leaves_the_patterns_verdict_standing(text: str, caplog: pytest.LogCaptureFixture) -> None:
    safety = load_safety(CONVERSATIONS)
    assert safety.wait_ready(120)
    patterns = safety.screen.verdict(text).level
    broken = _BrokenReader()
    safety._readers = dataclasses.replace(safety.readers, encoder=broken, multilingual=broken)  # type: ignore[arg-type]
    with caplog.at_level("ERROR", logger="bot.safety.loading"):
        assessed = safety.assess(text)
    assert assessed.level is patterns and assessed.score is None
    assert "the patterns' verdict stands" in caplog.text
