"""How much does the user portrait tell about the next item of a MovieLens-100k session? (issue #18, item 4)

Count models only (numpy / pandas / scipy, no training, deterministic), on exactly the split
the benchmarks use: ``load_session_split(<shared data>/ml-100k, "movielens")`` (one session per
user and UTC day, items seen < 5 times dropped, last 7 days = test, every prefix a sample:
94,475 training and 2,304 test prefixes, with the ``u.user`` columns). User ids are not a
column of X; they are recovered from ``load_movielens`` + ``srgnn_preprocess`` (the same
steps) and checked against X (session lengths, portrait columns).

Portrait fields: age in the 5 quantile bins of ``UserPortraitEncoder`` (as UBER-GNN codes it),
gender, occupation, zip region (first character of the zip code), their joint ``segment``
(age bin x gender x occupation x zip region) and, for reference, the user id itself.

Models (each a full distribution over the items; log-loss in nats on the test prefixes):

- ``popularity``: add-one smoothed counts of the next item;
- ``field``: P(next | field) = (c(field, next) + a p_pop) / (c(field) + a);
- ``last``: P(next | last item), smoothed the same way towards popularity;
- ``last + field``: P(next | last item, field), smoothed towards P(next | last item) (back-off);
- ``sequence``: lam P(next | last) + (1 - lam) mean_{i in prefix} P(next | i in prefix),
  with the prefix's own items removed and the rest renormalised (a MovieLens user rates a
  movie once: the prefix says which items will *not* come next);
- ``sequence + field``: the sequence model tilted by the field, p ~ p_seq (P(next|field) /
  p_pop) ** beta.

Every constant (a, lam, beta) is chosen by log-loss on the last 10 % of the training prefixes
(whole sessions, in time order) with counts from the first 90 %; then the counts are taken on
all training prefixes and the model is scored once on the test prefixes. Nothing is chosen on
the test split.

Mutual information I(next; X) (nats): plug-in and Miller-Madow on the training prefixes;
for portrait fields also the plug-in minus its mean under 5 permutations of the portraits
across *users* (the samples of one user share a portrait, so the effective sample is ~900
users, not 94k prefixes); and the held-out estimate CE(popularity) - CE(model) on the test
prefixes (the information a count model actually recovers), also given the last item and
given the sequence model.

P@20 = next item in the top 20 (SR-GNN's P@20 = HR@20, percent). Standard errors of P@20
and of differences: 1000 bootstrap resamples of the 57 test *sessions* (seed 0).

Examples
--------
From the repository root (about 1.5 CPU-minutes; most of it loading the split)::

    python benchmarks/movielens_portrait_information.py

or with another MovieLens folder::

    python benchmarks/movielens_portrait_information.py --data /path/to/ml-100k
"""
import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse

K = 20
GRID_A = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1e3, 3e3, 1e4, 3e4, 1e5)
GRID_LAM = tuple(np.round(np.linspace(0.0, 1.0, 11), 2))
GRID_BETA = (0.0, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0)
N_BOOT = 1000
N_PERM = 5
FIELDS = ("age bin", "gender", "occupation", "zip region", "segment", "user id")
PORTRAIT = ("age bin", "gender", "occupation", "zip region", "segment")


