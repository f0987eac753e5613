"""Checkpoints are a folder holding ``router.json`` (config) and ``weights.safetensors``.

Nothing here unpickles: a file that is not valid safetensors or JSON is refused.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from routellm_plugins.errors import CheckpointError

CONFIG_FILE = "router.json"
WEIGHTS_FILE = "weights.safetensors"
FORMAT_VERSION = 1
_PICKLE_SUFFIXES = {".pt", ".pth", ".bin", ".pkl", ".pickle", ".ckpt", ".joblib"}


def save_checkpoint(path: str | os.PathLike[str], kind: str, config: Mapping[str, Any], tensors: Mapping[str, np.ndarray]) -> Path:
    """Write ``config`` as JSON and ``tensors`` as safetensors into folder ``path``."""
    from safetensors.numpy import save_file

    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    meta = {"kind": kind, "format_version": FORMAT_VERSION, "config": dict(config)}
    (out / CONFIG_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    if tensors:
        save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, str(out / WEIGHTS_FILE))
    return out


def load_checkpoint(path: str | os.PathLike[str], kind: str | None = None) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read a checkpoint folder; return (config, tensors). Refuses pickle-based files."""
    p = Path(path)
    if p.suffix.lower() in _PICKLE_SUFFIXES:
        raise CheckpointError(f"refusing to load {str(p)!r}: pickle-based checkpoints are not supported; use safetensors + JSON")
    if not p.exists():
        raise CheckpointError(f"checkpoint {str(p)!r} does not exist")
    if p.is_file():
        raise CheckpointError(f"checkpoint {str(p)!r} is a file; give the folder holding {CONFIG_FILE} and {WEIGHTS_FILE}")
    cfg_file = p / CONFIG_FILE
    if not cfg_file.is_file():
        raise CheckpointError(f"checkpoint folder {str(p)!r} has no {CONFIG_FILE}")
    try:
        meta = json.loads(cfg_file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{str(cfg_file)!r} is not valid JSON: {exc}") from exc
    if not isinstance(meta, dict) or "kind" not in meta or not isinstance(meta.get("config"), dict):
        raise CheckpointError(f"{str(cfg_file)!r} lacks the 'kind' and 'config' keys of a router checkpoint")
    if kind is not None and meta["kind"] != kind:
        raise CheckpointError(f"checkpoint {str(p)!r} holds a {meta['kind']!r} router, not {kind!r}")
    tensors: dict[str, np.ndarray] = {}
    wfile = p / WEIGHTS_FILE
    if wfile.exists():
        from safetensors import SafetensorError
        from safetensors.numpy import load_file

        try:
            tensors = load_file(str(wfile))
        except (SafetensorError, OSError, ValueError) as exc:
            raise CheckpointError(f"{str(wfile)!r} is not a valid safetensors file: {exc}") from exc
        for name, arr in tensors.items():
            if arr.dtype.kind == "f" and not np.isfinite(arr).all():
                raise CheckpointError(f"{str(wfile)!r}: tensor {name!r} holds NaN or inf values")
    return meta["config"], tensors


def require(tensors: Mapping[str, np.ndarray], names: list[str], where: str | os.PathLike[str]) -> None:
    """Raise CheckpointError unless every tensor in ``names`` is present."""
    missing = [n for n in names if n not in tensors]
    if missing:
        raise CheckpointError(f"checkpoint {str(where)!r} lacks tensors {missing}")
