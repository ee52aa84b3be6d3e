"""Why does the user portrait buy almost nothing on the MovieLens-100k sessions?

Counting-only analysis (numpy / pandas / scipy, no training), deterministic.

Run:  python benchmarks/portrait_information.py   (about 10 s; issue #18, item 4)

Data: ``load_session_split(<shared data>/ml-100k, "movielens")`` (one session per user
and UTC day, items seen < 5 times dropped, last 7 days = test, every prefix a sample).
User ids are not a column of X; they are recovered by re-running the same steps
(``load_movielens`` -> ``srgnn_preprocess`` -> ``session_prefixes``) and checked against X.

Estimators (all in bits, on samples = (prefix, next item) pairs):
- plug-in MI; Miller-Madow MI (each entropy + (m - 1) / (2 N ln 2), m = non-empty cells);
- shuffle-corrected MI: plug-in minus the mean plug-in after shuffling the feature column
  across rows (5 shuffles, seeds 0..4); for I(Y; X | Z) the shuffle is within Z groups;
- held-out gain on test: mean over test samples of log2 p(y | x) - log2 p(y), with
  p(y | x) = (c(x, y) + a p(y)) / (c(x) + a) counted on training, p(y) add-one smoothed;
  a chosen from {1, 10, ..., 1e5} on a time split of training (last 10 % of sessions).
"""

import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from sklearn_ubergnn import datasets
from sklearn_ubergnn._ranking import top_k
from sklearn_ubergnn.benchmark._core import shared_data_dir
from sklearn_ubergnn.evaluation import load_session_split
from sklearn_ubergnn.metrics import mrr_at_k, precision_at_k
from sklearn_ubergnn.preprocessing import UserPortraitEncoder, session_prefixes, srgnn_preprocess
from sklearn_ubergnn.utils import ItemVocabulary

PATH = shared_data_dir() / "ml-100k"
N_SHUFFLES = 5
K = 20
LN2 = np.log(2.0)


# ----------------------------------------------------------------------------- data
def load():
    X_train, y_train, X_test, y_test = load_session_split(PATH, "movielens")
    # recover user ids and session ids exactly as load_session_split builds the samples
    sessions, meta = datasets.load_movielens(PATH)
    split = srgnn_preprocess(sessions, meta["time"].to_numpy(), min_item_count=5, test_days=7.0)
    out = {}
    for side, X, y in (("train", X_train, y_train), ("test", X_test, y_test)):
        Xs, ys, sess = session_prefixes(split[f"{side}_sessions"], order="srgnn", return_session_index=True)
        assert np.array_equal(np.asarray(ys), np.asarray(y))
        assert all(list(a) == list(b) for a, b in zip(Xs, X["session"]))
        rows = split[f"{side}_index"][sess]
        user = meta["user_id"].to_numpy()[rows]
        for c in ("age", "gender", "occupation", "zip_code"):
            assert np.array_equal(meta[c].to_numpy()[rows].astype(str), X[c].to_numpy().astype(str))
        out[side] = dict(X=X, y=np.asarray(y, dtype=np.int64), user=user, session=sess)
    return out


def codes(values, vocab=None):
    """Integer codes of ``values``; with ``vocab`` (from training) unseen values get -1."""
    values = pd.Series(values).astype(str).to_numpy(dtype=object)
    if vocab is None:
        vocab = ItemVocabulary().fit(values)
    return vocab.transform(values), vocab


def features(data):
    """Per-sample discrete features, coded on training (test values unseen in training -> -1)."""
    tr, te = data["train"], data["test"]
    cols = ["age", "gender", "occupation", "zip_code"]
    enc = UserPortraitEncoder(n_bins=5).fit(tr["X"][cols])  # as UberGNN does (n_bins=5, quantile)
    age_field = len(enc.categorical_) + enc.continuous_.index("age")
    raw = {}
    for side, d in (("train", tr), ("test", te)):
        X = d["X"]
        sess = X["session"]
        raw[side] = {
            "age bin (5 quantile bins)": enc.transform(X[cols])[:, age_field],
            "gender": X["gender"].astype(str).to_numpy(),
            "occupation": X["occupation"].astype(str).to_numpy(),
            "zip code 1st char": X["zip_code"].astype(str).str[0].to_numpy(),
            "zip code (full)": X["zip_code"].astype(str).to_numpy(),
            "user id": d["user"],
            "last item": np.array([s[-1] for s in sess]),
            "previous item": np.array([s[-2] if len(s) > 1 else 0 for s in sess]),  # 0 = none
        }
        r = raw[side]
        r["joint portrait (age bin, gender, occ., zip 1st char)"] = [
            f"{a}|{g}|{o}|{z}" for a, g, o, z in zip(
                r["age bin (5 quantile bins)"], r["gender"], r["occupation"], r["zip code 1st char"]
            )
        ]
        r["joint portrait as the model sees it (full zip)"] = [
            f"{a}|{g}|{o}|{z}" for a, g, o, z in zip(
                r["age bin (5 quantile bins)"], r["gender"], r["occupation"], r["zip code (full)"]
            )
        ]
    feats = {"train": {}, "test": {}}
    for name in raw["train"]:
        feats["train"][name], vocab = codes(raw["train"][name])
        feats["test"][name], _ = codes(raw["test"][name], vocab)
    return feats


