"""ONNX Runtime backend of the bundled MiniLM embedder: no torch or transformers import.

The model is built from the pinned MiniLM weights at first use into the user cache
(:mod:`routellm_plugins.embedding_build`); tokenisation uses the ``tokenizers`` library on the
bundled ``tokenizer.json`` with the same head + tail truncation as :class:`~routellm_plugins.embedding.HFEncoder`.

Precisions (``precision=`` or ``$ROUTELLM_EMBEDDER_PRECISION``): "fp32" (the default: the numbers
every bundled router was trained on) and "int8", an opt-in faster tier that moves routing
quality slightly (see the README's Performance section and ``bench/parity_embedder.py``);
"auto" means the default.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from routellm_plugins.embedding import (DEFAULT_EMBEDDER, DEFAULT_HEAD_TOKENS, DEFAULT_MAX_TOKENS, CachedEncoder, _LRU,
                                        bundled_minilm_path, check_lengths, head_tail, microbatch_settings, pad_batch)
from routellm_plugins.errors import ConfigError, show_value

PRECISIONS = ("auto", "fp32", "int8")
PRECISION_ENV = "ROUTELLM_EMBEDDER_PRECISION"
log = logging.getLogger(__name__)


def default_threads() -> int:
    """Intra-op threads: the usable cores, 1 to 4 (on a quiet 2-core box 2 threads halve single-prompt latency vs 1)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, min(4, cores))


def cpu_has_vnni() -> bool:
    """True when the CPU has VNNI int8 dot products (x86 avx512_vnni / avx_vnni), read from /proc/cpuinfo.

    Without them onnxruntime's uint8 x int8 kernels can saturate 16-bit sums, so int8 is not the default there.
    """
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool({"avx512_vnni", "avx_vnni"} & flags)
    except OSError:
        pass
    return False


def default_precision(device: str | None = None) -> str:
    """What "auto" means: "fp32" (int8 fails the |dAPGR| <= 0.005 parity bar for sw_ranking, so it is opt-in)."""
    return "fp32"


