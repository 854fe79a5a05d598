"""An Optuna objective, unchanged but for the sampler: define-by-run, conditional params."""

import optuna
from my_trainer import WINE, train

from metarl import MetaRLSampler


def objective(trial: optuna.Trial) -> float:
    features = [f for f in WINE.feature_names if trial.suggest_categorical(f, [True, False])]
    model = trial.suggest_categorical("model", ["logreg", "svm", "forest"])
    config = {"features": features, "model": model}
    if len(features) < 2:
        raise optuna.TrialPruned("fewer than 2 features")
    if model in ("logreg", "svm"):
        config["C"] = trial.suggest_float("C", 1e-3, 1e3, log=True)
    if model == "svm":
        config["gamma"] = trial.suggest_float("gamma", 1e-4, 1.0, log=True)
    if model == "forest":
        config["n_estimators"] = trial.suggest_int("n_estimators", 10, 300, log=True)
        config["max_depth"] = trial.suggest_int("max_depth", 2, 12)
    return train(config)["cv_acc"]


optuna.logging.set_verbosity(optuna.logging.WARNING)  # one line per trial is a lot
study = optuna.create_study(direction="maximize", sampler=MetaRLSampler(batch_size=5, seed=0))
study.optimize(objective, n_trials=30)
print(study.best_value, study.best_params)
