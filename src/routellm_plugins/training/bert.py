"""Training recipe of ``bert``: fine-tune the top encoder layers + a 3-way head on pairwise outcomes.

Data: :func:`routellm_plugins.data.outcomes.default_classifier_sets` (train: MMLU folds 2-4,
RouterBench train, RouterDC train files; validation: MMLU fold 1 and RouterBench test), labelled
strong wins / tie / weak wins by :func:`routellm_plugins.data.outcomes.outcomes`.

Cost on a CPU: the frozen lower layers run once per prompt (hidden states kept in RAM as fp16,
prompts head+tail truncated to ``max_tokens``); each epoch then runs only the top
``trained_layers`` layers, on a seeded sample of ``epoch_size`` training prompts batched by
length. After each epoch both score modes are scored on the validation sets (mean exact APGR
over sets); the best epoch's weights and mode are kept, and training stops after ``patience``
epochs without improvement. The loss is plain cross-entropy (``class_weighting=True`` weighs
classes by inverse frequency instead).
"""

from __future__ import annotations

import os
import time
from typing import Any, Callable, Sequence

import numpy as np

from routellm_plugins.data.graded import GradedSet
from routellm_plugins.errors import ConfigError
from routellm_plugins.routers.bert import BUNDLED, SCORE_MODES, BertRouter, mean_pool, probs_to_score


