"""Bipartite recommendation on MovieLens-100k, distillation, and speed on a 1M-edge graph.

Protocol (LightGCN's): every rating is an implicit edge; each user's edges are split 80/20 at
random (:func:`~sklearn_ubergnn.disentangled.train_test_split_edges`); every model ranks all items
for every test user, training items excluded; Recall@20 and NDCG@20 over test users.

Usage (from the repository root; MovieLens is read from ../shared/data/ml-100k, never copied)::

    python benchmarks/bipartite_ml100k.py accuracy --seeds 0 1 2 --threads 2
    python benchmarks/bipartite_ml100k.py distill --seeds 0 1 2
    python benchmarks/bipartite_ml100k.py speed --edges 1000000
    python benchmarks/bipartite_ml100k.py gfcf-tune --seeds 0 1 2
    python benchmarks/bipartite_ml100k.py gfcf-scale
    python benchmarks/bipartite_ml100k.py scale --models disentangled      # one model per process
    python benchmarks/bipartite_ml100k.py scale --models oracle gfcf       # the generator's own ranking
    python benchmarks/bipartite_ml100k.py curve --params '{"max_epochs": 12}'   # Recall@20 after each pass
    python benchmarks/bipartite_ml100k.py params --params '{"max_neighbors": 16}' --seeds 0 1 2

``python -m benchmarks run --suite bipartite`` runs the ``accuracy`` models in one go (one fresh process per
model and seed, mean ± std table, plots).

References with this protocol (from the issue): LightGCN (dim 64, 3 layers, BPR, 400 epochs)
0.340 / 0.413, MF-BPR 0.326 / 0.391 (best epoch), most popular 0.165 / 0.212.
"""
import argparse
import os
import resource
import time
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
import sklearn
import torch

from sklearn_ubergnn.benchmark import bipartite_models
from sklearn_ubergnn.datasets import load_movielens_ratings, make_bipartite
from sklearn_ubergnn.disentangled import (
    DisentangledGraphEmbedder,
    DistilledBehaviorClassifier,
    GFCFRecommender,
    LightGCNRecommender,
    MostPopularRecommender,
    train_test_split_edges,
)
from sklearn_ubergnn.evaluation import evaluate_bipartite

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "ml-100k"


def models(seed, epochs):
    """The compared models, with the settings used for the reported figures (the bipartite suite's)."""
    return bipartite_models(seed, epochs)


def load_split(seed, path=DATA):
    ratings = load_movielens_ratings(path)[["user", "item"]]
    return train_test_split_edges(ratings, 0.2, random_state=seed)


def accuracy(args):
    epochs = {"disentangled": args.epochs_dis, "lightgcn": args.epochs_lightgcn, "mf_bpr": args.epochs_mf}
    rows = []
    for seed in args.seeds:
        train, test = load_split(seed)
        chosen = {k: v for k, v in models(seed, epochs).items() if k in args.models}
        table = evaluate_bipartite(chosen, train, test, k=20).assign(seed=seed)
        print(table.to_string(float_format="%.4f"), flush=True)
        rows.append(table.reset_index())
    results = pd.concat(rows)
    columns = ["Recall@20", "NDCG@20", "s_per_epoch", "n_epochs"]
    summary = results.groupby("model")[columns].agg(["mean", "std"])
    print("\nmean and std over seeds", args.seeds)
    print(summary.to_string(float_format="%.4f"))
    return results


# name: (soft_weight multiplier, teacher, soft_users)
VARIANTS = {
    "hard_only": (0.0, "softmax", "all"),
    "sigmoid_labelled": (1.0, "sigmoid", "labelled"),
    "sigmoid_all": (1.0, "sigmoid", "all"),
    "softmax_labelled": (1.0, "softmax", "labelled"),
    "softmax_all": (1.0, "softmax", "all"),
}


