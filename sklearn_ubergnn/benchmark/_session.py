"""The session suite: the structure of the UBER-GNN paper's Tables 2 and 3 on one split.

Baselines (popularity, session-kNN, GRU4Rec when the package has it), SR-GNN (``readout="local"``
without user columns) and UBER-GNN V1–V4 (``readout`` mean / local / user / hybrid with the user
portrait), all fitted on the same training prefixes and scored on the same test prefixes with
:func:`~sklearn_ubergnn.evaluation.evaluate_recommenders` (P@20 = hit rate, MRR@20, NDCG@20).
"""
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from skorch.callbacks import Callback

from .._ranking import top_k
from ..evaluation import evaluate_recommenders, load_session_split, synthetic_session_split
from ..metrics import mrr_at_k, precision_at_k
from ..session import (
    SR_GNN_PARAMS,
    PopularityRecommender,
    SequentialRulesRecommender,
    SessionKNNRecommender,
    UberGNNRecommender,
    VSTANRecommender,
)
from ._core import SuiteData, history_rows, shared_data_dir, suite_config

__all__ = ["SUITE", "ValidationTopK", "session_model_specs"]

VARIANTS = {"mean": "V1", "local": "V2", "user": "V3", "hybrid": "V4"}


class ValidationTopK(Callback):
    """Record the P@k (hit rate) and MRR@k of the validation batches in the skorch history.

    Uses the logits skorch already computes for ``valid_loss`` (``on_batch_end`` of the
    validation batches), so it costs no extra forward pass: each batch's top ``k`` item codes
    (:func:`~sklearn_ubergnn._ranking.top_k`, the recommenders' ranking rule) are scored with
    :func:`~sklearn_ubergnn.metrics.precision_at_k` and :func:`~sklearn_ubergnn.metrics.mrr_at_k`
    against the integer targets. Adds ``valid_P@k`` and ``valid_MRR@k`` (percent) to every epoch
    of ``history_``; does nothing for models whose outputs are not ``(batch, n_items)`` scores
    against integer targets.

    Parameters
    ----------
    k : int, default=20
        Cut-off.
    """

    def __init__(self, k=20):
        self.k = k

    def on_epoch_begin(self, net, **kwargs):
        self.hits_, self.rr_, self.n_ = 0.0, 0.0, 0

    def on_batch_end(self, net, batch=None, training=None, y_pred=None, **kwargs):
        if training or y_pred is None or not isinstance(batch, (tuple, list)) or len(batch) < 2:
            return
        y = batch[1]
        if not isinstance(y, torch.Tensor) or y.ndim != 1 or y_pred.ndim != 2 or len(y) != len(y_pred):
            return
        n_items = y_pred.shape[1]
        k = min(self.k, n_items)
        ranked = top_k(y_pred, k, np.arange(k), min_score=-np.inf)
        y = y.cpu().numpy()
        self.hits_ += len(y) * precision_at_k(y, ranked, k=k)
        self.rr_ += len(y) * mrr_at_k(y, ranked, k=k)
        self.n_ += len(y)

    def on_epoch_end(self, net, **kwargs):
        if getattr(self, "n_", 0):
            net.history.record(f"valid_P@{self.k}", 100 * self.hits_ / self.n_)
            net.history.record(f"valid_MRR@{self.k}", 100 * self.rr_ / self.n_)


def _gru4rec_class():
    """``sklearn_ubergnn.GRU4RecRecommender`` when this checkout has it, else None."""
    try:
        import sklearn_ubergnn

        return getattr(sklearn_ubergnn, "GRU4RecRecommender", None)
    except ImportError:  # pragma: no cover - a half-written module elsewhere
        return None


