"""Training recipe of ``mf``: every pair of models graded on the same prompt is a soft Bradley–Terry comparison.

The projection (MLP or linear over [embedding, text features]) and the model vectors are trained
with AdamW on batches of prompts; each set weighs the same unless ``set_weights`` say otherwise;
early stopping keeps the epoch with the best validation APGR of the router's strong/weak pair.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Sequence

import numpy as np

from routellm_plugins.data.graded import GradedSet, canonical_model
from routellm_plugins.errors import ConfigError

if TYPE_CHECKING:
    from routellm_plugins.routers.mf import MatrixFactorizationRouter


def fit_mf(
    router: "MatrixFactorizationRouter",
    sets: Sequence[GradedSet],
    embeddings: Sequence[np.ndarray] | None = None,
    *,
    set_weights: Sequence[float] | None = None,
    validation: Sequence[tuple[GradedSet, np.ndarray]] | None = None,
    progress: bool = False,
) -> "MatrixFactorizationRouter":
    """Train on graded sets (with their precomputed embeddings, else embedded here).

    Every pair of models graded on the same prompt is a soft comparison. Each set's
    rows share ``set_weights[k]`` (default: equal per set). ``validation`` sets are
    scored on the strong/weak pair after each epoch; the best epoch's weights are kept.
    """
    import torch

    from routellm_plugins.data.graded import concat
    from routellm_plugins.evaluation import apgr, cost_quality_curve

    if not sets:
        raise ConfigError("mf.fit needs at least one graded set")
    if embeddings is None:
        embeddings = [router.featurizer.embedder(s.prompts) for s in sets]
    data = concat(list(sets))
    router.models_ = list(data.models)
    for m in (router.strong_model, router.weak_model):
        router.resolve_model(m)
    all_prompts = data.prompts
    router.featurizer.fit_standardiser(all_prompts)
    x = router.featurizer.combine(np.concatenate(list(embeddings)), all_prompts)
    weights = np.asarray(set_weights if set_weights is not None else [1.0] * len(sets), dtype=np.float64)
    row_w = np.concatenate([np.full(len(s), w / len(s)) for s, w in zip(sets, weights)])
    row_w = row_w / row_w.mean()

    torch.manual_seed(router.seed)
    gen = torch.Generator().manual_seed(router.seed)
    d_in, m = x.shape[1], len(router.models_)
    layers: list[torch.nn.Module] = []
    if router.hidden:
        layers += [torch.nn.Linear(d_in, router.hidden), torch.nn.GELU(), torch.nn.Dropout(router.dropout), torch.nn.Linear(router.hidden, router.dim)]
    else:
        layers += [torch.nn.Linear(d_in, router.dim)]
    proj = torch.nn.Sequential(*layers)
    v = torch.nn.Parameter(torch.randn(m, router.dim, generator=gen) / math.sqrt(router.dim))
    c = torch.nn.Parameter(torch.zeros(m))
    params = [*proj.parameters(), v, c]
    opt = torch.optim.AdamW(params, lr=router.lr, weight_decay=router.weight_decay)

    X = torch.from_numpy(x)
    Y = torch.from_numpy(np.nan_to_num(data.scores, nan=0.0)).float()
    G = torch.from_numpy(~np.isnan(data.scores)).float()
    W = torch.from_numpy(row_w).float()
    a, b = router.models_.index(canonical_model(router.strong_model)), router.models_.index(canonical_model(router.weak_model))
    upper = torch.triu(torch.ones(m, m), diagonal=1)
    pair_w = upper.clone()
    pair_w[min(a, b), max(a, b)] += router.target_pair_weight

    def batch_loss(idx: torch.Tensor) -> torch.Tensor:
        s = proj(X[idx]) @ v.T + c
        diff = s[:, :, None] - s[:, None, :]
        target = 0.5 + (Y[idx][:, :, None] - Y[idx][:, None, :]) / 2
        mask = G[idx][:, :, None] * G[idx][:, None, :] * pair_w
        bce = torch.nn.functional.binary_cross_entropy_with_logits(diff, target, reduction="none")
        per_row = (bce * mask).sum((1, 2)) / mask.sum((1, 2)).clamp(min=1.0)
        return (per_row * W[idx]).mean()

    def val_score() -> float:
        if not validation:
            return float("nan")
        proj.eval()
        vals = []
        with torch.no_grad():
            for vs, ve in validation:
                xv = torch.from_numpy(router.featurizer.combine(ve, vs.prompts))
                s = (proj(xv) @ v.T + c).numpy()
                p = s[:, a] - s[:, b]
                qs, qw = vs.column(router.strong_model), vs.column(router.weak_model)
                ok = ~(np.isnan(qs) | np.isnan(qw))
                vals.append(apgr(cost_quality_curve(p[ok], qs[ok], qw[ok])))
        proj.train()
        return float(np.mean(vals))

    n = len(X)
    best, best_state, bad = -np.inf, None, 0
    epochs = range(router.epochs)
    if progress:
        from tqdm import tqdm

        epochs = tqdm(epochs, desc="mf epochs")
    router.history_ = []
    for epoch in epochs:
        proj.train()
        perm = torch.randperm(n, generator=gen)
        total = 0.0
        for start in range(0, n, router.batch_size):
            idx = perm[start : start + router.batch_size]
            loss = batch_loss(idx)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        score = val_score()
        router.history_.append({"epoch": epoch, "loss": total / n, "val_apgr": score})
        if validation:
            if score > best + 1e-4:
                best, bad = score, 0
                best_state = ([p.detach().clone() for p in proj.parameters()], v.detach().clone(), c.detach().clone())
            else:
                bad += 1
                if bad >= router.patience:
                    break
    if best_state is not None:
        with torch.no_grad():
            for p, saved in zip(proj.parameters(), best_state[0]):
                p.copy_(saved)
            v.data.copy_(best_state[1])
            c.data.copy_(best_state[2])
    lin = [l for l in proj if isinstance(l, torch.nn.Linear)]
    w: dict[str, np.ndarray] = {"v": v.detach().numpy().copy(), "c": c.detach().numpy().copy()}
    if router.hidden:
        w |= {"w1": lin[0].weight.detach().numpy().copy(), "b1": lin[0].bias.detach().numpy().copy()}
    w |= {"w2": lin[-1].weight.detach().numpy().copy(), "b2": lin[-1].bias.detach().numpy().copy()}
    router.weights_ = w
    return router
