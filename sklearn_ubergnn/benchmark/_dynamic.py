"""The dynamic suite: link prediction (CollegeMsg, email-Eu) or event classification (Bitcoin-OTC) on streams.

Protocol (DyGLib/TGN): chronological 70/15/15 split by rows; models are fitted on train +
validation with ``validation_fraction`` = the validation share (a chronological split, so early
stopping never sees the test rows). The test rows are streamed in batches of 200: every batch is
scored, then appended (``partial_fit(batch, update_only=True)``; for classification its labels
are revealed then). Link prediction scores each test interaction against one negative with the
same source and time and a destination drawn uniformly from all objects (AP and ROC-AUC,
scikit-learn, over all scored rows), and, from the same fitted model, in three more passes over the
test stream: AP against one historical and one inductive negative (DyGLib's strategies) and the MRR
of each positive among 20 random negatives
(:func:`~sklearn_ubergnn.evaluation.evaluate_stream_links`).
"""
import copy
import time
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

from .._validation import check_ids
from .._vocabulary import GrowingVocabulary
from ..datasets import load_interactions_csv, make_interactions
from ..dynamic import (
    DynamicGraphEmbedder,
    DynamicInteractionClassifier,
    EdgeBankBaseline,
    RecencyHeuristicBaseline,
)
from ..dynamic._data import auto_time_scale, wide_inputs
from ..evaluation import evaluate_stream_events, evaluate_stream_links
from ..graphs import DynamicInteractionGraph
from ._core import SuiteData, history_rows, shared_data_dir, suite_config

__all__ = ["SUITE", "chronological_split", "history_features"]

_FILES = {
    "collegemsg": ("collegemsg/CollegeMsg.txt", "collegemsg"),
    "bitcoin": ("bitcoin-otc/soc-sign-bitcoinotc.csv", "bitcoin"),
    "email": ("email-eu-temporal/email-Eu-core-temporal.txt", "collegemsg"),  # the same `SRC DST SECONDS` lines
}
_TITLES = {"collegemsg": "CollegeMsg, ", "bitcoin": "Bitcoin-OTC, ", "email": "email-Eu-core-temporal (first quarter), "}
# Link prediction: the figures of each pass over the test stream (negatives, n_negatives, what is kept).
_MRR_NEGATIVES = 20
_LINK_PASSES = (("random", 1, {"AP": "ap", "ROC-AUC": "auc"}), ("historical", 1, {"AP hist": "ap"}),
                ("inductive", 1, {"AP ind": "ap"}), ("random", _MRR_NEGATIVES, {"MRR": "mrr"}))


def chronological_split(df, train=0.70, valid=0.15):
    """Split rows in time order into (train, validation, test) DataFrames with fresh indices."""
    n = len(df)
    a, b = int(n * train), int(n * (train + valid))
    return tuple(part.reset_index(drop=True) for part in (df.iloc[:a], df.iloc[a:b], df.iloc[b:]))


# The four planted mechanisms of RESULTS.md's synthetic streams (issue #17's leave-one-stream-out table)
SYNTHETIC_MECHANISMS = ({"random_state": 0}, {"recurrence_prob": 0.9, "random_state": 1},
                        {"anomaly_fraction": 0.15, "n_communities": 8, "random_state": 2},
                        {"recurrence_prob": 0.0, "memory": 1, "random_state": 3})


def synthetic_stream(k):
    """Synthetic stream ``k`` (0..3) of RESULTS.md: ``make_interactions`` with 100 objects, 5,000 rows and
    the ``k``-th of :data:`SYNTHETIC_MECHANISMS` (labelled, in time order)."""
    return make_interactions(n_objects=100, n_interactions=5000, **SYNTHETIC_MECHANISMS[k])