def session_model_specs():
    """The session models by name: ``name -> (needs_user_portraits, build(params) -> estimator)``.

    ``params`` is a dict with ``hidden_size``, ``epochs``, ``batch_size``, ``lr``, ``seed``,
    ``verbose`` and optionally ``validation_fraction``, ``patience``, ``callbacks``, ``knn_k``,
    ``knn_sample_size``. Shared by ``ubergnn demo`` / ``evaluate`` and the session suite.
    ``gru4rec`` is listed only when :class:`GRU4RecRecommender` is importable.
    """
    def gnn(readout, users=True, **options):
        # Without users, no column besides the sessions is used even when X is a DataFrame.
        no_users = {} if users else {"categorical_columns": [], "continuous_columns": []}

        def build(params):
            extra = {k: params[k] for k in ("validation_fraction", "patience", "callbacks") if k in params}
            return UberGNNRecommender(
                **no_users,
                readout=readout,
                hidden_size=params["hidden_size"],
                max_epochs=params["epochs"],
                batch_size=params["batch_size"],
                lr=params["lr"],
                random_state=params["seed"],
                verbose=params.get("verbose", 0),
                n_jobs=params.get("n_jobs"),
                **options,
                **extra,
            )

        return build

    specs = {
        "popularity": (False, lambda params: PopularityRecommender()),
        "session-knn": (
            False,
            lambda params: SessionKNNRecommender(k=params.get("knn_k", 100),
                                                 sample_size=params.get("knn_sample_size", 500)),
        ),
        "sequential-rules": (False, lambda params: SequentialRulesRecommender()),
        "v-stan": (False, lambda params: VSTANRecommender()),
    }
    gru = _gru4rec_class()
    if gru is not None:

        def build_gru(params):
            names = gru().get_params()
            wanted = {"hidden_size": params["hidden_size"], "max_epochs": params["epochs"],
                      "random_state": params["seed"], "verbose": params.get("verbose", 0),
                      "n_jobs": params.get("n_jobs"),
                      **{k: params[k] for k in ("validation_fraction", "patience", "callbacks")
                         if k in params}}
            return gru(**{k: v for k, v in wanted.items() if k in names})

        specs["gru4rec"] = (False, build_gru)
    specs["sr-gnn"] = (False, gnn("local", users=False, **SR_GNN_PARAMS))  # V2 without users or later techniques
    specs["uber-gnn"] = (False, gnn("local", users=False))  # the estimator's defaults without users
    for readout in VARIANTS:
        specs[f"uber-gnn-{readout}"] = (True, gnn(readout))
    return specs


_DEFAULTS = {
    # hidden 100, batch 100, Adam 1e-3 x0.1 every 3 epochs: SR-GNN's settings, the estimator's defaults
    "full": {"hidden_size": 100, "epochs": 10, "batch_size": 100, "lr": 1e-3, "validation_fraction": 0.2,
             "patience": 3, "n_sessions": None},
    # few samples: larger steps than SR-GNN's 1e-3 (as `ubergnn demo`)
    "quick": {"hidden_size": 32, "epochs": 6, "batch_size": 100, "lr": 1e-2, "validation_fraction": 0.2,
              "patience": 3, "n_sessions": 3000},
    "tiny": {"hidden_size": 8, "epochs": 1, "batch_size": 64, "lr": 1e-2, "validation_fraction": 0.2,
             "patience": None, "n_sessions": 150},
}


