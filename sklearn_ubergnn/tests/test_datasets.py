"""Fast tests of sklearn_ubergnn.datasets: generators (planted structure) and loaders (hand-made files)."""

import itertools
import os
import pickle
import re
from functools import partial

import numpy as np
import pandas as pd
import pytest

from sklearn_ubergnn.datasets import (
    FlatSessions,
    load_diginetica,
    load_interactions_csv,
    load_movielens,
    load_movielens_ratings,
    load_session_csv,
    load_srgnn,
    make_bipartite,
    make_interactions,
    make_sessions,
)
from sklearn_ubergnn.tests._checks import DIGINETICA, raises, write


# ------------------------------------------------------------------------------------------------
# make_sessions
# ------------------------------------------------------------------------------------------------
def hit_rate_at_20(scores, targets):
    top = np.argsort(-scores, axis=1, kind="stable")[:, :20]
    return float((top == targets[:, None]).any(axis=1).mean())


def transitions(sessions, session_users, segments, rows):
    """(segment, last item, next item) of every click after the first, for the given sessions."""
    out = [
        (segments[session_users[i]], s[t - 1], s[t])
        for i in rows
        for s in [sessions[i]]
        for t in range(1, len(s))
    ]
    return np.array(out, dtype=np.int64)


@pytest.fixture(scope="module")
def default_sessions():
    return make_sessions(return_segments=True, random_state=0)


def test_make_sessions_shapes_and_types(default_sessions):
    sessions, session_users, users, segments = default_sessions
    assert len(sessions) == 2000 and session_users.shape == (2000,) and session_users.dtype == np.int64
    assert all(isinstance(s, list) and all(type(v) is int for v in s) for s in sessions)
    lengths = np.array([len(s) for s in sessions])
    assert lengths.min() == 2 and lengths.max() == 8 and 3.0 < lengths.mean() < 3.8
    items = np.concatenate(sessions)
    assert items.min() >= 0 and items.max() < 100
    assert users.index.name == "user_id" and users.index.equals(pd.RangeIndex(200, name="user_id"))
    assert list(users.columns) == ["region", "age", "device", "income"]
    assert users["region"].dtype == "category" and users["device"].dtype == "category"
    assert users["age"].dtype == np.float64 and users["income"].dtype == np.float64
    assert segments.shape == (200,) and set(segments) == {0, 1, 2, 3}
    assert set(session_users) <= set(range(200))


def test_make_sessions_without_segments_returns_three():
    out = make_sessions(n_users=5, n_items=10, n_sessions=7, random_state=1)
    assert len(out) == 3 and len(out[0]) == 7


def test_make_sessions_is_deterministic():
    a = make_sessions(n_sessions=50, random_state=3)
    b = make_sessions(n_sessions=50, random_state=np.random.RandomState(3))
    c = make_sessions(n_sessions=50, random_state=4)
    assert a[0] == b[0] and np.array_equal(a[1], b[1])
    pd.testing.assert_frame_equal(a[2], b[2])
    assert a[0] != c[0]


def test_make_sessions_segment_needs_both_portrait_columns(default_sessions):
    _, _, users, segments = default_sessions
    band = (users["age"] >= 40).to_numpy()
    assert not ((users["age"] >= 38) & (users["age"] < 42)).any()  # the gap between the bands
    assert band.sum() == 120  # 40 % young users, exactly
    # (region, band) determines the segment ...
    per_cell = pd.Series(segments).groupby([users["region"].cat.codes.to_numpy(), band]).nunique()
    assert (per_cell == 1).all() and len(per_cell) == 8
    # ... but neither column alone does, and the noise columns carry nothing
    assert (pd.Series(segments).groupby(users["region"].cat.codes.to_numpy()).nunique() == 2).all()
    assert (pd.Series(segments).groupby(band).nunique() == 4).all()
    assert (pd.Series(segments).groupby(users["device"].to_numpy(), observed=True).nunique() == 4).all()


def test_make_sessions_portrait_noise_reassigns_some_users():
    _, _, users, segments = make_sessions(
        n_sessions=10, portrait_noise=1.0, return_segments=True, random_state=0
    )
    band = (users["age"] >= 40).to_numpy().astype(int)
    planted = (users["region"].cat.codes.to_numpy() + 2 * band) % 4
    assert 0.5 < (planted != segments).mean() < 0.95


def test_make_sessions_repeats_follow_repeat_prob():
    def repeat_share(p):
        sessions, _, _ = make_sessions(n_sessions=3000, repeat_prob=p, random_state=0)
        repeated = sum(s[t] in s[:t] for s in sessions for t in range(1, len(s)))
        return repeated / sum(len(s) - 1 for s in sessions)

    assert repeat_share(0.5) > 0.5 and 0.3 > repeat_share(0.1) > 0.1