def distill(args):
    """Hard-only vs hard+soft behaviour models on held-out users, averaged over target items."""
    from sklearn.frozen import FrozenEstimator
    from sklearn.metrics import roc_auc_score

    rows = []
    for seed in args.seeds:
        train, test = load_split(seed)
        embedder = DisentangledGraphEmbedder(
            n_channels=4, n_iterations=2, n_layers=1, batch_size=8192, lr=1e-2, temperature=0.2,
            max_epochs=args.epochs_dis, random_state=seed).fit(train)
        frozen = FrozenEstimator(embedder)
        rng = np.random.default_rng(seed)
        all_users = embedder.users_
        # Target items: the items acted on by the most held-out users who did not have them in training.
        targets = test["item"].value_counts().index[: args.n_items]
        for item in targets:
            had = np.isin(all_users, train.loc[train["item"] == item, "user"])
            candidates = all_users[~had]
            y_all = np.isin(candidates, test.loc[test["item"] == item, "user"]).astype(int)
            teacher = embedder.transform(candidates) @ embedder.transform_items([item])[0]
            soft = embedder.item_proba(candidates, [item])[:, 0]  # ranks like the softmax teacher's labels
            for n_labelled in args.n_labelled:
                pos, neg = np.flatnonzero(y_all == 1), np.flatnonzero(y_all == 0)
                n_pos = max(2, round(n_labelled * len(pos) / len(y_all)))
                lab = np.concatenate([rng.choice(pos, n_pos, replace=False),
                                      rng.choice(neg, n_labelled - n_pos, replace=False)])
                rest = np.setdiff1d(np.arange(len(candidates)), lab)
                row = {"seed": seed, "item": item, "n_labelled": n_labelled,
                       "teacher_sigmoid": roc_auc_score(y_all[rest], teacher[rest]),
                       "teacher_softmax": roc_auc_score(y_all[rest], soft[rest])}
                for name, (weight, kind, soft_users) in VARIANTS.items():
                    clf = DistilledBehaviorClassifier(frozen, target_item=item, soft_weight=weight * args.soft_weight,
                                                      teacher=kind, soft_users=soft_users,
                                                      temperature=args.temperature, max_epochs=args.student_epochs,
                                                      random_state=seed)
                    clf.fit(candidates[lab], y_all[lab])
                    row[name] = roc_auc_score(y_all[rest], clf.predict_proba(candidates[rest])[:, 1])
                rows.append(row)
        print(f"seed {seed} done", flush=True)
    results = pd.DataFrame(rows)
    per_seed = results.groupby(["n_labelled", "seed"])[
        [*VARIANTS, "teacher_sigmoid", "teacher_softmax"]].mean()
    print(per_seed.to_string(float_format="%.4f"))
    summary = per_seed.groupby("n_labelled").agg(["mean", "std"])
    print(f"\nROC-AUC on held-out users, mean over {args.n_items} target items, then mean/std over seeds")
    print(summary.to_string(float_format="%.4f"))
    return results


def speed(args):
    """Seconds per epoch and peak memory of the embedder on a synthetic graph of ``--edges`` edges."""
    rng = np.random.default_rng(0)
    n_users, n_items = args.edges // 20, args.edges // 50
    draws = int(args.edges * 1.05)
    pairs = np.unique(np.stack([rng.integers(0, n_users, draws), rng.integers(0, n_items, draws)], 1), axis=0)
    pairs = pairs[rng.permutation(len(pairs))[: args.edges]]  # exactly args.edges distinct edges
    edges = pd.DataFrame({"user": pairs[:, 0], "item": pairs[:, 1]})
    model = DisentangledGraphEmbedder(n_channels=4, n_iterations=2, n_layers=1, embedding_dim=64,
                                      n_negatives=1024, batch_size=args.batch_size, lr=1e-2, max_epochs=1,
                                      random_state=0)
    start = time.perf_counter()
    model.fit(edges)
    total = time.perf_counter() - start
    epoch = model.history_[-1, "dur"]
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(f"{model.graph_.n_edges} distinct edges, {model.n_users_} users, {model.n_items_} items, "
          f"batch {args.batch_size}: {epoch:.1f} s per epoch ({total:.1f} s fit incl. set-up), "
          f"peak RSS {usage.ru_maxrss / 2**20:.2f} GiB, threads {torch.get_num_threads()}, "
          f"process CPU time {usage.ru_utime + usage.ru_stime:.1f} s")