def history_features(df, batch=200, recent=10, label="label", *, time_unit=86400.0, cut=None):
    """Features of every row from the rows of earlier batches (labels revealed batch by batch).

    For each end ``o`` of a row ``(s, d, t)``: ``log1p`` of the events ``o`` gave and received so
    far, the fraction of them with ``label == 1`` (``pos / (n + 1)``), the same fraction over its
    last ``recent`` given/received events, and ``log1p(gap / time_unit)``, ``gap`` the time since
    ``o``'s last event (10^4 units when none); then, for the pair, ``log1p`` of its past
    interactions ``s -> d`` and ``d -> s``, the fraction of each with ``label == 1``, ``log1p`` of
    the time since the pair last met (same unit), ``log1p`` of the number of common partners of
    ``s`` and ``d`` and of the pair's meetings among each end's last ``recent`` events. A row
    never sees itself, its own batch or the future.

    The statistics are the estimators' own, computed by the same function as the inputs of
    :class:`~sklearn_ubergnn.dynamic.DynamicInteractionClassifier`'s wide part
    (:meth:`~sklearn_ubergnn.graphs.DynamicInteractionGraph.history_features` of both ends and
    :meth:`~sklearn_ubergnn.graphs.DynamicInteractionGraph.pair_features`), on the graph of
    the whole stream, each row seeing the rows of earlier batches (``before``). Labels are 0/1.

    Parameters
    ----------
    df : DataFrame
        The stream in time order: ``source``, ``target``, ``time`` and ``label``.
    batch : int, default=200
        Rows revealed together.
    recent : int, default=10
        Events per role in the recent fractions.
    label : str, default="label"
    time_unit : float > 0, default=86400.0
        Unit of the gaps (a day, for times in seconds).
    cut : int or None, default=None
        None: batches from row 0. An int: the rows from ``cut`` on are the test rows of
        :func:`~sklearn_ubergnn.evaluation.evaluate_stream_events` (batches from ``cut``) and the
        earlier ones replay the stream as the classifier's training rows do (batches from row 0);
        every row then also sees only rows strictly before its time, as the classifier's. With
        ``time_unit`` the classifier's ``time_scale_``, these are exactly its wide inputs.

    Returns
    -------
    X : ndarray of shape (n_rows, 22)
    """
    vocabulary = GrowingVocabulary()
    ids = np.empty(2 * len(df), dtype=object)
    ids[0::2], ids[1::2] = df["source"].to_numpy(), df["target"].to_numpy()
    codes = vocabulary.add(check_ids(ids, input_name="df"))
    t, y = df["time"].to_numpy(dtype=np.float64), df[label].to_numpy().astype(np.int64)
    graph = DynamicInteractionGraph(n_classes=2).append(codes[0::2], codes[1::2], t, labels=y)
    rows = np.arange(len(df))
    before = rows // batch * batch  # a row sees the rows of earlier batches only
    if cut is not None:
        test = rows >= cut
        before[test] = cut + (rows[test] - cut) // batch * batch
        before = np.minimum(before, graph.n_before(t))
    return wide_inputs(graph, codes[0::2], codes[1::2], t, before=before, recent=recent, time_unit=time_unit)


_DEFAULTS = {
    "full": {"epochs": 5, "patience": 2, "n_hops": None, "max_nodes": 32, "embedding_dim": 64,
             "batch_size": 200, "lr": 1e-3, "n_interactions": None, "pretrain_epochs": 0, "refit": None},
    # `ubergnn demo --task link|event`. 2 epochs on 3,000 rows left the encoders still learning (link ROC-AUC
    # <= 64.8 against EdgeBank's 70.9; events at chance): 5,000 rows, lr 1e-2, up to 15 epochs (patience 5)
    # and, for events, 3 epochs of link pre-training, which learns the communities that anomalies cross
    # before the sparse anomaly labels have to (without it the loss sits on the base rate for many epochs).
    "quick": {"epochs": 15, "patience": 5, "n_hops": 2, "max_nodes": 16, "embedding_dim": 16,
              "batch_size": 200, "lr": 1e-2, "n_interactions": 5000, "pretrain_epochs": 3, "refit": None},
    "tiny": {"epochs": 1, "patience": None, "n_hops": 1, "max_nodes": 8, "embedding_dim": 8,
             "batch_size": 100, "lr": 3e-3, "n_interactions": 400, "pretrain_epochs": 0, "refit": None},
}
_ENCODERS = {"dag-lstm": "lstm", "rnn": "rnn", "transformer": "transformer"}
# event classification only: the default encoder without the classifier's wide part (history statistics)
_DEEP_ONLY = {"dag-lstm-deep": "lstm"}


