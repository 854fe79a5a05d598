"""my.yaml's search from Python: the same space, written with the Python API, and a Study."""

from my_trainer import WINE, train

from metarl import Categorical, Float, Integer, SearchSpace, Study, Subset

space = SearchSpace(
    {
        "features": Subset(WINE.feature_names, min_size=2),
        "model": Categorical(["logreg", "svm", "forest"]),
        "C": Float(1e-3, 1e3, log=True, active_if={"model": ["logreg", "svm"]}),
        "gamma": Float(1e-4, 1.0, log=True, active_if={"model": ["svm"]}),
        "n_estimators": Integer(10, 300, log=True, active_if={"model": ["forest"]}),
        "max_depth": Integer(2, 12, active_if={"model": ["forest"]}),
    }
)

# The trainer runs in worker processes, and each of them imports this file: without the
# guard, every worker would start a Study of its own instead of training.
if __name__ == "__main__":
    study = Study(
        space,
        train,
        metric="cv_acc",
        direction="maximize",
        storage="sqlite:///wine.db",
        study_name="wine_py",
        n_init=10,
        batch_size=5,
    )
    study.optimize(budget=30)
    print(study.best_value, study.best_config)
