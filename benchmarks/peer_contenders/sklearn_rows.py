"""scikit-learn's hand-made baselines for tables, at their defaults: HistGradientBoosting and MLP, classifier or
regressor. They search nothing: each is fitted once on all the training rows (training and validation parts
together, as nas's final training uses them) and tested once."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks.peer_contenders.tasks import Task

MODELS = ("hist_gradient_boosting", "mlp")


def sklearn_default(task: Task, seed: int, budget: float, work: Path, model: str) -> dict:
    """budget: unused (one fit, no search)."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    data = task.data(seed, work)
    x = np.concatenate([data.x_train, data.x_validation]).reshape(len(data.y_train) + len(data.y_validation), -1)
    y = np.concatenate([data.y_train, data.y_validation])
    kinds = {"hist_gradient_boosting": (HistGradientBoostingClassifier, HistGradientBoostingRegressor),
             "mlp": (MLPClassifier, MLPRegressor)}[model]
    estimator = kinds[1 if task.regression else 0](random_state=seed).fit(x, y)
    predictions = estimator.predict(data.x_test.reshape(len(data.y_test), -1))
    test = float(np.mean((predictions - data.y_test) ** 2) if task.regression else np.mean(predictions == data.y_test))
    params = (sum(w.size for w in estimator.coefs_) + sum(b.size for b in estimator.intercepts_) if model == "mlp"
              else None)
    return {"test": test, "params": params, "architectures": 0, "curve": [],
            "notes": f"{type(estimator).__name__}(random_state={seed}), its defaults"}
