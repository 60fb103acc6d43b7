"""What both screen-training tools share: reading a split of the corpus and a threshold within a benign budget.

Kept apart from the tools themselves so that neither needs the other's libraries (scikit-learn, PyTorch).
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from bot.safety.encoder import SENTENCE_END

CORPUS = Path("tests/safety/corpus")
# Labelled messages written to break the patterns (tests/safety/probes/README.md): training material only.
PROBES = Path("tests/safety/probes")
EVERYDAY = "flow_answers"  # the category of everyday answers inside a flow, held to the tightest budget
EVERYDAY_BUDGET = 0.01
# A pattern's full reply may become the question when a learned reader reads the message as plainly harmless:
# at most this share of the dev risk messages that pattern tier sends the full reply to may be moved (they
# still get the question), and never above this probability.
DEMOTED_RISK_BUDGET = 0.03
MAX_DEMOTE = 0.5
# Probe sets no training tool reads, so that a fresh writer's reach stays measurable on them.
HELD_OUT_PROBES = frozenset({"round9_heldout.jsonl", "round10_heldout.jsonl"})


def read(split: str) -> list[dict[str, Any]]:
    """One split of the corpus."""
    return _rows(CORPUS / f"{split}.jsonl")


def _rows(path: Path) -> list[dict[str, Any]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _key(row: dict[str, Any]) -> str:
    return " ".join(row["text"].split()).casefold()


def training_rows() -> tuple[list[dict[str, Any]], str]:
    """What the learned readers are trained on, and a line saying so: the train split, then the probe sets'
    messages in languages other than English and their English risk messages (:data:`PROBES`), each once.

    The probes were written against the patterns, so they can never be held out; as training material they
    carry the phrasings the train split is thin in: other languages, and quiet goodbyes. The English harmless
    probes are left out: most are twins of quiet goodbyes, written to break a pattern, and readers trained on
    them too reached fewer English goodbyes on dev, on the blind set and on a fresh round of writers; with the
    English risk probes alone, two fresh rounds held out saw 4 and 6 more points of their goodbyes reached (see
    tests/safety/corpus/README.md, "The twenty-sixth session"). A probe whose text is also in dev, test or the
    blind set is left out, so no reader is trained on a message it is judged by, and so is every file of
    :data:`HELD_OUT_PROBES`.
    """
    rows = read("train")
    seen = {_key(row) for row in rows}
    held_out = {_key(row) for split in ("dev", "test", "blind") for row in read(split)}
    probes = []
    for path in sorted(PROBES.glob("*.jsonl")):
        if path.name in HELD_OUT_PROBES:
            continue
        for row in _rows(path):
            key = _key(row)
            taken = row.get("lang", "en") != "en" or row["label"] == "risk"
            if taken and key not in seen and key not in held_out:
                seen.add(key)
                probes.append(row)
    english = sum(row.get("lang", "en") == "en" for row in probes)
    about = (
        f"{CORPUS}/train.jsonl ({len(rows)} messages) and {PROBES}/*.jsonl ({len(probes) - english} more in other "
        f"languages, {english} English risk messages; {', '.join(sorted(HELD_OUT_PROBES))} held out)"
    )
    return rows + probes, about


def demotion_cut(scored: list[tuple[float, bool]], what: str) -> float:
    """The highest cut (at most :data:`MAX_DEMOTE`) under which at most :data:`DEMOTED_RISK_BUDGET` of the
    risk messages fall, from ``(score, is_risk)`` pairs of dev messages a pattern sends the full reply to.

    With too few risk messages for the budget to allow even one, the cut would sit right under the lowest
    of them and promise nothing about the next; it is then half that score, a margin for messages dev did
    not hold."""
    risk = sorted(score for score, is_risk in scored if is_risk)
    allowed = int(DEMOTED_RISK_BUDGET * len(risk))
    if not risk:
        cut = MAX_DEMOTE
    elif allowed == 0:
        cut = min(MAX_DEMOTE, risk[0] / 2)
    else:
        cut = min(MAX_DEMOTE, risk[allowed]) if allowed < len(risk) else MAX_DEMOTE
    moved = sum(score < cut for score, is_risk in scored if not is_risk)
    benign = sum(not is_risk for _, is_risk in scored)
    print(
        f"  {what}: one tier lower below {cut:.4f}: {moved} of {benign} benign, {allowed} of {len(risk)} risk at most"
    )
    return cut


def threshold(scores: list[float], budget: float) -> float:
    """The lowest threshold that flags at most ``budget`` of ``scores`` (benign messages)."""
    ordered = sorted(scores, reverse=True)
    allowed = int(budget * len(ordered))
    return ordered[allowed] + 1e-6 if allowed < len(ordered) else 0.5


# Paragraphs made by setting one short message inside a benign story (see composites): without them the model
# learns "a long story about a setback is benign" and averages a sentence of risk away.
RISK_COMPOSITES = 700
BENIGN_COMPOSITES = 500
COMPOSITE_WORDS = 85  # about the word pieces of one passage the bot reads (PASSAGE)
SHORT_WORDS = 25


def composites(rows: list[dict[str, Any]], seed: int) -> list[dict[str, Any]]:
    """Paragraphs with one short message set between the sentences of a longer benign one.

    Risk inside stays risk; a benign message inside stays benign, so the length or the story around it is no
    clue. Only English messages (the encoder's language) and only from ``rows``, so the splits stay apart.
    """
    shuffler = random.Random(seed)  # noqa: S311 - a reproducible sample, not a secret
    english = [row for row in rows if row.get("lang", "en") == "en"]
    stories = [row for row in english if row["label"] == "benign" and len(row["text"].split()) >= 20]
    short = {
        label: [row for row in english if row["label"] == label and len(row["text"].split()) <= SHORT_WORDS]
        for label in ("risk", "benign")
    }
    made: list[dict[str, Any]] = []
    for label, count in (("risk", RISK_COMPOSITES), ("benign", BENIGN_COMPOSITES)):
        for _ in range(count):
            inside = shuffler.choice(short[label])
            sentences = [part for part in SENTENCE_END.split(shuffler.choice(stories)["text"]) if part.strip()]
            room = COMPOSITE_WORDS - len(inside["text"].split())
            while len(sentences) > 1 and sum(len(part.split()) for part in sentences) > room:
                sentences.pop(0 if shuffler.random() < 0.5 else -1)
            sentences.insert(shuffler.randint(0, len(sentences)), inside["text"])
            made.append({"text": " ".join(sentences), "label": label, "category": inside["category"]})
    return made
