"""Cost of one training step of ``UberGNN`` per option, timed interleaved on real YOOCHOOSE batches.

Builds 40 batches of 100 random training prefixes of YOOCHOOSE 1/64 (17,376 items; ``--data
movielens``: the MovieLens-100k sessions), then times forward + backward + fused Adam for SR-GNN's
network, each technique of the defaults on its own, the defaults without and with ``repeat_bias``,
and the defaults with GCE-GNN's global item graph (``global_neighbours=12``, built from every
training session), one after the other in rounds (the first round is a warm-up), so that a busy
machine slows all of them alike. Every network trains as the estimator trains it, with the loss fused with
the output layer (:func:`sklearn_ubergnn.nn.softmax_cross_entropy` of ``item_logits``); the first
row is SR-GNN's network with torch's cross-entropy on its logits, as it trained before the fused
loss. Prints milliseconds per batch (median over rounds) and the ratio to the first row.

A second table times the output layer alone (forward + backward of the cross-entropy over all
items): SR-GNN's dot products, the cosine logits written with autograd over ``F.normalize`` of the
table, :func:`sklearn_ubergnn.nn.cosine_logits` (closed-form backward) under torch's
cross-entropy, and the fused loss on the dot products and on the cosine.

Example::

    python benchmarks/ubergnn_step_cost.py --threads 1 --rounds 4
    python benchmarks/ubergnn_step_cost.py --threads 1 --rounds 4 --data movielens --batches 10
"""
import argparse
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F


def main(argv=None):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from sklearn_ubergnn._validation import FlatSessions
    from sklearn_ubergnn.benchmark._session import _resolve
    from sklearn_ubergnn.evaluation import load_session_split
    from sklearn_ubergnn.graphs._transitions import item_transition_graph, neighbour_table, strongest_per_row
    from sklearn_ubergnn.nn import ItemLogits, UberGNN, cosine_logits, softmax_cross_entropy
    from sklearn_ubergnn.session import SR_GNN_PARAMS, UberGNNRecommender
    from sklearn_ubergnn.session._base import _full_sessions
    from sklearn_ubergnn.session._data import SessionGraphSource
    from sklearn_ubergnn.utils import ItemVocabulary, check_sessions

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--data", default="yoochoose", help="yoochoose, movielens, or a folder / CSV")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    X, y, _, _ = load_session_split(*_resolve(args.data)[:2])
    X = X["session"].tolist() if hasattr(X, "columns") else list(X)
    train_sessions, train_targets = check_sessions(X, np.asarray(y))
    vocabulary = ItemVocabulary().fit(train_sessions.items, train_targets)
    full = _full_sessions(FlatSessions(vocabulary.transform(train_sessions.items), train_sessions.offsets),
                          vocabulary.transform(train_targets))
    graph = item_transition_graph(full.items, full.session_index, len(vocabulary), np.ones(3), symmetric=True)
    neighbours, weights = neighbour_table(strongest_per_row(graph, 12), 12)
    rows = np.random.default_rng(0).choice(len(X), 100 * args.batches, replace=False)
    sessions = train_sessions.take(rows)
    source = SessionGraphSource(FlatSessions(vocabulary.transform(sessions.items), sessions.offsets),
                                vocabulary.classes_, y=vocabulary.transform(train_targets[rows]))
    batches = [source.batch(np.arange(b * 100, (b + 1) * 100)) for b in range(args.batches)]

    options = set(SR_GNN_PARAMS) | {"scale"}
    defaults = {k: v for k, v in UberGNNRecommender().get_params().items() if k in options}
    configs = {
        "SR-GNN (SR_GNN_PARAMS), torch's cross-entropy on the logits": SR_GNN_PARAMS,
        "SR-GNN (SR_GNN_PARAMS)": SR_GNN_PARAMS,
        "+ normalize, scale": {**SR_GNN_PARAMS, "normalize": True, "scale": defaults["scale"]},
        "+ n_positions, embedding_dropout": {**SR_GNN_PARAMS, "n_positions": defaults["n_positions"],
                                             "embedding_dropout": defaults["embedding_dropout"]},
        "+ star_node, highway": {**SR_GNN_PARAMS, "star_node": True, "highway": True},
        "defaults, repeat_bias=False": {**defaults, "repeat_bias": False},
        "defaults": defaults,
        "defaults + global_neighbours=12": {**defaults, "global_neighbours": neighbours, "global_weights": weights},
    }
    steps = {}
    for name, params in configs.items():
        module = UberGNN(n_items=len(vocabulary), hidden_size=100, **params).train()
        optimizer = torch.optim.Adam(module.parameters(), lr=1e-3, weight_decay=1e-5, fused=True)
        fused = None if name.endswith("on the logits") else softmax_cross_entropy
        steps[name] = partial(_train_step, module, optimizer, fused=fused)
    _print_table("network", _interleaved(steps, batches, args.rounds))

    weight = torch.nn.Parameter(torch.empty(len(vocabulary), 100).uniform_(-0.1, 0.1))
    query = torch.nn.Parameter(F.normalize(torch.randn(100, 100), dim=1))
    scale = defaults["scale"]
    layers = {
        "SR-GNN: s @ E.T": lambda: query @ weight.t(),
        "cosine, autograd of F.normalize": lambda: scale * query @ F.normalize(weight, dim=1).t(),
        "cosine, nn.cosine_logits": lambda: cosine_logits(query, weight, scale),
        "SR-GNN, fused loss": ItemLogits(query, weight),
        "cosine, fused loss (the estimator's)": ItemLogits(query, weight, scale, normalize=True),
    }
    steps = {name: partial(_layer_step, logits_of, (query, weight), softmax_cross_entropy)
             for name, logits_of in layers.items()}
    _print_table(f"output layer (100 x 100 queries, {len(vocabulary):,} items)",
                 _interleaved(steps, [target for _, target in batches], args.rounds))
    return 0


def _train_step(module, optimizer, batch_target, fused=None):
    """One step; ``fused`` is ``nn.softmax_cross_entropy`` (as UberGNNRecommender trains) or None
    (torch's cross-entropy on the logits)."""
    batch, target = batch_target
    optimizer.zero_grad()
    if fused is not None:
        fused(module.item_logits(**batch.fields), target).backward()
    else:
        F.cross_entropy(module(**batch.fields), target).backward()
    optimizer.step()


def _layer_step(logits_of, parameters, fused, target):
    """``logits_of``: an ``ItemLogits`` (the fused loss ``fused``) or a function giving the logits."""
    for parameter in parameters:
        parameter.grad = None
    if isinstance(logits_of, tuple):
        fused(logits_of, target).backward()
    else:
        F.cross_entropy(logits_of(), target).backward()


def _interleaved(steps, inputs, rounds):
    """Milliseconds per input of each step, one round over ``inputs`` each in turn (round 0: warm-up)."""
    times = {name: [] for name in steps}
    for round_ in range(rounds):
        for name, step in steps.items():
            start = time.perf_counter()
            for value in inputs:
                step(value)
            if round_:
                times[name].append(1000 * (time.perf_counter() - start) / len(inputs))
    return times


def _print_table(what, times):
    base = np.median(next(iter(times.values())))
    print(f"\n| {what} | ms per batch (median) | ratio to the first row |\n|---|---|---|")
    for name, values in times.items():
        print(f"| {name} | {np.median(values):.1f} | {np.median(values) / base:.2f} |")


if __name__ == "__main__":
    sys.exit(main())
