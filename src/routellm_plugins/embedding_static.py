"""Static tier of the bundled MiniLM: a token table and a linear map, no transformer pass per prompt (opt-in).

Selected by ``backend="static"`` (or ``$ROUTELLM_EMBEDDER_BACKEND=static``). A prompt's row is the
weighted mean of its tokens' vectors, through an affine map, L2-normalised:

- token vectors: MiniLM's own embedding of ``[CLS] token [SEP]`` for every vocabulary entry, built
  once from the fp32 ONNX model into the user cache (about 10-20 s; :func:`cached_table`);
- token weights a / (a + p(token)) and the 384 x 384 affine map: fitted to reproduce MiniLM's
  embeddings of training prompts (:mod:`routellm_plugins.training.static_embedder`) and shipped as
  ``assets/embedder/minilm-static-map.safetensors`` (under 1 MB).

The routers' heads are the ones trained on MiniLM, unchanged. Routing is far faster (well under a
millisecond a prompt) and needs no onnxruntime once the table is cached, but quality moves: see the
README's Performance section for the figures per evaluation set.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from pathlib import Path
from typing import Any

import numpy as np

from routellm_plugins.embedding import (DEFAULT_EMBEDDER, DEFAULT_HEAD_TOKENS, DEFAULT_MAX_TOKENS, CachedEncoder, _LRU,
                                        bundled_minilm_path, check_lengths, head_tail)
from routellm_plugins.errors import ConfigError

MAP_FILE = Path(__file__).resolve().parent / "assets" / "embedder" / "minilm-static-map.safetensors"
#: Bump when the way the token table is computed changes (invalidates cached tables).
TABLE_VERSION = 1
#: Vocabulary entries encoded per ONNX call while the table is built.
BUILD_BATCH = 512
log = logging.getLogger(__name__)


def load_map(path: Path | None = None) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """The shipped map: tensors ``weight`` (dim, dim), ``bias`` (dim,), ``token_weight`` (vocab,), and its metadata."""
    from safetensors import safe_open

    path = path or MAP_FILE
    if not path.is_file():
        raise ConfigError(f"static embedder map {str(path)!r} is missing (a broken install?); use the default backend")
    with safe_open(str(path), framework="numpy") as fh:
        meta = dict(fh.metadata() or {})
        tensors = {k: np.asarray(fh.get_tensor(k), dtype=np.float32) for k in fh.keys()}
    w, b, tw = tensors.get("weight"), tensors.get("bias"), tensors.get("token_weight")
    ok = w is not None and b is not None and tw is not None and w.ndim == 2 and w.shape[0] == w.shape[1] == b.shape[0] \
        and tw.ndim == 1 and all(np.isfinite(t).all() for t in (w, b, tw)) and (tw >= 0).all()
    if not ok:
        raise ConfigError(f"static embedder map {str(path)!r} is malformed (need weight (d, d), bias (d,), token_weight (vocab,))")
    return tensors, meta


def build_table(folder: Path | None = None) -> np.ndarray:
    """(vocab, dim) float32: the fp32 ONNX MiniLM's pooled embedding of ``[CLS] t [SEP]`` for every token id t."""
    from routellm_plugins.embedding_onnx import OnnxEncoder

    enc = OnnxEncoder(precision="fp32", cache_size=0, micro_batch=False)
    enc._ensure_loaded()
    vocab = enc._tokenizer.get_vocab_size()
    table = np.empty((vocab, enc.dim), dtype=np.float32)
    for start in range(0, vocab, BUILD_BATCH):
        ids = range(start, min(vocab, start + BUILD_BATCH))
        table[start : start + len(ids)] = enc._forward([[enc._cls, i, enc._sep] for i in ids])
    return table