def test_make_sessions_anchored_segments_follow_the_first_click():
    """Users of anchored segments draw every click from the successors of the session's first
    click, the others from the successors of the previous click (no repeats or jumps here)."""
    sessions, session_users, _, segments = make_sessions(
        n_items=60, n_sessions=3000, n_clusters=60, n_successors=4, repeat_prob=0.0, jump_prob=0.0,
        mean_length=5, anchored_segments=0.5, return_segments=True, random_state=0,
    )
    anchored = segments[session_users] < 2  # round(0.5 * 4) = 2: segments 0 and 1

    def successors(pairs):
        found = {}
        for a, b in pairs:
            found.setdefault(a, set()).add(b)
        return max(len(v) for v in found.values())

    from_first = [(s[0], v) for s, a in zip(sessions, anchored) if a for v in s[1:]]
    from_previous = [(u, v) for s, a in zip(sessions, anchored) if not a for u, v in itertools.pairwise(s)]
    assert successors(from_first) <= 4 and successors(from_previous) <= 4
    # and not the other way round: an anchored session's clicks do not follow their predecessor
    wrong = [(u, v) for s, a in zip(sessions, anchored) if a for u, v in itertools.pairwise(s)]
    assert successors(wrong) > 4
    # the default (0.0) moves on from the previous click for every segment
    plain = make_sessions(n_sessions=50, random_state=3)
    assert plain[0] == make_sessions(n_sessions=50, anchored_segments=0.0, random_state=3)[0]


def test_make_sessions_popularity_is_skewed(default_sessions):
    counts = np.sort(np.bincount(np.concatenate(default_sessions[0]), minlength=100))[::-1]
    assert counts[:10].sum() > 3 * counts[-50:].sum() / 5  # top 10 items above 3x the bottom 50 per item


def test_make_sessions_oracle_with_segment_beats_last_item_and_popularity(default_sessions):
    """Transition counts per (segment, last item) fitted on half the sessions predict the other
    half clearly better (hit rate at 20) than counts per last item alone; both beat popularity."""
    sessions, session_users, _, segments = default_sessions
    half = len(sessions) // 2
    train = transitions(sessions, session_users, segments, range(half))
    test = transitions(sessions, session_users, segments, range(half, len(sessions)))
    n_items, n_seg = 100, 4
    per_segment = np.zeros((n_seg, n_items, n_items))
    np.add.at(per_segment, (train[:, 0], train[:, 1], train[:, 2]), 1)
    per_last = per_segment.sum(axis=0)
    popularity = np.bincount(np.concatenate(sessions[:half]), minlength=n_items).astype(float)
    tie = 1e-3 * popularity / popularity.sum()  # unseen successors: by popularity
    hr_pop = hit_rate_at_20(np.tile(popularity, (len(test), 1)), test[:, 2])
    hr_last = hit_rate_at_20(per_last[test[:, 1]] + tie, test[:, 2])
    hr_segment = hit_rate_at_20(per_segment[test[:, 0], test[:, 1]] + tie, test[:, 2])
    print(
        f"hit rate@20: popularity {hr_pop:.3f}, last item {hr_last:.3f}, segment + last item {hr_segment:.3f}"
    )
    assert hr_segment >= hr_last + 0.05
    assert hr_last >= hr_pop + 0.10


@pytest.mark.parametrize(
    "kwargs",
    [{"n_users": 0}, {"n_items": 1}, {"mean_length": 1.5}, {"repeat_prob": 1.5}, {"random_state": "x"}],
)
def test_make_sessions_rejects_bad_parameters(kwargs):
    with pytest.raises(ValueError, match="parameter of make_sessions"):
        make_sessions(**kwargs)


def test_make_sessions_single_segment_and_tiny_sizes():
    sessions, _users_of, _users, seg = make_sessions(3, 2, 4, 1, return_segments=True, random_state=0)
    assert len(sessions) == 4 and set(seg) == {0} and set(np.concatenate(sessions)) <= {0, 1}


# ------------------------------------------------------------------------------------------------
# make_interactions / make_bipartite
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def stream():
    return make_interactions(n_interactions=4000, return_communities=True, random_state=0)


def test_make_interactions_columns_and_order(stream):
    df, community = stream
    assert list(df.columns) == ["source", "target", "time", "f0", "f1", "f2", "label"]
    assert len(df) == 4000 and df.index.equals(pd.RangeIndex(4000))
    assert df["source"].dtype == np.int64 and df["label"].dtype == np.int64 and df["time"].dtype == np.float64
    assert df["time"].is_monotonic_increasing and (df["source"] != df["target"]).all()
    assert community.shape == (100,) and np.bincount(community).tolist() == [25] * 4


def test_make_interactions_is_deterministic():
    a, b = make_interactions(random_state=5), make_interactions(random_state=5)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(make_interactions(random_state=6))


def test_make_interactions_planted_structure(stream):
    df, community = stream
    anomalous = df["label"].to_numpy() == 1
    assert 0.08 < anomalous.mean() < 0.2  # bursts of 3 started with probability 0.05
    cross = community[df["source"]] != community[df["target"]]
    assert cross[anomalous].all() and cross[~anomalous].mean() < 0.1
    assert df["f0"][anomalous].mean() > df["f0"][~anomalous].mean() + 2
    # recurrence: normal events often repeat one of the source's 5 most recent partners
    recent, hits = {}, 0
    for s, t, y in df[["source", "target", "label"]].itertuples(index=False):
        if y == 0:
            hits += t in recent.get(s, [])
            recent[s] = ([p for p in recent.get(s, []) if p != t] + [t])[-5:]
    assert hits / (~anomalous).sum() > 0.4


