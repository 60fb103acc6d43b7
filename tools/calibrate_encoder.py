"""Choose the smoothing of the encoder's int8 layers on the train split (bot/safety/model/encoder_int8.npz).

    python -m tools.calibrate_encoder      # about two minutes; run again whenever encoder.npz changes

The encoder's matrix products run in int8 on ONNX Runtime (:mod:`bot.safety.encoder_runtime`): each product's
input is quantised to 256 steps with one scale for the whole input, so a few columns of outsized values
(the word-piece dimensions a BERT-style model keeps large) would leave every other column a handful of
steps. Smoothing divides each input column by a factor and multiplies the matching weights by it, which in
float changes nothing: factor = (largest |input| in the column) ** ALPHA / (largest |weight| in its row) **
(1 - ALPHA), the largest values read here off every train message, passage by passage, as the bot reads
them (Xiao et al., 2023, "SmoothQuant"). ALPHA was chosen on dev by how closely the int8 encoder's
probability follows the float one over dev's 4,021 messages (mean, 99th percentile and largest gap):

    ALPHA  0.6: 0.028 / 0.31 / 0.66   0.7: 0.011 / 0.14 / 0.29   0.75: 0.010 / 0.13 / 0.27
           0.8: 0.011 / 0.14 / 0.32   0.85: 0.011 / 0.13 / 0.28  0.9: 0.010 / 0.13 / 0.23
    (no smoothing, the products quantised by ONNX Runtime's own tool: 0.51 largest, 0.23 at the 99th)

test.jsonl and blind.jsonl are never read here.
"""

from __future__ import annotations

import functools
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from bot.safety import load_safety
from bot.safety.detector import MODEL_DIR
from bot.safety.encoder import Encoder, load_encoder
from bot.safety.encoder_runtime import PRODUCTS, SMOOTHING_FILE, Smoothing, save_smoothing

ALPHA = 0.9
CORPUS = Path("tests/safety/corpus")
# Factors are kept within these bounds: a column that is never large (or a row of tiny weights) must not
# swing the other way and become the outlier itself.
LOWEST, HIGHEST = 1e-2, 1e3


def largest_inputs(encoder: Encoder, texts: list[str]) -> list[dict[str, Any]]:
    """Per layer and product, the largest |value| each input column takes over ``texts``' passages."""
    largest: list[dict[str, Any]] = [{} for _ in encoder.layers]

    def observe(layer: int, product: str, values: Any) -> None:
        column_max = np.abs(values).max(axis=0)
        seen = largest[layer].get(product)
        largest[layer][product] = column_max if seen is None else np.maximum(seen, column_max)

    observed = replace(encoder, runner=functools.partial(encoder.through_layers, observe=observe))
    for text in texts:
        observed.probability(text)  # every passage, as the bot reads them
    return largest


def smoothing(encoder: Encoder, largest: list[dict[str, Any]], alpha: float) -> Smoothing:
    """The factors for every product of ``encoder`` given its inputs' ``largest`` values."""
    found = []
    for layer, seen in zip(encoder.layers, largest, strict=True):
        weights = {
            "qkv": np.abs(np.concatenate([layer.query[0], layer.key[0], layer.value[0]])).max(axis=0),
            "attention_out": np.abs(layer.attention_out[0]).max(axis=0),
            "intermediate": np.abs(layer.intermediate[0]).max(axis=0),
            "output": np.abs(layer.output[0]).max(axis=0),
        }
        found.append(
            {
                name: np.clip(
                    np.maximum(seen[name], 1e-5) ** alpha / np.maximum(weights[name], 1e-5) ** (1 - alpha),
                    LOWEST,
                    HIGHEST,
                ).astype(np.float32)
                for name in PRODUCTS
            }
        )
    return found


def main() -> int:
    safety = load_safety(Path("conversations"))
    encoder = load_encoder(MODEL_DIR, onnx=False)
    if encoder is None:
        print(f"no encoder in {MODEL_DIR}: train it first (python -m tools.tune_screen)", file=sys.stderr)
        return 1
    rows = [json.loads(line) for line in (CORPUS / "train.jsonl").read_text(encoding="utf-8").splitlines() if line]
    texts = [safety.screen.normal(row["text"]) for row in rows]
    found = smoothing(encoder, largest_inputs(encoder, texts), ALPHA)
    about = f"SmoothQuant factors, alpha {ALPHA}, from the inputs of train.jsonl ({len(texts)} messages)"
    save_smoothing(MODEL_DIR, found, about)
    print(f"wrote {MODEL_DIR / SMOOTHING_FILE}: {about}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
