"""Real data: our SR-GNN preprocessing reproduces SR-GNN's own output on its DIGINETICA sample.

SR-GNN's ``datasets/preprocess.py --dataset=sample`` turns ``sample_train-item-views.csv`` into
1,205 training and 99 test prefix samples; its output pickles are kept in
``../shared/data/diginetica-sample/srgnn-preprocessed/`` and must be matched exactly, sample by
sample and in the same order.
"""
import pickle

import numpy as np
import pandas as pd
import pytest

from sklearn_ubergnn.preprocessing import srgnn_preprocess, session_prefixes


class _NoGlobalsUnpickler(pickle.Unpickler):
    """The reference files hold plain lists and ints only: refuse any global."""

    def find_class(self, module, name):
        raise pickle.UnpicklingError(f"refused global {module}.{name}")


def _load_pickle(path):
    with open(path, "rb") as f:
        return _NoGlobalsUnpickler(f).load()


@pytest.fixture
def diginetica(shared_data):
    folder = shared_data("diginetica-sample")
    ref = folder / "srgnn-preprocessed"
    train_X, train_y = _load_pickle(ref / "train.txt")
    test_X, test_y = _load_pickle(ref / "test.txt")
    return {
        "csv": folder / "sample_train-item-views.csv",
        "all_train_seq": _load_pickle(ref / "all_train_seq.txt"),
        "train": (train_X, train_y),
        "test": (test_X, test_y),
    }


def _assert_matches_srgnn(res, ref):
    assert len(res.train_X) == len(res.train_y) == 1205
    assert len(res.test_X) == len(res.test_y) == 99
    assert res.n_items == 309 and sorted(res.item_map.values()) == list(range(1, 310))
    assert res.train_sessions == ref["all_train_seq"]  # 469 sessions, same order and numbering
    assert res.train_X == ref["train"][0]
    assert res.train_y.tolist() == ref["train"][1]
    assert res.test_X == ref["test"][0]
    assert res.test_y.tolist() == ref["test"][1]


def test_srgnn_preprocess_reproduces_sample_with_load_diginetica(diginetica):
    from sklearn_ubergnn.datasets import load_diginetica

    sessions, meta = load_diginetica(diginetica["csv"])
    res = srgnn_preprocess(sessions, np.asarray(meta["time"]), min_item_count=5, test_days=7)
    _assert_matches_srgnn(res, diginetica)


def test_srgnn_preprocess_reproduces_sample_from_raw_csv(diginetica):
    # Read the csv the way SR-GNN does, independently of our loader: clicks of a session
    # sorted by timeframe (stable), the session's date = eventdate of its last row in the file.
    df = pd.read_csv(diginetica["csv"], sep=";")
    clicks = df.sort_values(["session_id", "timeframe"], kind="stable")
    sessions = clicks.groupby("session_id", sort=False)["item_id"].agg(list)
    dates = df.groupby("session_id", sort=False)["eventdate"].last().loc[sessions.index]
    times = pd.to_datetime(dates).to_numpy()  # midnight, UTC
    res = srgnn_preprocess(list(sessions), times)
    _assert_matches_srgnn(res, diginetica)


def test_prefixes_of_all_train_seq_are_train_txt(diginetica):
    X, y = session_prefixes(diginetica["all_train_seq"], order="srgnn")
    assert X == diginetica["train"][0]
    assert y.tolist() == diginetica["train"][1]