def gfcf_tune(args):
    """GF-CF with ``n_components`` chosen on a validation split of the training edges, then tested.

    Each seed's training edges are split again per user 80/20 (same seed); every ``--components``
    value is fitted on the 80 % and scored (Recall@20) on the 20 %; the best is refitted on all
    training edges and scored on the test edges. The test edges never take part in the choice.
    """
    rows = []
    for seed in args.seeds:
        train, test = load_split(seed)
        inner, valid = train_test_split_edges(train, 0.2, random_state=seed)
        valid_recall = {n: GFCFRecommender(n_components=n, alpha=args.alpha, random_state=seed).fit(inner)
                        .score(valid) for n in args.components}
        best = max(valid_recall, key=valid_recall.get)
        model = {"gfcf_tuned": GFCFRecommender(n_components=best, alpha=args.alpha, random_state=seed)}
        table = evaluate_bipartite(model, train, test, k=20).assign(seed=seed, n_components=best)
        print("validation Recall@20:", {n: round(r, 4) for n, r in valid_recall.items()}, flush=True)
        print(table.to_string(float_format="%.4f"), flush=True)
        rows.append(table.reset_index())
    results = pd.concat(rows)
    print("\nmean and std over seeds", args.seeds)
    print(results[["Recall@20", "NDCG@20", "fit_s", "n_components"]].agg(["mean", "std"]).to_string(
        float_format="%.4f"))
    return results


def gfcf_scale(args):
    """Fit time and peak memory of GF-CF on a synthetic graph of about 1M edges.

    ``--n-components auto`` (the default) includes the validation of the rank in ``fit``; an integer
    (e.g. the paper's 256) fits that rank alone.
    """
    edges, _, _ = make_bipartite(n_users=args.users, n_items=args.items, edges_per_user=args.edges_per_user,
                                 random_state=0)
    data_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    start, cpu = time.perf_counter(), time.process_time()
    n_components = args.n_components if args.n_components == "auto" else int(args.n_components)
    model = GFCFRecommender(n_components=n_components, alpha=args.alpha, random_state=0).fit(edges)
    fit_s, fit_cpu = time.perf_counter() - start, time.process_time() - cpu
    fit_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    memory = args.working_memory or sklearn.get_config()["working_memory"]  # MiB of each block of scores
    start = time.perf_counter()
    with sklearn.config_context(working_memory=memory):
        model.recommend(model.users_[: args.rank_users], k=20)
    rank_s = time.perf_counter() - start
    rank_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"{model.graph_.n_edges:,} distinct edges, {model.n_users_:,} users, {model.n_items_:,} items: "
          f"fit {fit_s:.1f} s wall, {fit_cpu:.1f} s CPU (peak RSS {data_rss:.2f} GiB with the data, "
          f"{fit_rss:.2f} GiB after fit); n_components={n_components!r} -> n_components_="
          f"{model.n_components_}, alpha_={model.alpha_}; "
          f"recommend for {args.rank_users:,} users {rank_s:.1f} s ({args.rank_users / rank_s:.0f} users/s, "
          f"peak RSS {rank_rss:.2f} GiB, working_memory {memory} MiB)")
    if model.validation_scores_ is not None:
        print("validation Recall@20:", pd.DataFrame(model.validation_scores_).to_string(float_format="%.4f"))


def _peak_rss_gib():
    """This process's peak resident set size so far (VmHWM), GiB."""
    with open("/proc/self/status") as status:
        line = next(row for row in status if row.startswith("VmHWM:"))
    return int(line.split()[1]) / 2**20


def _scale_split(edges, seed, n_rank_users):
    """The ``scale`` and ``curve`` tasks' split: training edges, ``n_rank_users`` random test users, their items.

    Returns ``(train, users, truth)``: the per-user 80/20 split's training edges (seed ``seed``),
    the sorted ids of the ranked test users and each one's held-out items.
    """
    from sklearn_ubergnn._arrays import group_targets

    train, test = train_test_split_edges(edges, 0.2, random_state=seed)
    users = np.random.default_rng(seed).choice(test["user"].unique(), n_rank_users, replace=False)
    users, truth = group_targets(*test[test["user"].isin(users)][["user", "item"]].to_numpy().T)
    return train, users, truth


