"""ONNX Runtime backend of the bundled MiniLM embedder: no torch or transformers import.

The model ``assets/embedder/minilm-fp16.onnx`` (made by ``scripts/export_onnx_embedder.py``:
fp16-stored weights, fp32 compute) returns mean-pooled, L2-normalised rows; tokenisation uses the ``tokenizers`` library on the
bundled ``tokenizer.json`` with the same head + tail truncation as :class:`~routellm_plugins.embedding.HFEncoder`.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from routellm_plugins.embedding import (DEFAULT_EMBEDDER, DEFAULT_HEAD_TOKENS, DEFAULT_MAX_TOKENS, CachedEncoder, _LRU,
                                        bundled_minilm_path, check_lengths, head_tail)
from routellm_plugins.errors import ConfigError

#: File name of the shipped model inside ``routellm_plugins/assets/embedder``.
BUNDLED_ONNX = "minilm-fp16.onnx"


def bundled_onnx_path() -> Path:
    """Path of the int8 ONNX MiniLM shipped with the package (may be missing in a broken install)."""
    return Path(__file__).resolve().parent / "assets" / "embedder" / BUNDLED_ONNX


#: Most padded tokens (rows x width) run through the model at once.
BATCH_TOKEN_BUDGET = 4096


def default_threads() -> int:
    """Intra-op threads: the usable cores, 1 to 4 (on a quiet 2-core box 2 threads halve single-prompt latency vs 1)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, min(4, cores))


def _special_ids(tokenizer: Any, folder: Path) -> tuple[int, int, int]:
    """(cls, sep, pad) ids from the folder's special_tokens_map.json (BERT names by default)."""
    names = {"cls_token": "[CLS]", "sep_token": "[SEP]", "pad_token": "[PAD]"}
    f = folder / "special_tokens_map.json"
    if f.is_file():
        for k, v in json.loads(f.read_text(encoding="utf-8")).items():
            if k in names:
                names[k] = v["content"] if isinstance(v, dict) else str(v)
    ids = [tokenizer.token_to_id(names[k]) for k in ("cls_token", "sep_token", "pad_token")]
    if any(i is None for i in ids):
        raise ConfigError(f"tokenizer in {str(folder)!r} lacks one of the special tokens {sorted(names.values())}")
    return ids[0], ids[1], ids[2]


