"""``benchmarks/dynamic_oracle.py``: the generator's own probability of a pair, worked by hand.

Objects 0, 1, 2 form community 0 and 3, 4, 5 community 1; ``recurrence_prob=0.5``. The rows: 0 -> 1
(normal), 3 -> 0 (an anomaly, which never enters the partner memory), 0 -> 2 and 0 -> 1 (normal).
"""
import numpy as np
import pandas as pd
import pytest

from benchmarks.dynamic_oracle import GeneratorOracle

STREAM = pd.DataFrame({"source": [0, 3, 0, 0], "target": [1, 0, 2, 1], "time": [1.0, 2.0, 3.0, 4.0],
                       "label": [0, 1, 0, 0]})
COMMUNITIES = np.array([0, 0, 0, 1, 1, 1])


def _proba(oracle, row, targets):
    query = pd.DataFrame({"source": STREAM["source"][row], "target": targets, "time": STREAM["time"][row]})
    return oracle.predict_link_proba(query)


def test_exact_oracle_uses_the_memory_just_before_the_row_and_the_label():
    oracle = GeneratorOracle(STREAM, COMMUNITIES, 0.5, 5)
    # row 3: source 0 remembers 1 and 2; 0.5 * 1/2 (a recent partner) + 0.5 * 1/2 (another community member)
    np.testing.assert_allclose(_proba(oracle, 3, [1, 2, 0, 3]), [0.5, 0.5, 0.0, 0.0], atol=1e-9)
    # row 1 is an anomaly: uniform over the 3 objects of the other community (source 3 has no partners)
    np.testing.assert_allclose(_proba(oracle, 1, [0, 1, 2, 4]), [1 / 3, 1 / 3, 1 / 3, 0.0], atol=1e-9)
    # row 0: no partner yet, so the community alone
    np.testing.assert_allclose(_proba(oracle, 0, [1, 2, 3]), [0.5, 0.5, 0.0], atol=1e-9)


def test_batch_oracle_sees_the_memory_of_the_batch_start_and_mixes_in_anomalies():
    oracle = GeneratorOracle(STREAM, COMMUNITIES, 0.5, 5, batch_starts=[0, 2], anomaly_share=0.25)
    # rows 2-3 share a batch: source 0 remembers only 1 (row 2 is not yet appended)
    expected = 0.75 * np.array([0.5 * 1 + 0.5 * 0.5, 0.5 * 0.5])  # normal part; the anomaly part is 0 in-community
    np.testing.assert_allclose(_proba(oracle, 3, [1, 2]), expected, atol=1e-9)
    # row 1: a quarter of the anomaly (1/3 to each of 0, 1, 2) and three quarters of a normal event (4 or 5)
    np.testing.assert_allclose(_proba(oracle, 1, [0, 4]), [0.25 / 3, 0.75 * 0.5], atol=1e-9)


def test_oracle_refuses_a_row_that_is_not_the_streams():
    oracle = GeneratorOracle(STREAM, COMMUNITIES, 0.5, 5)
    with pytest.raises(ValueError, match="does not match"):
        oracle.predict_link_proba(pd.DataFrame({"source": [3], "target": [1], "time": [1.0]}))
