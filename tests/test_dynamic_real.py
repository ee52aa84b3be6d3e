"""The dynamic interaction graph and EdgeBank on the real SNAP streams in ../shared/data.

Each test skips when its data folder is absent (``shared_data`` fixture) and runs in seconds.
"""
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score

from sklearn_ubergnn._vocabulary import GrowingVocabulary
from sklearn_ubergnn.datasets import load_interactions_csv
from sklearn_ubergnn.dynamic import EdgeBankBaseline
from sklearn_ubergnn.graphs import DynamicInteractionGraph

DATASETS = {
    # name: (file, format, rows, distinct objects)   -- the figures of each PROVENANCE.md
    "collegemsg": ("CollegeMsg.txt", "collegemsg", 59_835, 1_899),
    "bitcoin-otc": ("soc-sign-bitcoinotc.csv", "bitcoin", 35_592, 5_881),
}


def _load(shared_data, name):
    file, fmt, _, _ = DATASETS[name]
    return load_interactions_csv(shared_data(name) / file, format=fmt)


@pytest.mark.parametrize("name", DATASETS)
def test_graph_counts_and_parent_invariants(shared_data, name):
    df = _load(shared_data, name)
    _, _, rows, n_objects = DATASETS[name]
    # the graph takes object codes: the stream's one growing vocabulary encodes the raw ids once
    vocabulary = GrowingVocabulary()
    source, target = vocabulary.add(df.source.to_numpy()), vocabulary.add(df.target.to_numpy())
    time = df.time.to_numpy()
    assert len(vocabulary) == n_objects
    # built in pieces of 5,000 as a stream would arrive: the same graph as one append
    graph = DynamicInteractionGraph()
    for lo in range(0, len(df), 5000):
        graph.append(source[lo:lo + 5000], target[lo:lo + 5000], time[lo:lo + 5000])
    assert len(graph) == rows and graph.n_nodes == 2 * rows and graph.n_objects == n_objects
    whole = DynamicInteractionGraph.from_interactions(source, target, time)
    np.testing.assert_array_equal(graph.parents, whole.parents)

    parents, t, obj = graph.parents, graph.node_time, graph.node_object
    has = parents[:, 0] >= 0
    assert ((parents >= 0).sum(1) % 2 == 0).all()
    assert (t[parents[has]] < t[has, None]).all()  # strictly earlier, also under equal timestamps
    assert (obj[parents[has, 0]] == obj[has]).all()
    # the own parent is the object's latest node strictly before the node's time (a second algorithm)
    expected = graph.target_node(obj, time=t)
    np.testing.assert_array_equal(parents[:, 0], expected)
    # the nodes without parents are exactly those at their object's first time
    first_time = np.full(graph.n_objects, np.inf)
    np.minimum.at(first_time, obj, t)
    np.testing.assert_array_equal(~has, t == first_time[obj])

    # sub-graphs of 5,000 targets stay within their limits
    targets = np.random.default_rng(0).integers(0, graph.n_nodes, 5000)
    batch = graph.subgraphs(targets, n_hops=2, time_window=7 * 86400.0, max_nodes=32)
    assert (batch.depth <= 2).all() and (batch.delta_t <= 7 * 86400.0).all() and (batch.delta_t >= 0).all()
    assert (batch.lengths >= 1).all() and (batch.lengths <= 32).all()
    np.testing.assert_array_equal(batch.node[batch.target_index], targets)


def test_edgebank_link_ap_on_collegemsg(shared_data):
    """DyGLib's protocol: chronological 70/15/15, one random negative per positive (same source, a
    destination drawn uniformly from all destinations), test batches of 200 scored then added.

    The issue quotes EdgeBank 76.6 AP on CollegeMsg (DyGLib's "UCI"); this protocol gives 76.4
    (mean of per-batch AP, as DyGLib reports; 76.4 over all test rows too). DyGLib's memory also
    lacks the edges of its held-out "new" nodes, hence a small difference is expected.
    """
    df = _load(shared_data, "collegemsg")
    t = df.time.to_numpy()
    _, test_time = np.quantile(t, [0.70, 0.85])
    history, test = df[t <= test_time], df[t > test_time]
    destinations = np.unique(df.target.to_numpy())
    rng = np.random.default_rng(0)
    bank = EdgeBankBaseline().fit(history)
    aps = []
    for lo in range(0, len(test), 200):
        pos = test.iloc[lo:lo + 200]
        neg = pos.assign(target=rng.choice(destinations, len(pos)))
        scores = bank.predict_link_proba(pd.concat([pos, neg]))
        aps.append(average_precision_score(np.r_[np.ones(len(pos)), np.zeros(len(pos))], scores))
        bank.partial_fit(pos)
    assert bank.n_interactions_ == len(df)
    assert 0.74 <= np.mean(aps) <= 0.79, np.mean(aps)