# ----------------------------------------------------------------------------- data
def load(path):
    from sklearn_ubergnn import datasets
    from sklearn_ubergnn.evaluation import load_session_split
    from sklearn_ubergnn.preprocessing import UserPortraitEncoder, srgnn_preprocess

    X_tr, y_tr, X_te, y_te = load_session_split(path, "movielens")
    sessions, meta = datasets.load_movielens(path)
    split = srgnn_preprocess(sessions, meta["time"].to_numpy(), min_item_count=5, test_days=7.0)
    cols = ["age", "gender", "occupation", "zip_code"]
    enc = UserPortraitEncoder(n_bins=5).fit(X_tr[cols])
    age_field = len(enc.categorical_) + enc.continuous_.index("age")
    sides = {}
    for side, X, y in (("train", X_tr, y_tr), ("test", X_te, y_te)):
        lengths = X["session"].map(len).to_numpy()
        # SR-GNN order: a session of L clicks gives prefixes of lengths L-1, L-2, ..., 1
        start = np.r_[True, lengths[1:] != lengths[:-1] - 1]
        session = np.cumsum(start) - 1
        index = split[f"{side}_index"]
        assert session[-1] + 1 == len(index)
        assert np.array_equal(lengths[start] + 1, pd.Series(split[f"{side}_sessions"]).map(len).to_numpy())
        rows = index[session]
        assert np.array_equal(meta["age"].to_numpy()[rows], X["age"].to_numpy())
        assert np.array_equal(meta["zip_code"].astype(str).to_numpy()[rows], X["zip_code"].astype(str).to_numpy())
        flat = np.concatenate(X["session"].to_numpy()).astype(np.int64)
        ends = np.cumsum(lengths)
        sides[side] = {
            "y": np.asarray(y, dtype=np.int64), "length": lengths, "session": session,
            "flat": flat, "row_of_flat": np.repeat(np.arange(len(lengths)), lengths),
            "last": flat[ends - 1], "user": meta["user_id"].to_numpy()[rows],
            "raw": {
                "age bin": enc.transform(X[cols])[:, age_field],
                "gender": X["gender"].astype(str).to_numpy(),
                "occupation": X["occupation"].astype(str).to_numpy(),
                "zip region": X["zip_code"].astype(str).str[0].to_numpy(),
                "user id": meta["user_id"].to_numpy()[rows],
            },
        }
    n_items = int(max(sides["train"]["flat"].max(), sides["train"]["y"].max(), sides["test"]["y"].max())) + 1
    # integer codes fitted on training; values unseen in training -> -1
    tr, te = sides["train"]["raw"], sides["test"]["raw"]
    for name in ("segment",):
        for raw in (tr, te):
            raw[name] = pd.Series(raw["age bin"]).astype(str).str.cat(
                [pd.Series(raw[c]).astype(str) for c in ("gender", "occupation", "zip region")], sep="|").to_numpy()
    for name in FIELDS:
        codes, uniques = pd.factorize(tr[name])
        tr[name], te[name] = codes, pd.Index(uniques).get_indexer(te[name])
    return sides, n_items


def subset(d, mask):
    """The samples of ``d`` where ``mask`` holds (prefix items kept in flat form)."""
    keep_flat = mask[d["row_of_flat"]]
    new_row = np.cumsum(mask) - 1
    return {"y": d["y"][mask], "length": d["length"][mask], "session": d["session"][mask],
            "flat": d["flat"][keep_flat], "row_of_flat": new_row[d["row_of_flat"][keep_flat]],
            "last": d["last"][mask], "user": d["user"][mask], "raw": {k: v[mask] for k, v in d["raw"].items()}}


def joint(a, b):
    """Codes of the pairs (a, b), with -1 where either is -1."""
    a, b = np.asarray(a, np.int64), np.asarray(b, np.int64)
    return np.where((a < 0) | (b < 0), -1, a * (int(b.max()) + 2) + b)


# ----------------------------------------------------------------------------- count models
class Counts:
    """Counts fitted on ``fit`` and read out, as dense distributions, on the rows of ``ev``."""

    def __init__(self, fit, ev, n_items):
        self.fit, self.ev, self.V = fit, ev, n_items
        self.pop = (np.bincount(fit["y"], minlength=n_items) + 1.0) / (len(fit["y"]) + n_items)
        self.y = ev["y"]
        n = len(ev["y"])
        self.prefix = sparse.csr_matrix(
            (np.ones(len(ev["flat"])), (ev["row_of_flat"], ev["flat"])), shape=(n, n_items))
        self.prefix.data[:] = 1.0

    def conditional(self, x_fit, x_ev, a, prior=None):
        """(c(x, y) + a prior(y)) / (c(x) + a), prior = popularity or a row-wise distribution."""
        x_fit, x_ev = np.asarray(x_fit, np.int64), np.asarray(x_ev, np.int64)
        keys, x_fit = np.unique(x_fit, return_inverse=True)
        pos = np.searchsorted(keys, x_ev).clip(0, len(keys) - 1)
        row = np.where(keys[pos] == x_ev, pos, len(keys))  # unseen -> an empty row
        C = sparse.csr_matrix((np.ones(len(x_fit)), (x_fit, self.fit["y"])), shape=(len(keys) + 1, self.V))
        c = C[row].toarray()
        prior = self.pop[None, :] if prior is None else prior
        return (c + a * prior) / (c.sum(axis=1, keepdims=True) + a)

    def bag(self, a):
        """mean over the prefix's items i of P(next | i in prefix), smoothed towards popularity."""
        if not hasattr(self, "_co"):
            fit = self.fit
            X = sparse.csr_matrix((np.ones(len(fit["flat"])), (fit["row_of_flat"], fit["flat"])),
                                  shape=(len(fit["y"]), self.V))
            Y = sparse.csr_matrix((np.ones(len(fit["y"])), (np.arange(len(fit["y"])), fit["y"])),
                                  shape=(len(fit["y"]), self.V))
            self._co = (X.T @ Y).toarray()
        co = self._co
        P = (co + a * self.pop[None, :]) / (co.sum(axis=1, keepdims=True) + a)
        return np.asarray(sparse.diags(1.0 / self.ev["length"]) @ self.prefix @ P)

    def exclude_prefix(self, P):
        P = P.copy()
        r, c = self.prefix.nonzero()
        P[r, c] = 0.0
        return P / P.sum(axis=1, keepdims=True)

    def logp(self, P):
        return np.log(np.maximum(P[np.arange(len(self.y)), self.y], 1e-300))

    def hits(self, P):
        """1 where the next item is in the top K (ties broken by the smaller item id)."""
        py = P[np.arange(len(self.y)), self.y][:, None]
        ahead = (P > py).sum(axis=1) + ((P == py) & (np.arange(self.V)[None, :] < self.y[:, None])).sum(axis=1)
        return (ahead < K).astype(float)