def test_make_interactions_without_anomalies():
    df = make_interactions(n_interactions=300, anomaly_fraction=0.0, random_state=0)
    assert (df["label"] == 0).all()


def test_make_bipartite_planted_channels():
    edges, item_channel, mixture = make_bipartite(random_state=0)
    assert list(edges.columns) == ["user", "item"] and edges["user"].dtype == np.int64
    assert not edges.duplicated().any() and edges["user"].is_monotonic_increasing
    assert item_channel.shape == (300,) and np.bincount(item_channel).tolist() == [75] * 4
    assert mixture.shape == (200, 4) and np.allclose(mixture.sum(axis=1), 1)
    share = pd.crosstab(edges["user"], item_channel[edges["item"]], normalize="index").to_numpy()
    assert np.corrcoef(share.ravel(), mixture.ravel())[0, 1] > 0.9
    again = make_bipartite(random_state=0)
    pd.testing.assert_frame_equal(edges, again[0])


def test_make_bipartite_popularity_gives_the_draw_probabilities():
    # one channel: an item's share of the users is the chance that a user's 1 + Poisson(5) draws
    # hit it at least once, 1 - E[(1 - p_i)^N] = 1 - (1 - p_i) exp(-5 p_i)
    edges, channel, mixture, popularity = make_bipartite(n_users=2000, n_items=30, n_channels=1,
                                                         edges_per_user=6, random_state=0,
                                                         return_popularity=True)
    assert popularity.shape == (30,) and np.isclose(popularity.sum(), 1) and (channel == 0).all()
    share = np.bincount(edges["item"], minlength=30) / 2000
    expected = 1 - (1 - popularity) * np.exp(-5 * popularity)
    assert np.corrcoef(share, expected)[0, 1] > 0.99
    np.testing.assert_allclose(share, expected, atol=0.035)  # about 3.5 binomial standard errors
    pd.testing.assert_frame_equal(edges, make_bipartite(n_users=2000, n_items=30, n_channels=1, edges_per_user=6,
                                                        random_state=0)[0])


# ------------------------------------------------------------------------------------------------
# load_session_csv
# ------------------------------------------------------------------------------------------------
CLICKS = """session,item,time,user
s1,10,5,u1
s2,30,2,NA
s1,20,3,u1
s3,40,9,
s2,31,7,u2
s1,10,4,u1
"""


def test_load_session_csv_orders_clicks_and_sessions(tmp_path):
    path = write(tmp_path / "clicks.csv", CLICKS)
    sessions, meta = load_session_csv(
        path, session_col="session", item_col="item", time_col="time", user_col="user"
    )
    # s1 ends at 5, s2 at 7, s3 at 9; clicks by time
    assert sessions == [[20, 10, 10], [30, 31], [40]]
    assert meta["session_id"].tolist() == ["s1", "s2", "s3"]
    assert meta["time"].tolist() == [5.0, 7.0, 9.0]
    assert meta["user_id"].iloc[:2].tolist() == ["u1", "u2"] and pd.isna(meta["user_id"].iloc[2])


def test_load_session_csv_first_click_time_and_int_ids(tmp_path):
    path = write(tmp_path / "clicks.csv", "sid;item;t\n7;1;10\n8;2;1\n7;3;0\n9;4;0\n")
    sessions, meta = load_session_csv(
        path, session_col="sid", item_col="item", time_col="t", sep=";", session_time="first"
    )
    assert sessions == [[3, 1], [4], [2]]  # 7 and 9 start at 0 (file order), 8 at 1
    assert meta["session_id"].tolist() == [7, 9, 8] and meta["session_id"].dtype == np.int64
    assert list(meta.columns) == ["session_id", "time"]


def test_load_session_csv_iso_times_blank_lines_and_crlf(tmp_path):
    path = tmp_path / "clicks.csv"
    path.write_bytes(
        b"s,i,t\r\n1,5,2014-04-07T10:51:09.277Z\r\n\r\n1,6,2014-04-07T10:50:00Z\r\n2,7,2014-04-06\r\n"
    )
    sessions, meta = load_session_csv(path, session_col="s", item_col="i", time_col="t")
    assert sessions == [[7], [6, 5]]
    assert meta["time"].tolist() == [1396742400.0, 1396867869.277]


def test_binary_files_are_not_text_and_never_echoed(tmp_path):
    kw = {"session_col": "s", "item_col": "i", "time_col": "t"}
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, size=2000, dtype=np.uint8).tobytes()
    binary = tmp_path / "noise.csv"
    binary.write_bytes(b"s,i,t\n1,2,3\n" + noise)
    nul = tmp_path / "nul.csv"
    nul.write_bytes(b"s,i,t\n1,2,3\n1,\x00x,4\n")
    gz = tmp_path / "clicks.csv.gz"
    gz.write_bytes(b"\x1f\x8b\x08\x00" + noise)
    with raises(ValueError, nul, ", line 3, column 3: not a text file (byte 0x00 there); expected a "
                "delimited text file (UTF-8), such as a CSV file. Is it compressed or binary?"):
        load_session_csv(nul, **kw)
    with raises(ValueError, gz, ": not a text file: it looks like a gzip-compressed file; decompress it "
                "first (gunzip); expected a delimited text file (UTF-8), such as a CSV file."):
        load_session_csv(gz, **kw)
    for load in (lambda p: load_session_csv(p, **kw), load_diginetica, load_interactions_csv,
                 lambda p: load_session_csv(p, chunksize=2, **kw)):
        with pytest.raises(ValueError, match=re.escape(f"{binary}, line 3, column ")) as info:
            load(binary)
        assert "not a text file" in str(info.value) and len(str(info.value)) < len(str(binary)) + 160
    latin1 = tmp_path / "latin1.csv"  # a few non-UTF-8 bytes are text, not binary
    latin1.write_bytes("s,i,t\n1,café,3\n1,thé,4\n".encode("latin-1"))
    assert len(load_session_csv(latin1, **kw)[0]) == 1


