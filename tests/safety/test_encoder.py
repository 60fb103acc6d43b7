"""The crisis screen's encoder: BERT's word pieces, windows over long messages, the shipped weights, loading."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bot.safety import Level, Safety, load_safety
from bot.safety.detector import MODEL_DIR
from bot.safety.encoder import (
    ENCODER_FILE,
    PASSAGE,
    STRIDE,
    Encoder,
    WordPieces,
    load_encoder,
    passages,
    quantise,
)
from bot.safety.loading import word_count

CONVERSATIONS = Path(__file__).resolve().parents[2] / "conversations"


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    found = load_encoder(MODEL_DIR)
    assert found is not None, f"{MODEL_DIR / ENCODER_FILE} is missing or unreadable"
    return found


def pieces_of(encoder: Encoder, text: str) -> list[str]:
    names = {index: piece for piece, index in encoder.pieces.ids.items()}
    return [names[index] for index in encoder.pieces.encode(text)]


def test_words_split_into_the_longest_known_pieces(encoder: Encoder) -> None:
    assert pieces_of(encoder, "Unaffable") == ["una", "##ffa", "##ble"]
    assert pieces_of(encoder, "I can't.") == ["i", "can", "'", "t", "."]


def test_accents_are_dropped_and_case_folded_as_the_model_was_trained(encoder: Encoder) -> None:
    assert pieces_of(encoder, "CAFÉ") == pieces_of(encoder, "cafe")


def test_a_word_with_no_pieces_is_one_unknown_piece() -> None:
    pieces = WordPieces(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "ab", "##c"])
    assert pieces.encode("abc abx " + "a" * 101) == [4, 5, 1, 1]


@pytest.fixture(scope="module")
def warm() -> Safety:
    """A screen of its own with the encoder loaded (the shared catalog's stays cold, so other tests are exact)."""
    safety = load_safety(CONVERSATIONS)
    assert safety.wait_ready(60)
    return safety


def learned_level(safety: Safety, text: str) -> Level:
    """What the learned readers alone make of ``text`` (the patterns left out)."""
    normal = safety.screen.normal(text)
    return Level.POSSIBLE if safety.learned_score(text, normal, word_count(normal), Level.NONE)[1] else Level.NONE


def test_risk_reads_higher_than_a_figure_of_speech(warm: Safety) -> None:
    assert (
        learned_level(warm, "i have been putting my pills aside for weeks and tonight i will take them")
        is Level.POSSIBLE
    )
    assert learned_level(warm, "this spreadsheet is killing me, three more tabs to fix before friday") is Level.NONE


def test_one_sentence_of_risk_late_in_a_long_paragraph_is_not_averaged_away(warm: Safety, encoder: Encoder) -> None:
    work = (
        "the quarterly review went badly and my manager listed every missed deadline in front of the whole team. "
        "i had flagged the staffing problem twice in writing and nobody listened, so now it is all on me. "
    )
    paragraph = work * 12 + "honestly i have started writing goodbye letters to my family and i know where the rope is."
    assert len(encoder.pieces.encode(paragraph)) > 2 * PASSAGE
    assert encoder.probability(paragraph) > 2 * encoder.probability(work * 12)
    assert learned_level(warm, paragraph) is Level.POSSIBLE
    assert learned_level(warm, work * 12) is Level.NONE


def test_a_long_message_is_read_in_passages_of_whole_sentences_that_cover_every_piece(encoder: Encoder) -> None:
    sentences = [f"this is sentence number {n} of a long story about a bad week at work." for n in range(40)]
    text = " ".join(sentences)
    found = passages(encoder.pieces, text)
    assert len(found) > 1 and all(len(passage) <= PASSAGE for passage in found)
    assert [piece for passage in found for piece in passage] == encoder.pieces.encode(text)
    assert passages(encoder.pieces, "short and sweet.") == [encoder.pieces.encode("short and sweet.")]


def test_one_sentence_longer_than_a_passage_is_read_in_overlapping_windows(encoder: Encoder) -> None:
    ids = encoder.pieces.encode("word " * 300)
    found = passages(encoder.pieces, "word " * 300)
    assert all(len(window) <= PASSAGE for window in found)
    assert found[0] == ids[:PASSAGE] and found[-1][-1] == ids[-1]
    assert len(found) == len(range(0, len(ids) - PASSAGE + STRIDE, STRIDE))


def test_reading_stops_at_the_passage_from_which_the_caller_has_enough(encoder: Encoder) -> None:
    risk = "i have the pills counted out and tonight i am going to take all of them."
    story = " ".join(f"meeting number {n} about the quarterly budget went on far too long." for n in range(30))
    text = f"{risk} {story}"
    each = [encoder.probabilities([passage])[0] for passage in passages(encoder.pieces, text)]
    assert len(each) > 2 and each[0] == max(each)
    read: list[float] = []

    def enough_once_high(highest: float) -> bool:
        read.append(highest)
        return highest >= each[0]

    assert encoder.probability(text, enough=enough_once_high) == pytest.approx(each[0])
    assert len(read) == 1  # the rest of the story was not read
    assert encoder.probability(text, enough=lambda highest: False) == pytest.approx(max(each))
    assert encoder.probability(text) == pytest.approx(max(each))
    # The highest so far is what the caller is shown, passage after passage.
    seen: list[float] = []

    def never_enough(highest: float) -> bool:
        seen.append(highest)
        return False

    risk_last = f"{story} {risk}"
    encoder.probability(risk_last, enough=never_enough)
    assert len(seen) == len(passages(encoder.pieces, risk_last)) and seen == sorted(seen)
    assert seen[-1] == pytest.approx(encoder.probability(risk_last))


def test_quantised_rows_come_back_within_half_a_step() -> None:
    matrix = np.random.default_rng(3).normal(size=(8, 16)).astype(np.float32)
    stored, scale = quantise(matrix)
    assert stored.dtype == np.int8
    assert np.abs(stored * scale[:, None] - matrix).max() <= scale.max() / 2 + 1e-6


def test_a_missing_or_broken_file_means_no_encoder(tmp_path: Path) -> None:
    assert load_encoder(tmp_path) is None
    (tmp_path / ENCODER_FILE).write_bytes(b"not a zip")
    assert load_encoder(tmp_path) is None


def test_the_screen_uses_the_encoder_once_warmed_up_and_never_waits_for_it() -> None:
    text = "been putting a few tablets aside every week. nearly enough now"  # no pattern matches it
    safety = load_safety(CONVERSATIONS)
    assert safety.encoder is None
    detector = safety.detector
    assert detector is not None
    assert safety.assess(text).score == pytest.approx(detector.probability(safety.screen.normal(text)))
    assert safety.wait_ready(60)
    blend = safety.readers.blend
    normal = safety.screen.normal(text)
    readings = safety.readings(text, normal, word_count(normal), Level.NONE)
    assert blend is not None and readings is not None
    assert readings.encoder == pytest.approx(safety.readers.encoder.probability(normal))  # type: ignore[union-attr]
    as_screened = safety.readings(text, normal, word_count(normal), Level.NONE, only_if_it_decides=True)
    assert as_screened is not None
    assert safety.assess(text).score == pytest.approx(blend.probability(as_screened))


def test_without_its_file_the_screen_goes_on_with_patterns_and_detector(tmp_path: Path) -> None:
    for name in ("model.json", "index.bin", "weights.bin"):
        (tmp_path / name).write_bytes((MODEL_DIR / name).read_bytes())
    safety = load_safety(CONVERSATIONS, tmp_path)
    assert not safety.wait_ready(60)
    assert safety.assess("i want to kill myself").flagged
