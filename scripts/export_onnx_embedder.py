"""Export the bundled all-MiniLM-L6-v2 to ONNX (mean-pool + L2 norm inside the graph), weights stored in fp16.

Reproduces ``src/routellm_plugins/assets/embedder/minilm-fp16.onnx``:

    python scripts/export_onnx_embedder.py [--out-dir src/routellm_plugins/assets/embedder] [--keep-fp32] [--int8]

Graph inputs: ``input_ids`` and ``attention_mask`` (int64, shape (batch, seq), both axes dynamic);
output: ``embedding`` (float32, (batch, 384)), mean-pooled over the mask and L2-normalised, i.e.
exactly what :class:`routellm_plugins.embedding.HFEncoder` computes with torch.

Shipped variant (``minilm-fp16.onnx``, ~45 MB): every large float initializer is stored as fp16
followed by a Cast to fp32; onnxruntime folds the casts when it loads the model, so inference
runs in fp32 (cosine to torch 1.0000, identical routing decisions). ``--int8`` also writes
``minilm-int8.onnx`` (dynamic int8, per-channel, ~23 MB; 2x faster, but its embeddings drift
(cosine ~0.993) enough to flip 5-8% of 50%-threshold decisions: not shipped, see
bench/parity_embedder.py). Needs torch, transformers, onnx and onnxruntime; runs on CPU in
well under a minute.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
OPSET = 17


def _pooled_module(path: Path):
    """The MiniLM encoder wrapped to return mean-pooled, L2-normalised rows."""
    import torch
    from transformers import AutoModel

    class Pooled(torch.nn.Module):
        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden = self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            m = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)
            return torch.nn.functional.normalize(pooled, dim=-1)

    model = AutoModel.from_pretrained(str(path), local_files_only=True, use_safetensors=True, attn_implementation="eager")
    model.eval()
    return Pooled(model).eval()


def export_fp32(path: Path, out: Path) -> None:
    """Trace the pooled encoder with the legacy (TorchScript) exporter, dynamic batch and sequence axes."""
    import torch

    module = _pooled_module(path)
    ids = torch.tensor([[101, 7592, 2088, 2003, 1037, 3231, 102], [101, 2460, 102, 0, 0, 0, 0]], dtype=torch.long)
    mask = (ids != 0).long()
    axes = {0: "batch", 1: "seq"}
    with torch.inference_mode():
        torch.onnx.export(
            module, (ids, mask), str(out), input_names=["input_ids", "attention_mask"], output_names=["embedding"],
            dynamic_axes={"input_ids": axes, "attention_mask": axes, "embedding": {0: "batch"}},
            opset_version=OPSET, do_constant_folding=True, dynamo=False,
        )


def fp16_storage(src: Path, dst: Path, min_size: int = 1024) -> None:
    """Store float initializers with >= ``min_size`` values as fp16, each read through a Cast back to fp32."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(src))
    graph = model.graph
    halves, casts = [], []
    for init in list(graph.initializer):
        if init.data_type != TensorProto.FLOAT or int(np.prod(init.dims)) < min_size:
            continue
        arr = numpy_helper.to_array(init).astype(np.float16)
        graph.initializer.remove(init)
        halves.append(numpy_helper.from_array(arr, init.name + "_fp16"))
        casts.append(helper.make_node("Cast", [init.name + "_fp16"], [init.name], to=TensorProto.FLOAT, name=init.name + "_cast"))
    graph.initializer.extend(halves)
    nodes = list(graph.node)
    del graph.node[:]
    graph.node.extend(casts + nodes)
    onnx.checker.check_model(model)
    onnx.save(model, str(dst))


def quantize_int8(src: Path, dst: Path) -> None:
    """Dynamic int8 quantization (per-channel weights, MatMul and the embedding Gathers): the fast, less exact variant."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8, per_channel=True,
                     op_types_to_quantize=["MatMul", "Gemm", "Gather"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out-dir", default=str(ROOT / "src" / "routellm_plugins" / "assets" / "embedder"))
    ap.add_argument("--keep-fp32", action="store_true", help="also write minilm-fp32.onnx (≈90 MB; not shipped)")
    ap.add_argument("--int8", action="store_true", help="also write minilm-int8.onnx (≈23 MB; fails parity, not shipped)")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT / "src"))
    from routellm_plugins.embedding import bundled_minilm_path

    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "minilm-fp32.onnx"
        export_fp32(bundled_minilm_path(), fp32)
        fp16_storage(fp32, out_dir / "minilm-fp16.onnx")
        if args.int8:
            quantize_int8(fp32, out_dir / "minilm-int8.onnx")
        if args.keep_fp32:
            fp32.replace(out_dir / "minilm-fp32.onnx")
    for f in sorted(out_dir.glob("*.onnx")):
        digest = hashlib.sha256(f.read_bytes()).hexdigest()[:16]
        print(f"{f}  {f.stat().st_size / 1e6:.1f} MB  sha256 {digest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