def test_bad_values_are_shown_cut_short(tmp_path):
    path = write(tmp_path / "long.csv", "s,i,t\n1,2,3\n1," + "x" * 10_000 + ",4\n")
    with raises(ValueError, path, ", line 3, column 'i': expected a number (like the first value), found "
                "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...'."):
        load_session_csv(path, session_col="s", item_col="t", time_col="i")


def test_load_session_csv_does_not_sort_ties_away_from_file_order(tmp_path):
    path = write(tmp_path / "c.csv", "s,i,t\n1,3,1\n1,2,1\n1,1,1\n")
    assert load_session_csv(path, session_col="s", item_col="i", time_col="t")[0] == [[3, 2, 1]]


# name, file text, message after the path (test_loader_errors_name_the_file_line); texts span several
# chunks, so chunked reads must give the whole file's line numbers.
SESSION_CSV_ERRORS = [
    ("empty", "\n\n\n\n\n", ": the file is empty; expected a header line and data lines separated by ','."),
    ("header_only", "session,item,time\n\n\n\n\n", ": the file has a header line but no data lines."),
    ("no_time", "\n\nsession,item,when\n1,2,3\n",
     ", line 1: missing required column 'time' (time_col); the header has columns ['session', 'item', 'when']."),
    ("short", "session,item,time\n1,2,3\n\n1,2,3\n1,2,3\n1,2\n",
     ", line 6: expected 3 fields separated by ',' (session, item, time), found 2: missing column(s) 'time'."),
    ("long", "session,item,time\n1,2,3\n1,2,3,4,5\n",
     (", line 3: expected 3 fields separated by ',' (session, item, time), found 5: 2 extra field(s) after column "
      "'time'.")),
    ("bad_time", "session,item,time\n1,2,3\n1,2,3\n\n1,2,soon\n1,2,3\n",
     ", line 5, column 'time': expected a number (like the first value), found 'soon'."),
    ("no_item", "session,item,time\n1,2,3\n1,2,3\n1,2,3\n1,,3\n",
     ", line 5, column 'item': missing value ''; expected an id."),
    ("quoted", 'session,item,time\n"a,b",x,1\n"a,b",y,2\n"a",y,2,3\n',
     (", line 4: expected 3 fields separated by ',' (session, item, time), found 4: 1 extra field(s) after column "
      "'time'.")),
]


def test_load_session_csv_missing_file_and_bad_session_time(tmp_path):
    kw = {"session_col": "session", "item_col": "item", "time_col": "time"}
    missing = tmp_path / "nope.csv"
    with raises(FileNotFoundError, "session file not found: ", missing):
        load_session_csv(missing, **kw)
    path = write(tmp_path / "ok.csv", "session,item,time\n1,2,3\n")
    with pytest.raises(ValueError, match="session_time must be 'last' or 'first', got 'middle'"):
        load_session_csv(path, session_time="middle", **kw)


def test_load_session_csv_quoted_fields(tmp_path):
    path = write(tmp_path / "q.csv", 's,i,t\n"a,b",x,1\n"a,b",y,2\n')
    sessions, meta = load_session_csv(path, session_col="s", item_col="i", time_col="t")
    assert sessions == [["x", "y"]] and meta["session_id"].tolist() == ["a,b"]
    too_many = write(tmp_path / "q2.csv", 's,i,t\n"a,b",x,1\n"a",y,2,3\n')
    with raises(
        ValueError,
        too_many,
        ", line 3: expected 3 fields separated by ',' (s, i, t), found 4: 1 extra field(s) after column 't'.",
    ):
        load_session_csv(too_many, session_col="s", item_col="i", time_col="t")


# ------------------------------------------------------------------------------------------------
# load_diginetica
# ------------------------------------------------------------------------------------------------


def test_load_diginetica_follows_srgnn(tmp_path):
    path = write(tmp_path / "train-item-views.csv", DIGINETICA)
    sessions, meta = load_diginetica(path)
    # dates (last line of each session in file order): 3 -> 05-02, 1 -> 05-03 (its last line), 2 -> 05-01;
    # SR-GNN's dict order: 3 (run ends at line 3), 1 (first run ends at line 5), 2 (line 6)
    assert sessions == [[20], [31, 30], [11, 12, 10]]
    assert meta["session_id"].tolist() == [2, 3, 1]
    day = 86400.0
    assert meta["time"].tolist() == [1462060800.0, 1462060800.0 + day, 1462060800.0 + 2 * day]
    assert meta["user_id"].dtype == "Int64" and meta["user_id"].isna().tolist() == [True, True, False]
    assert meta["user_id"].iloc[2] == 7


