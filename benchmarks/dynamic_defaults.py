"""Link prediction with ``DynamicGraphEmbedder``'s defaults on a stream (issue #17's figures).

Protocol: chronological 70/15/15 by rows; the model is fitted on the first 85 % with the
estimator's own early stopping (its ``validation_fraction`` tail of those rows); the last 15 % are
streamed in batches of 200 (:func:`~sklearn_ubergnn.evaluation.evaluate_stream_links`): each
test row against one negative with its source and time and a uniform destination among all
objects of the stream, scored, then appended. Two more passes, each from a copy of the fitted
model, use DyGLib's historical and inductive negatives (``ap_hist``, ``ap_ind``). ``email`` is
the whole shared file: it is already the first quarter of SNAP's email-Eu-core-temporal (83,083
rows), as in the dynamic suite. ``syntheticK`` (K = 0..3) is one of the four ``make_interactions``
streams of RESULTS.md (100 objects, 5,000 rows, a planted mechanism each).

Usage::

    python benchmarks/dynamic_defaults.py collegemsg|email|bitcoin|synthetic0..3 SEED ['{"object_dim": 16}']

prints one JSON line: AP and ROC-AUC in percent (random negatives), AP with historical and
inductive negatives, EdgeBank's AP on the same random negatives, fit seconds, epochs, the validation losses per epoch and that of the start
(the wide part's logistic regression), and whether the start was kept. Set ``UBERGNN_SHARED_DATA`` if
the data folder is not ``../shared/data``.
"""
import copy
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from sklearn_ubergnn.benchmark._dynamic import synthetic_stream
from sklearn_ubergnn.datasets import load_interactions_csv
from sklearn_ubergnn.dynamic import DynamicGraphEmbedder, EdgeBankBaseline
from sklearn_ubergnn.evaluation import evaluate_stream_links

DATA = Path(os.environ.get("UBERGNN_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
FILES = {"collegemsg": ("collegemsg/CollegeMsg.txt", "collegemsg"),
         "email": ("email-eu-temporal/email-Eu-core-temporal.txt", "collegemsg"),
         "bitcoin": ("bitcoin-otc/soc-sign-bitcoinotc.csv", "bitcoin")}


def load(data):
    """The stream ``data`` as a (source, target, time) table in time order."""
    if data.startswith("synthetic"):
        df = synthetic_stream(int(data.removeprefix("synthetic")))
    else:
        path, fmt = FILES[data]
        df = load_interactions_csv(DATA / path, format=fmt)
    return df[["source", "target", "time"]]


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    data, seed = argv[0], int(argv[1])
    params = json.loads(argv[2]) if len(argv) > 2 else {}
    df = load(data)
    cut = int(0.85 * len(df))
    objects = np.unique(df[["source", "target"]].to_numpy())
    start = time.perf_counter()
    model = DynamicGraphEmbedder(random_state=seed, **params).fit(df[:cut])
    fit_s = time.perf_counter() - start
    result = evaluate_stream_links(copy.deepcopy(model), df[cut:], objects, random_state=seed)
    other = {f"ap_{kind[:4]}": round(100 * evaluate_stream_links(
        copy.deepcopy(model), df[cut:], objects, random_state=seed, negatives=kind, history=df[:cut])["ap"], 2)
        for kind in ("historical", "inductive")}
    edgebank = evaluate_stream_links(EdgeBankBaseline().fit(df[:cut]), df[cut:], objects, random_state=seed)
    history = model.history_
    print(json.dumps({"data": data, "seed": seed, "params": params, "ap": round(100 * result["ap"], 2),
                      "auc": round(100 * result["auc"], 2), **other,
                      "edgebank_ap": round(100 * edgebank["ap"], 2), "fit_s": round(fit_s, 1), "epochs": len(history),
                      "valid": [round(v, 4) for v in history[:, "valid_loss"]],
                      "start": history[0].get("valid_loss_start"),
                      "start_kept": history[-1].get("start_kept")}), flush=True)


if __name__ == "__main__":
    main()
