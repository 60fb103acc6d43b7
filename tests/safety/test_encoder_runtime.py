"""The encoder's layers on ONNX Runtime: in float the same answers as NumPy, in int8 close to them (float where a
processor's int8 disagrees), and NumPy whenever the runtime cannot serve."""

from __future__ import annotations

import dataclasses
import json
import logging
import sys
from pathlib import Path

import numpy as np
import pytest

from bot.safety import load_safety
from bot.safety.detector import MODEL_DIR
from bot.safety.encoder import AGREEMENT_CHECK, Encoder, load_encoder, on_onnx_runtime, passages
from bot.safety.encoder_runtime import (
    PRODUCTS,
    SMOOTHING_FILE,
    LayersRunner,
    load_smoothing,
    onnx_runner,
    save_smoothing,
)

CORPUS = Path(__file__).resolve().parent / "corpus"

MESSAGES = [
    "failed the bar exam again. honestly i dont see the point of any of it anymore",
    "lol the presentation died on stage, i wanted the floor to swallow me",
    "ok",
    # Long enough for several passages, and one sentence longer than a passage (overlapping windows).
    " ".join(["The quarterly review went badly and my manager said the numbers were mine to fix."] * 12)
    + " I have been saving my pills for a while now and tonight feels like the night."
    + " and then " * 140,
]


@pytest.fixture(scope="module")
def pair() -> tuple[Encoder, Encoder]:
    """The encoder on NumPy, and the same on ONNX Runtime's float layers."""
    on_numpy = load_encoder(MODEL_DIR, onnx=False)
    assert on_numpy is not None
    in_float = onnx_runner(on_numpy.layers, on_numpy.heads)
    assert in_float is not None, "ONNX Runtime is installed but did not serve"
    return on_numpy, dataclasses.replace(on_numpy, runner=in_float, layers=())


@pytest.fixture(scope="module")
def shipped() -> Encoder:
    """The encoder as the bot loads it: int8 layers on ONNX Runtime."""
    encoder = load_encoder(MODEL_DIR)
    assert encoder is not None and encoder.layers_run_on == "ONNX Runtime, int8"
    return encoder