class _DynamicSuite:
    name = "dynamic"
    metrics = ("AP", "ROC-AUC", "AP hist", "AP ind", "MRR")  # the last three: link prediction only
    primary = "AP"
    metric_digits = 2
    throughput = ("rows_per_s", "scored rows/s")
    epoch_panels = (("valid_loss", "validation loss"), ("train_loss", "training loss"))
    headline = "dag-lstm"  # the estimators' default encoder
    baselines = ("edgebank", "recency", "lr-history")  # per task, those that run
    labels: ClassVar[dict] = {
        "edgebank": "EdgeBank (unlimited memory)",
        "recency": "recency / common partners / popularity (`RecencyHeuristicBaseline`)",
        "lr-history": "logistic regression on history statistics",
        "dag-lstm": "DAG-LSTM", "rnn": "RNN", "transformer": "Transformer",
        "dag-lstm-deep": "DAG-LSTM without the wide part (`history_features=False`)",
    }

    def config(self, scale, options):
        return suite_config(self.name, {**_DEFAULTS[scale], "scale": scale, "task": None}, options)

    def load(self, data, scale, config):
        if scale != "full":
            df = make_interactions(n_objects=100, n_interactions=config["n_interactions"], random_state=0)
            key, task = ("synthetic" if scale == "quick" else "tiny"), config["task"] or "link"
            title = (f"synthetic stream (`make_interactions(n_objects=100, n_interactions="
                     f"{config['n_interactions']}, random_state=0)`), ")
            features = ["f0", "f1", "f2"] if task == "classify" else None
        else:
            name = "collegemsg" if data is None else str(data).lower()
            if name in _FILES:
                path, fmt = shared_data_dir() / _FILES[name][0], _FILES[name][1]
            else:
                path = Path(data)
                fmt = "bitcoin" if "bitcoin" in path.name.lower() else "collegemsg"
                name = "bitcoin" if fmt == "bitcoin" else "email" if "email" in path.name.lower() else "collegemsg"
            if not path.exists():
                raise FileNotFoundError(f"interaction data {path} not found; pass --data "
                                        "collegemsg|bitcoin|email|PATH or run --quick on synthetic data")
            df = load_interactions_csv(path, format=fmt)
            task = config["task"] or ("classify" if name == "bitcoin" else "link")
            if task == "classify":
                if "rating" not in df:
                    raise ValueError(f"event classification needs a rating column; {path} has none")
                df["label"] = (df["rating"] < 0).astype(np.int64)
            default_task = "classify" if name == "bitcoin" else "link"
            key, features = name + ("" if task == default_task else f"-{task}"), None
            title = _TITLES[name]
        title += ("link prediction (random, historical and inductive negatives; MRR)" if task == "link"
                  else "event classification (label revealed after each scored batch)")
        config["task"] = task
        train, valid, test = chronological_split(df)
        info = (f"{len(df):,} interactions, chronological 70/15/15: {len(train):,} / {len(valid):,} / "
                f"{len(test):,} rows, test batches of 200 scored then appended")
        if task == "classify":
            info += f", {100 * df['label'].mean():.1f} % positive labels"
        return SuiteData(key, title, info, {"df": df, "task": task, "features": features})

    def models(self, sdata, config):
        if sdata.payload["task"] == "link":
            return {"edgebank": None, "recency": None, **{name: None for name in _ENCODERS}}
        return {"lr-history": None, **{name: None for name in (*_ENCODERS, *_DEEP_ONLY)}}

    def run_job(self, payload, model, seed, config):
        df, task, features = payload["df"], payload["task"], payload["features"]
        train, valid, test = chronological_split(df)
        fit_df = pd.concat([train, valid], ignore_index=True)
        if model == "lr-history":
            return self._lr_history(df, len(fit_df), seed)
        hops = config["n_hops"] or (2 if task == "link" else 3)
        columns = ["source", "target", "time", *(features or [])]
        start = time.perf_counter()
        if model == "edgebank":
            estimator = EdgeBankBaseline().fit(fit_df)
        elif model == "recency":
            estimator = RecencyHeuristicBaseline().fit(fit_df)
        else:
            cls = DynamicGraphEmbedder if task == "link" else DynamicInteractionClassifier
            estimator = cls(encoder={**_ENCODERS, **_DEEP_ONLY}[model], n_hops=hops, max_nodes=config["max_nodes"],
                            embedding_dim=config["embedding_dim"], max_epochs=config["epochs"],
                            batch_size=config["batch_size"], lr=config["lr"],
                            validation_fraction=len(valid) / len(fit_df), patience=config["patience"],
                            feature_columns=features, random_state=seed, n_jobs=config.get("n_jobs"),
                            verbose=config.get("verbose", 0))
            if task != "link":
                estimator.set_params(pretrain_epochs=config["pretrain_epochs"],
                                     history_features=model not in _DEEP_ONLY)
                if config.get("refit") is not None:  # None: the classifier's default
                    estimator.set_params(refit=config["refit"])
            if task == "link":
                estimator.fit(fit_df[columns])
            else:
                estimator.fit(fit_df[columns], fit_df["label"])
        fit_s = time.perf_counter() - start
        figures = {}
        if task == "link":
            objects = np.unique(np.r_[df["source"].to_numpy(), df["target"].to_numpy()])
            for i, (negatives, n_negatives, keep) in enumerate(_LINK_PASSES):
                # every pass starts from the fitted model: appending the stream changes it
                model_copy = copy.deepcopy(estimator) if i < len(_LINK_PASSES) - 1 else estimator
                out = evaluate_stream_links(model_copy, test[columns], objects, random_state=seed,
                                            negatives=negatives, n_negatives=n_negatives, history=fit_df[columns])
                figures.update({name: 100 * out[key] for name, key in keep.items()})
                if i == 0:  # throughput: the first pass, one random negative per row
                    result = out
        else:
            result = evaluate_stream_events(estimator, test, columns)
            figures = {"AP": 100 * result["ap"], "ROC-AUC": 100 * result["auc"]}
        history = history_rows(estimator)
        return {
            **figures,
            "fit_s": fit_s,
            "epochs": len(history),
            "s_per_epoch": float(np.mean([h["dur"] for h in history])) if history else float("nan"),
            "score_s": result["score_s"],
            "rows_per_s": result["n_scored"] / max(result["score_s"], 1e-9),
        }, history

    @staticmethod
    def _lr_history(df, cut, seed):
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        start = time.perf_counter()
        # the classifier's own wide inputs: its time_scale="auto" on the fitted rows, its replay and test batches
        unit = auto_time_scale(df["time"].to_numpy(dtype=np.float64)[:cut])
        X = history_features(df, time_unit=unit, cut=cut)
        features_s = time.perf_counter() - start
        y = df["label"].to_numpy()
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, random_state=seed))
        model.fit(X[:cut], y[:cut])
        fit_s = time.perf_counter() - start
        start = time.perf_counter()
        p = model.predict_proba(X[cut:])[:, 1]
        # the one pass over the stream is shared pro rata between training and test rows
        score_s = time.perf_counter() - start + features_s * (len(df) - cut) / len(df)
        return {"AP": 100 * average_precision_score(y[cut:], p), "ROC-AUC": 100 * roc_auc_score(y[cut:], p),
                "fit_s": fit_s, "epochs": 0, "s_per_epoch": float("nan"), "score_s": score_s,
                "rows_per_s": (len(df) - cut) / max(score_s, 1e-9)}, []

    def describe(self, config):
        hops = config["n_hops"] or (2 if config["task"] == "link" else 3)
        return (f"Encoders: {hops} hop(s), at most {config['max_nodes']} nodes per sub-graph, embedding "
                f"{config['embedding_dim']}, batch {config['batch_size']}, Adam lr {config['lr']:g}, at most "
                f"{config['epochs']} epoch(s)"
                + (f", early stopping on the validation rows (patience {config['patience']})"
                   if config["patience"] else "")
                + (f", after {config['pretrain_epochs']} epoch(s) of link-prediction pre-training"
                   if config["pretrain_epochs"] and config["task"] != "link" else "")
                + ("" if config.get("refit") is None or config["task"] == "link" else
                   f", refit={config['refit']} (the classifier trains again on every row for the chosen epochs)"
                   if config["refit"] else f", refit={config['refit']}")
                + ". AP and ROC-AUC in percent; scored rows/s counts `predict_link_proba` / `predict_proba` "
                  "time only (appending excluded).")

    def notes(self, sdata, config):
        if sdata.payload["task"] == "link":
            return ("Link prediction, four passes over the test stream from the same fitted model (each "
                    "appending the batches it scores): AP and ROC-AUC against one random negative per test "
                    "row (the positive's source and time, a uniform destination); AP hist against one "
                    "historical negative (a pair seen before the batch, in training or in earlier test "
                    "batches, not in the batch), AP ind against one inductive negative (a pair first seen "
                    "in earlier test batches), both whole pairs as in DyGLib, filled with random negatives "
                    f"when too few exist; MRR of each positive among {_MRR_NEGATIVES} random negatives "
                    "(ties share their mean rank, as in TGB). scored rows/s is the first pass's. "
                    "`recency` is `RecencyHeuristicBaseline()`: the pair's decayed past, else common "
                    "partners, else the destination's decayed popularity; no training.")
        if sdata.payload["task"] == "classify":
            text = ("`lr-history` is `benchmarks/bitcoin_lr_baseline.py`'s model: logistic regression on "
                    "past-interaction statistics (counts, negative fractions, last-10 outcome fractions, "
                    "time since the last event), fitted on train + validation.")
            if config["scale"] != "full":
                # measured with `ubergnn demo --task event` (seed 0), issue #17
                text += (" On this synthetic stream the DAG-LSTM classifier trails `lr-history` by hundredths of "
                         "a point or leads it, depending on the run (seed 0: AP 99.69 against 99.72, ROC-AUC "
                         "99.96 for both), because the planted anomalies (events to strangers) are given away by "
                         "the common-partner statistic that both models read: the task is saturated, and the "
                         "RNN and Transformer encoders reach 99.9-100. On Bitcoin-OTC the classifier is level "
                         "with or ahead of it (`benchmarks/RESULTS.md`).")
            return text
        return ""


SUITE = _DynamicSuite()
