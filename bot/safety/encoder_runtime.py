"""The encoder's transformer layers run by ONNX Runtime: in int8, close to NumPy's arithmetic in under half the time.

The encoder's weights stay in ``encoder.npz``, its one source: at load, the layers are written out as an ONNX
graph in memory (matrix products, layer norms, softmax attention, the tanh GELU, in the order of
:meth:`bot.safety.encoder.Encoder._layer`) and handed to ONNX Runtime. Where ``encoder_int8.npz`` holds the
products' smoothing (:data:`Smoothing`), each product's input is quantised to uint8 as it comes and multiplied
with int8 weights: the probability moves by 0.01 on average (0.13 at the 99th percentile) on dev, and the
screen's figures with it by a message or two (tests/safety/corpus/README.md). Without that file, or where
int8 reads the check sentences unlike NumPy (:func:`bot.safety.encoder.agrees_with_numpy`), the products
run in float, agreeing with NumPy's to about 1e-6. Where ``onnx`` or ``onnxruntime`` is not installed, or the
session cannot be built, the encoder runs on NumPy: this is a speed-up, never a condition for screening.
"""

from __future__ import annotations

import atexit
import logging
import threading
import zipfile
import zlib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from bot.safety.encoder import Floats, Layer

log = logging.getLogger(__name__)

LayersRunner = Callable[["Floats", "Floats"], "Floats"]
"""``(hidden, hide) -> hidden``: a batch's hidden states (batch × length × width) through every layer, with
``hide`` (batch × 1 × 1 × length) added to the attention scores (0 for a word piece, -1e4 for padding)."""

_OPSET = 17  # LayerNormalization arrived in opset 17
# A process that exits while ONNX Runtime is building a session in the background loader's (daemon) thread
# is aborted by the C++ runtime ("terminate called without an active exception"): exiting waits for a build
# under way (a second or so) and no build starts once the process is exiting.
_BUILDING = threading.Lock()
_EXITING = threading.Event()
_BUILD_WAIT_AT_EXIT_S = 30.0


@atexit.register
def _let_a_build_finish_before_exit() -> None:
    _EXITING.set()
    if _BUILDING.acquire(timeout=_BUILD_WAIT_AT_EXIT_S):
        _BUILDING.release()


_OWN_OPERATORS = "com.microsoft"  # ONNX Runtime's operators beyond the standard's (FastGelu)

SMOOTHING_FILE = "encoder_int8.npz"
PRODUCTS = ("qkv", "attention_out", "intermediate", "output")
Smoothing = Sequence[Mapping[str, "Floats"]]
"""Per layer, by product (:data:`PRODUCTS`: the query, key and value products together, the attention's
output, the feed-forward's two), how much each input column is divided by before the int8 product and its
weights' row multiplied by. Without it, one column of outsized activations would set the whole input's
int8 scale and leave the other columns a few steps each (the smoothing of Xiao et al., 2023, "SmoothQuant");
``tools/calibrate_encoder.py`` chooses it on the train split."""


class Quantised(NamedTuple):
    """An input of int8 products: its uint8 values, scale and zero point, and the factors of :data:`Smoothing`."""

    values: str
    scale: str
    zero: str
    factors: Floats


def onnx_runner(layers: Sequence[Layer], heads: int, smoothing: Smoothing | None = None) -> LayersRunner | None:
    """A runner for ``layers`` on ONNX Runtime, or None when it is not installed or cannot take the graph (or
    the process is exiting). With ``smoothing``, the layers' matrix products run in int8 (see :data:`Smoothing`).

    It runs on one thread: the screen reads the multilingual reader on another core beside it.
    """
    with _BUILDING:
        return None if _EXITING.is_set() else _build_runner(layers, heads, smoothing)


def _build_runner(layers: Sequence[Layer], heads: int, smoothing: Smoothing | None) -> LayersRunner | None:
    try:
        import onnxruntime
    except ImportError:
        return None
    except Exception as error:  # installed but broken (built for another NumPy, a library missing)
        log.warning("the encoder runs on NumPy: ONNX Runtime could not be imported (%s)", error)
        return None
    try:
        graph = _graph(layers, heads, smoothing)
        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = 1
        # Idle threads sleep instead of spinning: the bot's other work shares these cores.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        # The fused residual-and-norm operator took a third of the int8 layers' time at one thread (2.3 of
        # 7.5 ms on 128 word pieces); the plain addition and LayerNormalization take 0.5 ms (bench/RESULTS.md).
        slow = ["SkipLayerNormFusion"]
        session = onnxruntime.InferenceSession(
            graph, options, providers=["CPUExecutionProvider"], disabled_optimizers=slow
        )
    except Exception as error:  # any failure here leaves NumPy in charge, which is always correct
        log.warning("the encoder runs on NumPy: ONNX Runtime could not take its layers (%s)", error)
        return None

    def run(hidden: Floats, hide: Floats) -> Floats:
        result: Floats = session.run(["out"], {"hidden": hidden, "hide": hide})[0]
        return result

    return run


