"""A trainer: a config in, a dict of metrics out. It really trains scikit-learn models on the
wine dataset bundled with scikit-learn (178 wines, 13 measurements, 3 grape cultivars), on the
measurements (feature columns) the config chooses."""

from sklearn.datasets import load_wine
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

WINE = load_wine(as_frame=True)


def train(config: dict) -> dict:
    X = WINE.data[list(config["features"])]  # a Subset's value: a tuple of item names
    if config["model"] == "logreg":
        model = make_pipeline(StandardScaler(), LogisticRegression(C=config["C"], max_iter=1000))
    elif config["model"] == "svm":
        model = make_pipeline(StandardScaler(), SVC(C=config["C"], gamma=config["gamma"]))
    else:  # an inactive parameter is absent from the config: forest has no C
        model = RandomForestClassifier(
            n_estimators=config["n_estimators"], max_depth=config["max_depth"], random_state=0
        )
    scores = cross_val_score(model, X, WINE.target, cv=3)
    return {"cv_acc": scores.mean(), "cv_acc_std": scores.std(), "n_features": X.shape[1]}
