"""Disentangled user–object embeddings and a distilled behaviour model
===================================================================

Learn user and object embeddings of a bipartite graph with a disentangled GNN, then distil a light
per-object behaviour model from them, and compare it with its two parts: the same model trained on
hard labels only, and the teacher's probability alone.

``DisentangledGraphEmbedder`` (DisenGCN neighbourhood routing: each node's vector is split into
``K`` channels, and every edge is routed to the channels its two ends share) is trained by link
prediction on the user–object edges. ``DistilledBehaviorClassifier`` is a logistic regression on
a user's embedding that predicts whether the user will act on one target object; its loss is the
hard-label loss on a few labelled users plus a soft-label loss, over every user the embedder
knows, whose targets are the embedder's own probabilities that the user acts on the object (the
teacher: its softmax over the catalogue, as the chance of the object among the user's
interactions). By default (``soft_weight="auto"``) the weight of the soft term, or the teacher
alone, is chosen by cross-validation on the labelled users. The example:

1. splits every user's edges 80/20 at random and fits the embedder on the 80 %;
2. reports Recall@20 of the embedder against the most-popular ranking on the held-out 20 %, and
   how separate its channels are: the mean distance correlation between pairs of channels of the
   item vectors (``channel_correlation``; 0 means independent) and, on synthetic data, how well
   the channels recover the planted interests (NMI of each item's channel, read from the routing
   weights and from the vectors), without and with DGCF's independence term
   (``channel_independence=1``);
3. for a few target objects, labels a small random set of users who did not have the object in
   training (label = the object is among their held-out edges) and compares, on the other such
   users, the ROC-AUC of: the teacher's probability alone (``teacher_proba``), the student on hard
   labels only (``soft_weight=0``), the student of the patent's fixed loss (``soft_weight=1``), the
   residual student (``student="residual"``: the teacher's logit plus a learnt correction, its
   weight chosen likewise) and the defaults (``soft_weight="auto"``, the plain student), with what
   the defaults chose.

The data are ``make_bipartite`` (planted interest channels; ``--quick``), or the MovieLens-100k
ratings as implicit edges when ``../shared/data/ml-100k`` is present.

Run ``python examples/bipartite_distillation.py`` (``--quick`` for the small mode CI uses).
"""
import argparse
import os
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.frozen import FrozenEstimator
from sklearn.metrics import normalized_mutual_info_score, roc_auc_score

from sklearn_ubergnn import DisentangledGraphEmbedder, DistilledBehaviorClassifier, MostPopularRecommender
from sklearn_ubergnn.datasets import load_movielens_ratings, make_bipartite
from sklearn_ubergnn.disentangled import train_test_split_edges

DATA = Path(os.environ.get("UBERGNN_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def load_edges(quick):
    path = DATA / "ml-100k"
    if not quick and path.exists():
        return load_movielens_ratings(path)[["user", "item"]], None, "MovieLens-100k ratings (implicit)"
    edges, item_channel, _ = make_bipartite(n_users=400, n_items=80, n_channels=4, edges_per_user=20,
                                            concentration=0.2, random_state=0)
    return edges, item_channel, "make_bipartite (4 planted interest channels)"


def mean_dcor(model):
    """Mean distance correlation between pairs of channels of the object vectors (0: independent)."""
    dcor = model.channel_correlation()
    K = len(dcor)
    return (dcor.sum() - np.trace(dcor)) / (K * (K - 1))


def channel_report(model, item_channel, test):
    truth = item_channel[model.classes_]
    return {
        "Recall@20": model.score(test),
        "NMI, routing weights": normalized_mutual_info_score(truth, model.channel_affinity().argmax(axis=1)),
        "NMI, vectors": normalized_mutual_info_score(truth, model.channel_similarity().argmax(axis=1)),
        "mean channel dCor": mean_dcor(model),
    }


def main(quick=False):
    edges, item_channel, name = load_edges(quick)
    train, test = train_test_split_edges(edges, 0.2, random_state=0)
    print(f"{name}: {edges['user'].nunique():,} users, {edges['item'].nunique():,} objects, "
          f"{len(train):,} training / {len(test):,} held-out edges")

    if item_channel is not None:
        embedder = DisentangledGraphEmbedder(
            n_channels=4, embedding_dim=16, n_layers=1, n_iterations=2, routing_temperature=0.2,
            channel_score="routed", max_epochs=25, batch_size=1024, lr=2e-2, n_negatives=40, random_state=0)
    else:
        embedder = DisentangledGraphEmbedder(
            n_channels=4, embedding_dim=64, n_layers=1, n_iterations=2, loss="softmax", temperature=0.2,
            batch_size=8192, lr=1e-2, max_epochs=30, random_state=0)
    embedder.fit(train)
    popular = MostPopularRecommender().fit(train)
    print(f"Recall@20 on held-out edges: disentangled {embedder.score(test):.3f}, "
          f"most popular {popular.score(test):.3f}")
    print(f"mean distance correlation between channels of the object vectors: {mean_dcor(embedder):.2f}")
    if item_channel is not None:
        separate = clone(embedder).set_params(channel_independence=1.0).fit(train)
        print("\nchannels against the planted interests (NMI: 1 = recovered, 0 = unrelated):")
        print(pd.DataFrame({name: channel_report(model, item_channel, test)
                            for name, model in [("no term", embedder), ("channel_independence=1", separate)]}
                           ).to_string(float_format="%.3f"))

    frozen = FrozenEstimator(embedder)  # the teacher is shared, never refitted
    rng = np.random.default_rng(0)
    n_targets, n_labelled = (4, 40) if quick else (10, 100)
    rows = []
    for target in test["item"].value_counts().index[:n_targets]:
        had = np.isin(embedder.users_, train.loc[train["item"] == target, "user"])
        users = embedder.users_[~had]
        y = np.isin(users, test.loc[test["item"] == target, "user"]).astype(int)
        pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
        n_pos = max(2, round(n_labelled * len(pos) / len(y)))
        labelled = np.concatenate([rng.choice(pos, n_pos, replace=False),
                                   rng.choice(neg, n_labelled - n_pos, replace=False)])
        rest = np.setdiff1d(np.arange(len(users)), labelled)
        row = {"object": target, "positives": int(y.sum())}
        for label, soft_weight, form in [("hard only", 0.0, "plain"), ("fixed weight 1", 1.0, "plain"),
                                         ("auto, residual", "auto", "residual"), ("auto (default)", "auto", "plain")]:
            student = DistilledBehaviorClassifier(frozen, target_item=target, soft_weight=soft_weight,
                                                  student=form, max_epochs=100, random_state=0)
            student.fit(users[labelled], y[labelled])
            row[label] = roc_auc_score(y[rest], student.predict_proba(users[rest])[:, 1])
        row["teacher alone"] = roc_auc_score(y[rest], student.teacher_proba(users[rest]))
        # What the defaults' inner cross-validation on the labelled users chose: the teacher or a weight.
        row["chosen"] = "teacher" if student.predictor_ == "teacher" else f"weight {student.soft_weight_:g}"
        rows.append(row)
    table = pd.DataFrame(rows).set_index("object")
    print(f"\nROC-AUC on unlabelled users ({n_labelled} labelled users per target object):")
    print(table.to_string(float_format="%.3f"))
    scores = ["hard only", "teacher alone", "fixed weight 1", "auto, residual", "auto (default)"]
    print("mean:", ", ".join(f"{c} {table[c].mean():.3f}" for c in scores))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small data, for CI")
    main(quick=parser.parse_args().quick)
