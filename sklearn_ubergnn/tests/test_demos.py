"""The demos' headline line (headline model against its best baseline) and their plots."""
import math

import pandas as pd
import pytest

from sklearn_ubergnn.benchmark import SUITES, run_suite, suite_margin, summarize_runs
from sklearn_ubergnn.cli import main
from sklearn_ubergnn.evaluation import headline_margin, plot_results

PNG = b"\x89PNG\r\n\x1a\n"


def _scores():
    return pd.DataFrame(
        {"P@20": [44.0, 60.5, 67.25, 79.0, 78.25], "MRR@20": [10.0, 18.5, 18.25, 19.5, 18.0]},
        index=["popularity", "session-knn", "sr-gnn", "uber-gnn-mean", "uber-gnn-hybrid"],
    )


def test_headline_margin_against_the_best_baseline_by_the_first_metric():
    line = headline_margin(_scores(), headline="uber-gnn-hybrid", baselines=("popularity", "session-knn", "sr-gnn"),
                           metrics=["P@20", "MRR@20"])
    # sr-gnn is the best baseline on P@20 (a variant, uber-gnn-mean, is no baseline); the differences are signed
    assert line == "headline: uber-gnn-hybrid leads the best baseline (sr-gnn) by +11.00 P@20 (MRR@20 -0.25)"


def test_headline_margin_says_trails_and_ignores_absent_models():
    scores = _scores().drop(index="sr-gnn")
    line = headline_margin(scores, headline="popularity", baselines=("session-knn", "sr-gnn", "gru4rec"),
                           metrics=["P@20", "MRR@20"], digits=1)
    assert line == "headline: popularity trails the best baseline (session-knn) by -16.5 P@20 (MRR@20 -8.5)"
    assert headline_margin(scores, headline="gru4rec", baselines=("popularity",), metrics=["P@20"]) is None
    assert headline_margin(scores, headline="popularity", baselines=("gru4rec",), metrics=["P@20"]) is None


def test_suite_margin_on_a_summary_uses_the_means_and_the_suite_digits():
    runs = pd.DataFrame({
        "model": ["most_popular", "mf_bpr", "disentangled"] * 2,
        "seed": [0, 0, 0, 1, 1, 1],
        "Recall@20": [0.25, 0.30, 0.36, 0.25, 0.32, 0.38],
        "NDCG@20": [0.15, 0.19, 0.22, 0.15, 0.19, 0.24],
        "fit_s": [0.0, 4.0, 2.0, 0.0, 4.0, 2.0],
    })
    summary = summarize_runs(runs, SUITES["bipartite"].metrics)
    line = suite_margin(summary, SUITES["bipartite"])
    assert line == "headline: disentangled leads the best baseline (mf_bpr) by +0.0600 Recall@20 (NDCG@20 +0.0400)"


def test_suite_margin_on_evaluate_recommenders_rows_with_another_cutoff():
    results = _scores().rename(columns=lambda c: c.replace("20", "10")).rename_axis("model").reset_index()
    line = suite_margin(results, SUITES["session"])
    assert line.startswith("headline: uber-gnn-hybrid leads the best baseline (sr-gnn) by +11.00 P@10")


def test_every_suite_names_a_headline_and_its_baselines():
    for spec in SUITES.values():
        assert spec.headline not in spec.baselines and spec.baselines


def test_suite_report_carries_the_margin_into_the_section(tmp_path):
    report = run_suite("dynamic", scale="tiny", isolate=False, models=["edgebank", "dag-lstm"],
                       output_dir=tmp_path, plots=False, log=lambda _: None)
    assert report.margin.startswith("headline: dag-lstm ") and "(edgebank)" in report.margin
    assert f"H{report.margin[1:]} (mean over seeds)." in report.section


def test_demo_prints_the_margin_after_the_table(tmp_path, capsys):
    main(["demo", "--quick", "--models", "popularity,session-knn,uber-gnn-hybrid", "--epochs", "1",
          "--no-plot", "--output-dir", str(tmp_path)])
    out = capsys.readouterr().out.splitlines()
    margin = [i for i, line in enumerate(out) if line.startswith("headline: uber-gnn-hybrid ")]
    assert margin and out[margin[0] - 1].startswith("| uber-gnn-hybrid |")
    assert "(session-knn)" in out[margin[0]] or "(popularity)" in out[margin[0]]
    assert "headline: uber-gnn-hybrid" in (tmp_path / "results.md").read_text()


def test_quality_time_panel_names_models_in_a_legend(tmp_path, monkeypatch):
    import matplotlib.axes

    notes = []
    monkeypatch.setattr(matplotlib.axes.Axes, "annotate", lambda self, *a, **k: notes.append(a))
    results = _scores().rename_axis("model").reset_index().assign(fit_s=[0.01, 0.02, 2.5, 3.2, 3.3])
    path = plot_results(results, tmp_path / "r.png")
    assert path.read_bytes()[:8] == PNG
    assert not notes  # no text labels beside the points, so none can overlap


@pytest.mark.slow  # 20-40 s on 2 busy cores
@pytest.mark.parametrize(("suite", "task"), [("dynamic", "link"), ("dynamic", "classify"), ("bipartite", None)])
def test_quick_demos_show_the_headline_model_ahead_or_say_why(suite, task, tmp_path):
    # The demos must show the headline model ahead of its baselines, or say why not.
    spec = SUITES[suite]
    baselines = {"link": [b for b in spec.baselines if b != "lr-history"], "classify": ["lr-history"]}.get(
        task, list(spec.baselines))
    models = [spec.headline, *baselines]
    report = run_suite(suite, scale="quick", isolate=False, models=models, options={"task": task} if task else None,
                       output_dir=tmp_path, plots=False, log=lambda _: None)
    assert not report.failed
    means = report.summary[f"{spec.primary}_mean"]
    best = max(baselines, key=lambda b: means[b])
    assert not math.isnan(means[best])
    if means[spec.headline] > means[best]:
        assert " leads the best baseline " in report.margin
    else:  # behind: the demo's notes name the baseline ahead and say why
        assert " trails the best baseline " in report.margin
        named = best in report.notes or spec.labels[best].split(" (")[0] in report.notes
        assert "trails" in report.notes and named, (best, report.notes)
