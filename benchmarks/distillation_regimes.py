"""Distilled behaviour model vs its parts (hard labels only, teacher alone), cold and warm targets.

Issue #19 item 1: :class:`~sklearn_ubergnn.disentangled.DistilledBehaviorClassifier` at its
defaults (``soft_weight="auto"``) must be at least as good as the better of its two parts, the
student on hard labels only and the teacher (the embedder's probability) alone, on both regimes
below. Every ``DisentangledGraphEmbedder`` and student runs at its defaults.

Protocol (MovieLens-100k ratings as implicit edges, read from ``../shared/data/ml-100k``; per seed):

**cold** (a new target item, known only through its labelled users). 20 target items drawn at
random (``numpy.random.default_rng(seed)``) among the items rated by at least 100 users. For each
target, 10 of its users (positives) and 10 users who never rated it (negatives) are drawn as the
labelled users. Every edge of the 20 targets is removed except those of their 10 labelled
positives, and one embedder is fitted on what remains (so a target's only training edges are
its labelled positives'). Test: every other user of the embedder, positive when the user rated
the target (that edge was removed), negative otherwise.

**warm** (an established target, predicting its next users). Every user's edges are split 80/20
at random (:func:`~sklearn_ubergnn.disentangled.train_test_split_edges`) and one embedder is
fitted on the 80 %, every target's training edges included. Candidates of a target are the
users without it in training; a candidate is positive when the target is among its held-out
edges. 20 targets drawn at random among the items with at least 40 positive candidates; 10
positive and 10 negative candidates drawn as the labelled users; test: the other candidates.

For each target the students are fitted on the 20 labelled users (the frozen embedder shared)
and scored by ROC-AUC on the test users: ``hard only`` (``soft_weight=0``), ``teacher alone``
(the teacher's probability ``teacher_proba``, the student's soft label, as the score),
``fixed weight`` (``soft_weight=1``, the patent's formulation: a fixed hard + soft loss) and
``auto`` (weight, or the teacher alone, chosen by inner cross-validation on the labelled users),
each ``auto`` with the plain student (``student="plain"``, logistic regression on the embedding)
and with the residual one (``student="residual"``, the teacher's logit plus a correction); the
residual student on hard labels alone is shown too. ROC-AUC is averaged over the 20 targets, then
mean ± std over the seeds; the paired differences of the auto variants against the others are
averaged over every (seed, target), with their standard error ``std / sqrt(n)``.

Usage (from the repository root; one process, the embedder fitted once per seed and regime)::

    python benchmarks/distillation_regimes.py --seeds 0 1 2 --threads 1

or one process per regime, each writing its per-target CSV, and the tables of both::

    python benchmarks/distillation_regimes.py --seeds 3 4 5 --regimes cold --output cold.csv
    python benchmarks/distillation_regimes.py --seeds 3 4 5 --regimes warm --output warm.csv
    python benchmarks/distillation_regimes.py --report cold.csv warm.csv

(``--variants`` runs some students only; ``--report`` merges runs of other variants on the same
targets, and ``--before`` runs of an earlier commit, whose auto variants it names "(before)";
``--cache DIR`` fits each regime and seed's embedder once for all such runs.)

Torch threads are pinned to ``--threads`` (the package's estimators bound them the same way).
"""
import argparse
import time
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import torch
from sklearn.base import clone
from sklearn.frozen import FrozenEstimator
from sklearn.metrics import roc_auc_score

from sklearn_ubergnn.datasets import load_movielens_ratings
from sklearn_ubergnn.disentangled import (
    DisentangledGraphEmbedder,
    DistilledBehaviorClassifier,
    train_test_split_edges,
)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "ml-100k"
N_TARGETS, N_POS, N_NEG = 20, 10, 10
VARIANTS = {
    "hard only": {"soft_weight": 0.0, "student": "plain"},
    "hard only, residual": {"soft_weight": 0.0, "student": "residual"},
    "fixed weight (1.0)": {"soft_weight": 1.0, "student": "plain"},
    "auto, plain": {"soft_weight": "auto", "student": "plain"},
    "auto, residual": {"soft_weight": "auto", "student": "residual"},
    "auto, both": {"soft_weight": "auto", "student": "auto"},
}
AUTOS = ["auto, both", "auto, residual", "auto, plain"]
#: the auto variants of runs of an earlier commit, read with ``--before`` (their columns renamed so)
BEFORE = [f"{name} (before)" for name in AUTOS]
SCORES = ["hard only", "hard only, residual", "teacher alone", "fixed weight (1.0)", "auto, plain", "auto, residual",
          "auto, both", *BEFORE]


