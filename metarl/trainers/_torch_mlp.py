"""A trainer that really trains a torch MLP on scikit-learn's digits."""

from __future__ import annotations

import time

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn

from metarl.space import Categorical, Float, Integer, SearchSpace
from metarl.trainers._base import validated
from metarl.type_aliases import Config, Direction

_ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh, "gelu": nn.GELU}
DEVICES = ["cpu", "cuda"]


class TorchMLPTrainer:
    """Trains a torch MLP (Adam, cross-entropy) on scikit-learn's digits (8x8 images, 10
    classes) and scores it on a held-out split. It really trains.

    Space: ``depth`` (1-4 hidden layers), ``width`` (16-256, log), ``activation`` (relu, tanh,
    gelu), ``dropout`` (0-0.5), ``lr`` (1e-4-1e-1, log), ``batch_size`` (16-256, log),
    ``epochs`` (1-20). Context meta-feature: ``device`` ("cpu" or "cuda"), the hardware.

    A call returns ``val_acc``, ``val_loss`` (cross-entropy), ``train_time`` (wall seconds
    of the training loop) and ``model_size`` (number of weights). The validation split is
    fixed by ``seed``; each call draws a fresh training seed (initialisation, batch order,
    dropout) from :attr:`rng`, so repeated calls are noisy as real training is. The global
    torch RNG state is left as it was.

    Args:
        device: ``"cpu"`` or ``"cuda"`` (refused when torch sees no CUDA device).
        val_fraction: share of the samples held out for validation.
        seed: seeds the split and :attr:`rng`.
        num_threads: torch CPU threads during a call (restored after); None leaves torch's
            setting. 1 by default: the MLP is tiny, and on a shared machine several threads
            can make a call tens of times slower.
    """

    def __init__(
        self,
        device: str = "cpu",
        val_fraction: float = 0.25,
        seed: int | None = None,
        num_threads: int | None = 1,
    ) -> None:
        if device not in DEVICES:
            raise ValueError(f"unknown device {device!r}; valid: {DEVICES}")
        if device == "cuda" and not torch.cuda.is_available():
            raise ValueError(
                "device='cuda' but torch.cuda.is_available() is False "
                f"(torch {torch.__version__}); use device='cpu'"
            )
        if not 0.0 < val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction!r}")
        if num_threads is not None and (not isinstance(num_threads, int) or num_threads < 1):
            raise ValueError(f"num_threads must be None or an int >= 1, got {num_threads!r}")
        self.num_threads = num_threads
        self.device = device
        self.val_fraction = val_fraction
        self.metric = "val_acc"
        self.direction: Direction = "maximize"
        self.space = SearchSpace(
            {
                "depth": Integer(1, 4),
                "width": Integer(16, 256, log=True, bins=9),
                "activation": Categorical(list(_ACTIVATIONS)),
                "dropout": Float(0.0, 0.5, bins=6),
                "lr": Float(1e-4, 1e-1, log=True, bins=10),
                "batch_size": Categorical([16, 32, 64, 128, 256], log=True),
                "epochs": Integer(1, 20),
            },
            context={"device": Categorical(DEVICES)},
            context_values={"device": device},
        )
        data = load_digits()
        X_tr, X_va, y_tr, y_va = train_test_split(
            data.data, data.target, test_size=val_fraction, stratify=data.target, random_state=seed
        )
        # pixels are 0-16; the floor keeps pixels that are (nearly) constant in training sane
        mean, std = X_tr.mean(axis=0), np.maximum(X_tr.std(axis=0), 1.0)

        def tensor(a: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
            return torch.as_tensor(a, dtype=dtype, device=device)

        self._X_tr = tensor((X_tr - mean) / std, torch.float32)
        self._X_va = tensor((X_va - mean) / std, torch.float32)
        self._y_tr = tensor(y_tr, torch.int64)
        self._y_va = tensor(y_va, torch.int64)
        self.rng = np.random.default_rng(seed)

    def reseed(self, seed: int | None = None) -> None:
        """Restart :attr:`rng` from ``seed`` (the validation split stays)."""
        self.rng = np.random.default_rng(seed)

    def build_model(self, config: Config) -> nn.Sequential:
        """The untrained MLP of a (validated) config."""
        layers: list[nn.Module] = []
        n_in = self._X_tr.shape[1]
        for _ in range(config["depth"]):
            layers += [
                nn.Linear(n_in, config["width"]),
                _ACTIVATIONS[config["activation"]](),
                nn.Dropout(config["dropout"]),
            ]
            n_in = config["width"]
        layers.append(nn.Linear(n_in, 10))
        return nn.Sequential(*layers).to(self.device)

    def __call__(self, config: Config) -> dict[str, float]:
        """Train ``config``; see the class docstring for the metrics returned.

        Raises:
            SpaceError: ``config`` is not a config of :attr:`space`.
        """
        config = validated(self.space, config)
        seed = int(self.rng.integers(2**31 - 1))
        threads = torch.get_num_threads()
        if self.num_threads is not None:
            torch.set_num_threads(self.num_threads)
        try:
            return self._train(config, seed)
        finally:
            torch.set_num_threads(threads)

    def _train(self, config: Config, seed: int) -> dict[str, float]:
        devices = [torch.cuda.current_device()] if self.device == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            model = self.build_model(config)
            opt = torch.optim.Adam(model.parameters(), lr=config["lr"])
            loss_fn = nn.CrossEntropyLoss()
            n, bs = len(self._y_tr), config["batch_size"]
            start = time.perf_counter()
            model.train()
            for _ in range(config["epochs"]):
                perm = torch.randperm(n, device=self.device)
                for i in range(0, n, bs):
                    idx = perm[i : i + bs]
                    opt.zero_grad(set_to_none=True)
                    loss_fn(model(self._X_tr[idx]), self._y_tr[idx]).backward()
                    opt.step()
            if self.device == "cuda":
                torch.cuda.synchronize()
            elapsed = time.perf_counter() - start
            model.eval()
            with torch.no_grad():
                logits = model(self._X_va)
                val_loss = float(loss_fn(logits, self._y_va))
                val_acc = float((logits.argmax(dim=1) == self._y_va).float().mean())
        return {
            "val_acc": val_acc,
            "val_loss": val_loss,
            "train_time": elapsed,
            "model_size": float(sum(p.numel() for p in model.parameters())),
        }

    def __repr__(self) -> str:
        return f"TorchMLPTrainer(device={self.device!r})"