def load_smoothing(folder: Path, layers: Sequence[Layer]) -> Smoothing | None:
    """The int8 layers' :data:`Smoothing` stored in ``folder`` for ``layers``, or None (the layers then run in
    float) when the file is missing, unreadable or made for other layers."""
    import numpy as np

    try:
        # Opened here, so a broken archive cannot leave the file open behind NumPy.
        with (folder / SMOOTHING_FILE).open("rb") as handle, np.load(handle, allow_pickle=False) as stored:
            found = [
                {name: stored[f"layer{index}.{name}"].astype(np.float32) for name in PRODUCTS}
                for index in range(len(layers))
            ]
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile, zlib.error):
        return None
    for factors, layer in zip(found, layers, strict=True):
        widths = {
            "qkv": layer.query,
            "attention_out": layer.attention_out,
            "intermediate": layer.intermediate,
            "output": layer.output,
        }
        for name, weights in widths.items():
            vector = factors[name]
            if vector.shape != (weights[0].shape[1],) or not (np.isfinite(vector).all() and (vector > 0).all()):
                return None
    return found


def save_smoothing(folder: Path, smoothing: Smoothing, about: str) -> None:
    """Write ``smoothing`` and how it was chosen (used by ``tools/calibrate_encoder.py``)."""
    import numpy as np

    arrays: dict[str, Any] = {
        f"layer{index}.{name}": factors[name] for index, factors in enumerate(smoothing) for name in PRODUCTS
    }
    arrays["about"] = np.array(about)
    np.savez_compressed(folder / SMOOTHING_FILE, **arrays)


def give_back_freed_memory() -> None:
    """Return the heap glibc kept after the graph was built (its copies of the weights, ~28 MB) to the system.

    Freed blocks this large stay in the process otherwise, since glibc raises its mmap threshold once a large
    block is freed; elsewhere (another C library) this does nothing.
    """
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL(None).malloc_trim(0)  # the C library the process already runs on
    except (OSError, AttributeError):
        return