def resolve_precision(precision: str | None, device: str | None = None) -> str:
    """"fp32" or "int8" for a precision name (None: ``$ROUTELLM_EMBEDDER_PRECISION``, else "auto")."""
    raw = precision if precision is not None else (os.environ.get(PRECISION_ENV) or "auto")
    name = raw.strip().lower() if isinstance(raw, str) else None
    if name not in PRECISIONS:
        src = f"${PRECISION_ENV}" if precision is None else "precision"
        raise ConfigError(f"unknown embedder {src} {show_value(raw)}; choose one of {', '.join(PRECISIONS)}")
    if name == "auto":
        return default_precision(device)
    if name == "int8" and not cpu_has_vnni():
        log.warning("precision 'int8' on a CPU without VNNI int8 instructions: onnxruntime's uint8 x int8 kernels "
                    "may saturate there; 'fp32' is the safe choice")
    return name


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
    bundled MiniLM built for ``precision``, see the module docstring). ``device`` "cuda" uses
    CUDAExecutionProvider when onnxruntime has it (default: it when available, else CPU).
    ``threads``: intra-op threads. ``micro_batch``/``max_wait_s``: see
    :func:`routellm_plugins.embedding.microbatch_settings`.
    """

    backend = "onnx"

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        model_file: str | os.PathLike[str] | None = None,
        precision: str | None = None,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        head_tokens: int = DEFAULT_HEAD_TOKENS,
        batch_size: int = 64,
        cache_size: int = 4096,
        device: str | None = None,
        threads: int | None = None,
        micro_batch: bool | None = None,
        max_wait_s: float | None = None,
    ) -> None:
        check_lengths(max_tokens, head_tokens)
        if path is not None and model_file is None:
            raise ConfigError(f"the onnx embedder backend has no model for {str(path)!r}: pass model_file=<pooled .onnx> "
                              "or use backend='torch'")
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
            raise ConfigError(f"threads must be an int >= 1, got {show_value(threads)}")
        self.path = Path(path) if path is not None else None
        self.model_file = Path(model_file) if model_file is not None else None
        self.precision = resolve_precision(precision, device) if model_file is None else "custom"
        self.name = DEFAULT_EMBEDDER if path is None else str(path)
        self.max_tokens = max_tokens
        self.head_tokens = head_tokens
        self.batch_size = batch_size
        self.device = device
        self.threads = threads
        self.micro_batch, self.max_wait_s = microbatch_settings(micro_batch, max_wait_s)
        self._cache = _LRU(cache_size)
        self._lock = threading.Lock()
        self._session: Any = None
        self._tokenizer: Any = None
        self._dim: int | None = None

    def _model_bytes(self) -> bytes:
        """The ONNX model: the given file, or the bundled MiniLM built (or read from the cache) for this precision."""
        if self.model_file is not None:
            if not self.model_file.is_file():
                raise ConfigError(f"ONNX embedder model {str(self.model_file)!r} not found")
            return self.model_file.read_bytes()
        from routellm_plugins.embedding_build import cached_model

        return cached_model(self.precision)

    def _ensure_loaded(self) -> None:
        if self._session is not None:
            return
        with self._lock:
            if self._session is not None:
                return
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
            opts.enable_cpu_mem_arena = False  # the arena would keep the largest batch's buffers for the process lifetime
            opts.add_session_config_entry("session.intra_op.allow_spinning", "0")  # polite on shared cores
            opts.log_severity_level = 3
            available = ort.get_available_providers()
            want_cuda = (self.device is None or str(self.device).startswith("cuda")) and self.precision != "int8"
            providers = ["CUDAExecutionProvider", "CPUExecutionProvider"] if want_cuda and "CUDAExecutionProvider" in available \
                else ["CPUExecutionProvider"]
            if self.device and str(self.device).startswith("cuda") and providers[0] != "CUDAExecutionProvider":
                raise ConfigError(f"device {self.device!r} asked for, but onnxruntime has no CUDAExecutionProvider "
                                  f"(providers: {available}) or precision {self.precision!r} is CPU-only; "
                                  "install onnxruntime-gpu, use precision='fp32' or device='cpu'")
            model = self._model_bytes()
            try:
                session = ort.InferenceSession(model, opts, providers=providers)
            except Exception as exc:
                where = str(self.model_file) if self.model_file is not None else f"bundled MiniLM ({self.precision})"
                raise ConfigError(f"onnxruntime cannot load {where!r}: {type(exc).__name__}") from exc
            inputs = {i.name for i in session.get_inputs()}
            out = session.get_outputs()[0]
            if not {"input_ids", "attention_mask"} <= inputs or len(out.shape) != 2 or not isinstance(out.shape[1], int):
                raise ConfigError(f"{str(self.model_file)!r} is not a pooled encoder (inputs {sorted(inputs)}, output shape {out.shape})")
            self.device = "cuda" if providers[0] == "CUDAExecutionProvider" else "cpu"
            self._dim = int(out.shape[1])
            self._out_name = out.name
            self._tokenizer = tokenizer
            if self.micro_batch:
                from routellm_plugins.embedding_microbatch import MicroBatcher

                self._batcher = MicroBatcher(self._encode_ids, max_wait_s=self.max_wait_s, max_rows=self.batch_size * 4)
            self._session = session

    def token_ids(self, texts: list[str]) -> list[list[int]]:
        """Model input ids of each text: [CLS] head … tail [SEP], as HFEncoder builds them."""
        self._ensure_loaded()
        return self._tokenize(texts)

    def _tokenize(self, texts: list[str]) -> list[list[int]]:
        if len(texts) == 1:
            encs = [self._tokenizer.encode(texts[0], add_special_tokens=False)]
        else:
            encs = self._tokenizer.encode_batch(texts, add_special_tokens=False)
        return [head_tail(e.ids, self.max_tokens, self.head_tokens, self._cls, self._sep) for e in encs]

    def _forward(self, seqs: list[list[int]]) -> np.ndarray:
        ids, mask = pad_batch(seqs, self._pad)
        rows = self._session.run([self._out_name], {"input_ids": ids, "attention_mask": mask})[0]
        return np.asarray(rows, dtype=np.float32)