# ----------------------------------------------------------------------------- entropy / MI
def _entropy(key):
    """Plug-in entropy (bits) and number of non-empty cells of an int64 key array."""
    _, counts = np.unique(key, return_counts=True)
    p = counts / counts.sum()
    return float(-(p * np.log2(p)).sum()), len(counts)


def _joint(*arrays):
    key = np.zeros(len(arrays[0]), dtype=np.int64)
    for a in arrays:
        a = np.asarray(a, dtype=np.int64)
        key = key * (int(a.max()) + 1) + a
    return key


def entropies(*arrays, miller_madow=False):
    h, m = _entropy(_joint(*arrays))
    if miller_madow:
        h += (m - 1) / (2 * len(arrays[0]) * LN2)
    return h


def mi(x, y, mm=False):
    return entropies(x, miller_madow=mm) + entropies(y, miller_madow=mm) - entropies(x, y, miller_madow=mm)


def cmi(x, y, z, mm=False):
    e = lambda *a: entropies(*a, miller_madow=mm)
    return e(x, z) + e(y, z) - e(z) - e(x, y, z)


def shuffled(x, rng, groups=None):
    if groups is None:
        return x[rng.permutation(len(x))]
    by_group = np.argsort(groups, kind="stable")
    within = np.lexsort((rng.random(len(x)), groups))  # random order inside each group
    out = np.empty_like(x)
    out[by_group] = x[within]
    return out


def user_shuffle_baseline(fn, x, y, user):
    """Baseline keeping the per-user clustering: the users' portraits are permuted across users."""
    users, inv = np.unique(user, return_inverse=True)
    per_user = np.zeros(len(users), dtype=np.int64)
    per_user[inv] = x
    assert np.array_equal(per_user[inv], x), "feature is not constant per user"
    vals = []
    for seed in range(N_SHUFFLES):
        rng = np.random.default_rng(seed)
        vals.append(fn(per_user[rng.permutation(len(users))][inv], y))
    return float(np.mean(vals)), float(np.std(vals))


def shuffle_baseline(fn, x, y, z=None):
    vals = []
    for seed in range(N_SHUFFLES):
        rng = np.random.default_rng(seed)
        xs = shuffled(x, rng, z)
        vals.append(fn(xs, y) if z is None else fn(xs, y, z))
    return float(np.mean(vals)), float(np.std(vals))


# ----------------------------------------------------------------------------- held-out gain
def smoothed_logp(x_tr, y_tr, x_ev, y_ev, n_items, alpha):
    """log2 p(y|x) with additive smoothing toward add-one popularity; x=-1 (unseen) -> p(y)."""
    pop = (np.bincount(y_tr, minlength=n_items) + 1.0) / (len(y_tr) + n_items)
    n_x = int(max(x_tr.max(), x_ev.max())) + 1
    C = sparse.csr_matrix((np.ones(len(y_tr)), (x_tr, y_tr)), shape=(n_x, n_items))
    seen = x_ev >= 0
    cxy = np.zeros(len(y_ev))
    cx = np.zeros(len(y_ev))
    cxy[seen] = np.asarray(C[x_ev[seen], y_ev[seen]]).ravel()
    cx[seen] = np.asarray(C.sum(axis=1)).ravel()[x_ev[seen]]
    p = (cxy + alpha * pop[y_ev]) / (cx + alpha)
    return np.log2(p), np.log2(pop[y_ev])


