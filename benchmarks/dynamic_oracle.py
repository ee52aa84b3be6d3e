"""How predictable the synthetic link streams are: the AP of the generator itself (issue #17).

``make_interactions`` plants known mechanisms, so the best any link predictor can do on its
streams is bounded by ranking each pair with the generator's own probability of that target. This
script scores the test rows of ``benchmarks/dynamic_defaults.py``'s protocol (chronological
85/15, batches of 200, one uniform negative per row with the positive's source and time, drawn
with the same seed, hence the same negatives) with an *oracle* that knows more than any model can:

* the community of every object (the generator's hidden partition);
* each source's exact partner memory just before the row (the ``memory`` most recent partners of
  its normal events), not only as of the start of the batch;
* whether the row is an anomaly (its label), and the generator's ``recurrence_prob``.

Its score of a pair ``(s, t)`` is the generator's probability that ``s`` sends to ``t``: for a normal
row ``r / |recent|`` if ``t`` is a recent partner plus ``(1 - r) / (|community| - 1)`` if ``t`` is
another member of the community (``r = 0`` before ``s`` has partners); for an anomaly
``1 / |fresh|`` over the objects of other communities that are not recent partners. With uniform
negatives that ranking is the Bayes ranking of "positive or negative". Equal probabilities are
ordered at random (a tiny jitter), as any scorer must order pairs it cannot tell apart.

Usage::

    python benchmarks/dynamic_oracle.py synthetic0..3 SEED

prints one JSON line: the oracle's AP, EdgeBank's AP on the same negatives, and the AP a model
needs for issue #17's bar (link error at most a third of EdgeBank's), all in percent.
"""
import inspect
import json
import sys

import numpy as np

from sklearn_ubergnn.benchmark._dynamic import SYNTHETIC_MECHANISMS
from sklearn_ubergnn.datasets import make_interactions
from sklearn_ubergnn.dynamic import EdgeBankBaseline
from sklearn_ubergnn.evaluation import evaluate_stream_links


def _generator_defaults():
    """The default ``recurrence_prob`` and ``memory`` of ``make_interactions``."""
    params = inspect.signature(make_interactions).parameters
    return {name: params[name].default for name in ("recurrence_prob", "memory")}