def test_load_diginetica_sample_header_variant(tmp_path):
    text = DIGINETICA.replace("sessionId;userId;itemId", "session_id;user_id;item_id")
    a = load_diginetica(write(tmp_path / "a.csv", text))
    b = load_diginetica(write(tmp_path / "b.csv", DIGINETICA))
    assert a[0] == b[0]
    pd.testing.assert_frame_equal(a[1], b[1])


DIGINETICA_ERRORS = [
    ("bad_date", DIGINETICA.replace("2016-05-03", "2016-13-03"),
     ", line 7, column 'eventdate': expected a date YYYY-MM-DD, found '2016-13-03'."),
    ("bad_frame", DIGINETICA.replace(";200;", ";2x0;"), ", line 5, column 'timeframe': expected an integer, found '2x0'."),
    ("bad_user", DIGINETICA.replace("1;7;12", "1;x;12"), ", line 7, column 'userId': expected an integer, found 'x'."),
    ("no_item", DIGINETICA.replace("itemId", "product"),
     (", line 1: missing required column 'itemId' (or 'item_id'); the header has columns ['sessionId', 'userId', "
      "'product', 'timeframe', 'eventdate'].")),
    ("short", DIGINETICA.replace("2;NA;20;50;2016-05-01", "2;NA;20;50"),
     (", line 6: expected 5 fields separated by ';' (sessionId, userId, itemId, timeframe, eventdate), found 4: "
      "missing column(s) 'eventdate'.")),
    ("empty", "", ": the file is empty; expected a header line and data lines separated by ';'."),
]


def test_load_diginetica_missing_file(tmp_path):
    with raises(FileNotFoundError, "Diginetica file not found: ", tmp_path / "x.csv"):
        load_diginetica(tmp_path / "x.csv")


# ------------------------------------------------------------------------------------------------
# load_srgnn
# ------------------------------------------------------------------------------------------------
def dump(path, obj, protocol=pickle.HIGHEST_PROTOCOL):
    with open(path, "wb") as f:
        pickle.dump(obj, f, protocol=protocol)


@pytest.fixture
def srgnn_folder(tmp_path):
    dump(tmp_path / "all_train_seq.txt", [[1, 2, 3], [2, 4]])
    dump(tmp_path / "test.txt", ([[1], [1, 2]], [2, 3]), protocol=2)
    dump(tmp_path / "train.txt", ([[1, 2], [1], [2]], [3, 2, 4]))
    return tmp_path


def test_load_srgnn_reads_plain_pickles(srgnn_folder):
    data = load_srgnn(srgnn_folder)
    assert data.train_sessions == [[1, 2, 3], [2, 4]]
    assert data.test_X == [[1], [1, 2]] and data.test_y == [2, 3]
    assert data.train_X == [[1, 2], [1], [2]] and data.train_y == [3, 2, 4]
    (srgnn_folder / "train.txt").unlink()
    data = load_srgnn(str(srgnn_folder))
    assert data.train_X is None and data.train_y is None


def test_load_srgnn_as_flat(srgnn_folder):
    data = load_srgnn(srgnn_folder, as_flat=True)
    assert isinstance(data.train_sessions, FlatSessions)
    assert data.train_sessions.to_list() == [[1, 2, 3], [2, 4]]
    assert data.test_X.to_list() == [[1], [1, 2]] and data.train_X.to_list() == [[1, 2], [1], [2]]
    assert data.test_y.dtype == np.int64 and data.test_y.tolist() == [2, 3]
    assert data.train_y.tolist() == [3, 2, 4]
    assert data.train_sessions.items.dtype == np.int64


def test_session_loaders_as_flat_equal_the_lists(tmp_path):
    path = write(tmp_path / "clicks.csv", CLICKS)
    kwargs = {"session_col": "session", "item_col": "item", "time_col": "time", "user_col": "user"}
    lists, meta = load_session_csv(path, **kwargs)
    for chunksize in (None, 2):
        flat, flat_meta = load_session_csv(path, chunksize=chunksize, as_flat=True, **kwargs)
        assert isinstance(flat, FlatSessions) and flat.to_list() == lists
        pd.testing.assert_frame_equal(flat_meta, meta)
    digi = write(tmp_path / "train-item-views.csv", DIGINETICA)
    lists, meta = load_diginetica(digi)
    flat, flat_meta = load_diginetica(digi, as_flat=True)
    assert flat.to_list() == lists and flat.items.dtype == np.int64
    pd.testing.assert_frame_equal(flat_meta, meta)


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


@pytest.mark.parametrize("name", ["all_train_seq.txt", "test.txt", "train.txt"])
def test_load_srgnn_refuses_code_execution(srgnn_folder, name):
    marker = srgnn_folder / "pwned"
    payload = [[1, 2], _Evil(marker)] if name == "all_train_seq.txt" else ([[1], [2]], [_Evil(marker), 3])
    dump(srgnn_folder / name, payload)
    with pytest.raises(
        ValueError,
        match=re.escape(f"{srgnn_folder / name}: not a valid SR-GNN pickle: refused to load the global ")
        + r"(posix|nt|os)\.system",
    ):
        load_srgnn(srgnn_folder)
    assert not marker.exists()