def _table_key(folder: Path) -> str:
    st = (folder / "model.safetensors").stat()
    parts = [str(TABLE_VERSION), str((folder / "model.safetensors").resolve()), str(st.st_size), str(st.st_mtime_ns)]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def cached_table(cache_dir: Path | None = None) -> np.ndarray:
    """The token table, built on first use into the embedder cache and verified by sha256 on every read.

    Shares the ONNX builder's rules: a file lock between processes, atomic renames, and an in-memory
    build (logged) when the cache is not writable.
    """
    from routellm_plugins.embedding_build import atomic_write, file_lock, model_cache_dir

    folder = bundled_minilm_path()
    cache = Path(cache_dir) if cache_dir is not None else model_cache_dir()
    stem = f"minilm-static-table-{_table_key(folder)}"
    data_path, manifest_path = cache / f"{stem}.npy", cache / f"{stem}.json"

    def read() -> np.ndarray | None:
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
            raw = data_path.read_bytes()
        except (OSError, ValueError):
            return None
        if not isinstance(manifest, dict) or manifest.get("sha256") != hashlib.sha256(raw).hexdigest():
            return None
        from io import BytesIO

        return np.load(BytesIO(raw), allow_pickle=False).astype(np.float32)

    table = read()
    if table is not None:
        return table
    try:
        cache.mkdir(parents=True, exist_ok=True)
        lock = file_lock(cache / ".build.lock")
        lock.__enter__()
    except OSError as exc:
        log.warning("embedder cache %s is not writable (%s); building the static token table in memory", cache, type(exc).__name__)
        return build_table(folder)
    try:
        table = read()
        if table is None:
            table = build_table(folder)
            from io import BytesIO

            buf = BytesIO()
            np.save(buf, table.astype(np.float16), allow_pickle=False)
            raw = buf.getvalue()
            atomic_write(data_path, raw)
            atomic_write(manifest_path, json.dumps({"version": TABLE_VERSION, "sha256": hashlib.sha256(raw).hexdigest(),
                                                     "shape": list(table.shape), "source": str(folder)}).encode())
            table = np.load(BytesIO(raw), allow_pickle=False).astype(np.float32)  # the same fp16 numbers every later read gets
        return table
    finally:
        lock.__exit__(None, None, None)


class StaticEncoder(CachedEncoder):
    """The static tier (see the module docstring); same contract, tokenisation and truncation as the MiniLM backends."""

    backend = "static"
    precision = "static"

    def __init__(self, path: Any = None, *, max_tokens: int = DEFAULT_MAX_TOKENS, head_tokens: int = DEFAULT_HEAD_TOKENS,
                 cache_size: int = 4096, batch_size: int = 1024, map_file: str | Path | None = None, **other: Any) -> None:
        if other:
            raise ConfigError(f"the static embedder tier takes no {', '.join(sorted(other))} setting "
                              "(it runs no model per prompt); drop it or use backend 'onnx'")
        if path is not None:
            raise ConfigError(f"the static embedder tier exists only for the bundled MiniLM, not {str(path)!r}; "
                              "use backend='torch' for other encoders")
        check_lengths(max_tokens, head_tokens)
        self.path = None
        self.name = DEFAULT_EMBEDDER
        self.map_file = Path(map_file) if map_file is not None else MAP_FILE
        self.max_tokens, self.head_tokens, self.batch_size = max_tokens, head_tokens, batch_size
        self._cache = _LRU(cache_size)
        self._lock = threading.Lock()
        self._projected: np.ndarray | None = None
        self._dim: int | None = None

    def _ensure_loaded(self) -> None:
        if self._projected is not None:
            return
        with self._lock:
            if self._projected is not None:
                return
            tensors, _ = load_map(self.map_file)
            from tokenizers import Tokenizer

            from routellm_plugins.embedding_onnx import _special_ids

            folder = bundled_minilm_path()
            tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
            tokenizer.no_truncation()
            tokenizer.no_padding()
            self._cls, self._sep, _ = _special_ids(tokenizer, folder)
            table = cached_table()
            if table.shape[0] != tensors["token_weight"].shape[0] or table.shape[1] != tensors["weight"].shape[0]:
                raise ConfigError(f"static embedder map {str(self.map_file)!r} does not fit the token table "
                                  f"(map {tensors['weight'].shape}, {tensors['token_weight'].shape[0]} token weights; "
                                  f"table {table.shape})")
            self._token_weight = tensors["token_weight"]
            self._bias = tensors["bias"]
            self._tokenizer = tokenizer
            self._dim = int(tensors["weight"].shape[1])
            self._projected = table @ tensors["weight"]  # the affine map commutes with the weighted mean

    def _tokenize(self, texts: list[str]) -> list[list[int]]:
        encs = self._tokenizer.encode_batch(texts, add_special_tokens=False) if len(texts) > 1 \
            else [self._tokenizer.encode(texts[0], add_special_tokens=False)]
        return [head_tail(e.ids, self.max_tokens, self.head_tokens, self._cls, self._sep) for e in encs]

    def _encode_ids(self, seqs: list[list[int]]) -> np.ndarray:
        assert self._projected is not None
        out = np.empty((len(seqs), self._dim or 0), dtype=np.float32)
        for r, ids in enumerate(seqs):
            idx = np.asarray(ids, dtype=np.int64)
            w = self._token_weight[idx]
            out[r] = (w @ self._projected[idx]) / max(float(w.sum()), 1e-9)
        out += self._bias
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out

    def _forward(self, seqs: list[list[int]]) -> np.ndarray:
        return self._encode_ids(seqs)
