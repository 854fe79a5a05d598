"""A deep ensemble of shallow MLPs, trained and evaluated as one batched network."""

from __future__ import annotations

import math

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from metarl.learners._base import TransformedTargetLearner
from metarl.learners._torch import resolve_device, single_thread
from metarl.learners._torch_scoring import EnsembleHead, TorchModel


def _forward(weights: dict[str, torch.Tensor], X: torch.Tensor) -> torch.Tensor:
    """All members at once. ``X`` is (B, d) shared or (M, B, d) per member -> (M, B)."""
    n_layers = sum(1 for k in weights if k.startswith("W"))
    W0 = weights["W0"]
    M, d, h = W0.shape
    if X.dim() == 2:  # shared inputs: the first layer of every member is one GEMM
        out = (X @ W0.permute(1, 0, 2).reshape(d, M * h)).view(len(X), M, h).transpose(0, 1)
        out = out + weights["b0"]
    else:
        out = torch.baddbmm(weights["b0"], X, W0)
    for i in range(1, n_layers):
        out = torch.baddbmm(weights[f"b{i}"], torch.relu(out), weights[f"W{i}"])
    return out[..., 0]


class MLPEnsembleLearner(TransformedTargetLearner):
    """Deep ensemble of shallow MLPs (torch); the std is the spread of the members.

    The members' weights are stacked into ``(n_members, in, out)`` tensors, so training
    steps and predictions run every member in one batched matmul (``torch.bmm``/``einsum``).
    Members differ by their initialisation and their minibatch order.

    Args:
        n_members: ensemble size.
        hidden: units per hidden layer.
        n_layers: hidden layers.
        epochs: passes over the training data.
        batch_size: minibatch size (per member).
        lr: Adam learning rate.
        weight_decay: decoupled weight decay (AdamW).
        device: ``"cpu"``, ``"cuda"`` or ``"auto"``.
        target_transform: ``"auto"``, ``"log"``, ``"rank"`` or ``"none"``.
        random_state: seed.

    Fitted attributes: ``models_`` holds one dict of weight tensors per target (on CPU).
    """

    _chunk_rows = 1 << 17

    def __init__(
        self,
        n_members: int = 8,
        hidden: int = 64,
        n_layers: int = 2,
        epochs: int = 400,
        batch_size: int = 64,
        lr: float = 3e-3,
        weight_decay: float = 1e-3,
        device: str = "cpu",
        target_transform: str = "auto",
        random_state: int | None = None,
    ) -> None:
        self.n_members = n_members
        self.hidden = hidden
        self.n_layers = n_layers
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.device = device
        self.target_transform = target_transform
        self.random_state = random_state

    def _init_weights(self, d: int, gen: torch.Generator, dev: torch.device):
        sizes = [d] + [self.hidden] * self.n_layers + [1]
        w = {}
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            bound = 1.0 / math.sqrt(max(a, 1))  # torch.nn.Linear's default init
            W = (torch.rand(self.n_members, a, b, generator=gen) * 2 - 1) * bound
            bb = (torch.rand(self.n_members, 1, b, generator=gen) * 2 - 1) * bound
            w[f"W{i}"] = W.to(dev).requires_grad_()
            w[f"b{i}"] = bb.to(dev).requires_grad_()
        return w

    def _fit_target(self, X: np.ndarray, z: np.ndarray, seed: int) -> dict[str, torch.Tensor]:
        for name in ("n_members", "hidden", "n_layers", "epochs", "batch_size"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)!r}")
        dev = resolve_device(self.device)
        gen = torch.Generator().manual_seed(seed)
        Xt = torch.as_tensor(np.asarray(X, dtype=np.float32), device=dev)
        zt = torch.as_tensor(np.asarray(z, dtype=np.float32), device=dev)
        n, d = Xt.shape
        with single_thread(dev.type == "cpu" and n <= 4096):
            return self._train(Xt, zt, gen, dev)

    def _train(self, Xt, zt, gen, dev) -> dict[str, torch.Tensor]:
        n, d = Xt.shape
        w = self._init_weights(d, gen, dev)
        opt = torch.optim.AdamW(w.values(), lr=self.lr, weight_decay=self.weight_decay)
        bs = min(self.batch_size, n)
        steps_per_epoch = max(n // bs, 1)
        for _ in range(self.epochs):
            # an independent permutation per member: (M, n) -> minibatches of (M, bs)
            perm = torch.argsort(torch.rand(self.n_members, n, generator=gen), dim=1).to(dev)
            for s in range(steps_per_epoch):
                idx = perm[:, s * bs : (s + 1) * bs]
                pred = _forward(w, Xt[idx])
                loss = ((pred - zt[idx]) ** 2).mean()
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
        return {k: v.detach().cpu() for k, v in w.items()}

    def _predict_target(self, model: dict[str, torch.Tensor], X: np.ndarray, return_std: bool):
        dev = resolve_device(self.device)
        w = {k: v.to(dev) for k, v in model.items()}  # a no-op on CPU, a few KB otherwise
        with torch.inference_mode():
            Xt = torch.as_tensor(np.asarray(X, dtype=np.float32)).to(dev)
            out = _forward(w, Xt)  # (M, B)
            mean = out.mean(0)
            std = out.std(0, unbiased=False) if return_std else None
        mean = mean.double().cpu().numpy()
        return mean, (std.double().cpu().numpy() if std is not None else None)

    def torch_model(self, target: int = 0, return_std: bool = True) -> TorchModel:
        """Target ``target``'s ensemble as a first layer (every member's side by side,
        ``(d, n_members * hidden)``) and a batched head, for torch scoring
        (see :mod:`metarl.learners._torch_scoring`)."""
        check_is_fitted(self, "models_")
        w = self.models_[target]
        n_layers = sum(1 for k in w if k.startswith("W"))
        W0 = w["W0"].double()
        M, d, h = W0.shape
        weight = W0.permute(1, 0, 2).reshape(d, M * h).numpy()
        bias = w["b0"].double().reshape(M * h).numpy()
        layers = [(w[f"W{i}"].clone(), w[f"b{i}"].clone()) for i in range(1, n_layers)]
        return TorchModel(weight, bias, EnsembleHead(layers, with_std=return_std))