def _bar(iterable, total: int, desc: str, progress: bool):
    """tqdm over ``iterable`` if progress is on and tqdm is installed; else plain prints every ~10%."""
    if not progress:
        return iterable
    try:
        from tqdm import tqdm

        return tqdm(iterable, total=total, desc=desc)
    except ImportError:  # pragma: no cover - tqdm ships with the dev extras
        def gen():
            step = max(total // 10, 1)
            for i, x in enumerate(iterable):
                if i % step == 0:
                    print(f"{desc}: {i}/{total}", flush=True)
                yield x
        return gen()


def _ext_mask(mask, dtype):
    """Additive attention mask (B, 1, 1, T) for the encoder layers: 0 to attend, -large to ignore."""
    import torch

    return (1.0 - mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min


def _run_layers(layers, hidden, mask):
    ext = _ext_mask(mask, hidden.dtype)
    for layer in layers:
        out = layer(hidden, attention_mask=ext)
        hidden = out[0] if isinstance(out, tuple) else out
    return hidden


class LowerStates:
    """Frozen lower-layer hidden states per prompt (fp16, unpadded), computed once."""

    def __init__(self, router: BertRouter, model: Any, prompts: Sequence[str], *, batch_size: int = 32,
                 progress: bool = False, desc: str = "lower layers") -> None:
        import torch

        from routellm_plugins.routers.bert import pad_batch

        n_low = router.n_layers - router.trained_layers
        seqs = router.token_ids(list(prompts))
        self.states: list[torch.Tensor] = [None] * len(seqs)  # type: ignore[list-item]
        self.lengths = np.array([len(s) for s in seqs])
        order = sorted(range(len(seqs)), key=lambda i: self.lengths[i])
        pad = router._tokenizer.pad_token_id or 0
        batches = [order[s : s + batch_size] for s in range(0, len(order), batch_size)]
        device = router.device
        with torch.inference_mode():
            for idx in _bar(batches, len(batches), desc, progress):
                ids, mask = pad_batch([seqs[i] for i in idx], pad)
                ids, mask = ids.to(device), mask.to(device)
                hidden = model.embeddings(input_ids=ids)
                hidden = _run_layers(model.encoder.layer[:n_low], hidden, mask)
                for r, i in enumerate(idx):
                    self.states[i] = hidden[r, : self.lengths[i]].to(torch.float16).cpu().clone()

    def batch(self, idx: Sequence[int], device: str):
        """(hidden float32 (B, T, H), mask (B, T)) for prompts ``idx``, right-padded."""
        import torch

        width = int(max(self.lengths[i] for i in idx))
        h = self.states[idx[0]].shape[-1]
        hidden = torch.zeros((len(idx), width, h), dtype=torch.float32)
        mask = torch.zeros((len(idx), width), dtype=torch.long)
        for r, i in enumerate(idx):
            n = int(self.lengths[i])
            hidden[r, :n] = self.states[i].float()
            mask[r, :n] = 1
        return hidden.to(device), mask.to(device)


def _length_batches(idx: np.ndarray, lengths: np.ndarray, batch_size: int, rng: np.random.Generator | None) -> list[list[int]]:
    """Batches of similar-length prompts (in shuffled batch order when ``rng`` is given)."""
    idx = idx[np.argsort(lengths[idx], kind="stable")]
    batches = [idx[s : s + batch_size].tolist() for s in range(0, len(idx), batch_size)]
    if rng is not None:
        rng.shuffle(batches)
    return batches


def _val_pairs(sets: Sequence[GradedSet]) -> list[tuple[list[str], np.ndarray, np.ndarray]]:
    """(prompts, strong quality, weak quality) of each validation set on its outcome pair."""
    from routellm_plugins.data.outcomes import pair_for

    out = []
    for vs in sets:
        strong, weak = pair_for(vs)
        qs, qw = vs.column(strong), vs.column(weak)
        ok = np.isfinite(qs) & np.isfinite(qw)
        if ok.sum() and (qs[ok] != qw[ok]).any():
            out.append(([p for p, k in zip(vs.prompts, ok) if k], qs[ok], qw[ok]))
    return out


def fit_bert(
    router: BertRouter,
    train_sets: Sequence[GradedSet],
    val_sets: Sequence[GradedSet],
    *,
    seed: int = 0,
    epochs: int = 6,
    epoch_size: int = 4000,
    lr: float = 1e-4,
    head_lr: float = 1e-3,
    weight_decay: float = 0.01,
    class_weighting: bool = False,
    patience: int = 2,
    progress: bool = False,
    log: Callable[[str], None] | None = None,
) -> BertRouter:
    """Train ``router``'s top layers and head on ``train_sets``; keep the best validation epoch."""
    import torch

    from routellm_plugins.data.outcomes import outcomes
    from routellm_plugins.embedding import pick_device
    from routellm_plugins.evaluation import apgr, cost_quality_curve

    if epochs < 1 or epoch_size < 1 or lr <= 0 or head_lr <= 0 or patience < 1:
        raise ConfigError(f"bert training needs epochs, epoch_size, patience >= 1 and lr, head_lr > 0; got "
                          f"{epochs}, {epoch_size}, {patience}, {lr}, {head_lr}")
    say = log or (print if progress else (lambda _m: None))
    t0 = time.perf_counter()
    data = outcomes(train_sets)
    if len(data) == 0:
        raise ConfigError("bert training sets hold no prompt graded by both models of their pair")
    val = _val_pairs(val_sets)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)

    tokenizer, model = router.build_backbone()
    router._tokenizer = tokenizer
    router.device = device = pick_device(router.device)
    model.eval().to(device)
    train_states = LowerStates(router, model, data.prompts, batch_size=router.batch_size, progress=progress, desc="bert: lower layers (train)")
    val_states = [LowerStates(router, model, p, batch_size=router.batch_size, progress=progress, desc="bert: lower layers (validation)")
                  for p, _, _ in val]
    say(f"bert: {len(data)} training prompts {np.bincount(data.labels, minlength=3).tolist()} (strong/tie/weak wins), "
        f"lower layers cached in {time.perf_counter() - t0:.0f}s")

    top = torch.nn.ModuleList([model.encoder.layer[k] for k in router.top_layers]).to(device)
    hidden_size = int(model.config.hidden_size)
    head = torch.nn.Linear(hidden_size, 3).to(device)
    dropout = torch.nn.Dropout(0.1)
    opt = torch.optim.AdamW([{"params": top.parameters(), "lr": lr}, {"params": head.parameters(), "lr": head_lr}],
                            weight_decay=weight_decay)
    labels = torch.from_numpy(data.labels)
    if class_weighting:
        counts = np.bincount(data.labels, minlength=3).astype(np.float64)
        w = counts.sum() / np.maximum(counts, 1.0) / 3.0
        loss_fn = torch.nn.CrossEntropyLoss(weight=torch.tensor(w, dtype=torch.float32, device=device))
    else:
        loss_fn = torch.nn.CrossEntropyLoss()

    def forward(states: LowerStates, idx: list[int]):
        hidden, mask = states.batch(idx, device)
        return head(dropout(mean_pool(_run_layers(top, hidden, mask), mask)))

    def validate() -> dict[str, float]:
        top.eval(), head.eval(), dropout.eval()
        per_mode: dict[str, list[float]] = {m: [] for m in SCORE_MODES}
        with torch.inference_mode():
            for states, (_, qs, qw) in zip(val_states, val):
                probs = np.empty((len(qs), 3))
                for idx in _length_batches(np.arange(len(qs)), states.lengths, router.batch_size * 2, None):
                    probs[idx] = torch.softmax(forward(states, idx).float(), -1).cpu().numpy()
                for m in SCORE_MODES:
                    per_mode[m].append(apgr(cost_quality_curve(probs_to_score(probs, m), qs, qw)))
        top.train(), head.train(), dropout.train()
        return {m: float(np.mean(v)) if v else float("nan") for m, v in per_mode.items()}

    n = len(data)
    best, best_state, best_mode, bad = -np.inf, None, router.score_mode, 0
    router.history = []
    top.train(), head.train()
    for epoch in range(epochs):
        pick = rng.permutation(n)[: min(epoch_size, n)]
        batches = _length_batches(pick, train_states.lengths, router.batch_size, rng)
        total = 0.0
        for idx in _bar(batches, len(batches), f"bert: epoch {epoch + 1}/{epochs}", progress):
            loss = loss_fn(forward(train_states, idx), labels[idx].to(device))
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        scores = validate()
        mode = max(scores, key=lambda m: scores[m]) if val else router.score_mode
        row = {"epoch": epoch, "loss": total / len(pick), **{f"val_apgr_{m}": s for m, s in scores.items()},
               "elapsed_s": time.perf_counter() - t0}
        router.history.append(row)
        say(f"bert: epoch {epoch + 1}: loss {row['loss']:.4f}, val APGR " +
            ", ".join(f"{m} {s:.4f}" for m, s in scores.items()))
        score = scores[mode] if val else -row["loss"]
        if score > best + 1e-4 or best_state is None:
            best, best_mode, bad = score, mode, 0
            best_state = ({k: v.detach().cpu().clone() for k, v in top.state_dict().items()},
                          {k: v.detach().cpu().clone() for k, v in head.state_dict().items()})
        else:
            bad += 1
            if bad >= patience:
                break
    assert best_state is not None
    tensors: dict[str, np.ndarray] = {}
    for name, value in best_state[0].items():
        j, _, rest = name.partition(".")
        tensors[f"layer.{router.top_layers[int(j)]}.{rest}"] = value.float().numpy()
    tensors["head.weight"] = best_state[1]["weight"].float().numpy()
    tensors["head.bias"] = best_state[1]["bias"].float().numpy()
    router.score_mode = best_mode
    router.set_trained(tensors)
    router.training.update({"seed": seed, "epochs": epochs, "epoch_size": epoch_size, "lr": lr, "head_lr": head_lr,
                            "weight_decay": weight_decay, "class_weighting": class_weighting, "patience": patience,
                            "n_train": n, "best_val_apgr": float(best) if val else None,
                            "wall_s": round(time.perf_counter() - t0, 1)})
    say(f"bert: best validation APGR {best:.4f} ({best_mode}); trained in {time.perf_counter() - t0:.0f}s")
    return router


def _subsample(sets: Sequence[GradedSet], limit: int | None, rng: np.random.Generator) -> list[GradedSet]:
    """Each set cut to at most ``limit`` prompts (seeded), or as is when ``limit`` is None."""
    if limit is None:
        return list(sets)
    out = []
    for s in sets:
        if len(s) > limit:
            keep = np.zeros(len(s), dtype=bool)
            keep[rng.choice(len(s), size=limit, replace=False)] = True
            s = s.subset(keep)
        out.append(s)
    return out


def train_bert(
    data_dir: str | os.PathLike[str] | None = None,
    *,
    seed: int = 0,
    progress: bool = False,
    backbone: str = BUNDLED,
    trained_layers: int = 2,
    max_tokens: int = 128,
    head_tokens: int = 32,
    batch_size: int = 32,
    device: str | None = None,
    max_per_set: int | None = None,
    max_val_per_set: int | None = None,
    threads: int | None = None,
    **fit_params: Any,
) -> BertRouter:
    """Train the default ``bert`` router on the bundled recipe's data (see module docstring).

    ``max_per_set``/``max_val_per_set`` cap each training/validation set (seeded sample) for
    quick runs; ``threads`` sets torch's CPU threads; other keywords go to :func:`fit_bert`.
    """
    from routellm_plugins.data.outcomes import default_classifier_sets

    if threads is not None:
        import torch

        torch.set_num_threads(int(threads))
    router = BertRouter(backbone=backbone, trained_layers=trained_layers, max_tokens=max_tokens, head_tokens=head_tokens,
                        batch_size=batch_size, device=device)
    train, val = default_classifier_sets(data_dir)
    rng = np.random.default_rng(seed)
    train, val = _subsample(train, max_per_set, rng), _subsample(val, max_val_per_set, rng)
    return fit_bert(router, train, val, seed=seed, progress=progress, **fit_params)
