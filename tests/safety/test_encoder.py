"""The crisis screen's encoder: BERT's word pieces, windows over long messages, the shipped weights, loading."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bot.safety import load_safety
from bot.safety.detector import MODEL_DIR
from bot.safety.encoder import ENCODER_FILE, STRIDE, WINDOW, Encoder, WordPieces, load_encoder, quantise

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


def test_risk_reads_higher_than_a_figure_of_speech(encoder: Encoder) -> None:
    risk = encoder.probability("i have been saving my pills and i think tonight i will take all of them")
    figure = encoder.probability("this spreadsheet is killing me, three more tabs to fix before friday")
    assert risk >= encoder.possible > figure


def test_one_sentence_of_risk_late_in_a_long_paragraph_is_not_averaged_away(encoder: Encoder) -> None:
    work = (
        "the quarterly review went badly and my manager listed every missed deadline in front of the whole team. "
        "i had flagged the staffing problem twice in writing and nobody listened, so now it is all on me. "
    )
    paragraph = work * 6 + "honestly i have started writing goodbye letters to my family and i know where the rope is."
    assert len(encoder.pieces.encode(paragraph)) > 2 * WINDOW
    assert encoder.probability(paragraph) >= encoder.possible
    assert encoder.probability(work * 6) < encoder.possible


def test_every_piece_of_a_long_message_is_read_by_some_window(encoder: Encoder) -> None:
    seen: list[list[int]] = []
    original = encoder._window

    class Recording(Encoder):
        def _window(self, ids: list[int]) -> float:
            seen.append(ids)
            return original(ids)

    recording = Recording(**{name: getattr(encoder, name) for name in encoder.__dataclass_fields__})
    ids = recording.pieces.encode("word " * 400)
    recording.probability("word " * 400)
    assert all(len(window) <= WINDOW for window in seen)
    covered = sum(len(window) - 2 for window in seen) - (len(seen) - 1) * (WINDOW - 2 - STRIDE)
    assert covered >= len(ids)


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
    text = "i keep thinking everyone would be fine without me around"
    safety = load_safety(CONVERSATIONS)
    assert safety.encoder is None
    detector = safety.detector
    assert detector is not None
    assert safety.assess(text).score == pytest.approx(detector.probability(safety.screen.normal(text)))
    assert safety.wait_ready(60)
    assert safety.encoder is not None
    assert safety.assess(text).score == pytest.approx(safety.encoder.probability(safety.screen.normal(text)))


def test_without_its_file_the_screen_goes_on_with_patterns_and_detector(tmp_path: Path) -> None:
    for name in ("model.json", "index.bin", "weights.bin"):
        (tmp_path / name).write_bytes((MODEL_DIR / name).read_bytes())
    safety = load_safety(CONVERSATIONS, tmp_path)
    assert not safety.wait_ready(60)
    assert safety.assess("i want to kill myself").flagged
