"""How long the crisis screen takes per message: patterns, the n-gram detector, the encoder, the multilingual
reader, and all of it as the bot runs, beside all of it with the encoder read for every message and every
passage (as before the screen learned to leave it out where it cannot change the answer and to stop reading
a long message once its answer is settled), with only the latter undone (every passage read), and with the
encoder's layers on NumPy instead of ONNX Runtime; the patterns searching every pattern (as before their
index); and how much memory the learned readers add.

Every message of the corpus (all splits) is screened one at a time, plus long pasted paragraphs (the corpus
messages joined up to Telegram's 4,096 characters). Prints p50, p99 and the worst case in milliseconds.

    python -m bench.screen            # everything (about half an hour here)
    python -m bench.screen patterns   # only the patterns, with and without their index (a few minutes)
    python -m bench.screen detector   # only the n-gram detector, with and without the buckets it remembers
    python -m bench.screen passages   # all of it as the bot runs, beside the encoder reading every passage
    python -m bench.screen disguise   # dev's messages as written beside the same disguised (screen-eval --disguise)
    python -m bench.screen readers    # int8 or float encoder layers, readers side by side or one after the other
"""

from __future__ import annotations

import dataclasses
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future
from pathlib import Path
from typing import Any

from bot.safety import Level, Safety, detector, load_safety
from bot.safety.blend import Blend
from bot.safety.detector import MODEL_DIR
from bot.safety.disguise import disguise
from bot.safety.encoder import Encoder, load_encoder
from bot.safety.encoder_runtime import _graph
from bot.safety.screen import CompiledRules, CrisisScreen

CORPUS = Path("tests/safety/corpus")


