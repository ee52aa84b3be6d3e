"""Benchmarks of the dynamic-graph estimators on CollegeMsg and Bitcoin-OTC (DyGLib/TGN protocol).

Protocol (``link``): chronological 70/15/15 split by rows; the model is fitted on train +
validation with ``validation_fraction`` = the validation share (a chronological split: early
stopping and model selection never see the test rows). The test rows are streamed in batches of
200: each test interaction gets one negative with the same source, time and a destination drawn
uniformly from all objects of the data set; the batch is scored, then appended with
``partial_fit(batch, update_only=True)``. Average precision and ROC-AUC (scikit-learn) over all
test rows. EdgeBank (unlimited memory) runs the same loop.

Protocol (``classify``, Bitcoin-OTC): label = ``rating < 0``; same split; the classifier is
fitted on train + validation (labels known), then each test batch of 200 is scored and appended
with its labels revealed (``partial_fit(batch, labels, update_only=True)``). ROC-AUC.

Usage::

    python benchmarks/dynamic_suite.py link --data collegemsg --encoders lstm rnn transformer \
        --hops 1 2 3 --seeds 0 1 2
    python benchmarks/dynamic_suite.py classify --seeds 0 1 2
    python benchmarks/dynamic_suite.py latency --size 1000000 --encoders lstm rnn transformer --hops 2
    python benchmarks/dynamic_suite.py speed --encoders lstm rnn transformer --hops 1 2 3 --epochs 1

The split and the streaming loops are :mod:`sklearn_ubergnn.benchmark`'s (``python -m benchmarks run
--suite dynamic`` runs every model of this file on one split in one go).

Set ``UBERGNN_SHARED_DATA`` if the data folder is not ``../shared/data``. Runs single-threaded
(``torch.set_num_threads(1)``) unless ``--threads`` says otherwise.
"""
import argparse
import json
import os
import resource
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from sklearn_ubergnn.benchmark import chronological_split as split
from sklearn_ubergnn.datasets import load_interactions_csv
from sklearn_ubergnn.dynamic import DynamicGraphEmbedder, DynamicInteractionClassifier, EdgeBankBaseline
from sklearn_ubergnn.evaluation import evaluate_stream_events, evaluate_stream_links

