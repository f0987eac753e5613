"""The learned cluster map: a soft assignment of a prompt embedding to the K clusters.

``weights(x) = softmax(x @ W + b)`` (optionally after a tanh hidden layer); with an ensemble of
``blocks`` clusterings the softmax runs within each clustering and the blocks are averaged, so
rows still sum to 1. Serving uses numpy
only; :func:`train_cluster_map` fits it with torch on the training LLMs' scores so that
``weights(x) @ psi`` (psi = per-cluster quality of each training LLM) predicts their
per-prompt scores (binary cross-entropy). The LLM feature vectors psi stay fixed, so a new
LLM needs only its own psi, never a retrained map.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from routellm_plugins.errors import CheckpointError, ConfigError


@dataclass
class ClusterMap:
    """Parameters of the map; ``hidden`` holds (W1, b1) when there is a hidden layer."""

    w: np.ndarray
    b: np.ndarray
    hidden: tuple[np.ndarray, np.ndarray] | None = None
    blocks: int = 1

    @property
    def k(self) -> int:
        """Clusters per clustering."""
        return int(self.w.shape[1]) // max(1, self.blocks)

    @property
    def dim(self) -> int:
        return int((self.hidden[0] if self.hidden is not None else self.w).shape[0])

    def weights(self, x: np.ndarray) -> np.ndarray:
        """Soft cluster assignment (n, K); rows sum to 1."""
        h = np.asarray(x, dtype=np.float64)
        if self.hidden is not None:
            h = np.tanh(h @ self.hidden[0] + self.hidden[1])
        z = (h @ self.w + self.b).reshape(len(h), self.blocks, -1)
        z -= z.max(axis=2, keepdims=True)
        e = np.exp(z)
        return (e / e.sum(axis=2, keepdims=True) / self.blocks).reshape(len(h), -1)

    def tensors(self, prefix: str = "map_") -> dict[str, np.ndarray]:
        """The parameters as named float32 arrays for safetensors."""
        out = {f"{prefix}w": self.w.astype(np.float32), f"{prefix}b": self.b.astype(np.float32)}
        if self.hidden is not None:
            out[f"{prefix}w1"] = self.hidden[0].astype(np.float32)
            out[f"{prefix}b1"] = self.hidden[1].astype(np.float32)
        if self.blocks != 1:
            out[f"{prefix}blocks"] = np.array([self.blocks], dtype=np.int32)
        return out

    @classmethod
    def from_tensors(cls, tensors: dict[str, np.ndarray], prefix: str = "map_") -> "ClusterMap | None":
        """Rebuild from :meth:`tensors` output; None when the map is absent."""
        if f"{prefix}w" not in tensors:
            return None
        w, b = tensors[f"{prefix}w"].astype(np.float64), tensors.get(f"{prefix}b")
        if b is None or b.shape != (w.shape[1],):
            raise CheckpointError(f"cluster map bias {prefix}b is missing or does not fit {prefix}w {w.shape}")
        hidden = None
        if f"{prefix}w1" in tensors:
            hidden = (tensors[f"{prefix}w1"].astype(np.float64), tensors[f"{prefix}b1"].astype(np.float64))
        n_blocks = int(tensors[f"{prefix}blocks"].reshape(-1)[0]) if f"{prefix}blocks" in tensors else 1
        if n_blocks < 1 or w.shape[1] % n_blocks:
            raise CheckpointError(f"cluster map {prefix}w {w.shape} cannot form {n_blocks} blocks")
        return cls(w, b.astype(np.float64), hidden, n_blocks)


def train_cluster_map(
    x: np.ndarray,
    y: np.ndarray,
    psi: np.ndarray,
    centroids: np.ndarray,
    *,
    hidden: int = 0,
    epochs: int = 300,
    lr: float = 0.01,
    weight_decay: float = 1e-4,
    temperature: float = 20.0,
    seed: int = 0,
    blocks: int = 1,
) -> ClusterMap:
    """Fit the map on prompts ``x`` (n, d) and training-LLM scores ``y`` (n, m; NaN = not graded).

    ``psi`` (units, m) is each training LLM's per-cluster quality (units = blocks * K for an ensemble
    of clusterings). The linear layer starts at the nearest-centroid rule (logits = -temperature *
    squared distance), so training refines K-means.
    """
    import torch

    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y, dtype=np.float64)
    psi = np.asarray(psi, dtype=np.float64)
    c = np.asarray(centroids, dtype=np.float64)
    if y.shape[0] != x.shape[0] or psi.shape != (c.shape[0], y.shape[1]) or c.shape[1] != x.shape[1]:
        raise ConfigError(f"shapes do not fit: x {x.shape}, y {y.shape}, psi {psi.shape}, centroids {c.shape}")
    if epochs < 0 or lr <= 0 or weight_decay < 0 or hidden < 0:
        raise ConfigError(f"bad map settings: epochs={epochs}, lr={lr}, weight_decay={weight_decay}, hidden={hidden}")
    if blocks < 1 or c.shape[0] % blocks:
        raise ConfigError(f"{c.shape[0]} centroids cannot form {blocks} clusterings of equal size")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small dense problem: one thread is ~10x faster than contended many
    try:
        return _fit(torch, x, y, psi, c, hidden, epochs, lr, weight_decay, temperature, seed, blocks)
    finally:
        torch.set_num_threads(threads)


def _fit(torch, x, y, psi, c, hidden, epochs, lr, weight_decay, temperature, seed, blocks) -> ClusterMap:
    gen = torch.Generator().manual_seed(int(seed))
    mask_np = ~np.isnan(y)
    xt = torch.from_numpy(x)
    yt = torch.from_numpy(np.where(mask_np, y, 0.0).astype(np.float32))
    mt = torch.from_numpy(mask_np.astype(np.float32))
    pt = torch.from_numpy(np.clip(psi, 1e-4, 1 - 1e-4).astype(np.float32))
    w0 = torch.from_numpy((2.0 * temperature * c.T).astype(np.float32))
    b0 = torch.from_numpy((-temperature * (c * c).sum(1)).astype(np.float32))
    params: list[torch.Tensor]
    if hidden:
        d = x.shape[1]
        w1 = (torch.randn(d, hidden, generator=gen) / np.sqrt(d)).requires_grad_()
        b1 = torch.zeros(hidden, requires_grad=True)
        w2 = (torch.randn(hidden, c.shape[0], generator=gen) / np.sqrt(hidden)).requires_grad_()
        b2 = torch.zeros(c.shape[0], requires_grad=True)
        params = [w1, b1, w2, b2]
    else:
        params = [w0.clone().requires_grad_(), b0.clone().requires_grad_()]
    opt = torch.optim.Adam(params, lr=lr)
    denom = mt.sum().clamp(min=1.0)
    for _ in range(epochs):
        opt.zero_grad()
        z = (torch.tanh(xt @ params[0] + params[1]) @ params[2] + params[3]) if hidden else xt @ params[0] + params[1]
        weights = torch.softmax(z.reshape(z.shape[0], blocks, -1), dim=2).reshape(z.shape[0], -1) / blocks
        q = weights @ pt
        q = q.clamp(1e-6, 1 - 1e-6)
        bce = -(yt * torch.log(q) + (1 - yt) * torch.log(1 - q))
        loss = (bce * mt).sum() / denom
        # L2 on the change from the nearest-centroid start (linear) or on the weights (hidden).
        if hidden:
            reg = sum((p * p).sum() for p in params[::2])
        else:
            reg = ((params[0] - w0) ** 2).sum()
        (loss + weight_decay * reg).backward()
        opt.step()
    with torch.no_grad():
        if hidden:
            return ClusterMap(params[2].double().numpy(), params[3].double().numpy(), (params[0].double().numpy(), params[1].double().numpy()), blocks)
        return ClusterMap(params[0].double().numpy(), params[1].double().numpy(), None, blocks)