def _graph(layers: Sequence[Layer], heads: int, smoothing: Smoothing | None = None) -> bytes:
    """The serialised ONNX model of ``layers``, in int8 where ``smoothing`` is given (raises ImportError without
    the ``onnx`` package)."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    width = int(layers[0].query[0].shape[0])
    size = width // heads
    constants: list[onnx.TensorProto] = []
    nodes: list[onnx.NodeProto] = []

    def constant(name: str, value: Any, dtype: Any = np.float32) -> str:
        constants.append(numpy_helper.from_array(np.ascontiguousarray(np.asarray(value, dtype=dtype)), name))
        return name

    def node(kind: str, inputs: list[str], output: str, domain: str = "", **attributes: Any) -> str:
        nodes.append(helper.make_node(kind, inputs, [output], domain=domain, **attributes))
        return output

    def linear(values: str | Quantised, weights: tuple[Floats, Floats], name: str) -> str:
        if isinstance(values, str):
            product = node("MatMul", [values, constant(f"{name}.weight", weights[0].T)], f"{name}.product")
        else:
            # int8 weights, one scale per output column; the input's scale and zero point come with it.
            columns = np.ascontiguousarray(weights[0].T * values.factors[:, None])
            scale = np.abs(columns).max(axis=0) / np.float32(127.0)
            scale[scale == 0] = np.float32(1.0)
            whole = np.clip(np.round(columns / scale), -127, 127)
            wide = node(
                "MatMulInteger",
                [
                    values.values,
                    constant(f"{name}.weight", whole, np.int8),
                    values.zero,
                    constant(f"{name}.weight_zero", np.zeros(scale.shape), np.int8),
                ],
                f"{name}.whole",
            )
            scales = node("Mul", [values.scale, constant(f"{name}.weight_scale", scale)], f"{name}.scales")
            product = node(
                "Mul", [node("Cast", [wide], f"{name}.cast", to=TensorProto.FLOAT), scales], f"{name}.product"
            )
        return node("Add", [product, constant(f"{name}.bias", weights[1])], name)

    def quantised(values: str, factors: Floats | None, name: str, divided: bool = False) -> str | Quantised:
        """``values`` divided by ``factors`` (unless they come ``divided`` already) and quantised to uint8
        once, for every product that reads them; the products' weights are multiplied by ``factors``."""
        if factors is None:
            return values
        smoothed = values
        if not divided:
            smoothing = constant(f"{name}.smoothing", np.float32(1.0) / factors)
            smoothed = node("Mul", [values, smoothing], f"{name}.smoothed")
        names = (f"{name}.uint8", f"{name}.scale", f"{name}.zero")
        nodes.append(helper.make_node("DynamicQuantizeLinear", [smoothed], list(names)))
        return Quantised(*names, factors)

    def norm(values: str, weights: tuple[Floats, Floats], name: str) -> str:
        scale, shift = constant(f"{name}.scale", weights[0]), constant(f"{name}.shift", weights[1])
        return node("LayerNormalization", [values, scale, shift], name, axis=-1, epsilon=1e-12)

    into_heads = constant("into_heads", [0, 0, heads, size], np.int64)
    out_of_heads = constant("out_of_heads", [0, 0, width], np.int64)
    temperature = constant("temperature", 1.0 / np.sqrt(np.float32(size)))
    hidden = "hidden"
    for index, layer in enumerate(layers):
        name = f"layer{index}"
        factors = smoothing[index] if smoothing is not None else {}
        value = layer.value
        attention_out = factors.get("attention_out")
        if attention_out is not None:
            # The attention's context is a weighted sum of the values, so dividing the values' columns divides
            # the context's: no product of its own.
            value = (layer.value[0] / attention_out[:, None], layer.value[1] / attention_out)

        def split(matrix: str, order: list[int]) -> str:
            heads_apart = node("Reshape", [matrix, into_heads], f"{matrix}.heads")
            return node("Transpose", [heads_apart], f"{matrix}.t", perm=order)

        read = quantised(hidden, factors.get("qkv"), f"{name}.input")
        query = split(linear(read, layer.query, f"{name}.query"), [0, 2, 1, 3])
        key = split(linear(read, layer.key, f"{name}.key"), [0, 2, 3, 1])
        values = split(linear(read, value, f"{name}.value"), [0, 2, 1, 3])
        scores = node("Mul", [node("MatMul", [query, key], f"{name}.qk"), temperature], f"{name}.scaled")
        weights = node("Softmax", [node("Add", [scores, "hide"], f"{name}.hidden")], f"{name}.softmax", axis=-1)
        context = node("Transpose", [node("MatMul", [weights, values], f"{name}.wv")], f"{name}.ctx", perm=[0, 2, 1, 3])
        context = node("Reshape", [context, out_of_heads], f"{name}.context")
        context_read = quantised(context, attention_out, f"{name}.context", divided=True)
        attended = node(
            "Add", [hidden, linear(context_read, layer.attention_out, f"{name}.attention_out")], f"{name}.r1"
        )
        attended = norm(attended, layer.attention_norm, f"{name}.attention_norm")
        inner = linear(quantised(attended, factors.get("intermediate"), f"{name}.i"), layer.intermediate, f"{name}.in")
        # The tanh form of GELU in one operator of ONNX Runtime's own (the NumPy layers compute the same form).
        inner = node("FastGelu", [inner], f"{name}.gelu", domain=_OWN_OPERATORS)
        output = linear(quantised(inner, factors.get("output"), f"{name}.o"), layer.output, f"{name}.output")
        hidden = norm(node("Add", [attended, output], f"{name}.r2"), layer.output_norm, f"{name}.output_norm")
    node("Identity", [hidden], "out")
    floats = TensorProto.FLOAT
    graph = helper.make_graph(
        nodes,
        "springboard-encoder-layers",
        [
            helper.make_tensor_value_info("hidden", floats, ["batch", "length", width]),
            helper.make_tensor_value_info("hide", floats, ["batch", 1, 1, "length"]),
        ],
        [helper.make_tensor_value_info("out", floats, ["batch", "length", width])],
        constants,
    )
    opsets = [helper.make_opsetid("", _OPSET), helper.make_opsetid(_OWN_OPERATORS, 1)]
    model = helper.make_model(graph, opset_imports=opsets)
    model.ir_version = 8  # readable by every onnxruntime that knows opset 17
    return bytes(model.SerializeToString())
