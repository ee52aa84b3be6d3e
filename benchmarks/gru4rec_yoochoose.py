"""GRU4RecRecommender on an SR-GNN split (YOOCHOOSE 1/64 by default): accuracy and seconds per epoch.

Trains on every prefix of ``all_train_seq.txt`` (369,859 samples for YOOCHOOSE 1/64), ranks the
test prefixes of ``test.txt`` and prints seconds per epoch (skorch's ``dur``), P@20 and MRR@20 in
percent (SR-GNN's conventions). The epoch count is chosen in two runs, as for UBER-GNN in
``RESULTS.md``:

(a) ``--validation-fraction 0.2``: early stopping on a random 20 % of the training prefixes
    (best epoch's weights restored); the validation P@20/MRR@20 of every epoch is printed too;
(b) ``--validation-fraction 0 --epochs E``: all prefixes for the ``E`` epochs chosen in (a).

Examples
--------
Quick check (the 20k most recent training samples, 1 epoch)::

    python benchmarks/gru4rec_yoochoose.py --max-train 20000 --epochs 1

SR-GNN's GRU4Rec comparison (hidden 100, batch 100, Adam 1e-3, no dropout, one torch thread)::

    python benchmarks/gru4rec_yoochoose.py --epochs 8 --validation-fraction 0.2 --threads 1   # (a)
    python benchmarks/gru4rec_yoochoose.py --epochs 4 --validation-fraction 0 --threads 1     # (b)

Measured (seed 0, two shared cores, so the timings are contended): (a) stopped after 6 epochs, best
``valid_loss`` at epoch 4 (valid P@20 65.8), test P@20 67.28 / MRR@20 29.35, 220 s/epoch; (b) 4 epochs
on all prefixes, test P@20 68.09 / MRR@20 29.37, 178 s/epoch. SR-GNN's paper reports GRU4Rec at
60.64 / 22.89 on this split.
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch


def main(argv=None):
    here = Path(__file__).resolve().parents[1]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(here.parent / "shared" / "data" / "yoochoose1_64"),
                        help="folder with SR-GNN's all_train_seq.txt and test.txt")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--hidden", type=int, default=100)
    parser.add_argument("--embedding", type=int, default=None)
    parser.add_argument("--layers", type=int, default=1)
    parser.add_argument("--dropout", type=float, default=0.0)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--lr-step-size", type=int, default=None)
    parser.add_argument("--weight-decay", type=float, default=0.0)
    parser.add_argument("--patience", type=int, default=2)
    parser.add_argument("--max-train", type=int, default=None,
                        help="use only the N most recent training samples (quick mode)")
    parser.add_argument("--max-test", type=int, default=None, help="use only the first N test samples")
    parser.add_argument("--validation-fraction", type=float, default=0.0,
                        help="held-out share for early stopping; 0 trains on everything")
    parser.add_argument("--threads", type=int, default=None,
                        help="n_jobs of the estimator, torch threads during its calls (default: its own choice)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verbose", type=int, default=1)
    args = parser.parse_args(argv)

    sys.path.insert(0, str(here))
    from skorch.callbacks import Callback

    from sklearn_ubergnn.datasets import load_srgnn
    from sklearn_ubergnn.metrics import mrr_at_k, precision_at_k
    from sklearn_ubergnn.preprocessing import session_prefixes
    from sklearn_ubergnn.session import GRU4RecRecommender

    data = load_srgnn(args.data)
    X, y = session_prefixes(data.train_sessions, order="srgnn")
    X_test, y_test = data.test_X, np.asarray(data.test_y)
    if args.max_train:
        X, y = X[-args.max_train:], y[-args.max_train:]  # files are in time order
    if args.max_test:
        X_test, y_test = X_test[: args.max_test], y_test[: args.max_test]
    print(f"train samples {len(X):,}  test samples {len(X_test):,}  n_jobs {args.threads}",
          flush=True)

    class ValidTopK(Callback):
        """Validation P@20 and MRR@20 per epoch, top 20 per batch (never the full logit matrix)."""

        def on_epoch_end(self, net, dataset_valid=None, **kwargs):
            if dataset_valid is None:
                return
            top = np.concatenate([torch.topk(out, 20, dim=1).indices.cpu().numpy()
                                  for out in net.forward_iter(dataset_valid, training=False)])
            target = dataset_valid.dataset.y[dataset_valid.indices]
            net.history.record("valid_p20", precision_at_k(target, top, k=20))
            net.history.record("valid_mrr20", mrr_at_k(target, top, k=20))

    callbacks = [("valid_topk", ValidTopK())] if args.validation_fraction else None
    model = GRU4RecRecommender(
        hidden_size=args.hidden, embedding_size=args.embedding, n_layers=args.layers, dropout=args.dropout,
        batch_size=args.batch_size, max_epochs=args.epochs, lr=args.lr, lr_step_size=args.lr_step_size,
        weight_decay=args.weight_decay, validation_fraction=args.validation_fraction or None,
        patience=args.patience, callbacks=callbacks, device=args.device, random_state=args.seed, n_jobs=args.threads,
        verbose=args.verbose,
    )
    start = time.perf_counter()
    model.fit(X, y)
    fit_s = time.perf_counter() - start
    epoch_s = [row["dur"] for row in model.history_]

    start = time.perf_counter()
    ranked = model.recommend(X_test, k=20)
    rec_s = time.perf_counter() - start
    p20, mrr20 = 100 * precision_at_k(y_test, ranked, k=20), 100 * mrr_at_k(y_test, ranked, k=20)
    best = [i + 1 for i, row in enumerate(model.history_) if row.get("valid_loss_best")]
    print(f"items {model.n_items_:,}  epochs run {len(epoch_s)}  fit {fit_s:.1f} s"
          + (f"  best valid_loss epoch {best[-1]}" if best else ""))
    print(f"s/epoch        {np.mean(epoch_s):.1f}  (per epoch: {', '.join(f'{s:.1f}' for s in epoch_s)})")
    print(f"recommend      {len(X_test) / rec_s:,.0f} sessions/s  ({rec_s:.1f} s for {len(X_test):,})")
    print(f"P@20           {p20:.2f}")
    print(f"MRR@20         {mrr20:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