def test_load_srgnn_refuses_persistent_ids(srgnn_folder):
    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            return "x" if obj == 3 else None

    with open(srgnn_folder / "all_train_seq.txt", "wb") as f:
        Pickler(f).dump([[1, 2, 3]])
    with pytest.raises(ValueError, match="refused a persistent id"):
        load_srgnn(srgnn_folder)


@pytest.mark.parametrize(
    "name, payload, message",
    [
        ("all_train_seq.txt", "abc", "expected sessions to be a list of sessions, found str 'abc'."),
        ("all_train_seq.txt", {"a": 1}, "expected sessions to be a list of sessions, found dict {'a': 1}."),
        (
            "all_train_seq.txt",
            [[1, 2], (3, 4)],
            "expected sessions[1] to be a list of int item ids, found tuple (3, 4).",
        ),
        ("all_train_seq.txt", [[1, 2.0]], "expected an int item id at sessions[0][1], found float 2.0."),
        ("all_train_seq.txt", [[1, "2"]], "expected an int item id at sessions[0][1], found str '2'."),
        ("all_train_seq.txt", [[1, True]], "expected an int item id at sessions[0][1], found bool True."),
        ("all_train_seq.txt", [[1], [[2]]], "expected an int item id at sessions[1][0], found list [2]."),
        (
            "all_train_seq.txt",
            [[1], []],
            "sessions[1] is an empty session; SR-GNN sessions hold at least one item.",
        ),
        ("test.txt", [[[1]], [2], [3]], "expected a pair (prefixes, targets), found a list of length 3."),
        ("test.txt", 5, "expected a pair (prefixes, targets), found int 5."),
        (
            "test.txt",
            ([[1], [2]], [3]),
            "prefixes and targets must have the same length, found 2 prefixes and 1 targets.",
        ),
        ("test.txt", ([[1]], (3,)), "expected targets to be a list of int item ids, found tuple (3,)."),
        ("train.txt", ([[1]], [b"3"]), "expected an int item id at targets[0], found bytes b'3'."),
        ("train.txt", ([[1]], [None]), "expected an int item id at targets[0], found NoneType None."),
    ],
)
def test_load_srgnn_checks_structure(srgnn_folder, name, payload, message):
    dump(srgnn_folder / name, payload)
    with raises(ValueError, srgnn_folder / name, ": " + message):
        load_srgnn(srgnn_folder)


def test_load_srgnn_missing_and_corrupt_files(srgnn_folder, tmp_path):
    with raises(FileNotFoundError, "SR-GNN data folder not found: ", tmp_path / "none"):
        load_srgnn(tmp_path / "none")
    (srgnn_folder / "test.txt").unlink()
    with raises(
        FileNotFoundError,
        "SR-GNN file not found: ",
        f"{srgnn_folder / 'test.txt'} (expected all_train_seq.txt and test.txt in {srgnn_folder})",
    ):
        load_srgnn(srgnn_folder)
    (srgnn_folder / "all_train_seq.txt").write_bytes(b"1,2,3\n")
    dump(srgnn_folder / "test.txt", ([[1]], [2]))
    with pytest.raises(
        ValueError, match=re.escape(f"{srgnn_folder / 'all_train_seq.txt'}: not a valid SR-GNN pickle")
    ):
        load_srgnn(srgnn_folder)
    dump(srgnn_folder / "all_train_seq.txt", [[1, 2]])
    (srgnn_folder / "test.txt").write_bytes(pickle.dumps(([[1]], [2]))[:-3])  # truncated
    with pytest.raises(
        ValueError, match=re.escape(f"{srgnn_folder / 'test.txt'}: not a valid SR-GNN pickle")
    ):
        load_srgnn(srgnn_folder)


def test_load_srgnn_deep_or_huge_content_is_a_short_value_error(srgnn_folder, monkeypatch):
    depth = 100_000  # far beyond the recursion limit: repr() of it raised RecursionError
    deep = b"\x80\x02" + b"]" * depth + b"a" * (depth - 1) + b"."
    (srgnn_folder / "all_train_seq.txt").write_bytes(deep)
    with raises(ValueError, srgnn_folder / "all_train_seq.txt",
                ": expected an int item id at sessions[0][0], found list [[[...]]]."):
        load_srgnn(srgnn_folder)
    dump(srgnn_folder / "all_train_seq.txt", [[1, 2]])
    dump(srgnn_folder / "test.txt", ([[1]] * 3, ["x" * 100_000] * 3))  # the message shows a preview only
    preview = re.escape(": expected an int item id at targets[0], found str 'xxx")
    with pytest.raises(ValueError, match=preview) as info:
        load_srgnn(srgnn_folder)
    assert len(str(info.value)) < len(str(srgnn_folder)) + 120
    dump(srgnn_folder / "test.txt", {"a" * 1000: list(range(100_000))})
    with pytest.raises(ValueError, match="found dict ") as info:
        load_srgnn(srgnn_folder)
    assert len(str(info.value)) < len(str(srgnn_folder)) + 120

    def too_deep(*args):
        raise RecursionError("maximum recursion depth exceeded")

    dump(srgnn_folder / "test.txt", ([[1]], [2]))
    monkeypatch.setattr("sklearn_ubergnn.datasets._srgnn._check_examples", too_deep)
    with raises(ValueError, srgnn_folder / "test.txt", ": not a valid SR-GNN file: its content is nested "
                "too deeply or too large to check (RecursionError); found tuple ([[...]], [2])."):
        load_srgnn(srgnn_folder)
    monkeypatch.setattr("sklearn_ubergnn.datasets._srgnn._RestrictedUnpickler.load", too_deep)
    with raises(ValueError, srgnn_folder / "all_train_seq.txt", ": not a valid SR-GNN pickle: it is nested "
                "too deeply or too large to load (RecursionError)."):
        load_srgnn(srgnn_folder)