def heldout_gain(name, feats, data, n_items):
    tr, te = data["train"], data["test"]
    x_tr, y_tr = feats["train"][name], tr["y"]
    # choose alpha on a time split of training: last 10 % of sessions (samples are in time order)
    cut = np.quantile(tr["session"], 0.9)
    fit, val = tr["session"] < cut, tr["session"] >= cut
    x_fit, x_val = x_tr[fit], x_tr[val].copy()
    x_val[~np.isin(x_val, np.unique(x_fit))] = -1
    best = max(
        (1.0, 10.0, 100.0, 1e3, 1e4, 1e5),
        key=lambda a: np.mean(np.subtract(*smoothed_logp(x_fit, y_tr[fit], x_val, y_tr[val], n_items, a))),
    )
    lp, lpop = smoothed_logp(x_tr, y_tr, feats["test"][name], te["y"], n_items, best)
    return float(np.mean(lp - lpop)), best


# ----------------------------------------------------------------------------- ranking
def grouped_topk(x_tr, y_tr, x_ev, n_items, k=K, u_tr=None, u_ev=None, prefixes=None):
    """Top-k next items among training samples with the same x; padded by global popularity.

    With ``u_tr``/``u_ev`` the evaluated user's own training samples are left out of the counts;
    with ``prefixes`` the items of each prefix are removed from its ranking.
    """
    pop = np.bincount(y_tr, minlength=n_items).astype(np.float64)
    order = np.lexsort((np.arange(n_items), -pop))  # popularity desc, then item id
    tiebreak = np.empty(n_items)
    tiebreak[order] = (n_items - np.arange(n_items)) / (n_items + 1.0)  # in (0, 1)
    if prefixes is not None:
        out = np.empty((len(x_ev), k), dtype=np.int64)
        for i, s in enumerate(prefixes):
            out[i] = order[~np.isin(order, s)][:k]
        return out
    if x_tr is None:
        top = order[:k]
        return np.tile(top, (len(x_ev), 1))
    n_x = int(max(x_tr.max(), x_ev.max())) + 1
    C = sparse.csr_matrix((np.ones(len(y_tr)), (x_tr, y_tr)), shape=(n_x, n_items))
    out = np.empty((len(x_ev), k), dtype=np.int64)
    keys = x_ev if u_ev is None else _joint(x_ev + 1, u_ev)
    for key in np.unique(keys):
        rows = keys == key
        g = x_ev[rows][0]
        score = tiebreak.copy()
        if g >= 0:
            score += C[g].toarray().ravel()
            if u_ev is not None:
                own = (x_tr == g) & (u_tr == u_ev[rows][0])
                score -= np.bincount(y_tr[own], minlength=n_items)
        out[rows] = top_k(score[None], k, order, min_score=-np.inf, n_rows=int(rows.sum()))
    return out


