"""``bert``: RouteLLM's BERT classifier router on a small local encoder (default: bundled MiniLM).

A BERT-style encoder reads the prompt (head+tail truncated: the first ``head_tokens`` word
pieces and the last ones, ``max_tokens`` in all), its last hidden states are mean-pooled, and a
linear head gives P(strong wins), P(tie), P(weak wins) for the strong/weak pair (labels from
:mod:`routellm_plugins.data.outcomes`). Only the top ``trained_layers`` transformer layers and
the head are trained (:mod:`routellm_plugins.training.bert`); the checkpoint stores just
those (fp16) and names the backbone, whose other weights are read from its folder on load.

Score (``score_mode``): ``"strong"`` = P(strong wins); ``"strong_tie"`` = P(strong wins) +
0.5 * P(tie). Training picks the mode with the better validation APGR and records it.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import numpy as np

from routellm_plugins.checkpoint import require
from routellm_plugins.embedding import DEFAULT_HEAD_TOKENS, bundled_minilm_path, check_lengths, head_tail, pick_device
from routellm_plugins.errors import CheckpointError, ConfigError, NotFittedError
from routellm_plugins.routers.base import Router

BUNDLED = "bundled"
SCORE_MODES = ("strong", "strong_tie")
N_CLASSES = 3
#: Encoder families whose layers use BERT's parameter names (checked without loading weights).
_BERT_FAMILY = {"bert", "roberta", "xlm-roberta", "electra", "camembert"}
#: Characters kept from each end of a huge prompt before tokenising (covers head+tail tokens).
_HEAD_CHARS, _TAIL_CHARS = 4_000, 8_000


def backbone_folder(backbone: str | None) -> Path:
    """Folder of ``backbone`` ("bundled"/None = packaged all-MiniLM-L6-v2); ConfigError naming a bad path."""
    if backbone in (None, BUNDLED):
        return bundled_minilm_path()
    path = Path(str(backbone)).expanduser()
    if not path.is_dir() or not (path / "config.json").is_file():
        raise ConfigError(f"bert backbone {str(backbone)!r} is not a local folder holding a Hugging Face encoder (config.json)")
    return path


def backbone_config(path: Path) -> dict[str, Any]:
    """The backbone's ``config.json`` as a dict; ConfigError naming the path if unreadable."""
    try:
        cfg = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"bert backbone {str(path)!r} has an unreadable config.json: {exc}") from exc
    if not isinstance(cfg, dict) or not isinstance(cfg.get("num_hidden_layers"), int) or not isinstance(cfg.get("hidden_size"), int):
        raise ConfigError(f"bert backbone {str(path)!r}: config.json lacks num_hidden_layers/hidden_size")
    return cfg