# ------------------------------------------------------------------------------------------------
# load_movielens
# ------------------------------------------------------------------------------------------------
DAY0 = 874800000  # 1997-09-21 00:00:00 UTC (a multiple of 86400)


@pytest.fixture
def ml100k(tmp_path):
    folder = tmp_path / "ml-100k"
    folder.mkdir()
    ratings = [  # user item rating timestamp
        (2, 50, 3, DAY0 + 100),
        (1, 30, 4, DAY0 + 500),
        (1, 20, 5, DAY0 + 500),
        (1, 10, 1, DAY0 + 50),
        (1, 40, 2, DAY0 + 86400 + 5),
        (3, 60, 4, DAY0 + 86399),
        (2, 51, 3, DAY0 + 200),
    ]
    write(folder / "u.data", "".join(f"{u}\t{i}\t{r}\t{t}\n" for u, i, r, t in ratings))
    write(folder / "u.user", "1|24|M|technician|85711\n2|53|F|other|94043\n3|23|M|writer|T8H1N\n")
    return folder


def test_load_movielens_day_sessions(ml100k):
    sessions, meta = load_movielens(ml100k)
    # user 2 day 0 ends at +200, user 1 day 0 at +500 (10 at +50, then 20/30 tied at +500 by item id),
    # user 3 day 0 at +86399, user 1 day 1 at +86405
    assert sessions == [[50, 51], [10, 20, 30], [60], [40]]
    assert meta["session_id"].tolist() == [0, 1, 2, 3]
    assert meta["user_id"].tolist() == [2, 1, 3, 1]
    assert meta["time"].tolist() == [DAY0 + 200.0, DAY0 + 500.0, DAY0 + 86399.0, DAY0 + 86405.0]
    assert meta["age"].tolist() == [53.0, 24.0, 23.0, 24.0]
    assert meta["gender"].dtype == "category" and meta["zip_code"].tolist() == [
        "94043",
        "85711",
        "T8H1N",
        "85711",
    ]
    assert meta["occupation"].tolist() == ["other", "technician", "writer", "technician"]


def test_load_movielens_ratings(ml100k):
    r = load_movielens_ratings(ml100k)
    assert list(r.columns) == ["user", "item", "rating", "time"] and len(r) == 7
    assert r["time"].is_monotonic_increasing and r["item"].tolist()[:3] == [10, 50, 51]
    assert r["rating"].dtype == np.float64 and r["user"].dtype == np.int64


def test_load_movielens_1m_layout(tmp_path):
    folder = tmp_path / "ml-1m"
    folder.mkdir()
    write(folder / "ratings.dat", f"1::1193::5::{DAY0 + 10}\n1::661::3::{DAY0 + 5}\n2::914::3::{DAY0 + 7}\n")
    write(folder / "users.dat", "1::F::1::10::48067\n2::M::56::16::70072\n")
    sessions, meta = load_movielens(folder)
    assert sessions == [[914], [661, 1193]]
    assert meta["user_id"].tolist() == [2, 1] and meta["age"].tolist() == [56.0, 1.0]
    assert meta["gender"].tolist() == ["M", "F"] and meta["occupation"].tolist() == ["16", "10"]


def test_load_movielens_errors(ml100k, tmp_path):
    with raises(
        FileNotFoundError,
        "no MovieLens ratings in ",
        f"{tmp_path}: expected u.data (ml-100k) or ratings.dat (ml-1m).",
    ):
        load_movielens(tmp_path)
    with raises(FileNotFoundError, "MovieLens folder not found: ", tmp_path / "nope"):
        load_movielens_ratings(tmp_path / "nope")
    text = (ml100k / "u.data").read_text().splitlines()
    text[2] = text[2].replace("\t5\t", "\tfive\t")
    write(ml100k / "u.data", "\n".join(text) + "\n")
    with raises(
        ValueError, ml100k / "u.data", ", line 3, column 'rating': expected a finite number, found 'five'."
    ):
        load_movielens(ml100k)
    text[2] = "1\t20\t5"
    write(ml100k / "u.data", "\n".join(text) + "\n")
    with raises(
        ValueError,
        ml100k / "u.data",
        ", line 3: expected 4 fields separated by '\\t' (user_id, item_id, "
        "rating, timestamp), found 3: missing column(s) 'timestamp'.",
    ):
        load_movielens_ratings(ml100k)
    (ml100k / "u.data").write_text(f"1\t20\t5\t{DAY0}\n")
    write(ml100k / "u.user", "1|24|M|technician|85711\n1|25|M|technician|85711\n")
    with raises(ValueError, ml100k / "u.user", ", line 2, column 'user_id': user 1 is listed twice."):
        load_movielens(ml100k)
    (ml100k / "u.user").unlink()
    with raises(FileNotFoundError, "MovieLens users file not found: ", ml100k / "u.user"):
        load_movielens(ml100k)