def tilt(P_seq, P_field, pop, beta):
    P = P_seq * (P_field / pop[None, :]) ** beta
    return P / P.sum(axis=1, keepdims=True)


def choose(loss_of, grid):
    """(best value, its loss)."""
    losses = [loss_of(g) for g in grid]
    return grid[int(np.argmin(losses))], float(np.min(losses))


def build_models(fit, ev, n_items, params=None):
    """Distributions of every model on ``ev``; ``params=None`` chooses the constants (by log-loss on ``ev``)."""
    cm = Counts(fit, ev, n_items)
    choosing = params is None
    params = {"val_ce": {}} if choosing else params
    nll = lambda P: -float(np.mean(cm.logp(P)))
    out = {"popularity": np.broadcast_to(cm.pop, (len(ev["y"]), n_items))}
    if choosing:
        params["val_ce"]["popularity"] = nll(out["popularity"])
    x = {name: (fit["raw"][name], ev["raw"][name]) for name in FIELDS}
    x["last"] = (fit["last"], ev["last"])

    def get(key, make, grid):
        if choosing:
            params[key], params["val_ce"][key] = choose(lambda g: nll(make(g)), grid)
        return make(params[key])

    for name in (*FIELDS, "last"):
        out[name] = get(name, lambda a, n=name: cm.conditional(*x[n], a), GRID_A)
    P_last = out["last"]
    for name in FIELDS:
        key_fit, key_ev = joint(fit["last"], x[name][0]), joint(ev["last"], x[name][1])
        P = get(f"last + {name}", lambda g: cm.conditional(key_fit, key_ev, g, P_last), GRID_A)
        out[f"last + {name}"] = None if choosing else P  # (not kept while choosing: memory)
    if choosing:
        params["bag"], _ = choose(lambda a: nll(cm.exclude_prefix(cm.bag(a))), GRID_A)
    bag = cm.bag(params["bag"])
    out["sequence"] = get("sequence", lambda lam: cm.exclude_prefix(lam * P_last + (1 - lam) * bag), GRID_LAM)
    for name in FIELDS:
        P = get(f"sequence + {name}", lambda b, n=name: tilt(out["sequence"], out[n], cm.pop, b), GRID_BETA)
        out[f"sequence + {name}"] = None if choosing else P
    return out, params, cm


# ----------------------------------------------------------------------------- mutual information
def plug_in_mi(x, y, miller_madow=False):
    """Plug-in I(x; y) in nats; Miller-Madow adds (m - 1) / 2N to every entropy (m = non-empty cells)."""
    def H(key):
        _, c = np.unique(key, return_counts=True)
        p = c / c.sum()
        return -(p * np.log(p)).sum() + ((len(c) - 1) / (2 * len(key)) if miller_madow else 0.0)
    x, y = np.asarray(x, np.int64), np.asarray(y, np.int64)
    return H(x) + H(y) - H(x * (y.max() + 1) + y)


