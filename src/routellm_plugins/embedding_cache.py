"""On-disk cache of prompt embeddings for training and evaluation runs (not used when serving)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Sequence

import numpy as np

from routellm_plugins.embedding import Embedder, get_embedder


def default_cache_dir() -> Path:
    """``$ROUTELLM_CACHE`` or ``~/.cache/routellm-plugins``."""
    env = os.environ.get("ROUTELLM_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "routellm-plugins"


def embed_cached(prompts: Sequence[str], embedder: Embedder | None = None, cache_dir: str | os.PathLike[str] | None = None,
                 progress: bool = False) -> np.ndarray:
    """Embeddings of ``prompts`` (n, dim), read from / written to a .npy keyed by the embedder, its backend and the prompts."""
    emb = embedder if embedder is not None else get_embedder()
    h = hashlib.sha1()
    h.update(f"{emb.name}|{getattr(emb, 'max_tokens', '')}|{getattr(emb, 'head_tokens', '')}".encode())
    backend = getattr(emb, "backend", "torch")
    if backend != "torch":  # torch keys stay as before, so existing caches remain valid
        h.update(f"|backend={backend}|{getattr(emb, 'model_file', None) or ''}".encode())
        precision = getattr(emb, "precision", "fp32")
        if precision != "fp32":  # fp32 keys stay as before (same numbers as the earlier shipped model)
            h.update(f"|precision={precision}".encode())
        precision = getattr(emb, "precision", None)
        if precision not in (None, "fp32"):  # int8 rows differ from fp32 ones: never share a cache file
            h.update(f"|precision={precision}".encode())
    for p in prompts:
        h.update(hashlib.sha1(p.encode("utf-8", "replace")).digest())
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = folder / "embeddings" / f"{h.hexdigest()}.npy"
    if path.is_file():
        arr = np.load(path, allow_pickle=False)
        if arr.shape[0] == len(prompts):
            return arr
    chunk = 256
    parts = []
    it = range(0, len(prompts), chunk)
    if progress:
        from tqdm import tqdm

        it = tqdm(it, desc="embedding", unit_scale=chunk)
    for start in it:
        parts.append(emb(list(prompts[start : start + chunk])))
    arr = np.concatenate(parts) if parts else np.zeros((0, emb.dim), dtype=np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
    np.save(tmp, arr, allow_pickle=False)
    os.replace(tmp, path)
    return arr