def scale(args):
    """One model with its defaults on the million-edge stand-in: fit time, peak memory, Recall@20.

    ``make_bipartite(n_users=--users, n_items=--items, edges_per_user=--edges-per-user)`` (about
    1M edges at the defaults, the scale of issue #19's hidden data set), split per user 80/20
    (``--seeds``), the model fitted on the 80 % with its defaults (``--params`` overrides them, as
    JSON), then Recall@20 and NDCG@20 of ``--rank-users`` random test users. The peak RSS of the
    process is read after the data are made, after ``fit`` and after ranking (ranking's blocks
    follow scikit-learn's ``working_memory``). Run one model per process so that the peaks are
    that model's.
    """
    import json

    from sklearn_ubergnn.metrics import ndcg_at_k, recall_at_k

    edges, channel, mixture, popularity = make_bipartite(n_users=args.users, n_items=args.items,
                                                         edges_per_user=args.edges_per_user, random_state=0,
                                                         return_popularity=True)
    factories = {"disentangled": DisentangledGraphEmbedder, "gfcf": GFCFRecommender,
                 "lightgcn": LightGCNRecommender, "most_popular": MostPopularRecommender,
                 "oracle": lambda **_: PlantedOracle(channel, mixture, popularity)}
    for seed in args.seeds:
        train, users, truth = _scale_split(edges, seed, args.rank_users)
        data_rss = _peak_rss_gib()
        for name in args.models:
            params = {"random_state": seed} if name != "most_popular" else {}
            params.update(json.loads(args.params))
            model = factories[name](**params)
            start, start_cpu = time.perf_counter(), time.process_time()
            model.fit(train)
            fit_s, fit_cpu = time.perf_counter() - start, time.process_time() - start_cpu
            fit_rss = _peak_rss_gib()
            ranked = model.recommend(users, k=20)
            history = getattr(model, "history_", None)
            epochs = [round(row["dur"]) for row in history] if history is not None else []
            print(f"{name} {args.params} seed {seed}: Recall@20 {recall_at_k(truth, ranked, k=20):.4f} "
                  f"NDCG@20 {ndcg_at_k(truth, ranked, k=20):.4f} ({len(users):,} test users); "
                  f"fit {fit_s:.0f} s wall, {fit_cpu:.0f} s CPU, epochs {epochs} s; peak RSS: data "
                  f"{data_rss:.2f} GiB, after fit {fit_rss:.2f} GiB, after ranking {_peak_rss_gib():.2f} GiB; "
                  f"{model_size(model)}", flush=True)


def curve(args):
    """Recall@20 and NDCG@20 of the embedder after every pass, on the ``scale`` task's graph, split and users.

    A ``skorch`` callback computes the final vectors (as ``fit`` does at its end) and ranks the test
    users after each epoch; ``--params`` (JSON) replaces defaults, e.g. ``{"max_epochs": 12}``.
    """
    import json

    from skorch.callbacks import Callback

    from sklearn_ubergnn.metrics import ndcg_at_k, recall_at_k

    edges, _, _ = make_bipartite(n_users=args.users, n_items=args.items, edges_per_user=args.edges_per_user,
                                 random_state=0)
    seed = args.seeds[0]
    train, users, truth = _scale_split(edges, seed, args.rank_users)

    class Watched(DisentangledGraphEmbedder):
        def _train_module(self, module, graph_fields, *, sampler=None, **kwargs):
            self._watched = (graph_fields, sampler)  # what _set_embeddings needs after each pass
            return super()._train_module(module, graph_fields, sampler=sampler, **kwargs)

    class RankAfterEachPass(Callback):
        def on_epoch_end(self, net, **kwargs):
            model.net_ = net
            model._set_embeddings(*model._watched)
            ranked = model.recommend(users, k=20)
            row = net.history[-1]
            print(f"pass {len(net.history)} ({row['dur']:.0f} s, loss {row['train_loss']:.4f}): Recall@20 "
                  f"{recall_at_k(truth, ranked, k=20):.4f} NDCG@20 {ndcg_at_k(truth, ranked, k=20):.4f}", flush=True)

    model = Watched(**{"random_state": seed, **json.loads(args.params)})
    model.set_params(callbacks=[("rank", RankAfterEachPass())])
    model.fit(train)