def user_permutation_null(x, y, user):
    """Mean plug-in MI after permuting the (per-user constant) values across users."""
    users, inv = np.unique(user, return_inverse=True)
    per_user = np.zeros(len(users), np.int64)
    per_user[inv] = x
    assert np.array_equal(per_user[inv], x)
    return float(np.mean([plug_in_mi(per_user[np.random.default_rng(s).permutation(len(users))][inv], y)
                          for s in range(N_PERM)]))


# ----------------------------------------------------------------------------- session similarity
def neighbour_stats(tr, te, n_items, k=20):
    """What the test prefix reveals about its user's portrait: a vote of the k training sessions of *other*
    users nearest to it (cosine of item sets, weighted by it) for each field (k fixed, nothing chosen)."""
    first = np.r_[True, tr["session"][1:] != tr["session"][:-1]]  # the longest prefix of each session
    full_rows = np.flatnonzero(first)
    S = sparse.csr_matrix((np.ones(len(tr["flat"])), (tr["row_of_flat"], tr["flat"])), shape=(len(tr["y"]), n_items))
    S = S[full_rows] + sparse.csr_matrix((np.ones(len(full_rows)), (np.arange(len(full_rows)), tr["y"][full_rows])),
                                         shape=(len(full_rows), n_items))  # whole session = longest prefix + its target
    S.data[:] = 1.0
    Q = sparse.csr_matrix((np.ones(len(te["flat"])), (te["row_of_flat"], te["flat"])), shape=(len(te["y"]), n_items))
    Q.data[:] = 1.0
    sim = (Q @ S.T).toarray() / np.sqrt(np.outer(np.asarray(Q.sum(1)).ravel(), np.asarray(S.sum(1)).ravel()))
    s_user = tr["user"][full_rows]
    own = s_user[None, :] == te["user"][:, None]
    seen = own.any(axis=1)
    other = np.where(own, -np.inf, sim)
    top = np.argpartition(-other, k, axis=1)[:, :k]
    w = np.take_along_axis(other, top, axis=1)
    result = {"seen": seen}
    for name in ("age bin", "gender", "occupation"):
        v_tr = tr["raw"][name][full_rows]
        n_v = int(v_tr.max()) + 1
        votes = np.zeros((len(sim), n_v))
        np.add.at(votes, (np.repeat(np.arange(len(sim)), k), v_tr[top].ravel()), w.ravel())
        majority = np.bincount(tr["raw"][name], minlength=n_v).argmax()  # majority over training prefixes
        truth = te["raw"][name]
        result[name] = ((votes.argmax(axis=1) == truth).astype(float), (truth == majority).astype(float))
    return result


# ----------------------------------------------------------------------------- bootstrap
def bootstrap(session):
    codes = np.unique(session, return_inverse=True)[1]
    n_s = codes.max() + 1
    W = np.random.default_rng(0).multinomial(n_s, np.full(n_s, 1.0 / n_s), size=N_BOOT).astype(float)

    def se(values, mask=None):
        m = np.ones(len(values)) if mask is None else mask.astype(float)
        num = W @ np.bincount(codes, weights=values * m, minlength=n_s)
        den = W @ np.bincount(codes, weights=m, minlength=n_s)
        ok = den > 0
        return float(np.std(num[ok] / den[ok]))
    return se


