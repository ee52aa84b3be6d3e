"""Do the embedder's channels mean something? Planted interest channels, with and without independence.

``make_bipartite`` deals every item into one of ``K`` planted interest channels and gives every user a
Dirichlet mixture of them. For each configuration and ``channel_independence`` weight, the embedder is
fitted on a per-user 80/20 split and the script reports:

- Recall@20 on the held-out edges (what the channels cost or buy in ranking);
- NMI between the planted channel of each item and the channel the model gives it, read two ways:
  from the routing weights (:meth:`~sklearn_ubergnn.DisentangledGraphEmbedder.channel_affinity`) and
  from the final vectors (:meth:`~sklearn_ubergnn.DisentangledGraphEmbedder.channel_similarity`);
- the mean distance correlation between pairs of channels of the item vectors
  (:meth:`~sklearn_ubergnn.DisentangledGraphEmbedder.channel_correlation`; 0: independent);
- fit seconds.

Usage (from the repository root)::

    python benchmarks/bipartite_channels.py --seeds 0 1 2
    python benchmarks/bipartite_channels.py --configs defaults --weights 0 0.3 1 --seeds 0

Torch uses its default threads (every core), as the README's runs do.
"""
import argparse
import time

import numpy as np
import pandas as pd
from sklearn.metrics import normalized_mutual_info_score

from sklearn_ubergnn import DisentangledGraphEmbedder
from sklearn_ubergnn.datasets import make_bipartite
from sklearn_ubergnn.disentangled import train_test_split_edges

#: The compared configurations: the defaults, and routed channel scores (each pair explained by the
#: channel it agrees on), both otherwise at the estimator's defaults.
CONFIGS = {"defaults": {}, "routed": {"channel_score": "routed"}}


def planted(n_users, n_items, n_channels, edges_per_user, seed=0):
    edges, item_channel, _ = make_bipartite(n_users, n_items, n_channels, edges_per_user=edges_per_user,
                                            concentration=0.3, random_state=seed)
    train, test = train_test_split_edges(edges, 0.2, random_state=seed)
    return train, test, item_channel


def measure(train, test, item_channel, params, seed):
    start = time.perf_counter()
    model = DisentangledGraphEmbedder(random_state=seed, **params).fit(train)
    seconds = time.perf_counter() - start
    truth = item_channel[model.classes_]
    dcor = model.channel_correlation()
    K = model.n_channels
    return {
        "recall@20": model.score(test),
        "NMI routing": normalized_mutual_info_score(truth, model.channel_affinity().argmax(axis=1)),
        "NMI vectors": normalized_mutual_info_score(truth, model.channel_similarity().argmax(axis=1)),
        "dCor": (dcor.sum() - np.trace(dcor)) / (K * (K - 1)),
        "fit s": seconds,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--weights", nargs="+", type=float, default=[0.0, 0.3, 1.0],
                        help="channel_independence values")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--users", type=int, default=3000)
    parser.add_argument("--items", type=int, default=1500)
    parser.add_argument("--edges-per-user", type=int, default=30)
    args = parser.parse_args(argv)
    train, test, item_channel = planted(args.users, args.items, 4, args.edges_per_user)
    print(f"make_bipartite({args.users}, {args.items}, 4 channels): {len(train):,} training / "
          f"{len(test):,} held-out edges", flush=True)
    rows = []
    for config in args.configs:
        for weight in args.weights:
            for seed in args.seeds:
                row = measure(train, test, item_channel, {**CONFIGS[config], "channel_independence": weight},
                              seed)
                rows.append({"config": config, "channel_independence": weight, "seed": seed, **row})
                print(" ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}"
                               for k, v in rows[-1].items()), flush=True)
    table = pd.DataFrame(rows).drop(columns="seed").groupby(["config", "channel_independence"])
    summary = table.mean().round(4).astype(str) + " ± " + table.std().round(4).astype(str)
    print(summary.to_markdown())


if __name__ == "__main__":
    main()