class PlantedOracle:
    """The generator of ``make_bipartite`` as a recommender: the bound of any model on its edges.

    A draw of user ``u`` is item ``i`` with probability ``theta_u[c_i] p_i / sum_{c_j = c_i} p_j``
    (the planted mixture, channels and popularity); each user's unseen items are ranked by it.
    Raw ids are the generator's codes.
    """

    def __init__(self, item_channel, user_mixture, item_popularity):
        totals = np.bincount(item_channel, weights=item_popularity)
        self.item_channel, self.user_mixture = item_channel, user_mixture
        self.weight = (item_popularity / totals[item_channel]).astype(np.float32)

    def fit(self, X):
        self.seen_ = sp.csr_matrix((np.ones(len(X), dtype=bool), (X["user"], X["item"])),
                                   shape=(len(self.user_mixture), len(self.weight)))
        return self

    def recommend(self, users, k=20):
        out = []
        for block in np.array_split(np.asarray(users), max(1, len(users) // 500)):
            scores = self.user_mixture[block][:, self.item_channel].astype(np.float32) * self.weight
            scores[self.seen_[block].nonzero()] = -np.inf
            top = np.argpartition(-scores, k, axis=1)[:, :k]
            order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1, kind="stable")
            out.append(np.take_along_axis(top, order, axis=1))
        return np.vstack(out)


def embedder_params(args):
    """The embedder with its defaults, or with ``--params`` (JSON) replacing some, on the ML-100k splits."""
    import json

    rows = []
    for seed in args.seeds:
        train, test = load_split(seed)
        model = DisentangledGraphEmbedder(**{"random_state": seed, **json.loads(args.params)})
        rows.append(evaluate_bipartite({"disentangled": model}, train, test, k=20).iloc[0])
    table = pd.DataFrame(rows)[["Recall@20", "NDCG@20", "fit_s"]]
    print(args.params, "seeds", args.seeds, "\n", table.to_string(float_format="%.4f"),
          "\nmean\n", table.mean().to_string(float_format="%.4f"), "\nstd\n", table.std().to_string(float_format="%.4f"))


def model_size(model):
    """Graph size of a fitted bipartite model, for the log."""
    if not hasattr(model, "graph_"):
        return "no training graph (the planted generator)"
    return f"{model.graph_.n_edges:,} training edges, {model.n_users_:,} users, {model.n_items_:,} items"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("task", choices=["accuracy", "distill", "speed", "gfcf-tune", "gfcf-scale", "scale", "curve",
                                         "params"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--models", nargs="+",
                        default=["disentangled", "lightgcn", "gfcf", "mf_bpr", "most_popular"])
    parser.add_argument("--epochs-dis", type=int, default=10)
    parser.add_argument("--epochs-lightgcn", type=int, default=30)
    parser.add_argument("--epochs-mf", type=int, default=400)
    parser.add_argument("--n-items", type=int, default=20)
    parser.add_argument("--n-labelled", type=int, nargs="+", default=[20, 100])
    parser.add_argument("--soft-weight", type=float, default=1.0)
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--student-epochs", type=int, default=100)
    parser.add_argument("--edges", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=65536)
    parser.add_argument("--components", type=int, nargs="+", default=[16, 32, 64, 128, 256],
                        help="gfcf-tune: n_components values tried on the validation split")
    parser.add_argument("--alpha", type=lambda a: a if a == "auto" else float(a), default=0.3,
                        help="gfcf-tune, gfcf-scale: weight of the ideal filter (gfcf-scale: or auto)")
    parser.add_argument("--n-components", default="auto", help="gfcf-scale: auto or an integer rank")
    parser.add_argument("--users", type=int, default=30_000, help="gfcf-scale: make_bipartite n_users")
    parser.add_argument("--items", type=int, default=40_000, help="gfcf-scale: make_bipartite n_items")
    parser.add_argument("--edges-per-user", type=float, default=34, help="gfcf-scale: about 1M edges")
    parser.add_argument("--rank-users", type=int, default=2_000,
                        help="gfcf-scale, scale: users ranked after fit")
    parser.add_argument("--params", default="{}", help="scale, params: JSON of parameters replacing the defaults")
    parser.add_argument("--working-memory", type=int, default=None,
                        help="gfcf-scale: scikit-learn's working_memory (MiB) while ranking (default 1024)")
    args = parser.parse_args(argv)
    # caps the estimators' n_jobs=None (usable CPUs) and torch work outside them
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    torch.set_num_threads(args.threads)
    tasks = {"accuracy": accuracy, "distill": distill, "speed": speed, "gfcf-tune": gfcf_tune,
             "gfcf-scale": gfcf_scale, "scale": scale, "curve": curve,
             "params": embedder_params}
    tasks[args.task](args)


if __name__ == "__main__":
    main()