DATA = Path(os.environ.get("UBERGNN_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
FILES = {
    "collegemsg": ("collegemsg/CollegeMsg.txt", "collegemsg"),
    "bitcoin": ("bitcoin-otc/soc-sign-bitcoinotc.csv", "bitcoin"),
}


def load(name):
    path, fmt = FILES[name]
    df = load_interactions_csv(DATA / path, format=fmt)
    return df


def run_link(args):
    df = load(args.data)
    train, valid, test = split(df)
    fit_df = pd.concat([train, valid], ignore_index=True)
    objects = np.unique(np.r_[df.source.to_numpy(), df.target.to_numpy()])
    features = ["rating"] if (args.data == "bitcoin" and args.rating_feature) else None
    rows = []
    for seed in args.seeds:
        res = evaluate_stream_links(EdgeBankBaseline().fit(fit_df), test, objects, random_state=seed)
        rows.append({"model": "edgebank", "hops": None, "seed": seed, **res})
        print(json.dumps(rows[-1]), flush=True)
    for enc in args.encoders:
        for hops in args.hops:
            for seed in args.seeds:
                model = DynamicGraphEmbedder(
                    encoder=enc, n_hops=hops, time_window=args.time_window, max_nodes=args.max_nodes,
                    embedding_dim=args.dim, max_epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                    validation_fraction=len(valid) / len(fit_df), patience=args.patience, random_state=seed,
                    n_negatives=args.negatives, historical_fraction=args.historical, feature_columns=features,
                    verbose=args.verbose,
                )
                t0 = time.perf_counter()
                model.fit(fit_df)
                fit_s = time.perf_counter() - t0
                res = evaluate_stream_links(model, test, objects, random_state=seed)
                dur = model.history_[:, "dur"]
                rows.append({"model": enc, "hops": hops, "seed": seed, **res, "fit_s": fit_s,
                             "epochs": len(dur), "s_per_epoch": float(np.mean(dur)),
                             "best_valid_loss": float(np.min(model.history_[:, "valid_loss"])),
                             "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})
                print(json.dumps(rows[-1]), flush=True)
    summarise(rows, ["ap", "auc"])
    if args.out:
        pd.DataFrame(rows).to_csv(args.out, index=False)


def summarise(rows, metrics):
    """Print mean and std over seeds of each (model, hops)."""
    table = pd.DataFrame(rows)
    table["hops"] = table["hops"].astype(object).where(table["hops"].notna(), "-").astype(str)
    cols = [c for c in [*metrics, "s_per_epoch", "epochs"] if c in table]
    grouped = table.groupby(["model", "hops"], sort=False)[cols]
    summary = grouped.mean().add_suffix("_mean").join(grouped.std().add_suffix("_std"))
    summary["n_seeds"] = grouped.size()
    with pd.option_context("display.width", 200, "display.float_format", "{:.4f}".format):
        print(summary)


def run_classify(args):
    df = load("bitcoin")
    df["label"] = (df["rating"] < 0).astype(int)
    train, valid, test = split(df)
    fit_df = pd.concat([train, valid], ignore_index=True)
    rows = []
    for seed in args.seeds:
        model = DynamicInteractionClassifier(
            encoder=args.encoders[0], n_hops=args.hops[0], time_window=args.time_window,
            max_nodes=args.max_nodes,
            embedding_dim=args.dim, max_epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
            validation_fraction=len(valid) / len(fit_df), patience=args.patience, random_state=seed,
            verbose=args.verbose,
        )
        t0 = time.perf_counter()
        model.fit(fit_df[["source", "target", "time"]], fit_df["label"])
        fit_s = time.perf_counter() - t0
        res = evaluate_stream_events(model, test, ["source", "target", "time"])
        rows.append({"model": args.encoders[0], "hops": args.hops[0], "seed": seed,
                     "auc": res["auc"], "ap": res["ap"],
                     "fit_s": fit_s, "epochs": len(model.history_),
                     "s_per_epoch": float(np.mean(model.history_[:, "dur"]))})
        print(json.dumps(rows[-1]), flush=True)
    summarise(rows, ["auc", "ap"])


def run_speed(args):
    """Seconds per training epoch on CollegeMsg (train + validation rows, no validation pass).

    Wall-clock and process CPU time of one thread: on a shared machine the CPU time is what
    an idle core would take.
    """
    df = load(args.data)
    train, valid, _ = split(df)
    fit_df = pd.concat([train, valid], ignore_index=True)
    for enc in args.encoders:
        for hops in args.hops:
            model = DynamicGraphEmbedder(encoder=enc, n_hops=hops, max_nodes=args.max_nodes,
                                         embedding_dim=args.dim, max_epochs=args.epochs,
                                         batch_size=args.batch_size,
                                         validation_fraction=None, random_state=0)
            wall, cpu = time.perf_counter(), time.process_time()
            model.fit(fit_df)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            print(json.dumps({"encoder": enc, "hops": hops, "interactions": len(fit_df),
                              "epochs": args.epochs, "wall_s_per_epoch": wall / args.epochs,
                              "cpu_s_per_epoch": cpu / args.epochs,
                              "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}),
                  flush=True)


def run_latency(args):
    """Latency of scoring one new interaction as it arrives, on a graph of ``--size`` interactions."""
    rng = np.random.default_rng(0)
    n, n_obj = args.size, args.objects
    weights = 1.0 / np.arange(1, n_obj + 1)
    weights /= weights.sum()
    src = rng.choice(n_obj, size=n, p=weights)
    dst = rng.choice(n_obj, size=n, p=weights)
    times = np.cumsum(rng.exponential(1.0, size=n))
    df = pd.DataFrame({"source": src, "target": dst, "time": times})
    results = []
    for enc in args.encoders:
        t0 = time.perf_counter()
        model = DynamicGraphEmbedder(encoder=enc, n_hops=args.hops[0], max_nodes=args.max_nodes,
                                     embedding_dim=args.dim, max_epochs=1, validation_fraction=None,
                                     random_state=0)
        model.fit(df.iloc[:20_000])  # train on a prefix; the rest is history appended in bulk
        for start in range(20_000, n, 200_000):
            model.partial_fit(df.iloc[start:start + 200_000], update_only=True)
        build_s = time.perf_counter() - t0
        t = float(times[-1])
        lat_score, lat_total = [], []
        for i in range(args.repeats):
            t += 1.0
            row = pd.DataFrame({"source": [int(rng.choice(n_obj, p=weights))],
                                "target": [int(rng.choice(n_obj, p=weights))], "time": [t]})
            t0 = time.perf_counter()
            model.predict_link_proba(row)
            t1 = time.perf_counter()
            model.partial_fit(row, update_only=True)
            t2 = time.perf_counter()
            lat_score.append((t1 - t0) * 1e3)
            lat_total.append((t2 - t0) * 1e3)
        res = {"encoder": enc, "graph_size": len(model.state_), "build_s": build_s,
               "score_p50_ms": float(np.percentile(lat_score, 50)),
               "score_p99_ms": float(np.percentile(lat_score, 99)),
               "score+append_p50_ms": float(np.percentile(lat_total, 50)),
               "score+append_p99_ms": float(np.percentile(lat_total, 99)),
               "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
        results.append(res)
        print(json.dumps(res), flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("task", choices=["link", "classify", "latency", "speed"])
    parser.add_argument("--data", default="collegemsg", choices=sorted(FILES))
    parser.add_argument("--encoders", nargs="+", default=["lstm"])
    parser.add_argument("--hops", nargs="+", type=int, default=[3])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--time-window", type=float, default=None)
    parser.add_argument("--max-nodes", type=int, default=32)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--patience", type=int, default=3)
    parser.add_argument("--negatives", type=int, default=1)
    parser.add_argument("--historical", type=float, default=0.0)
    parser.add_argument("--rating-feature", action="store_true",
                        help="bitcoin link: past ratings as event features")
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--objects", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=300)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--verbose", type=int, default=0)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    # caps the estimators' n_jobs=None (usable CPUs) and torch work outside them
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    torch.set_num_threads(args.threads)
    {"link": run_link, "classify": run_classify, "latency": run_latency, "speed": run_speed}[args.task](args)


if __name__ == "__main__":
    main()
