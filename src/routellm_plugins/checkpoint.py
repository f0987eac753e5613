"""Checkpoints are a folder holding ``router.json`` (config) and ``weights.safetensors``.

Nothing here unpickles: a file that is not valid safetensors or JSON is refused.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from routellm_plugins.config_io import loads_json, read_text_capped
from routellm_plugins.errors import CheckpointError, show_value

CONFIG_FILE = "router.json"
WEIGHTS_FILE = "weights.safetensors"
FORMAT_VERSION = 1
_PICKLE_SUFFIXES = {".pt", ".pth", ".bin", ".pkl", ".pickle", ".ckpt", ".joblib"}
#: Largest router.json read (bytes).
MAX_CONFIG_FILE_BYTES = 8 << 20
#: Settings in router.json that name a file or folder: a relative one is resolved against the checkpoint folder and kept inside it.
PATH_KEYS = ("embedder", "backbone")


def _names_a_packaged_model(value: str) -> bool:
    """True for specs that name a model shipped with a package ("bundled", "bundled:<name>", the default MiniLM), not a path."""
    from routellm_plugins.embedding import DEFAULT_EMBEDDER

    return value in ("bundled", DEFAULT_EMBEDDER, "sentence-transformers/" + DEFAULT_EMBEDDER) or value.startswith("bundled:")


def resolve_inside(folder: str | os.PathLike[str], value: str, key: str) -> str:
    """``value`` (a path written in ``folder``'s router.json) as an absolute path.

    An absolute path is used as written (``save`` writes the absolute path of a backbone or
    encoder the user passed in code). A relative path is read against the checkpoint folder,
    not the working directory, and must stay inside it: one that leads out (through ``..`` or a
    symlink) raises CheckpointError.
    """
    path = Path(value)
    if path.is_absolute():
        return value
    root = Path(folder).resolve()
    target = (root / path).resolve()
    if target != root and root not in target.parents:
        raise CheckpointError(
            f"checkpoint {show_value(str(folder), limit=200)}: {key} {show_value(value, limit=200)} points outside the checkpoint "
            f"folder; keep it inside, or pass {key}= in code to use another location"
        )
    return str(target)


def _resolve_paths(config: dict[str, Any], folder: Path) -> dict[str, Any]:
    for key in PATH_KEYS:
        value = config.get(key)
        if isinstance(value, str) and value.strip() and not _names_a_packaged_model(value.strip()):
            config[key] = resolve_inside(folder, value.strip(), key)
        elif value is not None and not isinstance(value, str):
            raise CheckpointError(f"checkpoint {show_value(str(folder), limit=200)}: {key} must be a path or a name, got {type(value).__name__}")
    return config


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
    """Read a checkpoint folder; return (config, tensors). Refuses pickle-based files.

    Relative paths in the config (:data:`PATH_KEYS`) come back absolute, resolved inside the folder.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise CheckpointError(f"checkpoint must be a folder path, got {type(path).__name__} {show_value(path)}")
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
    what = repr(str(cfg_file))
    meta = loads_json(read_text_capped(cfg_file, what, MAX_CONFIG_FILE_BYTES, CheckpointError), what, CheckpointError)
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
    return _resolve_paths(dict(meta["config"]), p), tensors


def require(tensors: Mapping[str, np.ndarray], names: list[str], where: str | os.PathLike[str]) -> None:
    """Raise CheckpointError unless every tensor in ``names`` is present."""
    missing = [n for n in names if n not in tensors]
    if missing:
        raise CheckpointError(f"checkpoint {str(where)!r} lacks tensors {missing}")
