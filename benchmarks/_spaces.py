"""Large search spaces with real training results, for the acquisition-optimizer benchmark.

Each case is a search space of at least 2**40 configs and ``n`` configs of it really trained
(uniform random draws, cached under ``benchmarks/data/`` so that reruns train nothing):

- ``digits``: the sklearn trainer's space on digits (a 64-column feature Subset x model
  family x conditional hyperparameters, ~2**73), built by ``bench_policies._sklearn_data``.
- ``mlp``: a torch MLP architecture space with per-layer choices (1-6 layers, each with its
  own width, activation and dropout, active only when the layer exists) x optimizer, lr,
  batch size and weight decay (~2**51), trained for a few epochs on sklearn's digits.
- ``features``: a ``make_classification`` table with 40 columns of which the first 6 are
  informative and the next 4 linear combinations of them (``shuffle=False``: the useful
  columns are known), a 40-column feature Subset x model family x conditional
  hyperparameters (~2**49), scored by 3-fold CV.
- ``columns``: a held-out family, not used to tune any optimizer: a per-column preprocessing
  choice (drop, keep, quantile-transform) for each of the 30 columns of sklearn's
  breast_cancer table x model family x conditional hyperparameters (~2**54), 3-fold CV
  balanced accuracy. Ternary per-column choices rather than a Subset, another dataset.

    python benchmarks/_spaces.py --n 150     # train (or top up) and cache every case
"""

from __future__ import annotations

import argparse
import csv
import json
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from metarl.space import Categorical, Float, Integer, SearchSpace, Subset
from metarl.type_aliases import Config

DATA = Path(__file__).resolve().parent / "data"
#: the informative columns of the ``features`` case (then 4 redundant, then noise)
N_INFORMATIVE, N_REDUNDANT, N_COLUMNS = 6, 4, 40


@dataclass
class Case:
    """A space and real results on it (maximised)."""

    name: str
    space: SearchSpace
    configs: list[Config]
    y: np.ndarray
    note: str


# ---------------------------------------------------------------------------- cache
def _read_csv(path: Path) -> tuple[list[Config], list[float]]:
    if not path.exists():
        return [], []
    with path.open() as f:
        rows = list(csv.DictReader(f))
    configs = [
        {k: tuple(v) if isinstance(v, list) else v for k, v in json.loads(r["config"]).items()}
        for r in rows
    ]
    return configs, [float(r["value"]) for r in rows]


def _cached_results(
    path: Path, space: SearchSpace, n: int, train: Callable[[Config, int], float]
) -> tuple[list[Config], np.ndarray]:
    """``n`` uniform configs of ``space`` and ``train(config, seed)`` of each, appended to the
    CSV at ``path`` as they finish (a rerun trains only what is missing)."""
    configs, y = _read_csv(path)
    if len(configs) < n:
        new = space.sample(n - len(configs), seed=len(configs))
        path.parent.mkdir(parents=True, exist_ok=True)
        fresh = not path.exists()
        with path.open("a", newline="") as f:
            w = csv.writer(f)
            if fresh:
                w.writerow(["value", "seconds", "config"])
            for i, cfg in enumerate(new):
                t = time.perf_counter()
                value = train(cfg, len(configs) + i)
                row = {k: list(v) if isinstance(v, tuple) else v for k, v in cfg.items()}
                w.writerow([f"{value:.6f}", f"{time.perf_counter() - t:.2f}", json.dumps(row)])
                f.flush()
                configs.append(cfg)
                y.append(value)
    return configs[:n], np.asarray(y[:n])


# ---------------------------------------------------------------------------- digits
def digits_case(n: int = 150) -> Case:
    """The 2**73 sklearn digits space of ``bench_policies`` and its real CV results."""
    from bench_policies import _sklearn_data

    space, configs, y = _sklearn_data("digits", n, DATA / "sklearn_digits.json")
    return Case("digits", space, configs, y, "sklearn trainer on digits, 3-fold CV val_acc")


# ---------------------------------------------------------------------------- torch MLP
MAX_LAYERS = 6
_ACTIVATIONS = ("relu", "tanh", "gelu", "silu")


def mlp_space() -> SearchSpace:
    """Per-layer architecture choices and optimiser settings of a torch MLP (~2**51)."""
    params: dict = {"n_layers": Integer(1, MAX_LAYERS)}
    for i in range(1, MAX_LAYERS + 1):
        exists = {"n_layers": list(range(i, MAX_LAYERS + 1))}
        params[f"width_{i}"] = Categorical([16, 32, 64, 128, 256, 512], log=True, active_if=exists)
        params[f"act_{i}"] = Categorical(list(_ACTIVATIONS), active_if=exists)
        params[f"dropout_{i}"] = Categorical([0.0, 0.1, 0.2, 0.3, 0.5], active_if=exists)
    params |= {
        "optimizer": Categorical(["adam", "adamw", "sgd"]),
        "lr": Float(1e-4, 1e-1, log=True, bins=10),
        "batch_size": Categorical([32, 64, 128, 256], log=True),
        "weight_decay": Float(1e-6, 1e-2, log=True, bins=8),
    }
    return SearchSpace(params)