def _labelled(rng, positives, negatives):
    """``N_POS`` positives and ``N_NEG`` negatives drawn from two id arrays: ``(users, y)``."""
    users = np.concatenate([rng.choice(positives, N_POS, replace=False), rng.choice(negatives, N_NEG, replace=False)])
    return users, np.repeat([1, 0], [N_POS, N_NEG])


def cold_tasks(ratings, seed):
    """Training edges and, per target, ``(target, labelled users, y, test users, y_test)`` (see the docstring)."""
    rng = np.random.default_rng(seed)
    counts = ratings["item"].value_counts()
    targets = rng.choice(np.sort(counts.index[counts >= 100].to_numpy()), N_TARGETS, replace=False)
    all_users = np.unique(ratings["user"])
    keep = ~ratings["item"].isin(targets).to_numpy()
    tasks = []
    for target in targets:
        raters = np.unique(ratings.loc[ratings["item"] == target, "user"])
        users, y = _labelled(rng, raters, np.setdiff1d(all_users, raters))
        keep |= ((ratings["item"] == target) & ratings["user"].isin(users[y == 1])).to_numpy()
        tasks.append([target, users, y, raters])
    train = ratings[keep]
    known = np.unique(train["user"])
    out = []
    for target, users, y, raters in tasks:
        test = np.setdiff1d(known, users)
        out.append((target, users, y, test, np.isin(test, raters).astype(int)))
    return train, out


def warm_tasks(ratings, seed):
    """Training edges (80 % of each user's) and the tasks of 20 targets (see the docstring)."""
    rng = np.random.default_rng(seed)
    train, held_out = train_test_split_edges(ratings, 0.2, random_state=seed)
    all_users = np.unique(train["user"])
    counts = held_out["item"].value_counts()
    eligible = []
    for item in np.sort(counts.index[counts >= 40].to_numpy()):
        candidates = np.setdiff1d(all_users, train.loc[train["item"] == item, "user"])
        y_all = np.isin(candidates, held_out.loc[held_out["item"] == item, "user"]).astype(int)
        if y_all.sum() >= 40:
            eligible.append((item, candidates, y_all))
    tasks = []
    for i in rng.choice(len(eligible), N_TARGETS, replace=False):
        target, candidates, y_all = eligible[i]
        users, y = _labelled(rng, candidates[y_all == 1], candidates[y_all == 0])
        rest = ~np.isin(candidates, users)
        tasks.append((target, users, y, candidates[rest], y_all[rest]))
    return train, tasks


REGIMES = {"cold": cold_tasks, "warm": warm_tasks}


def run_regime(regime, ratings, seed, student_params, variants=tuple(VARIANTS), cache=None):
    """ROC-AUC of every variant on each target of one regime and seed (one embedder fit).

    With a ``cache`` folder, the fitted embedder is saved there (``{regime}-{seed}.joblib``) and
    read back by later runs of the same regime and seed instead of being fitted again.
    """
    train, tasks = REGIMES[regime](ratings, seed)
    start = time.perf_counter()
    path = None if cache is None else Path(cache) / f"{regime}-{seed}.joblib"
    if path is not None and path.exists():
        embedder = joblib.load(path)
    else:
        embedder = DisentangledGraphEmbedder(random_state=seed).fit(train)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            joblib.dump(embedder, path)
    fit_s = time.perf_counter() - start
    frozen = FrozenEstimator(embedder)
    rows = []
    start = time.perf_counter()
    for target, users, y, test, y_test in tasks:
        row = {"regime": regime, "seed": seed, "target": target}
        base = DistilledBehaviorClassifier(frozen, target_item=target, random_state=seed, **student_params)
        for name in ["hard only", *(v for v in variants if v != "hard only")]:  # hard only: also the teacher
            params = VARIANTS[name]
            clf = clone(base).set_params(**params).fit(users, y)
            row[name] = roc_auc_score(y_test, clf.predict_proba(test)[:, 1])
            if name == "hard only":
                row["teacher alone"] = roc_auc_score(y_test, clf.teacher_proba(test))
            if params["soft_weight"] == "auto":
                chosen = clf.soft_weight_ if params["student"] != "auto" else f"{clf.student_} {clf.soft_weight_:g}"
                row[f"{name}: chosen"] = chosen if clf.predictor_ == "student" else "teacher"
        rows.append(row)
    print(f"{regime} seed {seed}: embedder {fit_s:.0f} s, students {time.perf_counter() - start:.0f} s",
          flush=True)
    return rows


