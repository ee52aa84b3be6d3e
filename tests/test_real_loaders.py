"""The loaders on the real data sets in ../shared/data: the figures measured in each PROVENANCE.md.

Every test skips when its data folder is absent (``shared_data`` fixture). Each runs in well
under a few seconds.
"""

from collections import Counter

import numpy as np
import pandas as pd
import pytest

from sklearn_ubergnn.datasets import (
    load_diginetica,
    load_interactions_csv,
    load_movielens,
    load_movielens_ratings,
    load_session_csv,
    load_srgnn,
)


def utc(text):
    return pd.Timestamp(text, tz="UTC").timestamp()


def prefixes(sessions):
    """SR-GNN's augmentation: for every session s and i = 1..len(s)-1, input s[:-i], target s[-i]."""
    X, y = [], []
    for s in sessions:
        for i in range(1, len(s)):
            X.append(s[:-i])
            y.append(s[-i])
    return X, y


def srgnn_protocol(sessions, times):
    """SR-GNN's preprocess.py protocol (diginetica/sample branch), written here for the check.

    Drop length-1 sessions; drop items seen fewer than 5 times and then sessions left shorter
    than 2; test = sessions dated after (last date - 7 days), train = before; renumber items
    from 1 in training order; drop unseen items from test sessions and then test sessions
    shorter than 2; augment with prefixes.
    """
    kept = [(s, t) for s, t in zip(sessions, times) if len(s) > 1]
    counts = Counter(i for s, _ in kept for i in s)
    kept = [([i for i in s if counts[i] >= 5], t) for s, t in kept]
    kept = [(s, t) for s, t in kept if len(s) >= 2]
    split = max(t for _, t in kept) - 7 * 86400
    # our sessions are already in SR-GNN's order (date, then dictionary order): keep that order
    train = [s for s, t in kept if t < split]
    test = [s for s, t in kept if t > split]
    code = {}
    for s in train:
        for i in s:
            code.setdefault(i, len(code) + 1)
    train_seqs = [[code[i] for i in s] for s in train]
    test_seqs = [[code[i] for i in s if i in code] for s in test]
    test_seqs = [s for s in test_seqs if len(s) >= 2]
    return train_seqs, prefixes(train_seqs), prefixes(test_seqs)


# ------------------------------------------------------------------------------------------------
def test_yoochoose1_64(shared_data):
    data = load_srgnn(shared_data("yoochoose1_64"))
    assert len(data.train_sessions) == 116_167
    assert np.mean([len(s) for s in data.train_sessions]) == pytest.approx(4.18, abs=0.005)
    assert sum(len(s) - 1 for s in data.train_sessions) == 369_859  # SR-GNN's training examples
    assert len(data.test_X) == len(data.test_y) == 55_898
    assert data.train_X is None and data.train_y is None  # no train.txt in this folder
    train_items = {i for s in data.train_sessions for i in s}
    all_items = train_items | {i for s in data.test_X for i in s} | set(data.test_y)
    assert len(train_items) == 17_376 and len(all_items) == 17_745
    assert min(all_items) == 1 and max(all_items) == 37_483


def test_diginetica_sample_srgnn_pickles(shared_data):
    data = load_srgnn(shared_data("diginetica-sample") / "srgnn-preprocessed")
    assert len(data.train_sessions) == 469
    assert len(data.train_X) == len(data.train_y) == 1_205
    assert len(data.test_X) == len(data.test_y) == 99
    items = {i for s in data.train_sessions for i in s}
    assert min(items) == 1 and max(items) == 309 and len(items) == 309
    assert prefixes(data.train_sessions) == (data.train_X, data.train_y)


def test_diginetica_sample_csv(shared_data):
    sessions, meta = load_diginetica(shared_data("diginetica-sample") / "sample_train-item-views.csv")
    lengths = np.array([len(s) for s in sessions])
    assert lengths.sum() == 12_391 and len(sessions) == 2_986 and (lengths == 1).sum() == 933
    assert lengths.mean() == pytest.approx(4.15, abs=0.005)
    assert len({i for s in sessions for i in s}) == 7_139
    assert list(meta.columns) == ["session_id", "time", "user_id"] and len(meta) == 2_986
    assert meta["session_id"].is_unique and meta["time"].is_monotonic_increasing
    assert meta["time"].min() == utc("2016-01-03") and meta["time"].max() == utc("2016-06-01")
    assert meta["user_id"].dtype == "Int64" and 0 < meta["user_id"].notna().sum() < 2_986
    # the generic loader, ordering clicks by timeframe, gives the same clicks per session
    generic, gmeta = load_session_csv(
        shared_data("diginetica-sample") / "sample_train-item-views.csv",
        sep=";",
        session_col="session_id",
        item_col="item_id",
        time_col="timeframe",
        user_col="user_id",
    )
    by_id = dict(zip(gmeta["session_id"], generic))
    assert all(by_id[sid] == s for sid, s in zip(meta["session_id"], sessions))
    assert gmeta["user_id"].notna().sum() == meta["user_id"].notna().sum()