def layer_shapes(cfg: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    """Parameter shapes of one BERT-style transformer layer from the encoder's config."""
    h, i = int(cfg["hidden_size"]), int(cfg.get("intermediate_size", 4 * cfg["hidden_size"]))
    shapes: dict[str, tuple[int, ...]] = {}
    for name in ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"):
        shapes[f"{name}.weight"], shapes[f"{name}.bias"] = (h, h), (h,)
    shapes["intermediate.dense.weight"], shapes["intermediate.dense.bias"] = (i, h), (i,)
    shapes["output.dense.weight"], shapes["output.dense.bias"] = (h, i), (h,)
    for name in ("attention.output.LayerNorm", "output.LayerNorm"):
        shapes[f"{name}.weight"], shapes[f"{name}.bias"] = (h,), (h,)
    return shapes


class BertRouter(Router):
    """Encoder + 3-way head; score = P(strong wins) (or + half a tie, see ``score_mode``).

    ``backbone``: "bundled" (all-MiniLM-L6-v2) or a local BERT-style encoder folder.
    ``trained_layers``: how many top layers training updates (and the checkpoint stores).
    """

    name = "bert"

    def __init__(
        self,
        *,
        backbone: str = BUNDLED,
        trained_layers: int = 2,
        max_tokens: int = 128,
        head_tokens: int = DEFAULT_HEAD_TOKENS,
        score_mode: str = "strong",
        batch_size: int = 32,
        device: str | None = None,
        history: list[dict[str, float]] | None = None,
        training: dict[str, Any] | None = None,
        threshold: float | None = None,
    ) -> None:
        super().__init__(threshold=threshold)
        check_lengths(max_tokens, head_tokens)
        if score_mode not in SCORE_MODES:
            raise ConfigError(f"bert score_mode {score_mode!r} is not one of {', '.join(SCORE_MODES)}")
        if not isinstance(trained_layers, int) or trained_layers < 1:
            raise ConfigError(f"bert trained_layers must be an int >= 1, got {trained_layers!r}")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError(f"bert batch_size must be an int >= 1, got {batch_size!r}")
        self.backbone = BUNDLED if backbone in (None, BUNDLED) else str(backbone)
        self.backbone_path = backbone_folder(self.backbone)
        self.backbone_cfg = backbone_config(self.backbone_path)
        n_layers = int(self.backbone_cfg["num_hidden_layers"])
        if trained_layers > n_layers:
            raise ConfigError(f"bert trained_layers={trained_layers} exceeds the backbone's {n_layers} layers ({str(self.backbone_path)!r})")
        self.trained_layers, self.max_tokens, self.head_tokens = trained_layers, max_tokens, head_tokens
        self.score_mode, self.batch_size, self.device = score_mode, batch_size, device
        self.history = list(history or [])
        self.training = dict(training or {})
        #: Trained tensors (top layers as "layer.<k>.<param>", plus "head.weight"/"head.bias"), float32.
        self.trained_: dict[str, np.ndarray] | None = None
        self._model: Any = None
        self._tokenizer: Any = None
        self._load_lock = threading.Lock()
        self._tok_lock = threading.Lock()

    # ---- layout ----------------------------------------------------------------------
    @property
    def n_layers(self) -> int:
        return int(self.backbone_cfg["num_hidden_layers"])

    @property
    def top_layers(self) -> list[int]:
        """Indexes of the trained (top) layers."""
        return list(range(self.n_layers - self.trained_layers, self.n_layers))

    def expected_shapes(self) -> dict[str, tuple[int, ...]] | None:
        """Tensor name -> shape of a checkpoint for this backbone (None if not a BERT-family config)."""
        if self.backbone_cfg.get("model_type") not in _BERT_FAMILY:
            return None
        h = int(self.backbone_cfg["hidden_size"])
        per = layer_shapes(self.backbone_cfg)
        out = {f"layer.{k}.{n}": s for k in self.top_layers for n, s in per.items()}
        out["head.weight"], out["head.bias"] = (N_CLASSES, h), (N_CLASSES,)
        return out

    # ---- model -----------------------------------------------------------------------
    def build_backbone(self) -> tuple[Any, Any]:
        """(tokenizer, model) of the backbone as stored in its folder (no trained weights applied)."""
        from transformers import AutoModel, AutoTokenizer

        path = str(self.backbone_path)
        try:
            tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
            model = AutoModel.from_pretrained(path, local_files_only=True, use_safetensors=True)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"bert backbone {path!r} could not be loaded: {exc}") from exc
        if not hasattr(getattr(model, "encoder", None), "layer") or not hasattr(model, "embeddings"):
            raise ConfigError(f"bert backbone {path!r} ({type(model).__name__}) is not a BERT-style encoder (embeddings + encoder.layer)")
        return tokenizer, model

    def apply_trained(self, model: Any, tensors: dict[str, np.ndarray]) -> Any:
        """Copy the trained top layers and build the head on ``model``; CheckpointError on any misfit."""
        import torch

        layers = model.encoder.layer
        for k in self.top_layers:
            state = layers[k].state_dict()
            want = {n for n in state}
            got = {n[len(f"layer.{k}."):] for n in tensors if n.startswith(f"layer.{k}.")}
            if want != got:
                raise CheckpointError(f"bert checkpoint layer {k}: tensors {sorted(got ^ want)[:4]} do not fit backbone {self.backbone!r}")
            new = {}
            for n, ref in state.items():
                arr = tensors[f"layer.{k}.{n}"]
                if tuple(arr.shape) != tuple(ref.shape):
                    raise CheckpointError(f"bert checkpoint tensor 'layer.{k}.{n}' has shape {tuple(arr.shape)}; backbone needs {tuple(ref.shape)}")
                new[n] = torch.from_numpy(np.asarray(arr, dtype=np.float32))
            layers[k].load_state_dict(new)
        hidden = int(model.config.hidden_size)
        hw, hb = tensors["head.weight"], tensors["head.bias"]
        if hw.shape != (N_CLASSES, hidden) or hb.shape != (N_CLASSES,):
            raise CheckpointError(f"bert checkpoint head has shapes {hw.shape}, {hb.shape}; need ({N_CLASSES}, {hidden}), ({N_CLASSES},)")
        head = torch.nn.Linear(hidden, N_CLASSES)
        with torch.no_grad():
            head.weight.copy_(torch.from_numpy(np.asarray(hw, np.float32)))
            head.bias.copy_(torch.from_numpy(np.asarray(hb, np.float32)))
        return head

    def _ensure_loaded(self) -> None:
        if self._model is not None:
            return
        with self._load_lock:
            if self._model is not None:
                return
            if self.trained_ is None:
                raise NotFittedError("bert router has no trained weights: train it (routellm_plugins.training.bert.train_bert) or load() a checkpoint")
            tokenizer, model = self.build_backbone()
            head = self.apply_trained(model, self.trained_)
            device = pick_device(self.device)
            model.eval().to(device)
            head.eval().to(device)
            self.device = device
            self._tokenizer = tokenizer
            self._head = head
            self._model = model

    def set_trained(self, tensors: dict[str, np.ndarray]) -> None:
        """Install trained tensors (rounded to fp16, as saved); the model reloads on next score."""
        self.trained_ = {k: np.asarray(v, np.float16).astype(np.float32) for k, v in tensors.items()}
        with self._load_lock:
            self._model = None

    # ---- scoring ---------------------------------------------------------------------
    def token_ids(self, texts: list[str]) -> list[list[int]]:
        """Head+tail truncated ids with [CLS]/[SEP] for each text."""
        tok = self._tokenizer
        trimmed = [t if len(t) <= _HEAD_CHARS + _TAIL_CHARS else t[:_HEAD_CHARS] + " " + t[-_TAIL_CHARS:] for t in texts]
        with self._tok_lock:  # fast tokenizers are not safe to share across threads
            ids = tok(trimmed, add_special_tokens=False, truncation=False, verbose=False)["input_ids"]
        return [head_tail(x, self.max_tokens, self.head_tokens, tok.cls_token_id, tok.sep_token_id) for x in ids]

    def class_probs(self, prompts: list[str]) -> np.ndarray:
        """P(strong wins), P(tie), P(weak wins) per prompt, shape (n, 3)."""
        import torch

        self._ensure_loaded()
        seqs = self.token_ids(prompts)
        out = np.empty((len(seqs), N_CLASSES), dtype=np.float64)
        order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
        pad = self._tokenizer.pad_token_id or 0
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                idx = order[start : start + self.batch_size]
                ids, mask = pad_batch([seqs[i] for i in idx], pad)
                hidden = self._model(input_ids=ids.to(self.device), attention_mask=mask.to(self.device)).last_hidden_state
                logits = self._head(mean_pool(hidden, mask.to(self.device)))
                out[idx] = torch.softmax(logits.float(), dim=-1).cpu().numpy()
        return out

    def _score(self, prompts: list[str]) -> np.ndarray:
        return probs_to_score(self.class_probs(prompts), self.score_mode)

    # ---- persistence -----------------------------------------------------------------
    _HPARAMS = ("backbone", "trained_layers", "max_tokens", "head_tokens", "score_mode", "batch_size", "history", "training")

    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        if self.trained_ is None:
            raise NotFittedError("cannot save an untrained bert router")
        config = {k: getattr(self, k) for k in self._HPARAMS}
        config["n_backbone_layers"] = self.n_layers
        config["hidden_size"] = int(self.backbone_cfg["hidden_size"])
        return config, {k: v.astype(np.float16) for k, v in self.trained_.items()}

    @classmethod
    def _from_state(cls, config: dict[str, Any], tensors: dict[str, np.ndarray], **overrides: Any) -> "BertRouter":
        config = dict(config)
        n_saved, h_saved = config.pop("n_backbone_layers", None), config.pop("hidden_size", None)
        router = cls(**{**config, **overrides})
        where = f"bert checkpoint for backbone {router.backbone!r}"
        if n_saved is not None and n_saved != router.n_layers or h_saved is not None and h_saved != router.backbone_cfg["hidden_size"]:
            raise CheckpointError(f"{where}: trained on a {n_saved}-layer, {h_saved}-wide encoder; this backbone has "
                                  f"{router.n_layers} layers of width {router.backbone_cfg['hidden_size']}")
        require(tensors, ["head.weight", "head.bias"], where)
        expected = router.expected_shapes()
        if expected is not None:
            extra = sorted(set(tensors) - set(expected))
            require(tensors, sorted(expected), where)
            if extra:
                raise CheckpointError(f"{where}: unexpected tensors {extra[:4]}")
            for name, shape in expected.items():
                if tuple(tensors[name].shape) != shape:
                    raise CheckpointError(f"{where}: tensor {name!r} has shape {tuple(tensors[name].shape)}, expected {shape}")
        router.trained_ = {k: np.asarray(v).astype(np.float32) for k, v in tensors.items()}
        return router

    def __repr__(self) -> str:
        return (f"BertRouter(backbone={self.backbone!r}, trained_layers={self.trained_layers}, "
                f"score_mode={self.score_mode!r}, threshold={self.threshold!r})")


def pad_batch(seqs: list[list[int]], pad: int):
    """(ids, mask) long tensors, right-padded to the longest sequence."""
    import torch

    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for r, s in enumerate(seqs):
        ids[r, : len(s)] = torch.tensor(s, dtype=torch.long)
        mask[r, : len(s)] = 1
    return ids, mask


def mean_pool(hidden, mask):
    """Mean of ``hidden`` (B, T, H) over positions where ``mask`` (B, T) is 1."""
    m = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)


def probs_to_score(probs: np.ndarray, mode: str) -> np.ndarray:
    """Router score from 3-way probabilities under ``mode`` (see module docstring)."""
    if mode == "strong_tie":
        return probs[:, 0] + 0.5 * probs[:, 1]
    return probs[:, 0].copy()
