"""Benchmark the session baselines on SR-GNN's YOOCHOOSE 1/64 split.

Fits :class:`~sklearn_ubergnn.session.PopularityRecommender` and
:class:`~sklearn_ubergnn.session.SessionKNNRecommender` on every prefix of ``all_train_seq.txt``
(369,859 samples) and ranks the 55,898 test prefixes of ``test.txt``; prints P@20 and MRR@20 (in
percent, SR-GNN's conventions), fit and evaluation (``recommend`` on the whole test set) seconds,
and the peak resident memory of a fresh process that loads the data and runs that model alone.

Published on this split: POP 6.71 / 1.65 (SR-GNN, AAAI 2019); session-rec's VMContextKNN
(k=100, sample_size=500) 62.06 / 25.56.

Usage::

    python benchmarks/knn_yoochoose.py [DATA_FOLDER] [--models pop,knn] [--batch-size 500]

``DATA_FOLDER`` defaults to ``../shared/data/yoochoose1_64`` beside the checkout.
"""
import argparse
import multiprocessing
import resource
import sys
import time
from pathlib import Path

from sklearn_ubergnn.datasets import load_srgnn
from sklearn_ubergnn.metrics import mrr_at_k, precision_at_k
from sklearn_ubergnn.preprocessing import session_prefixes
from sklearn_ubergnn.session import PopularityRecommender, SessionKNNRecommender

DEFAULT_FOLDER = Path(__file__).resolve().parents[2] / "shared" / "data" / "yoochoose1_64"


def load_split(folder):
    """Training prefixes and next items (SR-GNN's order), test prefixes and next items."""
    data = load_srgnn(folder)
    X, y = session_prefixes(data.train_sessions, order="srgnn")
    return X, y, data.test_X, data.test_y


def peak_rss_mib():
    """Peak resident set size of this process so far, MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", default=str(DEFAULT_FOLDER))
    parser.add_argument("--models", default="pop,knn", help="comma-separated subset of pop,knn")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--weighting", default="div")
    parser.add_argument("--weighting-score", default="div")
    parser.add_argument("--similarity", default="dot")
    args = parser.parse_args(argv)
    if not Path(args.folder).exists():
        sys.exit(f"data folder {args.folder} not found; pass the yoochoose1_64 folder as argument")
    print(f"{'model':<6} {'P@20':>7} {'MRR@20':>7} {'fit_s':>7} {'eval_s':>7} {'peakRSS_MiB':>12}")
    # One fresh process per model, so that each peak RSS (data loading included) is its own.
    context = multiprocessing.get_context("spawn")
    for name in args.models.split(","):
        with context.Pool(1) as pool:
            print(pool.apply(run_one, (name, args)), flush=True)


def run_one(name, args):
    """Fit one model on the training prefixes and rank the test prefixes; return a table row."""
    X, y, X_test, y_test = load_split(args.folder)
    model = {
        "pop": PopularityRecommender(batch_size=args.batch_size),
        "knn": SessionKNNRecommender(
            k=100, sample_size=500, weighting=args.weighting, weighting_score=args.weighting_score,
            similarity=args.similarity, batch_size=args.batch_size,
        ),
    }[name]
    start = time.perf_counter()
    model.fit(X, y)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    ranked = model.recommend(X_test, k=20)
    eval_s = time.perf_counter() - start
    p20, mrr20 = 100 * precision_at_k(y_test, ranked, k=20), 100 * mrr_at_k(y_test, ranked, k=20)
    return f"{name:<6} {p20:7.2f} {mrr20:7.2f} {fit_s:7.1f} {eval_s:7.1f} {peak_rss_mib():12.0f}"


if __name__ == "__main__":
    main()