def test_the_runtime_computes_the_hidden_states_numpy_does(pair: tuple[Encoder, Encoder]) -> None:
    on_numpy, on_onnx = pair
    assert on_onnx.runner is not None
    rng = np.random.default_rng(3)
    for length in (3, 40, 128):
        hidden = rng.standard_normal((2, length, 384)).astype(np.float32)
        hide = np.zeros((2, 1, 1, length), dtype=np.float32)
        hide[1, ..., length // 2 :] = -1e4  # the second row's tail is padding
        expected = on_numpy.through_layers(hidden, hide)
        assert np.abs(on_onnx.runner(hidden, hide) - expected).max() < 1e-3 * np.abs(expected).max()


def test_the_runtime_reads_every_message_as_numpy_does(pair: tuple[Encoder, Encoder]) -> None:
    on_numpy, on_onnx = pair
    assert len(passages(on_numpy.pieces, MESSAGES[-1])) > 3
    for text in MESSAGES:
        assert on_onnx.probability(text) == pytest.approx(on_numpy.probability(text), abs=1e-5)


def test_the_int8_layers_read_dev_close_to_numpy(pair: tuple[Encoder, Encoder], shipped: Encoder) -> None:
    # Calibration measured a mean gap of 0.010 and a 99th percentile of 0.13 in probability over all of dev.
    on_numpy, _ = pair
    safety = load_safety(Path(__file__).resolve().parents[2] / "conversations")
    lines = (CORPUS / "dev.jsonl").read_text(encoding="utf-8").splitlines()
    texts = [safety.screen.normal(json.loads(line)["text"]) for line in lines[::8] if line]
    gaps = np.array([abs(shipped.probability(text) - on_numpy.probability(text)) for text in texts])
    assert len(texts) > 400
    assert gaps.mean() < 0.02 and np.quantile(gaps, 0.99) < 0.2, (gaps.mean(), np.quantile(gaps, 0.99))


def test_int8_layers_that_disagree_with_numpy_give_way_to_float_and_say_so(
    pair: tuple[Encoder, Encoder], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    on_numpy, _ = pair
    real = onnx_runner

    def saturating(layers: object, heads: int, smoothing: object = None) -> LayersRunner | None:
        runner = real(layers, heads, smoothing)  # type: ignore[arg-type]
        if smoothing is None or runner is None:
            return runner
        # As a processor whose int8 products overflow would read: the hidden states come out scrambled.
        return lambda hidden, hide: runner(hidden, hide)[..., ::-1].copy()

    monkeypatch.setattr("bot.safety.encoder_runtime.onnx_runner", saturating)
    with caplog.at_level(logging.WARNING, logger="bot.safety.encoder"):
        encoder = on_onnx_runtime(on_numpy, MODEL_DIR)
    assert encoder.layers_run_on == "ONNX Runtime, float"
    assert "float instead" in caplog.text
    for text in AGREEMENT_CHECK:
        assert encoder.probability(text) == pytest.approx(on_numpy.probability(text), abs=1e-5)


def test_without_the_smoothing_file_the_layers_run_in_float(pair: tuple[Encoder, Encoder], tmp_path: Path) -> None:
    on_numpy, _ = pair
    assert load_smoothing(tmp_path, on_numpy.layers) is None
    (tmp_path / SMOOTHING_FILE).write_bytes(b"not an archive")
    assert load_smoothing(tmp_path, on_numpy.layers) is None
    shipped_smoothing = load_smoothing(MODEL_DIR, on_numpy.layers)
    assert shipped_smoothing is not None
    wrong = [dict(factors) for factors in shipped_smoothing]
    wrong[1]["output"] = wrong[1]["output"][:100]  # made for other layers
    save_smoothing(tmp_path, wrong, "a test")
    assert load_smoothing(tmp_path, on_numpy.layers) is None
    negative = [dict(factors) for factors in shipped_smoothing]
    negative[0]["qkv"] = -negative[0]["qkv"]
    save_smoothing(tmp_path, negative, "a test")
    assert load_smoothing(tmp_path, on_numpy.layers) is None
    save_smoothing(tmp_path, shipped_smoothing, "a test")
    again = load_smoothing(tmp_path, on_numpy.layers)
    assert again is not None and all(np.array_equal(again[0][name], shipped_smoothing[0][name]) for name in PRODUCTS)


def test_a_padded_batch_reads_each_passage_as_if_alone(pair: tuple[Encoder, Encoder]) -> None:
    on_numpy, on_onnx = pair
    batch = [ids for text in MESSAGES for ids in passages(on_numpy.pieces, text)][:6]
    assert len({len(ids) for ids in batch}) > 1  # padding is exercised
    together = on_onnx.probabilities(batch)
    alone = [on_numpy.probabilities([ids])[0] for ids in batch]
    assert together == pytest.approx(alone, abs=1e-5)


def test_without_onnx_runtime_the_encoder_runs_on_numpy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # makes ``import onnxruntime`` fail
    encoder = load_encoder(MODEL_DIR)
    assert encoder is not None and encoder.runner is None
    assert 0.0 <= encoder.probability(MESSAGES[0]) <= 1.0


def test_a_graph_the_runtime_refuses_leaves_numpy_in_charge_and_says_so(
    pair: tuple[Encoder, Encoder], caplog: pytest.LogCaptureFixture
) -> None:
    on_numpy, _ = pair
    layer = on_numpy.layers[0]
    broken = dataclasses.replace(layer, output=(layer.output[0][:, :7], layer.output[1]))  # shapes that cannot chain
    with caplog.at_level(logging.WARNING, logger="bot.safety.encoder_runtime"):
        assert onnx_runner([broken], on_numpy.heads) is None
    assert "runs on NumPy" in caplog.text


def test_the_warmed_up_screen_reads_with_the_runtime_and_keeps_no_numpy_copy_of_the_layers() -> None:
    safety = load_safety(Path(__file__).resolve().parents[2] / "conversations")
    assert safety.wait_ready(120)
    encoder = safety.encoder
    assert encoder is not None and encoder.runner is not None and encoder.layers == ()
    assert encoder.layers_run_on == "ONNX Runtime, int8"
    assert safety.assess(MESSAGES[0]).score is not None


def test_should_the_runtime_fail_on_a_message_numpy_reads_it_and_every_later_one(
    pair: tuple[Encoder, Encoder], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    on_numpy, _ = pair
    calls: list[int] = []

    def failing(layers: object, heads: int, smoothing: object = None) -> object:
        def run(hidden: object, hide: object) -> object:
            calls.append(1)
            raise RuntimeError("the runtime broke")

        return run

    monkeypatch.setattr("bot.safety.encoder_runtime.onnx_runner", failing)
    monkeypatch.setattr("bot.safety.encoder_runtime.load_smoothing", lambda folder, layers: None)  # float layers
    encoder = on_onnx_runtime(on_numpy, MODEL_DIR)
    assert encoder.layers == () and encoder.runner is not None
    with caplog.at_level(logging.ERROR, logger="bot.safety.encoder"):
        for text in MESSAGES[:3]:
            assert encoder.probability(text) == pytest.approx(on_numpy.probability(text), abs=1e-6)
    assert calls == [1], "after the first failure the runtime is not asked again"
    assert "NumPy reads from now on" in caplog.text


def test_an_onnx_runtime_that_is_installed_but_broken_leaves_numpy_in_charge(
    pair: tuple[Encoder, Encoder], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import builtins

    real_import = builtins.__import__

    def importing(name: str, *args: object, **kwargs: object) -> object:
        if name == "onnxruntime":
            raise AttributeError("_ARRAY_API not found")  # a wheel built for another NumPy
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", importing)
    with caplog.at_level(logging.WARNING, logger="bot.safety.encoder_runtime"):
        assert onnx_runner(pair[0].layers, pair[0].heads) is None
    assert "could not be imported" in caplog.text


def test_a_process_exiting_while_the_runtime_builds_in_the_background_exits_cleanly() -> None:
    import subprocess
    import textwrap

    script = textwrap.dedent(
        """
        import sys, threading
        import onnxruntime
        from bot.safety.detector import MODEL_DIR
        from bot.safety.encoder import load_encoder
        from bot.safety.encoder_runtime import onnx_runner

        building = threading.Event()

        class Session(onnxruntime.InferenceSession):
            def __init__(self, *args, **kwargs):
                building.set()  # the C++ runtime is about to build the session in the daemon thread
                super().__init__(*args, **kwargs)

        onnxruntime.InferenceSession = Session
        encoder = load_encoder(MODEL_DIR, onnx=False)
        threading.Thread(target=onnx_runner, args=(encoder.layers, encoder.heads), daemon=True).start()
        assert building.wait(60)
        sys.exit(0)
        """
    )
    finished = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, finished.stderr[-500:]
    assert "terminate called" not in finished.stderr
