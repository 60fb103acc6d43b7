"""The encoder's transformer layers run by ONNX Runtime: the same arithmetic as NumPy's, in about half the time.

The encoder's weights stay in ``encoder.npz``, its one source: at load, the layers are written out as an ONNX
graph in memory (matrix products, layer norms, softmax attention, the tanh GELU, in the order and precision of
:meth:`bot.safety.encoder.Encoder._layer`) and handed to ONNX Runtime, whose fused kernels spend less time per
product than NumPy's one-call-per-operation. Answers agree with NumPy's to about 1e-6 in probability, so no
threshold moves. Where ``onnx`` or ``onnxruntime`` is not installed, or the session cannot be built, the
encoder runs on NumPy as before: this is a speed-up, never a condition for screening.
"""

from __future__ import annotations

import atexit
import logging
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

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


_GELU_CUBE = 0.044715
_GELU_SCALE = 0.7978845608


def onnx_runner(layers: Sequence[Layer], heads: int) -> LayersRunner | None:
    """A runner for ``layers`` on ONNX Runtime, or None when it is not installed or cannot take the graph (or
    the process is exiting)."""
    with _BUILDING:
        return None if _EXITING.is_set() else _build_runner(layers, heads)


def _build_runner(layers: Sequence[Layer], heads: int) -> LayersRunner | None:
    try:
        import onnxruntime
    except ImportError:
        return None
    except Exception as error:  # installed but broken (built for another NumPy, a library missing)
        log.warning("the encoder runs on NumPy: ONNX Runtime could not be imported (%s)", error)
        return None
    try:
        graph = _graph(layers, heads)
        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Idle threads sleep instead of spinning: the bot's other work shares these cores.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        session = onnxruntime.InferenceSession(graph, options, providers=["CPUExecutionProvider"])
    except Exception as error:  # any failure here leaves NumPy in charge, which is always correct
        log.warning("the encoder runs on NumPy: ONNX Runtime could not take its layers (%s)", error)
        return None

    def run(hidden: Floats, hide: Floats) -> Floats:
        result: Floats = session.run(["out"], {"hidden": hidden, "hide": hide})[0]
        return result

    return run


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


def _graph(layers: Sequence[Layer], heads: int) -> bytes:
    """The serialised ONNX model of ``layers`` (raises ImportError without the ``onnx`` package)."""
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

    def node(kind: str, inputs: list[str], output: str, **attributes: Any) -> str:
        nodes.append(helper.make_node(kind, inputs, [output], **attributes))
        return output

    def linear(values: str, weights: tuple[Floats, Floats], name: str) -> str:
        product = node("MatMul", [values, constant(f"{name}.weight", weights[0].T)], f"{name}.product")
        return node("Add", [product, constant(f"{name}.bias", weights[1])], name)

    def norm(values: str, weights: tuple[Floats, Floats], name: str) -> str:
        scale, shift = constant(f"{name}.scale", weights[0]), constant(f"{name}.shift", weights[1])
        return node("LayerNormalization", [values, scale, shift], name, axis=-1, epsilon=1e-12)

    def gelu(values: str, name: str) -> str:
        cube = node("Mul", [node("Mul", [values, values], f"{name}.square"), values], f"{name}.cube")
        inner = node("Add", [values, node("Mul", [cube, constant(f"{name}.c", _GELU_CUBE)], f"{name}.cc")], name + ".i")
        curve = node("Tanh", [node("Mul", [inner, constant(f"{name}.s", _GELU_SCALE)], f"{name}.si")], f"{name}.t")
        lifted = node("Add", [curve, constant(f"{name}.one", 1.0)], f"{name}.l")
        return node("Mul", [node("Mul", [values, lifted], f"{name}.x"), constant(f"{name}.half", 0.5)], name)

    into_heads = constant("into_heads", [0, 0, heads, size], np.int64)
    out_of_heads = constant("out_of_heads", [0, 0, width], np.int64)
    temperature = constant("temperature", 1.0 / np.sqrt(np.float32(size)))
    hidden = "hidden"
    for index, layer in enumerate(layers):
        name = f"layer{index}"

        def split(matrix: str, order: list[int]) -> str:
            heads_apart = node("Reshape", [matrix, into_heads], f"{matrix}.heads")
            return node("Transpose", [heads_apart], f"{matrix}.t", perm=order)

        query = split(linear(hidden, layer.query, f"{name}.query"), [0, 2, 1, 3])
        key = split(linear(hidden, layer.key, f"{name}.key"), [0, 2, 3, 1])
        value = split(linear(hidden, layer.value, f"{name}.value"), [0, 2, 1, 3])
        scores = node("Mul", [node("MatMul", [query, key], f"{name}.qk"), temperature], f"{name}.scaled")
        weights = node("Softmax", [node("Add", [scores, "hide"], f"{name}.hidden")], f"{name}.softmax", axis=-1)
        context = node("Transpose", [node("MatMul", [weights, value], f"{name}.wv")], f"{name}.ctx", perm=[0, 2, 1, 3])
        context = node("Reshape", [context, out_of_heads], f"{name}.context")
        attended = node("Add", [hidden, linear(context, layer.attention_out, f"{name}.attention_out")], f"{name}.r1")
        attended = norm(attended, layer.attention_norm, f"{name}.attention_norm")
        inner = gelu(linear(attended, layer.intermediate, f"{name}.intermediate"), f"{name}.gelu")
        summed = node("Add", [attended, linear(inner, layer.output, f"{name}.output")], f"{name}.r2")
        hidden = norm(summed, layer.output_norm, f"{name}.output_norm")
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
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", _OPSET)])
    model.ir_version = 8  # readable by every onnxruntime that knows opset 17
    return bytes(model.SerializeToString())