class _SessionSuite:
    name = "session"
    metrics = ("P@20", "MRR@20", "NDCG@20")
    primary = "P@20"
    metric_digits = 2
    throughput = ("sessions_per_s", "recommend sessions/s")
    # the paper's V4; on data without portraits, the estimator's defaults without one
    headline = ("uber-gnn-hybrid", "uber-gnn")
    # Table 2 of the paper, plus sequential rules and V-STAN (the variants are Table 3)
    baselines = ("popularity", "session-knn", "sequential-rules", "v-stan", "gru4rec", "sr-gnn")
    epoch_panels = (("valid_loss", "validation loss"), ("valid_P@20", "validation P@20 (%)"))
    labels = {
        "popularity": "popularity",
        "session-knn": "session-kNN (V-SKNN)",
        "sequential-rules": "sequential rules (SR)",
        "v-stan": "V-STAN",
        "gru4rec": "GRU4Rec",
        "sr-gnn": "SR-GNN (`local`, no portrait)",
        "uber-gnn": "UBER-GNN defaults, no portrait (NISER+ / SGNN-HN options)",
        **{f"uber-gnn-{r}": f"UBER-GNN {v} `{r}` + portrait" for r, v in VARIANTS.items()},
    }

    def config(self, scale, options):
        return suite_config(self.name, {**_DEFAULTS[scale], "scale": scale, "k": 20, "knn_k": 100,
                                        "knn_sample_size": 500, "max_train": None, "max_test": None}, options)

    def load(self, data, scale, config):
        if scale != "full":
            X_train, y_train, X_test, y_test = synthetic_session_split(config["n_sessions"], random_state=0)
            key = "synthetic" if scale == "quick" else "tiny"
            title = (f"synthetic sessions with planted user segments (`make_sessions(n_sessions="
                     f"{config['n_sessions']}, random_state=0)`, portraits; last 20 % of sessions = test)")
        else:
            path, fmt, key = _resolve(data)
            X_train, y_train, X_test, y_test = load_session_split(path, fmt)
            title = {
                "yoochoose": "YOOCHOOSE 1/64 (SR-GNN's split; no user portraits)",
                "ml-100k": "MovieLens-100k sessions per user and day with the `u.user` portrait "
                           "(SR-GNN protocol, last 7 days = test)",
            }.get(key, f"{path} ({fmt})")
        if config["max_train"]:
            X_train, y_train = _tail(X_train, config["max_train"]), np.asarray(y_train)[-config["max_train"]:]
        if config["max_test"]:
            X_test, y_test = _head(X_test, config["max_test"]), np.asarray(y_test)[: config["max_test"]]
        info = f"{len(y_train):,} training prefixes, {len(y_test):,} test prefixes"
        if config["max_train"] or config["max_test"]:
            info += " (cut with --max-train/--max-test)"
        payload = {"X_train": X_train, "y_train": np.asarray(y_train),
                   "X_test": X_test, "y_test": np.asarray(y_test)}
        return SuiteData(key, title, info, payload, has_users=isinstance(X_train, pd.DataFrame))

    def models(self, sdata, config):
        specs = session_model_specs()
        plan = {}
        for name in ("popularity", "session-knn", "sequential-rules", "v-stan", "gru4rec", "sr-gnn", "uber-gnn",
                     *(f"uber-gnn-{r}" for r in VARIANTS)):
            if name not in specs:
                plan[name] = "sklearn_ubergnn.GRU4RecRecommender is not available in this checkout"
            elif specs[name][0] and not sdata.has_users:
                plan[name] = "these data have no user portraits"
            else:
                plan[name] = None
        return plan

    def run_job(self, payload, model, seed, config):
        _, build = session_model_specs()[model]
        params = {**config, "seed": seed, "verbose": config.get("verbose", 0)}
        estimator = build(params)
        if "callbacks" in estimator.get_params():
            estimator.set_params(callbacks=[("valid_topk", ValidationTopK(k=config["k"]))])
        results = evaluate_recommenders({model: estimator}, payload["X_train"], payload["y_train"],
                                        payload["X_test"], payload["y_test"], k=config["k"])
        row = results.iloc[0].drop("model").to_dict()
        history = history_rows(estimator)
        # every epoch trained: the selection run's and, with refit=True, the refit's
        runs = (getattr(estimator, "selection_history_", None), getattr(estimator, "history_", None))
        durations = [epoch["dur"] for run in runs if run is not None for epoch in run]
        row["epochs"] = len(durations)
        row["s_per_epoch"] = float(np.mean(durations)) if durations else float("nan")
        return row, history

    def describe(self, config):
        text = (f"Neural models: hidden size {config['hidden_size']}, batch {config['batch_size']}, Adam lr "
                f"{config['lr']:g} (x0.1 every 3 epochs), at most {config['epochs']} epoch(s)")
        if config.get("validation_fraction"):
            text += (f", a random {100 * config['validation_fraction']:.0f} % of the training prefixes "
                     "held out for the per-epoch validation loss / P@20")
            if config.get("patience"):
                text += f" and early stopping (patience {config['patience']}, best epoch restored)"
        return (text + f". Session-kNN: V-SKNN, k={config['knn_k']}, "
                f"sample_size={config['knn_sample_size']}. P@20 is SR-GNN's (next item in the top 20 = "
                "HR@20); metrics in percent.")

    def notes(self, sdata, config):
        return ("Paper structure: Table 2 = the baselines, SR-GNN and UBER-GNN (V4); Table 3 = the variants "
                "V1 `mean`, V2 `local`, V3 `user`, V4 `hybrid`, all with the user portrait.")


def _resolve(data):
    """(path, format, key) of a session data set name or path."""
    root = shared_data_dir()
    names = {"yoochoose": root / "yoochoose1_64", "yoochoose1_64": root / "yoochoose1_64",
             "movielens": root / "ml-100k", "ml-100k": root / "ml-100k"}
    path = names.get(str(data).lower(), None) if data is not None else root / "yoochoose1_64"
    path = Path(path if path is not None else data)
    if not path.exists():
        raise FileNotFoundError(
            f"session data {path} not found; pass --data with a YOOCHOOSE (SR-GNN pickles) or MovieLens "
            "folder, or run --quick on synthetic data"
        )
    if path.is_dir() and (path / "all_train_seq.txt").exists():
        return path, "srgnn", "yoochoose" if "yoochoose" in path.name else path.name
    if path.is_dir() and ((path / "u.data").exists() or (path / "ratings.dat").exists()):
        return path, "movielens", path.name
    if path.is_file() and path.suffix == ".csv":
        return path, "diginetica", path.stem
    raise ValueError(f"cannot tell the format of {path}: expected SR-GNN's all_train_seq.txt/test.txt, a "
                     "MovieLens folder (u.data + u.user) or a DIGINETICA train-item-views CSV")


def _tail(X, n):
    return X.iloc[-n:].reset_index(drop=True) if isinstance(X, pd.DataFrame) else list(X)[-n:]


def _head(X, n):
    return X.iloc[:n].reset_index(drop=True) if isinstance(X, pd.DataFrame) else list(X)[:n]


SUITE = _SessionSuite()