# ----------------------------------------------------------------------------- tables
def md(df, floatfmt="{:.3f}"):
    cols = list(df.columns)
    lines = ["| " + " | ".join(map(str, cols)) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for _, row in df.iterrows():
        cells = [floatfmt.format(v) if isinstance(v, float) else str(v) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def q(a):
    a = np.asarray(a)
    return f"{np.mean(a):.1f} / {np.median(a):.0f} / {np.min(a)}-{np.max(a)}"


def main():
    data = load()
    feats = features(data)
    tr, te = data["train"], data["test"]
    y = tr["y"]
    n_items = int(max(y.max(), te["y"].max(), max(max(s) for s in tr["X"]["session"]))) + 1
    N = len(y)
    H_y = entropies(y)

    # ---- 1 + 2: MI with the next item --------------------------------------------------------
    names = [
        "age bin (5 quantile bins)", "gender", "occupation", "zip code 1st char", "zip code (full)",
        "joint portrait (age bin, gender, occ., zip 1st char)",
        "joint portrait as the model sees it (full zip)", "user id", "last item", "previous item",
    ]
    rows = []
    for name in names:
        x = feats["train"][name]
        plug = mi(x, y)
        mm = mi(x, y, mm=True)
        base, sd = shuffle_baseline(mi, x, y)
        gain, alpha = heldout_gain(name, feats, data, n_items)
        per_user = name not in ("user id", "last item", "previous item")
        ubase = user_shuffle_baseline(mi, x, y, tr["user"])[0] if per_user else np.nan
        rows.append({
            "X": name, "n values": len(np.unique(x)), "plug-in": plug, "Miller-Madow": mm,
            "shuffle mean (sd)": f"{base:.3f} ({sd:.3f})", "I - shuffle": plug - base,
            "share of H(Y)": f"{100 * (plug - base) / H_y:.1f}%",
            "I - user-level shuffle": "n/a" if np.isnan(ubase) else f"{plug - ubase:.3f}",
            "held-out gain, test": gain, "alpha": int(alpha),
        })
    print("## 1-2. I(next item; X) on the training prefixes (bits)\n")
    print(f"N = {N} training samples, {len(np.unique(y))} distinct next items, "
          f"H(next item) = {H_y:.3f} bits (plug-in). Shuffle baseline: {N_SHUFFLES} shuffles of X "
          f"across rows; user-level shuffle: portraits permuted across users (keeps each user's samples together; "
          f"near 0 by construction for values that are ~1 user each). "
          f"Previous item = 0 for 1-click prefixes. Held-out gain: mean log2 p(y|x)/p(y) on the {len(te['y'])} test samples "
          f"(smoothed counts, alpha chosen on a time split of training).\n")
    print(md(pd.DataFrame(rows)))
    uncond = {r["X"]: r["I - shuffle"] for r in rows}

    # ---- 3: conditional MI given the last item ---------------------------------------------------
    z = feats["train"]["last item"]
    rows = []
    for name in ["age bin (5 quantile bins)", "gender", "occupation", "zip code 1st char", "zip code (full)",
                 "joint portrait (age bin, gender, occ., zip 1st char)",
                 "joint portrait as the model sees it (full zip)", "user id", "previous item"]:
        x = feats["train"][name]
        plug = cmi(x, y, z)
        base, sd = shuffle_baseline(cmi, x, y, z)
        rows.append({"X": name, "plug-in I(Y;X given last)": plug, "Miller-Madow": cmi(x, y, z, mm=True),
                     "shuffle within last-item groups, mean (sd)": f"{base:.3f} ({sd:.3f})",
                     "I - shuffle": plug - base, "unconditional I - shuffle (from 1)": None})
    for r in rows:
        r["unconditional I - shuffle (from 1)"] = uncond[r["X"]]
    print("\n## 3. I(next item; X | last item) on the training prefixes (bits)\n")
    print(f"H(next item | last item) = {entropies(y, z) - entropies(z):.3f} bits (plug-in); "
          f"{len(np.unique(z))} last-item groups, {N / len(np.unique(z)):.0f} samples per group on average.\n")
    print(md(pd.DataFrame(rows)))

    # ---- 4: history length and coverage ----------------------------------------------------------
    print("\n## 4. Users, history length, portrait coverage, prefix lengths\n")
    u_tr, u_te = tr["user"], te["user"]
    n_sess_tr = len(np.unique(tr["session"]))
    n_sess_te = len(np.unique(te["session"]))
    per_user_samples = pd.Series(u_tr).value_counts()
    # ratings (clicks) per user in training sessions = samples + sessions (each session of L clicks gives L-1 samples)
    sess_user = pd.DataFrame({"s": tr["session"], "u": u_tr}).drop_duplicates()
    per_user_sessions = sess_user["u"].value_counts()
    per_user_clicks = per_user_samples.add(per_user_sessions, fill_value=0).astype(int)
    seen = np.isin(np.unique(u_te), np.unique(u_tr))
    te_hist = per_user_samples.reindex(u_te).fillna(0).to_numpy().astype(int)
    len_tr = tr["X"]["session"].map(len).to_numpy()
    len_te = te["X"]["session"].map(len).to_numpy()
    stats = [
        ("training samples / sessions / distinct users", f"{N} / {n_sess_tr} / {len(np.unique(u_tr))}"),
        ("test samples / sessions / distinct users", f"{len(u_te)} / {n_sess_te} / {len(np.unique(u_te))}"),
        ("test users seen in training", f"{seen.sum()} of {len(seen)} "
         f"({100 * np.isin(u_te, u_tr).mean():.1f}% of test samples)"),
        ("training samples per user: mean / median / min-max", q(per_user_samples.to_numpy())),
        ("training clicks (ratings) per user: mean / median / min-max", q(per_user_clicks.to_numpy())),
        ("training sessions (days) per user: mean / median / min-max", q(per_user_sessions.to_numpy())),
        ("samples of the user's own in training, per test sample: mean / median / min-max", q(te_hist)),
        ("prefix length, training: mean / median / min-max", q(len_tr)),
        ("prefix length, test: mean / median / min-max", q(len_te)),
        ("test next item already in its prefix (share)",
         f"{100 * np.mean([t in set(s) for s, t in zip(te['X']['session'], te['y'])]):.2f}%"),
        ("test next item among the user's training items (share)",
         f"{100 * np.mean(pd.Series(list(zip(u_te, te['y']))).isin(set(zip(u_tr, y))).to_numpy()):.2f}%"),
    ]
    for name in ["joint portrait (age bin, gender, occ., zip 1st char)", "joint portrait as the model sees it (full zip)",
                 "age bin (5 quantile bins)", "gender", "occupation", "zip code 1st char"]:
        x = feats["train"][name]
        spv = np.bincount(x)
        spv = spv[spv > 0]
        upv = pd.DataFrame({"x": x, "u": u_tr}).drop_duplicates().groupby("x").size().to_numpy()
        xt = feats["test"][name]
        stats.append((f"{name}: values / training samples per value (mean / median / min-max) / users per value "
                      f"(mean / median / min-max) / test samples with a value seen in training",
                      f"{len(spv)} / {q(spv)} / {q(upv)} / {100 * np.mean(xt >= 0):.1f}%"))
    print(md(pd.DataFrame(stats, columns=["quantity", "value"])))

    # ---- 5: counting recommenders on the test prefixes --------------------------------------------
    print(f"\n## 5. Counting recommenders on the {len(te['y'])} test prefixes (P@20, MRR@20, %)\n")
    print("Top 20 next items among training samples sharing X; padded with global popularity "
          "(also for unseen X); prefix items are not excluded (except in the row marked extra). "
          f"SE: std over 1000 bootstrap resamples of the {len(np.unique(te['session']))} test sessions (seed 0).\n")
    sess_codes = np.unique(te["session"], return_inverse=True)[1]
    rng = np.random.default_rng(0)
    boot = [np.bincount(rng.integers(0, sess_codes.max() + 1, sess_codes.max() + 1), minlength=sess_codes.max() + 1)
            for _ in range(1000)]  # session weights of 1000 bootstrap resamples of the test sessions
    n_per_sess = np.bincount(sess_codes)

    def boot_se(hits):
        per_sess = np.bincount(sess_codes, weights=hits)
        return 100 * float(np.std([(w * per_sess).sum() / (w * n_per_sess).sum() for w in boot]))

    rows, base_hits = [], None
    extra = {"same joint portrait (zip 1st char), user's own samples left out":
             ("joint portrait (age bin, gender, occ., zip 1st char)", "own"),
             "same joint portrait (full zip), user's own samples left out":
             ("joint portrait as the model sees it (full zip)", "own"),
             "(extra) global popularity minus the prefix's items": (None, "prefix")}
    for label, name in [("global popularity", None),
                        ("same age bin", "age bin (5 quantile bins)"), ("same gender", "gender"),
                        ("same occupation", "occupation"), ("same zip code 1st char", "zip code 1st char"),
                        ("same joint portrait (zip 1st char)", "joint portrait (age bin, gender, occ., zip 1st char)"),
                        ("same joint portrait (full zip, as the model)", "joint portrait as the model sees it (full zip)"),
                        ("same user (user's own training next items)", "user id"),
                        ("successors of the last item", "last item"), *extra.items()]:
        how = None
        if isinstance(name, tuple):
            name, how = name
        x_tr = None if name is None else feats["train"][name]
        x_te = np.zeros(len(te["y"]), dtype=np.int64) if name is None else feats["test"][name]
        if how == "own":
            ranked = grouped_topk(x_tr, y, x_te, n_items, u_tr=tr["user"], u_ev=te["user"])
        elif how == "prefix":
            ranked = grouped_topk(None, y, x_te, n_items, prefixes=te["X"]["session"])
        else:
            ranked = grouped_topk(x_tr, y, x_te, n_items)
        hits = (ranked[:, :K] == te["y"][:, None]).any(axis=1).astype(float)
        base_hits = hits if base_hits is None else base_hits
        rows.append({"ranking": label, "P@20": 100 * precision_at_k(te["y"], ranked, k=K),
                     "SE (session bootstrap)": boot_se(hits),
                     "P@20 - global": 100 * float(np.mean(hits - base_hits)),
                     "SE of the difference": boot_se(hits - base_hits),
                     "MRR@20": 100 * mrr_at_k(te["y"], ranked, k=K)})
    print(md(pd.DataFrame(rows), floatfmt="{:.2f}"))


if __name__ == "__main__":
    main()