def main(args):
    torch.set_num_threads(args.threads)
    ratings = load_movielens_ratings(args.data)[["user", "item"]]
    rows = []
    for regime in args.regimes:
        for seed in args.seeds:
            rows += run_regime(regime, ratings, seed, {}, args.variants, args.cache)
    results = pd.DataFrame(rows)
    report(results, args.seeds)
    if args.output:
        results.to_csv(args.output, index=False)
    return results


def merge_runs(runs):
    """One row per (regime, seed, target) from the per-target tables of several runs (e.g. of other variants).

    A score that two runs both measured (the hard labels, the teacher) must agree: the runs are
    deterministic, so a difference means that they did not see the same targets or code.
    """
    keys = ["regime", "seed", "target"]
    stacked = pd.concat(runs, ignore_index=True)
    scores = [name for name in SCORES if name in stacked]
    spread = stacked.groupby(keys)[scores].agg(lambda values: values.max() - values.min()).max()
    if (spread > 1e-12).any():
        raise ValueError(f"the runs disagree on scores they share: {spread[spread > 1e-12].to_dict()}")
    return stacked.groupby(keys, as_index=False).first()


def report(results, seeds):
    """Print the per-seed and overall tables, the paired differences and auto's choices."""
    scores = [name for name in SCORES if name in results]
    per_seed = results.groupby(["regime", "seed"])[scores].mean()
    print(per_seed.to_string(float_format="%.4f"))
    summary = per_seed.groupby("regime").agg(["mean", "std"])
    print(f"\nROC-AUC on test users, mean over {N_TARGETS} targets, then mean/std over seeds {seeds}")
    print(summary.to_string(float_format="%.4f"))
    pairs = [(a, b) for i, a in enumerate(AUTOS) if a in scores for b in scores if b not in AUTOS[:i + 1]]
    paired = []
    for regime, group in results.groupby("regime"):
        for a, b in pairs:
            diff = group[a] - group[b]
            paired.append({"regime": regime, "difference": f"{a} - {b}", "mean": diff.mean(),
                           "se": diff.std(ddof=1) / np.sqrt(len(diff)), "n": len(diff)})
    print("\nPaired differences over (seed, target), mean and standard error:")
    print(pd.DataFrame(paired).to_string(index=False, float_format="%.4f"))
    for name in [*AUTOS, *BEFORE]:
        if f"{name}: chosen" in results:
            print(f"\n{name}: choices (per regime, over targets and seeds):")
            print(results.groupby("regime")[f"{name}: chosen"].value_counts().to_string())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--regimes", nargs="+", choices=list(REGIMES), default=list(REGIMES))
    parser.add_argument("--threads", type=int, default=1, help="torch threads (pinned)")
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS),
                        help="students to fit (hard only, and the teacher alone, always)")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--output", type=Path, default=None, help="per-target CSV")
    parser.add_argument("--cache", type=Path, default=None,
                        help="folder (outside the repository) where fitted embedders are saved and reused")
    parser.add_argument("--report", type=Path, nargs="+", default=None,
                        help="print the tables of per-target CSVs written by --output (e.g. one per regime), run nothing")
    parser.add_argument("--before", type=Path, nargs="+", default=[],
                        help="with --report: per-target CSVs of an earlier commit, its auto variants shown as '(before)'")
    args = parser.parse_args()
    if args.report:
        renamed = {f"{name}{end}": f"{name} (before){end}" for name in AUTOS for end in ("", ": chosen")}
        before = [pd.read_csv(path).rename(columns=renamed) for path in args.before]
        results = merge_runs([pd.read_csv(path) for path in args.report] + before)
        report(results, sorted(results["seed"].unique().tolist()))
    else:
        main(args)