def test_diginetica_sample_reproduces_srgnn_preprocessing(shared_data):
    folder = shared_data("diginetica-sample")
    sessions, meta = load_diginetica(folder / "sample_train-item-views.csv")
    train_seqs, train, test = srgnn_protocol(sessions, meta["time"].tolist())
    data = load_srgnn(folder / "srgnn-preprocessed")
    assert len(train[0]) == 1_205 and len(test[0]) == 99
    assert train_seqs == data.train_sessions
    assert train == (data.train_X, data.train_y)
    assert test == (data.test_X, data.test_y)


def test_movielens_100k(shared_data):
    folder = shared_data("ml-100k")
    ratings = load_movielens_ratings(folder)
    assert len(ratings) == 100_000 and ratings["user"].nunique() == 943 and ratings["item"].nunique() == 1_682
    assert ratings["rating"].value_counts().sort_index().tolist() == [6_110, 11_370, 27_145, 34_174, 21_201]
    assert ratings["user"].value_counts().min() >= 20 and ratings["time"].is_monotonic_increasing
    assert ratings["time"].min() == utc("1997-09-20 03:05:10") and ratings["time"].max() == utc(
        "1998-04-22 23:10:38"
    )
    sessions, meta = load_movielens(folder)
    assert sum(len(s) for s in sessions) == 100_000 and len(meta) == len(sessions)
    assert meta["time"].is_monotonic_increasing and meta["user_id"].nunique() == 943
    days = (meta["time"] // 86400).astype(np.int64)
    assert not pd.DataFrame({"u": meta["user_id"], "d": days}).duplicated().any()  # one session per user-day
    users = meta.drop_duplicates("user_id")
    assert users["age"].min() == 7 and users["age"].max() == 73
    assert users["gender"].value_counts().to_dict() == {"M": 670, "F": 273}
    assert users["occupation"].nunique() == 21 and meta["age"].notna().all()


def test_collegemsg(shared_data):
    df = load_interactions_csv(shared_data("collegemsg") / "CollegeMsg.txt", format="collegemsg")
    assert len(df) == 59_835 and list(df.columns) == ["source", "target", "time"]
    nodes = pd.unique(np.concatenate([df["source"], df["target"]]))
    assert len(nodes) == 1_899 and nodes.min() == 1 and nodes.max() == 1_899
    assert df["source"].nunique() == 1_350 and df["target"].nunique() == 1_862
    assert len(df[["source", "target"]].drop_duplicates()) == 20_296
    assert df.duplicated().sum() == 37 and not (df["source"] == df["target"]).any()
    assert df["time"].min() == utc("2004-04-15 14:56:01") and df["time"].max() == utc("2004-10-26 07:52:22")
    raw = pd.read_csv(shared_data("collegemsg") / "CollegeMsg.txt", sep=" ", header=None)
    assert (df["source"].to_numpy() == raw[0].to_numpy()).all()  # the file is already time-sorted


def test_bitcoin_otc(shared_data):
    df = load_interactions_csv(shared_data("bitcoin-otc") / "soc-sign-bitcoinotc.csv", format="bitcoin")
    assert len(df) == 35_592 and list(df.columns) == ["source", "target", "rating", "time"]
    nodes = pd.unique(np.concatenate([df["source"], df["target"]]))
    assert len(nodes) == 5_881 and nodes.min() == 1 and nodes.max() == 6_005
    assert not df[["source", "target"]].duplicated().any()
    assert df["rating"].between(-10, 10).all() and (df["rating"] != 0).all()
    assert (df["rating"] > 0).sum() == 32_029 and (df["rating"] < 0).sum() == 3_563
    assert df["time"].iloc[0] == 1289241911.72836  # fractional seconds kept
    assert int(df["time"].min()) == utc("2010-11-08 18:45:11") and int(df["time"].max()) == utc(
        "2016-01-25 01:12:03"
    )


def test_chunked_reading_equals_one_pass(shared_data):
    """``chunksize=`` (streaming) returns exactly what one pass returns, on every real file."""
    views = shared_data("diginetica-sample") / "sample_train-item-views.csv"
    whole, chunked = load_diginetica(views), load_diginetica(views, chunksize=1_000)
    assert chunked[0] == whole[0]
    pd.testing.assert_frame_equal(chunked[1], whole[1])
    kw = dict(sep=";", session_col="session_id", item_col="item_id", time_col="timeframe", user_col="user_id")
    whole, chunked = load_session_csv(views, **kw), load_session_csv(views, chunksize=777, **kw)
    assert chunked[0] == whole[0]
    pd.testing.assert_frame_equal(chunked[1], whole[1])
    for folder, name, fmt in [("collegemsg", "CollegeMsg.txt", "collegemsg"),
                              ("bitcoin-otc", "soc-sign-bitcoinotc.csv", "bitcoin")]:
        path = shared_data(folder) / name
        pd.testing.assert_frame_equal(
            load_interactions_csv(path, format=fmt, chunksize=5_000), load_interactions_csv(path, format=fmt)
        )