class GeneratorOracle:
    """Score pairs of a ``make_interactions`` stream with the generator's own probability.

    Parameters
    ----------
    stream : DataFrame
        The whole stream, as generated (``source``, ``target``, ``time``, ``label``).
    communities : ndarray of shape (n_objects,)
        The generator's community of each object.
    recurrence_prob, memory : float, int
        The generator's parameters.
    batch_starts : iterable of int or None, default=None
        Rows at which a scored batch starts: a row then sees the partner memory as of its batch's
        start, as a model under the protocol does. None: the memory just before the row.
    anomaly_share : float or None, default=None
        None: the oracle knows each row's label. A number: the probability that a row is an
        anomaly, mixing the anomalous and the normal probability (the label unknown).
    random_state : int, default=0
        Seed of the jitter that orders equal probabilities at random.
    """

    def __init__(self, stream, communities, recurrence_prob, memory, *, batch_starts=None, anomaly_share=None,
                 random_state=0):
        self.times = stream["time"].to_numpy()
        self.source = stream["source"].to_numpy()
        self.label = stream["label"].to_numpy()
        self.communities = communities
        self.recurrence_prob = recurrence_prob
        self.anomaly_share = anomaly_share
        self.rng = np.random.default_rng(random_state)
        # The partner memory of each row's source (-1 pads) just before the row, or, with batch_starts, as
        # of the start of the row's batch: replayed in order.
        self.recent = np.full((len(stream), memory), -1, dtype=np.int64)
        partners = [[] for _ in range(len(communities))]
        starts = set() if batch_starts is None else set(batch_starts)
        frozen = partners
        for i, (s, t, lab) in enumerate(zip(self.source, stream["target"].to_numpy(), self.label)):
            if i in starts:
                frozen = [list(mem) for mem in partners]
            mem = (partners if batch_starts is None else frozen)[s]
            self.recent[i, :len(mem)] = mem
            mem = partners[s]
            if lab == 0:
                if t in mem:
                    mem.remove(t)
                mem.append(t)
                del mem[:-memory]

    def predict_link_proba(self, X):
        """The generator's probability that each row's source sends to its target."""
        rows = np.searchsorted(self.times, X["time"].to_numpy())
        s, t = X["source"].to_numpy(), X["target"].to_numpy()
        if not np.array_equal(self.source[rows], s):
            raise ValueError("a scored row does not match the stream's row at its time")
        recent = self.recent[rows]
        n_recent = (recent >= 0).sum(axis=1)
        in_recent = (recent == t[:, None]).any(axis=1)
        same = self.communities[t] == self.communities[s]
        comm_size = np.bincount(self.communities)[self.communities[s]]
        r = np.where(n_recent > 0, self.recurrence_prob, 0.0)
        normal = (r * in_recent / np.maximum(n_recent, 1)
                  + (1 - r) * (same & (t != s)) / (comm_size - 1))
        # An anomaly goes to another community, to a non-partner while any is left.
        n_others = len(self.communities) - comm_size
        n_fresh = n_others - (self.communities[np.maximum(recent, 0)] != self.communities[s][:, None]).sum(
            axis=1, where=recent >= 0)
        fresh_left = n_fresh > 0
        anomaly = (~same) * np.where(fresh_left, ~in_recent / np.maximum(n_fresh, 1), 1.0 / n_others)
        if self.anomaly_share is None:
            p = np.where(self.label[rows] == 1, anomaly, normal)
        else:
            p = self.anomaly_share * anomaly + (1 - self.anomaly_share) * normal
        return p + 1e-12 * self.rng.random(len(p))

    def partial_fit(self, X, update_only=True):
        """Nothing to learn: the oracle already knows the state before every row."""
        return self


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    data, seed = argv[0], int(argv[1])
    k = int(data.removeprefix("synthetic"))
    params = {**_generator_defaults(), **SYNTHETIC_MECHANISMS[k]}
    stream, communities = make_interactions(n_objects=100, n_interactions=5000, return_communities=True,
                                            **SYNTHETIC_MECHANISMS[k])
    cut = int(0.85 * len(stream))
    objects = np.unique(stream[["source", "target"]].to_numpy())
    test = stream[["source", "target", "time"]][cut:]
    exact = GeneratorOracle(stream, communities, params["recurrence_prob"], params["memory"], random_state=seed)
    batch = GeneratorOracle(stream, communities, params["recurrence_prob"], params["memory"],
                            batch_starts=range(cut, len(stream), 200),
                            anomaly_share=stream["label"][:cut].mean(), random_state=seed)
    best = {name: evaluate_stream_links(oracle, test, objects, random_state=seed)["ap"]
            for name, oracle in (("exact", exact), ("batch", batch))}
    edgebank = evaluate_stream_links(EdgeBankBaseline().fit(stream[["source", "target", "time"]][:cut]), test,
                                     objects, random_state=seed)
    needed = 100 - (100 - 100 * edgebank["ap"]) / 3
    print(json.dumps({"data": data, "seed": seed, "oracle_ap": round(100 * best["exact"], 2),
                      "oracle_batch_ap": round(100 * best["batch"], 2),
                      "edgebank_ap": round(100 * edgebank["ap"], 2), "ap_needed": round(needed, 2),
                      "oracle_error_over_edgebank": round((1 - best["exact"]) / (1 - edgebank["ap"]), 2),
                      "oracle_batch_error_over_edgebank": round((1 - best["batch"]) / (1 - edgebank["ap"]), 2)}),
          flush=True)


if __name__ == "__main__":
    main()