def train_mlp(config: Config, seed: int, epochs: int = 8) -> float:
    """Validation accuracy of the MLP of ``config`` trained ``epochs`` epochs on digits."""
    import torch
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from torch import nn

    acts = {"relu": nn.ReLU, "tanh": nn.Tanh, "gelu": nn.GELU, "silu": nn.SiLU}
    data = load_digits()
    X_tr, X_va, y_tr, y_va = train_test_split(
        data.data / 16.0, data.target, test_size=0.3, stratify=data.target, random_state=0
    )
    X_tr, X_va = (torch.as_tensor(a, dtype=torch.float32) for a in (X_tr, X_va))
    y_tr, y_va = (torch.as_tensor(a) for a in (y_tr, y_va))
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    layers: list[nn.Module] = []
    n_in = X_tr.shape[1]
    for i in range(1, config["n_layers"] + 1):
        layers += [
            nn.Linear(n_in, config[f"width_{i}"]),
            acts[config[f"act_{i}"]](),
            nn.Dropout(config[f"dropout_{i}"]),
        ]
        n_in = config[f"width_{i}"]
    model = nn.Sequential(*layers, nn.Linear(n_in, 10))
    kw = {"lr": config["lr"], "weight_decay": config["weight_decay"]}
    opt = {
        "adam": lambda: torch.optim.Adam(model.parameters(), **kw),
        "adamw": lambda: torch.optim.AdamW(model.parameters(), **kw),
        "sgd": lambda: torch.optim.SGD(model.parameters(), momentum=0.9, **kw),
    }[config["optimizer"]]()
    loss_fn = nn.CrossEntropyLoss()
    bs = config["batch_size"]
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(len(y_tr))
        for s in range(0, len(perm), bs):
            idx = perm[s : s + bs]
            opt.zero_grad()
            loss_fn(model(X_tr[idx]), y_tr[idx]).backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        acc = (model(X_va).argmax(1) == y_va).float().mean()
    return float(acc) if torch.isfinite(acc) else 0.0


def mlp_case(n: int = 150) -> Case:
    """The torch MLP architecture space and ``n`` real trainings (8 epochs on digits)."""
    space = mlp_space()
    configs, y = _cached_results(DATA / "mlp_digits.csv", space, n, train_mlp)
    return Case("mlp", space, configs, y, "torch MLP, 8 epochs on digits, val_acc")


# ---------------------------------------------------------------------------- features
def feature_data() -> tuple[np.ndarray, np.ndarray]:
    """The ``features`` table: columns 0-5 informative, 6-9 redundant, 10-39 noise."""
    from sklearn.datasets import make_classification

    return make_classification(
        n_samples=600,
        n_features=N_COLUMNS,
        n_informative=N_INFORMATIVE,
        n_redundant=N_REDUNDANT,
        n_classes=3,
        flip_y=0.02,
        shuffle=False,
        random_state=0,
    )


def features_space() -> SearchSpace:
    """40-column feature Subset x model family x conditional hyperparameters (~2**49)."""

    def only(model: str) -> dict[str, list[str]]:
        return {"model": [model]}

    return SearchSpace(
        {
            "features": Subset([f"x{j:02d}" for j in range(N_COLUMNS)]),
            "model": Categorical(["logreg", "svm", "knn", "hgb"]),
            "logreg_C": Float(1e-3, 1e3, log=True, bins=10, active_if=only("logreg")),
            "svm_C": Float(1e-2, 1e3, log=True, bins=10, active_if=only("svm")),
            "svm_gamma": Float(1e-4, 1.0, log=True, bins=10, active_if=only("svm")),
            "knn_n_neighbors": Integer(1, 50, log=True, bins=10, active_if=only("knn")),
            "knn_weights": Categorical(["uniform", "distance"], active_if=only("knn")),
            "hgb_learning_rate": Float(0.01, 1.0, log=True, bins=8, active_if=only("hgb")),
            "hgb_max_leaf_nodes": Integer(4, 64, log=True, bins=8, active_if=only("hgb")),
        }
    )