def md(rows, columns):
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(str(r[c]) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


# ----------------------------------------------------------------------------- main
def main(argv=None):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from sklearn_ubergnn.benchmark._core import shared_data_dir

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="MovieLens-100k folder (default: <shared data>/ml-100k)")
    args = parser.parse_args(argv)
    path = Path(args.data) if args.data else shared_data_dir() / "ml-100k"
    sides, V = load(path)
    tr, te = sides["train"], sides["test"]

    # constants chosen on the last 10 % of the training prefixes (whole sessions)
    cut = tr["session"][int(0.9 * len(tr["y"]))]
    fit_mask = tr["session"] < cut
    _, params, _ = build_models(subset(tr, fit_mask), subset(tr, ~fit_mask), V)
    models, _, cm = build_models(tr, te, V, params)
    se = bootstrap(te["session"])
    logp = {m: cm.logp(P) for m, P in models.items()}
    hits = {m: cm.hits(P) for m, P in models.items()}
    ce = {m: -float(np.mean(v)) for m, v in logp.items()}

    print(f"MovieLens-100k sessions: {len(tr['y']):,} training / {len(te['y']):,} test prefixes, {V - 1:,} items; "
          f"constants chosen on the last {100 * (~fit_mask).mean():.1f} % of the training prefixes "
          f"({len(np.unique(tr['session'][~fit_mask]))} sessions)\n")

    # ---- 1. models ----------------------------------------------------------------------------
    print("## 1. Count models on the test prefixes (log-loss in nats; P@20 in %, +- session-bootstrap SE)\n")
    rows = []
    base = {"popularity": None, **{f: "popularity" for f in FIELDS}, "last": "popularity",
            **{f"last + {f}": "last" for f in FIELDS}, "sequence": "last",
            **{f"sequence + {f}": "sequence" for f in FIELDS}}
    for m, b in base.items():
        rows.append({
            "model": m, "constant": "" if m == "popularity" else f"{params[m]:g}",
            "log-loss": f"{ce[m]:.3f}", "info vs pop": f"{ce['popularity'] - ce[m]:+.3f}",
            "gain vs base": "" if b is None else f"{ce[b] - ce[m]:+.3f} ({b})",
            "P@20": f"{100 * hits[m].mean():.2f} +- {100 * se(hits[m]):.2f}",
            "dP@20 vs base": "" if b is None else
            f"{100 * (hits[m] - hits[b]).mean():+.2f} +- {100 * se(hits[m] - hits[b]):.2f}",
        })
    print(md(rows, list(rows[0])))

    # ---- 2. mutual information ----------------------------------------------------------------
    y = tr["y"]
    H_pop = ce["popularity"]
    vce = params["val_ce"]
    print(f"\n## 2. I(next; X) in nats (H(next) on test, as the popularity log-loss: {H_pop:.3f}; plug-in H(next) "
          f"on training: {plug_in_mi(y, y):.3f}). Held-out = CE(popularity) - CE(model): on the validation prefixes (the "
          "constant chosen there: optimistic) and on the test prefixes; given last / sequence: the log-loss the field "
          "saves on top of P(next | last) / the sequence model, on test.\n")
    rows = []
    for name in (*FIELDS, "last"):
        x = tr["raw"][name] if name != "last" else tr["last"]
        plug = plug_in_mi(x, y)
        perm = user_permutation_null(x, y, tr["raw"]["user id"]) if name in PORTRAIT else np.nan
        rows.append({
            "X": name + (" item" if name == "last" else ""), "values": len(np.unique(x)),
            "plug-in": f"{plug:.3f}", "Miller-Madow": f"{plug_in_mi(x, y, True):.3f}",
            "plug-in - user-perm. null": "" if np.isnan(perm) else f"{plug - perm:.3f}",
            "held-out, val": f"{vce['popularity'] - vce[name]:+.3f}",
            "held-out, test (+- SE)": f"{ce['popularity'] - ce[name]:+.3f} +- {se(logp[name] - logp['popularity']):.3f}",
            "test, given last": "" if name == "last" else f"{ce['last'] - ce['last + ' + name]:+.3f}",
            "test, given sequence": "" if name == "last" else f"{ce['sequence'] - ce['sequence + ' + name]:+.3f}",
        })
    rows.append({"X": "sequence (last item + bag of prefix items, prefix excluded)", "values": "",
                 "plug-in": "", "Miller-Madow": "", "plug-in - user-perm. null": "",
                 "held-out, val": f"{vce['popularity'] - vce['sequence']:+.3f}",
                 "held-out, test (+- SE)":
                     f"{ce['popularity'] - ce['sequence']:+.3f} +- {se(logp['sequence'] - logp['popularity']):.3f}",
                 "test, given last": f"{ce['last'] - ce['sequence']:+.3f}", "test, given sequence": ""})
    print(md(rows, list(rows[0])))

    # ---- 3. users, history, prefix length -------------------------------------------------------
    nb = neighbour_stats(tr, te, V)
    u_tr, u_te = tr["user"], te["user"]
    tr_sess_per_user = pd.Series(tr["session"]).groupby(u_tr).nunique()
    tr_pref_per_user = pd.Series(u_tr).value_counts()
    te_sess = tr_sess_per_user.reindex(u_te).fillna(0).to_numpy()
    te_pref = tr_pref_per_user.reindex(u_te).fillna(0).to_numpy()
    seen = nb["seen"]
    print("\n## 3. Users and history\n")
    print(f"- test: {len(te['y'])} prefixes of {te['session'].max() + 1} sessions of {len(np.unique(u_te))} users; "
          f"{np.isin(np.unique(u_te), u_tr).sum()} of these users have training sessions "
          f"({100 * seen.mean():.1f} % of the test prefixes)")
    print(f"- training sessions of the test prefix's user: median {np.median(te_sess):.0f}, mean {te_sess.mean():.1f}, "
          f"0 for {100 * (te_sess == 0).mean():.1f} %; training prefixes of that user: median {np.median(te_pref):.0f}, "
          f"mean {te_pref.mean():.0f}")
    print(f"- prefix length: training mean {tr['length'].mean():.1f} / median {np.median(tr['length']):.0f}; "
          f"test mean {te['length'].mean():.1f} / median {np.median(te['length']):.0f}")
    print(f"- test next item already in its prefix: {100 * np.mean(np.asarray(cm.prefix[np.arange(len(te['y'])), te['y']]).ravel()):.2f} %")
    rated = np.unique(np.r_[u_tr[tr["row_of_flat"]] * V + tr["flat"], u_tr * V + tr["y"]])
    print(f"- items of a test prefix that its user rated in training: "
          f"{100 * np.isin(u_te[te['row_of_flat']] * V + te['flat'], rated).mean():.2f} %; test next items that its "
          f"user rated in training: {100 * np.isin(u_te * V + te['y'], rated).mean():.2f} % (a user rates a movie once)")
    for name in ("age bin", "gender", "occupation"):
        acc, maj = nb[name]
        print(f"- {name} guessed from the 20 nearest sessions of other users: {100 * acc.mean():.1f} % right "
              f"(majority class: {100 * maj.mean():.1f} %); prefixes <= 10 items: {100 * acc[te['length'] <= 10].mean():.1f} %")

    print("\n## 4. P@20 (%) by prefix length and by user history (test prefixes; +- session-bootstrap SE)\n")
    groups = {
        "length 1-10": te["length"] <= 10, "length 11-50": (te["length"] > 10) & (te["length"] <= 50),
        "length 51-150": (te["length"] > 50) & (te["length"] <= 150), "length > 150": te["length"] > 150,
        "user seen in training": seen, "new user": ~seen, "all": np.ones(len(te["y"]), bool),
    }
    pairs = [("segment", "popularity"), ("age bin", "popularity"), ("last + age bin", "last"),
             ("sequence + segment", "sequence"), ("sequence + age bin", "sequence")]
    rows = []
    for g, mask in groups.items():
        row = {"prefixes": g, "n (sessions)": f"{mask.sum()} ({len(np.unique(te['session'][mask]))})"}
        for m in ("popularity", "last", "sequence"):
            row[m] = f"{100 * hits[m][mask].mean():.1f}"
        for m, b in pairs:
            d = hits[m] - hits[b]
            row[f"{m} - {b}"] = f"{100 * d[mask].mean():+.2f} +- {100 * se(d, mask):.2f}"
        d = logp["sequence + segment"] - logp["sequence"]
        row["nats saved by segment given sequence"] = f"{d[mask].mean():+.4f}"
        rows.append(row)
    print(md(rows, list(rows[0])))

    best_field = max(PORTRAIT, key=lambda f: ce["sequence"] - ce[f"sequence + {f}"])
    print(f"\nRESULT H_next={H_pop:.3f} I_portrait_segment={ce['popularity'] - ce['segment']:+.3f} "
          f"I_best_field={max(ce['popularity'] - ce[f] for f in PORTRAIT):+.3f} "
          f"I_last={ce['popularity'] - ce['last']:+.3f} I_sequence={ce['popularity'] - ce['sequence']:+.3f} "
          f"I_segment_given_last={ce['last'] - ce['last + segment']:+.3f} "
          f"I_segment_given_sequence={ce['sequence'] - ce['sequence + segment']:+.4f} "
          f"best_field_given_sequence={best_field}:{ce['sequence'] - ce[f'sequence + {best_field}']:+.4f} "
          f"P@20 pop={100 * hits['popularity'].mean():.2f} segment={100 * hits['segment'].mean():.2f} "
          f"last={100 * hits['last'].mean():.2f} last+segment={100 * hits['last + segment'].mean():.2f} "
          f"sequence={100 * hits['sequence'].mean():.2f} sequence+segment={100 * hits['sequence + segment'].mean():.2f}",
          flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