class OnnxEncoder(CachedEncoder):
    """The MiniLM encoder run by onnxruntime; same contract and truncation as HFEncoder.

    ``path``: folder with ``tokenizer.json`` (default: the bundled MiniLM); ``model_file``: a pooled
    ONNX model with inputs ``input_ids``/``attention_mask`` and a (batch, dim) output (default: the
    shipped file, only for the bundled MiniLM). ``device`` "cuda" uses CUDAExecutionProvider
    when onnxruntime has it (default: it when available, else CPU). ``threads``: intra-op threads.
    """

    backend = "onnx"

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        model_file: str | os.PathLike[str] | None = None,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        head_tokens: int = DEFAULT_HEAD_TOKENS,
        batch_size: int = 64,
        cache_size: int = 4096,
        device: str | None = None,
        threads: int | None = None,
    ) -> None:
        check_lengths(max_tokens, head_tokens)
        if path is not None and model_file is None:
            raise ConfigError(f"the onnx embedder backend has no model for {str(path)!r}: pass model_file=<pooled .onnx> "
                              "(see scripts/export_onnx_embedder.py) or use backend='torch'")
        if threads is not None and threads < 1:
            raise ConfigError(f"threads must be >= 1, got {threads}")
        self.path = Path(path) if path is not None else None
        self.model_file = Path(model_file) if model_file is not None else None
        self.name = DEFAULT_EMBEDDER if path is None else str(path)
        self.max_tokens = max_tokens
        self.head_tokens = head_tokens
        self.batch_size = batch_size
        self.device = device
        self.threads = threads
        self._cache = _LRU(cache_size)
        self._lock = threading.Lock()
        self._session: Any = None
        self._tokenizer: Any = None
        self._dim: int | None = None

    def _ensure_loaded(self) -> None:
        if self._session is not None:
            return
        with self._lock:
            if self._session is not None:
                return
            model_file = self.model_file or bundled_onnx_path()
            if not model_file.is_file():
                raise ConfigError(f"ONNX embedder model {str(model_file)!r} not found; rebuild it with "
                                  "scripts/export_onnx_embedder.py or use backend='torch'")
            folder = self.path or bundled_minilm_path()
            tok_file = Path(folder) / "tokenizer.json"
            if not tok_file.is_file():
                raise ConfigError(f"embedder folder {str(folder)!r} has no tokenizer.json (needed by the onnx backend)")
            import onnxruntime as ort
            from tokenizers import Tokenizer

            tokenizer = Tokenizer.from_file(str(tok_file))
            tokenizer.no_truncation()
            tokenizer.no_padding()
            self._cls, self._sep, self._pad = _special_ids(tokenizer, Path(folder))

            opts = ort.SessionOptions()
            opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            opts.intra_op_num_threads = self.threads or default_threads()
            opts.inter_op_num_threads = 1
            opts.enable_cpu_mem_arena = False  # the arena keeps the largest batch's buffers for the process lifetime
            opts.add_session_config_entry("session.intra_op.allow_spinning", "0")  # polite on shared cores
            available = ort.get_available_providers()
            want_cuda = self.device is None or str(self.device).startswith("cuda")
            providers = ["CUDAExecutionProvider", "CPUExecutionProvider"] if want_cuda and "CUDAExecutionProvider" in available \
                else ["CPUExecutionProvider"]
            if self.device and str(self.device).startswith("cuda") and providers[0] != "CUDAExecutionProvider":
                raise ConfigError(f"device {self.device!r} asked for, but onnxruntime has no CUDAExecutionProvider "
                                  f"(providers: {available}); install onnxruntime-gpu or use device='cpu'")
            try:
                session = ort.InferenceSession(str(model_file), opts, providers=providers)
            except Exception as exc:
                raise ConfigError(f"onnxruntime cannot load {str(model_file)!r}: {exc}") from exc
            inputs = {i.name for i in session.get_inputs()}
            out = session.get_outputs()[0]
            if not {"input_ids", "attention_mask"} <= inputs or len(out.shape) != 2 or not isinstance(out.shape[1], int):
                raise ConfigError(f"{str(model_file)!r} is not a pooled encoder (inputs {sorted(inputs)}, output shape {out.shape})")
            self.device = "cuda" if providers[0] == "CUDAExecutionProvider" else "cpu"
            self._dim = int(out.shape[1])
            self._out_name = out.name
            self._tokenizer = tokenizer
            self._session = session

    def token_ids(self, texts: list[str]) -> list[list[int]]:
        """Model input ids of each text: [CLS] head … tail [SEP], as HFEncoder builds them."""
        self._ensure_loaded()
        encs = self._tokenizer.encode_batch(texts, add_special_tokens=False)
        return [head_tail(e.ids, self.max_tokens, self.head_tokens, self._cls, self._sep) for e in encs]

    def _encode(self, texts: list[str]) -> np.ndarray:
        out = np.empty((len(texts), self._dim or 0), dtype=np.float32)
        seqs_all = self.token_ids(texts)
        order = sorted(range(len(texts)), key=lambda i: len(seqs_all[i]))  # less padding per batch
        start = 0
        while start < len(order):
            # Rows sorted by length: grow the batch while rows x width stays in the token budget
            # (attention memory grows with width squared; this keeps peak RSS flat on long prompts).
            end = start + 1
            while end < len(order) and end - start < self.batch_size \
                    and (end - start + 1) * len(seqs_all[order[end]]) <= BATCH_TOKEN_BUDGET:
                end += 1
            idx = order[start:end]
            start = end
            seqs = [seqs_all[i] for i in idx]
            width = max(len(s) for s in seqs)
            ids = np.full((len(seqs), width), self._pad, dtype=np.int64)
            mask = np.zeros((len(seqs), width), dtype=np.int64)
            for r, s in enumerate(seqs):
                ids[r, : len(s)] = s
                mask[r, : len(s)] = 1
            rows = self._session.run([self._out_name], {"input_ids": ids, "attention_mask": mask})[0]
            out[idx] = np.asarray(rows, dtype=np.float32)
        return out