def train_features(config: Config, seed: int) -> float:
    """3-fold CV accuracy of ``config``'s model on its columns of the ``features`` table."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC
    from threadpoolctl import threadpool_limits

    X, y = feature_data()
    cols = [int(c[1:]) for c in config["features"]]
    model = config["model"]
    if model == "logreg":
        est = make_pipeline(StandardScaler(), LogisticRegression(C=config["logreg_C"]))
    elif model == "svm":
        est = make_pipeline(StandardScaler(), SVC(C=config["svm_C"], gamma=config["svm_gamma"]))
    elif model == "knn":
        est = make_pipeline(
            StandardScaler(),
            KNeighborsClassifier(config["knn_n_neighbors"], weights=config["knn_weights"]),
        )
    else:
        est = _hgb(config, seed)
    folds = StratifiedKFold(3, shuffle=True, random_state=seed)
    with warnings.catch_warnings(), threadpool_limits(limits=1):
        warnings.simplefilter("ignore")
        return float(cross_val_score(est, X[:, cols], y, cv=folds).mean())


def _hgb(config: Config, seed: int) -> Any:
    """The boosted-trees model of a config of the features or columns space."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(
        learning_rate=config["hgb_learning_rate"],
        max_leaf_nodes=config["hgb_max_leaf_nodes"],
        max_iter=50,
        early_stopping=False,
        random_state=seed,
    )


def features_case(n: int = 150) -> Case:
    """The feature-selection space and ``n`` real CV results."""
    space = features_space()
    configs, y = _cached_results(
        DATA / "features_make_classification.csv", space, n, train_features
    )
    return Case(
        "features",
        space,
        configs,
        y,
        f"make_classification, {N_COLUMNS} columns (x00-x05 informative), 3-fold CV accuracy",
    )


# ---------------------------------------------------------------------------- columns
_N_CANCER_COLUMNS = 30
_TREATMENTS = ("drop", "keep", "quantile")


def columns_space() -> SearchSpace:
    """A treatment per breast_cancer column x model family x hyperparameters (~2**54)."""

    def only(model: str) -> dict[str, list[str]]:
        return {"model": [model]}

    params: dict = {f"c{j:02d}": Categorical(list(_TREATMENTS)) for j in range(_N_CANCER_COLUMNS)}
    params |= {
        "model": Categorical(["logreg", "knn", "hgb"]),
        "logreg_C": Float(1e-3, 1e3, log=True, bins=10, active_if=only("logreg")),
        "knn_n_neighbors": Integer(1, 50, log=True, bins=10, active_if=only("knn")),
        "knn_weights": Categorical(["uniform", "distance"], active_if=only("knn")),
        "hgb_learning_rate": Float(0.01, 1.0, log=True, bins=8, active_if=only("hgb")),
        "hgb_max_leaf_nodes": Integer(4, 64, log=True, bins=8, active_if=only("hgb")),
    }
    return SearchSpace(params)


def train_columns(config: Config, seed: int) -> float:
    """3-fold CV balanced accuracy of ``config`` on breast_cancer (no column: chance, 0.5)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import QuantileTransformer, StandardScaler
    from threadpoolctl import threadpool_limits

    X, y = load_breast_cancer(return_X_y=True)
    cols = {
        t: [j for j in range(_N_CANCER_COLUMNS) if config[f"c{j:02d}"] == t] for t in _TREATMENTS
    }
    if not cols["keep"] and not cols["quantile"]:
        return 0.5
    prep = ColumnTransformer(
        [
            ("keep", StandardScaler(), cols["keep"]),
            ("quantile", QuantileTransformer(n_quantiles=100), cols["quantile"]),
        ],
        remainder="drop",
    )
    model = config["model"]
    if model == "logreg":
        est = LogisticRegression(C=config["logreg_C"], max_iter=500)
    elif model == "knn":
        est = KNeighborsClassifier(config["knn_n_neighbors"], weights=config["knn_weights"])
    else:
        est = _hgb(config, seed)
    folds = StratifiedKFold(3, shuffle=True, random_state=seed)
    with warnings.catch_warnings(), threadpool_limits(limits=1):
        warnings.simplefilter("ignore")
        pipe = make_pipeline(prep, est)
        return float(cross_val_score(pipe, X, y, cv=folds, scoring="balanced_accuracy").mean())


def columns_case(n: int = 150) -> Case:
    """The per-column preprocessing space (held out from tuning) and ``n`` real CV results."""
    space = columns_space()
    configs, y = _cached_results(DATA / "columns_breast_cancer.csv", space, n, train_columns)
    return Case(
        "columns",
        space,
        configs,
        y,
        "breast_cancer, a treatment per column, 3-fold CV balanced accuracy (held-out family)",
    )


CASES: dict[str, Callable[[int], Case]] = {
    "digits": digits_case,
    "mlp": mlp_case,
    "features": features_case,
    "columns": columns_case,
}


def main() -> None:
    ap = argparse.ArgumentParser(description="train and cache the benchmark spaces' results")
    ap.add_argument("--n", type=int, default=150)
    ap.add_argument("--cases", default=",".join(CASES))
    args = ap.parse_args()
    for name in args.cases.split(","):
        t = time.perf_counter()
        case = CASES[name](args.n)
        card = float(case.space.cardinality)
        print(
            f"{name}: 2**{np.log2(card):.1f} configs, {len(case.y)} results in "
            f"[{case.y.min():.3f}, {case.y.max():.3f}] ({time.perf_counter() - t:.0f} s)"
        )


if __name__ == "__main__":
    main()