def texts() -> tuple[list[str], list[str]]:
    """Every corpus message, and 200 long ones built from them (up to 4,096 characters)."""
    found = [
        json.loads(line)["text"]
        for split in ("train", "dev", "test", "blind")
        for line in (CORPUS / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    rng = random.Random(7)
    long = []
    for _ in range(200):
        parts: list[str] = []
        while sum(len(part) + 1 for part in parts) < 4000:
            parts.append(rng.choice(found))
        long.append(" ".join(parts)[:4096])
    return found, long


class EncoderAlwaysRead(Blend):
    """The shipped blend, but never settled without the encoder: it is read for every message it weighs."""

    def asks_whatever_the_encoder_reads(self, pattern_question: bool, ngram: float | None, multilingual: float) -> None:
        return None


class EveryPassageRead(Encoder):
    """The shipped encoder, but reading every passage of a long message even once the answer is settled."""

    def probability(self, text: str, enough: Any = None) -> float:
        return super().probability(text)


def every_passage_read() -> Any:
    """The shipped screen, loaded afresh, with an encoder that reads every passage (as before it learned to stop)."""
    fresh = load_safety(Path("conversations"))
    assert fresh.wait_ready(120), "the learned readers in bot/safety/model could not be loaded"
    encoder = fresh.readers.encoder
    assert encoder is not None
    reading_all = EveryPassageRead(
        **{field.name: getattr(encoder, field.name) for field in dataclasses.fields(encoder)}
    )
    fresh._readers = dataclasses.replace(fresh.readers, encoder=reading_all)
    return fresh


def every_pattern(screen: CrisisScreen, text: str) -> tuple[bool | Level, ...]:
    """The patterns' topics and tiers as the screen found them before its index: every pattern of every
    language searched (each behind its own check for the strings it needs)."""

    def level(rules: CompiledRules, normal: str) -> Level:
        for pattern in rules.benign:
            normal = pattern.sub(" … ", normal)
        if any(pattern.search(normal) for pattern in rules.risk):
            return Level.CLEAR
        return Level.POSSIBLE if any(pattern.search(normal) for pattern in rules.possible) else Level.NONE

    normal = screen.normal(text)
    topics = tuple(any(pattern.search(normal) for pattern in patterns) for patterns in screen.topics.values())
    return (*topics, *(level(rules, normal) for rules in (screen.english, *screen.languages.values())))


def no_word_remembered(reader: detector.Detector, normal: str) -> float:
    """The detector's probability with no word's buckets remembered: every character n-gram of every word
    hashed again (the same arithmetic; the code before it remembered words was also a little slower)."""
    remembered = detector._remembered_word_buckets
    detector._remembered_word_buckets = detector._word_buckets  # type: ignore[assignment]
    try:
        return reader.probability(normal)
    finally:
        detector._remembered_word_buckets = remembered


def timed(action, items: list[str]) -> list[float]:  # type: ignore[no-untyped-def]
    samples = []
    for item in items:
        started = time.perf_counter()
        action(item)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def rss_mb() -> float:
    """This process's resident memory now, in MB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def report(cases: dict[str, Any], typical: list[str], long: list[str]) -> None:
    """Time every case over the corpus messages and the pastes; print the table."""
    print(f"crisis screen, one message at a time: {len(typical)} corpus messages, then {len(long)} pastes of ~4,096")
    print(f"{'case':<38} {'p50':>7} {'p99':>7} {'max':>8} | {'paste p50':>9} {'p99':>7}")
    for name, action in cases.items():
        samples, pasted = timed(action, typical), timed(action, long)
        p99, paste_p99 = statistics.quantiles(samples, n=100)[-1], statistics.quantiles(pasted, n=100)[-1]
        print(
            f"{name:<38} {statistics.median(samples):>7.2f} {p99:>7.2f} {max(samples):>8.1f} | "
            f"{statistics.median(pasted):>9.2f} {paste_p99:>7.2f}"
        )


def patterns_only() -> None:
    """Only the patterns, with and without their index (no learned reader is loaded)."""
    safety = load_safety(Path("conversations"))
    typical, long = texts()
    report(
        {
            "patterns (normalise + every tier)": safety.screen.verdict,
            "patterns, every one searched": lambda text: every_pattern(safety.screen, text),
        },
        typical,
        long,
    )


def detector_only() -> None:
    """Only the n-gram detector, with and without the buckets it remembers per word (no other reader)."""
    safety = load_safety(Path("conversations"))
    reader = detector.load_detector()
    assert reader is not None, "no detector model in bot/safety/model"
    typical, long = texts()
    report(
        {
            "n-gram detector (normalise + score)": lambda text: reader.probability(safety.screen.normal(text)),
            "n-gram detector, no word remembered": lambda text: no_word_remembered(reader, safety.screen.normal(text)),
        },
        typical,
        long,
    )


def passages_only() -> None:
    """All of it as the bot runs, beside the same screen with the encoder reading every passage."""
    safety = load_safety(Path("conversations"))
    assert safety.wait_ready(120), "the learned readers in bot/safety/model could not be loaded"
    reading_all = every_passage_read()
    typical, long = texts()
    report(
        # The shipped screen first: whatever the first case warms (the detector's remembered words) favours it.
        {"all of it, as the bot runs (assess)": safety.assess, "all of it, every passage read": reading_all.assess},
        typical,
        long,
    )


def disguise_only() -> None:
    """The normaliser, the patterns and all of it on dev's messages as written, beside the same messages in
    the disguises ``springboard screen-eval --disguise`` puts them in: what reading dressed-up letters costs."""
    safety = load_safety(Path("conversations"))
    assert safety.wait_ready(120), "the learned readers in bot/safety/model could not be loaded"
    written = [
        json.loads(line)["text"]
        for line in (CORPUS / "dev.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    dressed = [disguise(text) for text in written]
    cases = {
        "normalise": safety.screen.normal,
        "patterns (normalise + every tier)": safety.screen.verdict,
        "all of it, as the bot runs (assess)": safety.assess,
    }
    print(f"crisis screen, one message at a time: dev's {len(written)} messages as written and disguised (ms)")
    print(f"{'case':<38} {'p50':>7} {'p99':>7} | {'disguised p50':>13} {'p99':>7} | {'ratio p50':>9} {'p99':>6}")
    for name, action in cases.items():
        # Alternating halves, so that a busy moment of the machine does not fall on one side only.
        plain: list[float] = []
        disguised: list[float] = []
        for start in range(0, len(written), 500):
            plain += timed(action, written[start : start + 500])
            disguised += timed(action, dressed[start : start + 500])
        p50, d50 = statistics.median(plain), statistics.median(disguised)
        p99, d99 = statistics.quantiles(plain, n=100)[-1], statistics.quantiles(disguised, n=100)[-1]
        print(f"{name:<38} {p50:>7.3f} {p99:>7.2f} | {d50:>13.3f} {d99:>7.2f} | {d50 / p50:>9.2f} {d99 / p99:>6.2f}")


class _RightAway(Executor):
    """Runs what it is given at once, on the calling thread: the readers one after the other."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        done: Future[Any] = Future()
        done.set_result(fn(*args, **kwargs))
        return done


class OneAfterTheOther(Safety):
    """The shipped screen, but with the multilingual reader read before the encoder instead of beside it."""

    def _worker(self) -> Executor:
        return _RightAway()


def float_as_before(on_numpy: Encoder) -> Encoder:
    """The encoder with float layers on ONNX Runtime as they ran before int8: every core, the residual and the
    norm fused (the graph's GELU is the newer single operator, which only flatters this case)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = onnxruntime.InferenceSession(_graph(on_numpy.layers, on_numpy.heads), options)
    return dataclasses.replace(
        on_numpy, runner=lambda hidden, hide: session.run(["out"], {"hidden": hidden, "hide": hide})[0], layers=()
    )


def alternating(cases: dict[str, Any], typical: list[str], long: list[str]) -> None:
    """Time every case in turns of 500 messages (then of 50 pastes), so that a busy moment of the machine falls
    on every case alike; print p50, p99 and the worst case, and each case's ratio to the first."""
    samples: dict[str, list[float]] = {name: [] for name in cases}
    pasted: dict[str, list[float]] = {name: [] for name in cases}
    for items, into, turn in ((typical, samples, 500), (long, pasted, 50)):
        for start in range(0, len(items), turn):
            for name, action in cases.items():
                into[name] += timed(action, items[start : start + turn])
    print(f"crisis screen, one message at a time: {len(typical)} corpus messages, then {len(long)} pastes of ~4,096")
    print(f"{'case':<52} {'p50':>6} {'p99':>6} {'max':>6} | {'paste p50':>9} {'p99':>6} | {'ratio p50':>9} {'p99':>5}")
    first = next(iter(cases))
    base50, base99 = statistics.median(samples[first]), statistics.quantiles(samples[first], n=100)[-1]
    for name in cases:
        p50, p99 = statistics.median(samples[name]), statistics.quantiles(samples[name], n=100)[-1]
        paste50, paste99 = statistics.median(pasted[name]), statistics.quantiles(pasted[name], n=100)[-1]
        print(
            f"{name:<52} {p50:>6.2f} {p99:>6.2f} {max(samples[name]):>6.1f} | {paste50:>9.2f} {paste99:>6.2f} | "
            f"{p50 / base50:>9.2f} {p99 / base99:>5.2f}"
        )


def readers_only() -> None:
    """All of it as the bot runs (int8 encoder layers, the multilingual reader beside the encoder) against the
    same screen with float layers as before and the readers one after the other; each reader alone too."""
    safety = load_safety(Path("conversations"))
    assert safety.wait_ready(120), "the learned readers in bot/safety/model could not be loaded"
    shipped, multilingual = safety.encoder, safety.readers.multilingual
    assert shipped is not None and multilingual is not None
    print(f"encoder layers as the bot runs them: {shipped.layers_run_on}")
    on_numpy = load_encoder(MODEL_DIR, onnx=False)
    assert on_numpy is not None
    before = float_as_before(on_numpy)

    def screen(kind: type[Safety], encoder: Encoder) -> Safety:
        fields = {field.name: getattr(safety, field.name) for field in dataclasses.fields(safety)}
        return kind(**{**fields, "_readers": dataclasses.replace(safety.readers, encoder=encoder), "_workers": None})

    typical, long = texts()
    for text in typical[:300]:  # every screen warmed alike (the detector's remembered words)
        safety.assess(text)
    alternating(
        {
            "all of it, as the bot runs: int8, side by side": safety.assess,
            "all of it, int8, one after the other": screen(OneAfterTheOther, shipped).assess,
            "all of it, float as before, side by side": screen(Safety, before).assess,
            "all of it, float as before, one after the other": screen(OneAfterTheOther, before).assess,
            "encoder alone, int8, one thread (normalise + score)": lambda t: shipped.probability(
                safety.screen.normal(t)
            ),
            "encoder alone, float as before": lambda t: before.probability(safety.screen.normal(t)),
            "multilingual reader alone (score)": multilingual.probability,
        },
        typical,
        long,
    )


def main() -> None:
    if sys.argv[1:] == ["readers"]:
        readers_only()
        return
    if sys.argv[1:] == ["disguise"]:
        disguise_only()
        return
    if sys.argv[1:] == ["passages"]:
        passages_only()
        return
    if sys.argv[1:] == ["patterns"]:
        patterns_only()
        return
    if sys.argv[1:] == ["detector"]:
        detector_only()
        return
    safety = load_safety(Path("conversations"))
    ngram = safety.detector
    assert ngram is not None, "no detector model in bot/safety/model"
    typical, long = texts()
    before = rss_mb()
    started = time.perf_counter()
    assert safety.wait_ready(120), "the learned readers in bot/safety/model could not be loaded"
    loaded = time.perf_counter() - started
    encoder, multilingual = safety.encoder, safety.readers.multilingual
    assert encoder is not None and multilingual is not None
    print(f"learned readers: loaded in {loaded:.2f} s, resident memory {before:.0f} → {rss_mb():.0f} MB")
    always = every_passage_read()
    blend = always.readers.blend
    assert blend is not None
    always._readers = dataclasses.replace(always.readers, blend=EncoderAlwaysRead(**dataclasses.asdict(blend)))
    # The same screen with the encoder's layers on NumPy, as it runs where ONNX Runtime is not installed.
    on_numpy = load_safety(Path("conversations"))
    assert on_numpy.wait_ready(120)
    numpy_encoder = load_encoder(MODEL_DIR, onnx=False)
    assert numpy_encoder is not None
    on_numpy._readers = dataclasses.replace(on_numpy.readers, encoder=numpy_encoder)
    print(f"encoder layers on {'ONNX Runtime' if encoder.runner is not None else 'NumPy (ONNX Runtime missing)'}")
    cases = {
        "patterns (normalise + every tier)": lambda text: safety.screen.verdict(text),
        "patterns, every one searched": lambda text: every_pattern(safety.screen, text),
        "n-gram detector (normalise + score)": lambda text: ngram.probability(safety.screen.normal(text)),
        "n-gram detector, no word remembered": lambda text: no_word_remembered(ngram, safety.screen.normal(text)),
        "encoder, NumPy (normalise + score)": lambda text: numpy_encoder.probability(safety.screen.normal(text)),
        "encoder, ONNX Runtime (the same)": lambda text: encoder.probability(safety.screen.normal(text)),
        "multilingual reader (score)": multilingual.probability,
        "all of it, encoder always read, whole": always.assess,
        "all of it, encoder on NumPy (assess)": on_numpy.assess,
        "all of it, every passage read": every_passage_read().assess,
        "all of it, as the bot runs (assess)": safety.assess,
    }
    report(cases, typical, long)


if __name__ == "__main__":
    main()
