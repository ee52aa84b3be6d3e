"""Streaming loaders: ``chunksize=`` gives the same result and the same error messages as one pass."""

import re

import numpy as np
import pandas as pd
import pytest

from sklearn_ubergnn.datasets import load_diginetica, load_interactions_csv, load_session_csv, make_sessions
from sklearn_ubergnn.datasets._readers import iter_tables, read_table
from sklearn_ubergnn.tests._checks import DIGINETICA, raises, write

SESSION_KW = {"session_col": "session", "item_col": "item", "time_col": "time"}
CHUNKS = [1, 2, 3, 5, 7, 1000]


def assert_same_sessions(a, b):
    assert a[0] == b[0]
    assert [type(v) for s in a[0] for v in s] == [type(v) for s in b[0] for v in s]
    pd.testing.assert_frame_equal(a[1], b[1])


# Sessions interleaved, so any chunking splits some of them; blank lines, missing users,
# a CRLF line and ties in time.
CLICKS = (
    "session,item,time,user\n"
    "s1,10,5,u1\n"
    "s2,30,2,NA\n"
    "\n"
    "s1,20,3,u1\n"
    "s3,40,9,\n"
    "s2,31,7,u2\r\n"
    "s1,10,4,u1\n"
    "s4,50,9,NA\n"
    "\n"
    "\n"
    "s3,41,9,\n"
    "s4,51,1,u4\n"
)


@pytest.mark.parametrize("chunksize", CHUNKS)
def test_load_session_csv_chunks_equal_one_pass(tmp_path, chunksize):
    path = write(tmp_path / "clicks.csv", CLICKS)
    whole = load_session_csv(path, user_col="user", **SESSION_KW)
    chunked = load_session_csv(path, user_col="user", chunksize=chunksize, **SESSION_KW)
    assert_same_sessions(chunked, whole)
    assert whole[0] == [[20, 10, 10], [30, 31], [40, 41], [51, 50]]  # s3, s4 tie at 9: file order


def test_load_session_csv_chunks_on_generated_clicks(tmp_path):
    """Thousands of clicks in shuffled file order, sessions spread over many chunks."""
    sessions, session_users, _ = make_sessions(n_sessions=400, n_items=60, random_state=0)
    rows = [
        (f"{i}", item, 1000 * i + t, user)
        for i, (session, user) in enumerate(zip(sessions, session_users))
        for t, item in enumerate(session)
    ]
    rng = np.random.default_rng(0)
    lines = [f"{s},{item},{t},{u}\n" for s, item, t, u in (rows[j] for j in rng.permutation(len(rows)))]
    path = write(tmp_path / "big.csv", "session,item,time,user\n" + "".join(lines))
    whole = load_session_csv(path, user_col="user", **SESSION_KW)
    assert whole[0] == sessions  # times follow the generation order
    for chunksize in (97, 500):
        assert_same_sessions(
            load_session_csv(path, user_col="user", chunksize=chunksize, **SESSION_KW), whole
        )


def test_load_session_csv_chunks_iso_times_bom_and_multichar_sep(tmp_path):
    path = tmp_path / "iso.csv"
    path.write_bytes(
        b"\xef\xbb\xbfs::i::t\r\n1::5::2014-04-07T10:51:09.277Z\r\n\r\n1::6::2014-04-07T10:50:00Z\r\n"
        b"2::7::2014-04-06\r\n3::8::2014-04-05T00:00:00+02:00"  # no newline at the end
    )
    whole = load_session_csv(path, session_col="s", item_col="i", time_col="t", sep="::")
    assert whole[0] == [[8], [7], [6, 5]]
    for chunksize in (1, 2, 4):
        chunked = load_session_csv(
            path, session_col="s", item_col="i", time_col="t", sep="::", chunksize=chunksize
        )
        assert_same_sessions(chunked, whole)


def test_load_session_csv_ids_integer_in_one_chunk_text_in_another(tmp_path):
    """An id column is ``str`` (spelled as in the file) as soon as any chunk holds a non-integer id."""
    path = write(tmp_path / "mixed.csv", "session,item,time\n1,007,1\n1,8,2\n2,x,3\n2,9,4\n")
    whole = load_session_csv(path, **SESSION_KW)
    assert whole[0] == [["007", "8"], ["x", "9"]]
    assert whole[1]["session_id"].tolist() == [1, 2]
    for chunksize in (1, 2, 3):
        assert_same_sessions(load_session_csv(path, chunksize=chunksize, **SESSION_KW), whole)


