"""How the screen weighs its readers against each other for a message no pattern sent the full reply to.

Three learned readers score a message: the fine-tuned English encoder, the n-gram detector and the
multilingual reader. Each is good where the others are weak (meaning in English; spellings and word pieces;
other languages), and a fixed threshold on each, joined by "or", adds up the false alarms of all three. The
blend is a logistic model over their scores (as log-odds) and whether a pattern asked the gentle question,
fitted on the dev split, which none of the readers was trained on, by ``tools/train_blend.py``. Two cuts,
both chosen on dev by cross-validation: ``possible``, from which a message no pattern flagged gets the
question (within the benign budgets), and ``withdraw_below``, under which a pattern's question is withdrawn
because every reader reads the message as harmless (at most 3 % of the dev risk messages that patterns ask
about may fall under it; a short message's question and a kept pattern's are never withdrawn, and are left
out of that count). A third, ``withdraw_demoted_below``, does the same for a pattern's full reply that
the reader of its language already turned into the question (a film, a friend's crisis, the past, a joke),
under the same 3 % rule on the dev risk messages so demoted (with a margin when they are too few
for 3 % to allow one: half the lowest one's probability).
Stored in ``bot/safety/model/blend.json``. Pure apart from :func:`load_blend` reading that file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from bot.safety.logistic import log_odds, logistic

BLEND_FILE = "blend.json"
# The features, in the order the training tool writes the coefficients.
FEATURES = ("pattern_question", "encoder", "ngram", "ngram_unread", "multilingual")


@dataclass(frozen=True)
class Readings:
    """What the patterns and the learned readers made of one message (probabilities in 0..1).

    The message's length is deliberately no input (beyond whether it was long enough for the n-gram
    detector): on the corpus long messages are mostly stories, and a blend that learned "long means
    harmless" would let a sentence of risk inside a paragraph go by.
    """

    pattern_question: bool
    encoder: float
    ngram: float | None  # None: too short for the n-gram detector
    multilingual: float

    def features(self) -> tuple[float, ...]:
        """The blend's inputs, in the order of :data:`FEATURES`."""
        return (
            1.0 if self.pattern_question else 0.0,
            log_odds(self.encoder),
            0.0 if self.ngram is None else log_odds(self.ngram),
            1.0 if self.ngram is None else 0.0,
            log_odds(self.multilingual),
        )


@dataclass(frozen=True)
class Blend:
    """A logistic model over :class:`Readings`: the gentle question from ``possible`` up for a message no
    pattern flagged; a pattern's question withdrawn under ``withdraw_below``; a demoted full reply's question
    withdrawn under ``withdraw_demoted_below``."""

    coefficients: tuple[float, ...]
    bias: float
    possible: float
    withdraw_below: float = 0.0
    withdraw_demoted_below: float = 0.0

    def probability(self, readings: Readings) -> float:
        """The blend's estimate that the message carries risk."""
        score = self.bias + sum(c * f for c, f in zip(self.coefficients, readings.features(), strict=True))
        return logistic(score)

    def asks(self, readings: Readings) -> bool:
        """True when the message should get the gentle question."""
        cut = self.withdraw_below if readings.pattern_question else self.possible
        return self.probability(readings) >= cut

    def asks_whatever_the_encoder_reads(
        self, pattern_question: bool, ngram: float | None, multilingual: float
    ) -> bool | None:
        """The answer :meth:`asks` gives for any reading of the encoder, or None when its reading decides.

        The score is linear in the encoder's log-odds, which are bounded (a probability is kept 1e-4 from 0
        and 1), so when both ends of that range give the same answer, every reading between them does too:
        the screen then need not run the encoder at all.
        """
        lowest = self.asks(Readings(pattern_question, 0.0, ngram, multilingual))
        highest = self.asks(Readings(pattern_question, 1.0, ngram, multilingual))
        return lowest if lowest == highest else None

    def withdraws_demoted(self, readings: Readings) -> bool:
        """True when a pattern's full reply, already turned into the question by the reader of its language,
        should not even ask: ``readings`` (taken as a pattern's question) are under ``withdraw_demoted_below``."""
        return self.probability(readings) < self.withdraw_demoted_below


def save_blend(folder: Path, blend: Blend, about: dict[str, object]) -> None:
    """Write the blend and how it was made (used by the training tool)."""
    stored = {
        "features": list(FEATURES),
        "coefficients": list(blend.coefficients),
        "bias": blend.bias,
        "possible": blend.possible,
        "withdraw_below": blend.withdraw_below,
        "withdraw_demoted_below": blend.withdraw_demoted_below,
        "about": about,
    }
    (folder / BLEND_FILE).write_text(json.dumps(stored, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def load_blend(folder: Path) -> Blend | None:
    """The shipped blend, or None when its file is missing or was written for other features."""
    try:
        stored = json.loads((folder / BLEND_FILE).read_text(encoding="utf-8"))
        if tuple(stored["features"]) != FEATURES:
            return None
        coefficients = tuple(float(value) for value in stored["coefficients"])
        blend = Blend(
            coefficients,
            float(stored["bias"]),
            float(stored["possible"]),
            float(stored["withdraw_below"]),
            float(stored["withdraw_demoted_below"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return blend if len(coefficients) == len(FEATURES) else None