# ------------------------------------------------------------------------------------------------
# load_interactions_csv
# ------------------------------------------------------------------------------------------------
def test_load_interactions_collegemsg_sorted_stably(tmp_path):
    path = write(tmp_path / "CollegeMsg.txt", "1 2 30\n3 4 10\n5 6 30\n2 1 20\n")
    df = load_interactions_csv(path, format="collegemsg")
    assert list(df.columns) == ["source", "target", "time"]
    assert df["source"].tolist() == [3, 2, 1, 5] and df["time"].tolist() == [10.0, 20.0, 30.0, 30.0]
    assert df.index.equals(pd.RangeIndex(4))
    pd.testing.assert_frame_equal(load_interactions_csv(path), df)  # layout inferred


def test_load_interactions_bitcoin_and_custom(tmp_path):
    path = write(tmp_path / "otc.csv", "6,2,4,1289241911.72836\n6,5,-2,1289241941.53378\n")
    df = load_interactions_csv(path, format="bitcoin")
    assert list(df.columns) == ["source", "target", "rating", "time"]
    assert df["rating"].tolist() == [4.0, -2.0] and df["time"].iloc[0] == 1289241911.72836
    pd.testing.assert_frame_equal(load_interactions_csv(path), df)
    custom = write(tmp_path / "c.tsv", "src\tdst\twhen\tamount\na\tb\t2020-01-01\t1.5\n")
    df = load_interactions_csv(custom, sep="\t", names=["source", "target", "time", "amount"], header=True)
    assert df.to_dict("list") == {"source": ["a"], "target": ["b"], "time": [1577836800.0], "amount": [1.5]}


# name, file text, format, message after the path
INTERACTION_ERRORS = [
    ("bad_time", "1 2 30\n3 4 x\n", "collegemsg",
     ", line 2, column 'time': expected a number (like the first value), found 'x'."),
    ("short", "1 2 30\n3 4\n", "collegemsg",
     ", line 2: expected 3 fields separated by ' ' (source, target, time), found 2: missing column(s) 'time'."),
    ("no_rating", "6,2,4,1.5\n6,5,,2.5\n", "bitcoin",
     ", line 2, column 'rating': missing value ''; expected a finite number."),
    ("too_wide", "1,2,3,4,5\n", None,
     (", line 1: cannot infer the columns of 5 fields separated by ','; pass names=[...] including 'source', "
      "'target' and 'time', or format='collegemsg'/'bitcoin'.")),
    ("empty", "", "collegemsg", ": the file is empty; expected lines of 3 fields separated by ' '."),
]


def _session_csv(path, chunksize=None):
    return load_session_csv(path, chunksize=chunksize, session_col="session", item_col="item", time_col="time")


# loader, name, file text, message after the path: every loader, every chunk size, the same message
LOADER_ERRORS = [
    *[(_session_csv, *error) for error in SESSION_CSV_ERRORS],
    *[(load_diginetica, *error) for error in DIGINETICA_ERRORS],
    *[(partial(load_interactions_csv, format=fmt), name, text, message) for name, text, fmt, message in
      INTERACTION_ERRORS],
]
LOADER_IDS = [*(f"session_csv-{e[0]}" for e in SESSION_CSV_ERRORS), *(f"diginetica-{e[0]}" for e in DIGINETICA_ERRORS),
              *(f"interactions-{e[0]}" for e in INTERACTION_ERRORS)]


@pytest.mark.parametrize("chunksize", [None, 1, 2, 3, 4])
@pytest.mark.parametrize("loader, name, text, message", LOADER_ERRORS, ids=LOADER_IDS)
def test_loader_errors_name_the_file_line(tmp_path, loader, name, text, message, chunksize):
    path = write(tmp_path / f"{name}.csv", text)
    with raises(ValueError, path, message):
        loader(path, chunksize=chunksize)


def test_load_interactions_bad_options_and_missing_file(tmp_path):
    path = write(tmp_path / "w.csv", "1,2,3,4,5\n")
    with pytest.raises(
        ValueError, match=r"^format must be one of \['bitcoin', 'collegemsg'\] or None, got 'uci'\.$"
    ):
        load_interactions_csv(path, format="uci")
    with pytest.raises(
        ValueError, match=r"names must include 'source', 'target' and 'time'; \['time'\] missing"
    ):
        load_interactions_csv(path, names=["source", "target", "a", "b", "c"])
    with raises(FileNotFoundError, "interactions file not found: ", tmp_path / "none.txt"):
        load_interactions_csv(tmp_path / "none.txt")


def test_loaders_do_not_modify_files(tmp_path):
    path = write(tmp_path / "clicks.csv", CLICKS)
    before = path.read_bytes()
    load_session_csv(path, session_col="session", item_col="item", time_col="time")
    assert path.read_bytes() == before
