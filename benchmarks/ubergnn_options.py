"""Screen ``UberGNNRecommender`` options on a held-out tail of the TRAINING prefixes (never a test split).

Trains on the first 90 % of a data set's training prefixes (time order) for ``--epochs`` epochs,
without early stopping, and prints P@20 / MRR@20 (percent) on the last 10 % after every epoch,
then one ``RESULT`` line. Targets unseen in the first 90 % are dropped, as SR-GNN's test split
does. This is how the defaults of issue #18 were chosen (``benchmarks/RESULTS.md``).

Examples
--------
SR-GNN's network, then the defaults, on YOOCHOOSE 1/64 (about 100 s per epoch on one core)::

    python benchmarks/ubergnn_options.py --data yoochoose --params '{"normalize": false, "embedding_dropout": 0,
        "n_positions": 0, "star_node": false, "highway": false, "repeat_bias": false}'
    python benchmarks/ubergnn_options.py --data yoochoose

The probe behind ``repeat_bias`` (the network without it; after every epoch, also the figures with a
constant added to the logits of the items already in each held-out session; ``-inf`` never
recommends them)::

    python benchmarks/ubergnn_options.py --data movielens --params '{"repeat_bias": false}' \
        --session-offsets=-inf,-1,0,1
"""
import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from skorch.callbacks import Callback


def main(argv=None):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from sklearn_ubergnn._ranking import top_k
    from sklearn_ubergnn._skorch import iter_outputs
    from sklearn_ubergnn._validation import FlatSessions
    from sklearn_ubergnn.benchmark._session import _resolve
    from sklearn_ubergnn.evaluation import load_session_split
    from sklearn_ubergnn.metrics import mrr_at_k, precision_at_k
    from sklearn_ubergnn.session import UberGNNRecommender
    from sklearn_ubergnn.session._data import SessionGraphSource
    from sklearn_ubergnn.utils import ItemVocabulary, check_sessions

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="yoochoose", help="yoochoose, movielens, or a folder / CSV")
    parser.add_argument("--params", default="{}", help="JSON of UberGNNRecommender parameters")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--holdout", type=float, default=0.1, help="share of the training prefixes held out")
    parser.add_argument("--session-offsets", default="",
                        help="comma-separated constants added to the logits of each session's own items")
    args = parser.parse_args(argv)
    offsets = [float(c) for c in args.session_offsets.split(",") if c]

    path, fmt, _ = _resolve(args.data)
    X, y, _, _ = load_session_split(path, fmt)
    X = X["session"].tolist() if isinstance(X, pd.DataFrame) else list(X)
    y = np.asarray(y)
    cut = int(len(X) * (1 - args.holdout))
    X_train, y_train, X_hold, y_hold = X[:cut], y[:cut], X[cut:], y[cut:]
    train_sessions, train_targets = check_sessions(X_train, y_train)
    vocabulary = ItemVocabulary().fit(train_sessions.items, train_targets)
    targets = vocabulary.transform(y_hold, input_name="y")
    keep = targets >= 0  # targets unseen in the training part are dropped, as SR-GNN's test split does
    sessions = check_sessions([s for s, k in zip(X_hold, keep) if k])
    targets = targets[keep]
    # the vocabulary fit learns (sorted distinct ids), so the net's codes are these codes
    held_out = FlatSessions(vocabulary.transform(sessions.items), sessions.offsets)
    source = SessionGraphSource(held_out, vocabulary.classes_)
    fallback = np.arange(20)  # every item is scored: no row falls back
    scores = []

    # the (held-out row, item code) of every click, for --session-offsets
    click_rows = np.repeat(np.arange(len(targets)), np.diff(held_out.offsets))
    click_items = held_out.items

    def ranked_with(outputs, offset):
        ranked, start = [], 0
        for logits in outputs:
            logits = logits.numpy().astype(np.float64)  # a copy: the outputs serve every offset
            inside = (click_rows >= start) & (click_rows < start + len(logits)) & (click_items >= 0)
            rows, items = click_rows[inside] - start, click_items[inside]
            # once per distinct (row, item): a repeated click does not add the offset twice
            logits[rows, items] = logits[rows, items] + offset if np.isfinite(offset) else np.finfo(float).min
            ranked.append(top_k(logits, 20, fallback, min_score=-np.inf))
            start += len(logits)
        return np.concatenate(ranked)

    class Holdout(Callback):
        def on_epoch_end(self, net, **kwargs):
            outputs = list(iter_outputs(net, source)) if offsets else iter_outputs(net, source)
            ranked = np.concatenate([top_k(logits, 20, fallback, min_score=-np.inf) for logits in outputs])
            scores.append((100 * precision_at_k(targets, ranked, k=20), 100 * mrr_at_k(targets, ranked, k=20)))
            print(f"epoch {len(net.history)} {net.history[-1]['dur']:.0f} s: holdout P@20 {scores[-1][0]:.2f} "
                  f"MRR@20 {scores[-1][1]:.2f}", flush=True)
            for offset in offsets:
                ranked = ranked_with(outputs, offset)
                print(f"epoch {len(net.history)} session items {offset:+g}: holdout P@20 "
                      f"{100 * precision_at_k(targets, ranked, k=20):.2f} MRR@20 "
                      f"{100 * mrr_at_k(targets, ranked, k=20):.2f}", flush=True)

    model = UberGNNRecommender(max_epochs=args.epochs, validation_fraction=None, random_state=args.seed,
                               n_jobs=args.threads, callbacks=[("holdout", Holdout())], **json.loads(args.params))
    start = time.perf_counter()
    model.fit(X_train, y_train)
    print(f"RESULT data={args.data} params={args.params} seed={args.seed} train={len(y_train)} "
          f"holdout={len(y_hold)} per-epoch P@20/MRR@20 " + " | ".join(f"{p:.2f}/{m:.2f}" for p, m in scores)
          + f" fit_s={time.perf_counter() - start:.0f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
