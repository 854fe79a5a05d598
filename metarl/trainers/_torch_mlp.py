"""A trainer that really trains a torch MLP on scikit-learn's digits (or another bundled or
synthetic classification dataset)."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.datasets import load_breast_cancer, load_digits, load_wine, make_classification
from sklearn.model_selection import train_test_split
from torch import nn

from metarl.space import Categorical, Fidelity, Float, Integer, SearchSpace
from metarl.trainers._base import CONTINUED_FROM, validated
from metarl.trainers._checkpoints import STEPS, CheckpointStore, checkpoint_key
from metarl.type_aliases import Config, Direction

_ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh, "gelu": nn.GELU}
DEVICES = ["cpu", "cuda"]
#: The fidelities a :class:`TorchMLPTrainer` can declare.
FIDELITIES = ("epochs", "subsample")
#: The datasets a :class:`TorchMLPTrainer` trains on (bundled with scikit-learn, or
#: synthetic: nothing is downloaded).
DATASETS = ("digits", "breast_cancer", "wine", "synthetic")
#: ``on_epoch(epoch, metrics)`` after each epoch (1-based); returning False stops training.
EpochCallback = Callable[[int, dict[str, float]], "bool | None"]


class TorchMLPTrainer:
    """Trains a torch MLP (Adam, cross-entropy) on scikit-learn's digits (8x8 images, 10
    classes; ``dataset`` chooses another) and scores it on a held-out split. It really trains.

    Space: ``depth`` (1-4 hidden layers), ``width`` (16-256, log), ``activation`` (relu, tanh,
    gelu), ``dropout`` (0-0.5), ``lr`` (1e-4-1e-1, log), ``batch_size`` (16-256, log),
    ``epochs`` (1-20). Context meta-feature: ``device`` ("cpu" or "cuda"), the hardware.

    Fidelity (``fidelity``): ``"epochs"`` makes ``epochs`` a
    ``Fidelity(1, max_epochs, log=True)`` (the loop chooses it; full = ``max_epochs``);
    ``"subsample"`` adds ``subsample``, a ``Fidelity(min_subsample, 1.0, log=True)``: the
    model trains on that fraction of the training split (stratified, drawn per call) and is
    scored on the whole validation split. ``on_epoch`` (see :meth:`__call__`) reports the
    validation metrics after every epoch, for pruners such as Optuna's HyperbandPruner.

    Continuation (``fidelity="epochs"``, on unless ``continue_training=False``): a config
    trained before for fewer epochs is continued from its checkpoint (weights, Adam's state and
    the RNG state of batch order and dropout, kept per config: every parameter but ``epochs``)
    instead of trained again, so that ``e`` epochs continued to ``E`` give what ``E`` from
    scratch gives (the same numbers on CPU) for only ``E - e`` epochs of seconds. The result
    then says ``metarl:continued_from`` (the epochs it continued from, 0 from scratch:
    :data:`~metarl.trainers.CONTINUED_FROM`), which tells a multi-fidelity loop that raising a
    config costs only the epochs added. A call at no more epochs than a config's checkpoint
    trains afresh (a new training seed, as without continuation). Checkpoints live in memory
    (threads share them); ``checkpoint_dir`` also keeps them on disk for processes (pool,
    Dask, ``metarl worker``); both bounded by ``checkpoint_mb``. A checkpoint is continued
    only by a trainer of the same :meth:`checkpoint_identity` (class, data split, device,
    torch version; and :data:`~metarl.trainers._checkpoints.CHECKPOINT_VERSION`), so a reused
    ``checkpoint_dir`` never continues another run's models. Checkpoints hold CPU copies of
    the weights and of Adam's state (a CUDA run's too), loaded back onto the device.

    A call returns ``val_acc``, ``val_loss`` (cross-entropy), ``train_time`` (wall seconds
    of the training loop) and ``model_size`` (number of weights). The validation split is
    fixed by ``seed``; each call draws a fresh training seed (initialisation, batch order,
    dropout) from :attr:`rng`, so repeated calls are noisy as real training is. The global
    torch RNG state is left as it was.

    Args:
        dataset: the data, one of :data:`DATASETS`: ``"digits"`` (1797 8x8 images, 10
            classes), ``"breast_cancer"`` (569 x 30, 2 classes), ``"wine"`` (178 x 13, 3
            classes), bundled with scikit-learn, or ``"synthetic"``: scikit-learn's
            ``make_classification`` with a fixed seed (2000 samples, 40 features of which 12
            informative and 12 redundant, 6 classes of 2 clusters each, 5% of labels
            flipped: the same data for every ``seed``, which only splits it). Features are
            standardised on the training split.
        device: ``"cpu"`` or ``"cuda"`` (refused when torch sees no CUDA device).
        val_fraction: share of the samples held out for validation.
        seed: seeds the split and :attr:`rng`.
        num_threads: torch CPU threads during a call (restored after); None leaves torch's
            setting. 1 by default: the MLP is tiny, and on a shared machine several threads
            can make a call tens of times slower.
        fidelity: None (default), ``"epochs"`` or ``"subsample"``.
        max_epochs: the largest ``epochs`` (the full fidelity with ``fidelity="epochs"``).
        min_subsample: the lowest ``subsample`` fraction, in (0, 1).
        continue_training: with ``fidelity="epochs"``, continue configs from checkpoints of
            fewer epochs (False: every call trains from scratch).
        checkpoint_dir: a folder the processes that train share checkpoints in (None: this
            process's memory only); needs ``fidelity="epochs"``, continuation and a ``seed``
            (the validation split must be the same in every process).
        checkpoint_mb: the most megabytes of checkpoints kept in memory, and in
            ``checkpoint_dir``; the least recently used go first in memory, the least recently
            written on disk.
    """

    def __init__(
        self,
        device: str = "cpu",
        val_fraction: float = 0.25,
        seed: int | None = None,
        num_threads: int | None = 1,
        fidelity: str | None = None,
        max_epochs: int = 20,
        min_subsample: float = 0.1,
        continue_training: bool = True,
        checkpoint_dir: str | Path | None = None,
        checkpoint_mb: float = 256.0,
        dataset: str = "digits",
    ) -> None:
        if dataset not in DATASETS:
            raise ValueError(f"unknown dataset {dataset!r}; valid: {list(DATASETS)}")
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
        if fidelity is not None and fidelity not in FIDELITIES:
            raise ValueError(f"unknown fidelity {fidelity!r}; valid: None, {list(FIDELITIES)}")
        if not isinstance(max_epochs, int) or max_epochs < 2:
            raise ValueError(f"max_epochs must be an int >= 2, got {max_epochs!r}")
        if not (isinstance(min_subsample, (int, float)) and 0.0 < min_subsample < 1.0):
            raise ValueError(f"min_subsample must be in (0, 1), got {min_subsample!r}")
        if checkpoint_dir is not None and (fidelity != "epochs" or not continue_training):
            raise ValueError(
                "checkpoint_dir keeps checkpoints to continue: it needs fidelity='epochs' and "
                "continue_training=True"
            )
        if checkpoint_dir is not None and seed is None:
            raise ValueError(
                "checkpoint_dir needs a seed: processes share checkpoints only when they "
                "split the data alike"
            )
        if not (isinstance(checkpoint_mb, (int, float)) and checkpoint_mb > 0):
            raise ValueError(f"checkpoint_mb must be > 0, got {checkpoint_mb!r}")
        #: Whether a call continues a config from a checkpoint of fewer epochs.
        self.continues = fidelity == "epochs" and bool(continue_training)
        self.checkpoints = (
            CheckpointStore(checkpoint_mb, checkpoint_dir) if self.continues else None
        )
        self.num_threads = num_threads
        self.dataset = dataset
        self.fidelity = fidelity
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
                "epochs": (
                    Fidelity(1, max_epochs, log=True)
                    if fidelity == "epochs"
                    else Integer(1, max_epochs)
                ),
                **(
                    {"subsample": Fidelity(float(min_subsample), 1.0, log=True)}
                    if fidelity == "subsample"
                    else {}
                ),
            },
            context={"device": Categorical(DEVICES)},
            context_values={"device": device},
        )
        X, y = _load(dataset)
        X_tr, X_va, y_tr, y_va = train_test_split(
            X, y, test_size=val_fraction, stratify=y, random_state=seed
        )
        # digits' pixels are 0-16: the floor keeps pixels (nearly) constant in training sane
        floor = 1.0 if dataset == "digits" else 1e-12
        mean, std = X_tr.mean(axis=0), np.maximum(X_tr.std(axis=0), floor)
        self._n_classes = int(len(np.unique(y)))

        def tensor(a: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
            return torch.as_tensor(a, dtype=dtype, device=device)

        self._X_tr = tensor((X_tr - mean) / std, torch.float32)
        self._X_va = tensor((X_va - mean) / std, torch.float32)
        self._y_tr = tensor(y_tr, torch.int64)
        self._y_va = tensor(y_va, torch.int64)
        self.rng = np.random.default_rng(seed)
        self._identity: dict[str, str] | None = None  # checkpoint_identity(), on first use

    def checkpoint_identity(self) -> dict[str, str]:
        """What a checkpoint's run must share with this trainer for it to be continued here,
        besides the config: the trainer's class (a subclass builds other models), a
        fingerprint of the data (the dataset, its split and scaling), the device and torch's
        version. A subclass whose results depend on more extends it (it is first called at
        the first training call, after ``__init__``, and cached)."""
        digest = hashlib.sha256()
        for t in (self._X_tr, self._y_tr, self._X_va, self._y_va):
            digest.update(t.cpu().numpy().tobytes())
        return {
            "trainer": f"{type(self).__module__}.{type(self).__qualname__}",
            "data": digest.hexdigest()[:32],
            "device": self.device,
            "torch": torch.__version__,
        }

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
        layers.append(nn.Linear(n_in, self._n_classes))
        return nn.Sequential(*layers).to(self.device)

    def __call__(self, config: Config, on_epoch: EpochCallback | None = None) -> dict[str, float]:
        """Train ``config``; see the class docstring for the metrics returned.

        Args:
            config: a config of :attr:`space`.
            on_epoch: called after each epoch with its number (1-based) and the validation
                ``val_acc``/``val_loss`` so far; returning ``False`` stops training there
                (SB3's callback convention), and the call returns that epoch's metrics.

        Raises:
            SpaceError: ``config`` is not a config of :attr:`space`.
        """
        config = validated(self.space, config)
        seed = int(self.rng.integers(2**31 - 1))
        threads = torch.get_num_threads()
        if self.num_threads is not None:
            torch.set_num_threads(self.num_threads)
        try:
            return self._train(config, seed, on_epoch)
        finally:
            torch.set_num_threads(threads)

    def _train(
        self, config: Config, seed: int, on_epoch: EpochCallback | None = None
    ) -> dict[str, float]:
        devices = [torch.cuda.current_device()] if self.device == "cuda" else []
        key, resume = None, None
        if self.checkpoints is not None:
            if self._identity is None:
                self._identity = self.checkpoint_identity()
            key = checkpoint_key(self._identity, {k: v for k, v in config.items() if k != "epochs"})
            resume = self.checkpoints.get(key, below=int(config["epochs"]))
        with torch.random.fork_rng(devices=devices):
            if resume is not None:
                seed = int(resume["seed"])  # the run continued is that seed's run
            torch.manual_seed(seed)
            model = self.build_model(config)
            opt = torch.optim.Adam(model.parameters(), lr=config["lr"])
            first = 1
            if resume is not None:
                model.load_state_dict(resume["model"])
                opt.load_state_dict(resume["optimizer"])
                torch.set_rng_state(resume["rng"])
                if self.device == "cuda":
                    torch.cuda.set_rng_state(resume["cuda_rng"])
                first = int(resume[STEPS]) + 1
            loss_fn = nn.CrossEntropyLoss()
            rows = self._training_rows(config.get("subsample", 1.0), seed)
            n, bs = len(rows), config["batch_size"]
            start = time.perf_counter()
            epoch = first - 1
            for epoch in range(first, int(config["epochs"]) + 1):
                model.train()
                perm = rows[torch.randperm(n, device=self.device)]
                for i in range(0, n, bs):
                    idx = perm[i : i + bs]
                    opt.zero_grad(set_to_none=True)
                    loss_fn(model(self._X_tr[idx]), self._y_tr[idx]).backward()
                    opt.step()
                if on_epoch is not None:
                    val_acc, val_loss = self._validate(model, loss_fn)
                    if on_epoch(epoch, {"val_acc": val_acc, "val_loss": val_loss}) is False:
                        break
            if self.device == "cuda":
                torch.cuda.synchronize()
            elapsed = time.perf_counter() - start
            if key is not None:  # before validating: the RNG state where training stopped
                self.checkpoints.put(key, self._checkpoint(model, opt, seed, epoch))  # type: ignore[union-attr]
            val_acc, val_loss = self._validate(model, loss_fn)
        out = {
            "val_acc": val_acc,
            "val_loss": val_loss,
            "train_time": elapsed,
            "model_size": float(sum(p.numel() for p in model.parameters())),
        }
        if self.continues:
            out[CONTINUED_FROM] = float(first - 1)
        return out

    def _checkpoint(
        self, model: nn.Module, opt: torch.optim.Optimizer, seed: int, epochs: int
    ) -> dict[str, Any]:
        """What continuing this run needs, as CPU copies (the optimizer's state too: on CUDA
        it lives on the device; ``load_state_dict`` moves it back); the RNG states are those
        of now."""
        state = {
            STEPS: int(epochs),
            "seed": int(seed),
            "model": _cpu_copy(model.state_dict()),
            "optimizer": _cpu_copy(opt.state_dict()),
            "rng": torch.get_rng_state(),
        }
        if self.device == "cuda":
            state["cuda_rng"] = torch.cuda.get_rng_state()
        return state

    def _validate(self, model: nn.Module, loss_fn: nn.Module) -> tuple[float, float]:
        model.eval()
        with torch.no_grad():
            logits = model(self._X_va)
            val_loss = float(loss_fn(logits, self._y_va))
            val_acc = float((logits.argmax(dim=1) == self._y_va).float().mean())
        return val_acc, val_loss

    def _training_rows(self, fraction: float, seed: int) -> torch.Tensor:
        """Indices of the training rows a call trains on: all, or a stratified ``fraction``."""
        n = len(self._y_tr)
        if fraction >= 1.0:
            return torch.arange(n, device=self.device)
        y = self._y_tr.cpu().numpy()
        keep = max(int(round(fraction * n)), len(np.unique(y)))
        rows, _ = train_test_split(np.arange(n), train_size=keep, stratify=y, random_state=seed)
        return torch.as_tensor(np.sort(rows), device=self.device)

    def __repr__(self) -> str:
        fid = "" if self.fidelity is None else f", fidelity={self.fidelity!r}"
        if self.fidelity == "epochs" and not self.continues:
            fid += ", continue_training=False"
        data = "" if self.dataset == "digits" else f"dataset={self.dataset!r}, "
        return f"TorchMLPTrainer({data}device={self.device!r}{fid})"


def _load(dataset: str) -> tuple[np.ndarray, np.ndarray]:
    """The features and labels of one of :data:`DATASETS`."""
    if dataset == "synthetic":
        return make_classification(
            n_samples=2000, n_features=40, n_informative=12, n_redundant=12, n_classes=6,
            n_clusters_per_class=2, class_sep=0.8, flip_y=0.05, random_state=0,
        )  # fmt: skip
    loader = {"digits": load_digits, "breast_cancer": load_breast_cancer, "wine": load_wine}
    data = loader[dataset]()
    return data.data, data.target


def _cpu_copy(obj: Any) -> Any:
    """``obj`` (nested dicts/lists of tensors and numbers) with every tensor copied to CPU:
    a checkpoint never shares memory with the live model and optimizer, nor holds device
    memory."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().to("cpu", copy=True)
    if isinstance(obj, Mapping):
        return {k: _cpu_copy(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_cpu_copy(v) for v in obj)
    return obj