def test_load_session_csv_users_missing_in_whole_chunks(tmp_path):
    path = write(tmp_path / "u.csv", "session,item,time,user\n1,1,1,NA\n1,2,2,\n2,3,3,5\n2,4,4,NA\n3,5,5,\n")
    whole = load_session_csv(path, user_col="user", **SESSION_KW)
    assert whole[1]["user_id"].dtype == "Int64"
    for chunksize in (1, 2, 3):
        assert_same_sessions(
            load_session_csv(path, user_col="user", chunksize=chunksize, **SESSION_KW), whole
        )
    none = write(tmp_path / "none.csv", "session,item,time,user\n1,1,1,NA\n1,2,2,\n2,3,3,\n")
    whole = load_session_csv(none, user_col="user", **SESSION_KW)
    assert_same_sessions(load_session_csv(none, user_col="user", chunksize=1, **SESSION_KW), whole)


@pytest.mark.parametrize("chunksize", [0, -3, 2.5, True, "10"])
def test_chunksize_must_be_a_positive_integer(tmp_path, chunksize):
    path = write(tmp_path / "c.csv", CLICKS)
    match = f"^chunksize must be a positive integer .* or None .*, got {re.escape(repr(chunksize))}\\.$"
    with pytest.raises(ValueError, match=match):
        load_session_csv(path, chunksize=chunksize, **SESSION_KW)
    with pytest.raises(ValueError, match=match):
        load_interactions_csv(path, chunksize=chunksize)
    with pytest.raises(ValueError, match=match):
        load_diginetica(path, chunksize=chunksize)


def test_iter_tables_lines_match_read_table(tmp_path):
    path = write(tmp_path / "t.csv", "a,b\n\n1,2\n 3 ,4\r\n\n\n5,6\n7,8")
    whole = read_table(path, sep=",", header=True)
    for chunksize in (1, 2, 3, 50):
        parts = list(iter_tables(path, sep=",", header=True, chunksize=chunksize))
        assert np.concatenate([p.lines for p in parts]).tolist() == whole.lines.tolist() == [3, 4, 7, 8]
        pd.testing.assert_frame_equal(pd.concat([p.frame for p in parts], ignore_index=True), whole.frame)


# ------------------------------------------------------------------------------------------------
DIGINETICA_MORE = DIGINETICA + "4;NA;40;10;2016-05-03\n"  # a last row after the last error line


@pytest.mark.parametrize("chunksize", [1, 2, 3, 4, 100])
def test_load_diginetica_chunks(tmp_path, chunksize):
    path = write(tmp_path / "views.csv", DIGINETICA_MORE)
    assert_same_sessions(load_diginetica(path, chunksize=chunksize), load_diginetica(path))


# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("chunksize", [1, 2, 3, 100])
def test_load_interactions_csv_chunks(tmp_path, chunksize):
    path = write(tmp_path / "otc.csv", "6,2,4,30.5\n6,5,-2,10\n1,6,1,30.5\n\n7,8,3,20\n9,1,10,5\n")
    whole = load_interactions_csv(path, format="bitcoin")
    pd.testing.assert_frame_equal(load_interactions_csv(path, format="bitcoin", chunksize=chunksize), whole)
    assert whole["source"].tolist() == [9, 6, 7, 6, 1]
    mixed = write(tmp_path / "m.txt", "1 2 3\n01 b 1\n1 2 2\n")  # target is text in one chunk only
    whole = load_interactions_csv(mixed, format="collegemsg")
    assert whole["target"].tolist() == ["b", "2", "2"] and whole["source"].tolist() == [1, 1, 1]
    pd.testing.assert_frame_equal(
        load_interactions_csv(mixed, format="collegemsg", chunksize=chunksize), whole
    )
    bad = write(tmp_path / "b.txt", "1 2 30\n3 4 31\n\n5 6 32\n3 4 x\n")
    with raises(
        ValueError, bad, ", line 5, column 'time': expected a number (like the first value), found 'x'."
    ):
        load_interactions_csv(bad, format="collegemsg", chunksize=chunksize)
