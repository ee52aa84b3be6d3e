"""The one-run benchmark suites (sklearn_ubergnn.benchmark), `ubergnn benchmark`, `python -m benchmarks`."""
import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from skorch.history import History

from sklearn_ubergnn.benchmark import (
    SUITES,
    ValidationTopK,
    format_summary,
    replace_section,
    run_suite,
    summarize_runs,
)
from sklearn_ubergnn.cli import main

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("suite", ["session", "dynamic", "bipartite"])
def test_each_suite_runs_every_model_tiny(suite, tmp_path):
    report = run_suite(suite, scale="tiny", isolate=False, output_dir=tmp_path, command="cmd",
                       log=lambda _: None)
    spec = SUITES[suite]
    expected = [m for m, reason in spec.models(report.data, {}).items() if not reason]
    assert list(report.summary.index) == expected
    assert not report.failed
    runs = pd.read_csv(tmp_path / "runs.csv")
    assert len(runs) == len(expected)
    for metric in spec.metrics:
        upper = 100 if spec.metric_digits == 2 else 1
        assert runs[metric].between(0, upper).all()
    assert (runs["fit_s"] >= 0).all() and (runs["peak_rss_mib"] > 0).all()
    lines = report.table.splitlines()
    assert lines[0].startswith("| model | " + " | ".join(spec.metrics) + " | s/epoch | epochs | fit s |")
    assert len(lines) == 2 + len(expected)
    assert report.section.startswith(f"<!-- suite:{suite}:tiny:start -->")
    assert report.section.rstrip().endswith(f"<!-- suite:{suite}:tiny:end -->")
    assert "`cmd`" in report.section
    for png in (f"{suite}_epochs.png", f"{suite}_quality_time.png"):
        assert (tmp_path / png).read_bytes()[:8] == PNG
    history = pd.read_csv(tmp_path / "history.csv")
    assert {"model", "seed", "epoch"} <= set(history.columns)


def test_session_suite_records_validation_metric_per_epoch(tmp_path):
    report = run_suite("session", scale="tiny", isolate=False, models=["sr-gnn", "uber-gnn-hybrid"],
                       options={"epochs": 2}, output_dir=tmp_path, plots=False, log=lambda _: None)
    history = pd.DataFrame(report.histories)
    assert set(history["model"]) == {"sr-gnn", "uber-gnn-hybrid"}
    assert history["valid_P@20"].between(0, 100).all() and history["valid_loss"].notna().all()
    # the history is the run that chose the epochs (refit=True by default); "epochs" counts the refit's too
    assert list(history.groupby("model").size()) == [2, 2]
    assert report.runs["epochs"].between(3, 4).all()


@pytest.mark.slow  # a spawned interpreter imports torch again: 5-10 s on a busy machine
def test_runs_in_a_fresh_process_with_its_own_peak_memory(tmp_path):
    report = run_suite("session", scale="tiny", models=["popularity"], output_dir=tmp_path, plots=False,
                       log=lambda _: None)
    row = report.runs.iloc[0]
    assert row["model"] == "popularity" and not report.failed
    assert row["peak_rss_mib"] >= row["data_rss_mib"] > 0
    assert "fresh process" in report.section


def test_data_without_portraits_skips_uber_gnn_variants(tmp_path, monkeypatch):
    folder = tmp_path / "srgnn"
    folder.mkdir()
    with open(folder / "all_train_seq.txt", "wb") as f:
        pickle.dump([[1, 2, 3], [2, 3, 4], [1, 2, 4], [3, 4, 1]] * 5, f)
    with open(folder / "test.txt", "wb") as f:
        pickle.dump(([[1, 2], [2, 3], [3]], [3, 4, 4]), f)
    report = run_suite("session", data=folder, isolate=False, seeds=1, models=["popularity", "sr-gnn",
                                                                                "uber-gnn-hybrid"],
                       options={"epochs": 1, "hidden_size": 8}, output_dir=tmp_path / "out", plots=False,
                       log=lambda _: None)
    assert list(report.summary.index) == ["popularity", "sr-gnn"]
    assert report.skipped == {"uber-gnn-hybrid": "these data have no user portraits"}
    assert "Skipped: UBER-GNN V4 `hybrid` + portrait (these data have no user portraits)" in report.section


def test_unknown_model_and_option_are_reported():
    with pytest.raises(ValueError, match="unknown model.*bogus.*choose from"):
        run_suite("bipartite", scale="tiny", models=["bogus"], isolate=False, log=lambda _: None)
    with pytest.raises(ValueError, match="no option.*max_train"):
        run_suite("bipartite", scale="tiny", options={"max_train": 3}, isolate=False, log=lambda _: None)
    with pytest.raises(ValueError, match="unknown suite"):
        run_suite("graphs", scale="tiny")


def test_summary_table_mean_std_and_ranges():
    runs = pd.DataFrame({
        "model": ["pop", "gnn", "pop", "gnn"],
        "seed": [0, 0, 1, 1],
        "AP": [50.0, 90.0, 50.0, 92.0],
        "ROC-AUC": [60.0, 91.0, 62.0, 93.0],
        "fit_s": [0.001, 12.0, 0.001, 14.0],
        "epochs": [0, 4, 0, 6],
        "s_per_epoch": [np.nan, 3.0, np.nan, 2.0],
        "rows_per_s": [1e6, 2000.0, 1e6, 4000.0],
        "peak_rss_mib": [300.0, 700.0, 310.0, 720.0],
        "data_rss_mib": [290.0, 295.0, 290.0, 295.0],
    })
    summary = summarize_runs(runs, ["AP", "ROC-AUC"], order=["gnn", "pop"])
    assert list(summary.index) == ["gnn", "pop"]
    assert summary.loc["gnn", "AP_std"] == pytest.approx(np.std([90, 92], ddof=1))
    table = format_summary(summary, SUITES["dynamic"]).splitlines()
    # the link-only columns (AP hist, AP ind, MRR) read "–" where the runs lack them
    assert table[0] == ("| model | AP | ROC-AUC | AP hist | AP ind | MRR | s/epoch | epochs | fit s | scored rows/s "
                        "| peak RSS MiB |")
    assert table[2] == "| gnn | 91.00 ± 1.41 | 92.00 ± 1.41 | – | – | – | 2.5 | 4–6 | 13.0 | 3,000 | 720 (data 295) |"
    assert table[3] == "| pop | 50.00 ± 0.00 | 61.00 ± 1.41 | – | – | – | – | – | 0.001 | 1,000,000 | 310 (data 290) |"
    one_seed = format_summary(summarize_runs(runs[runs.seed == 0], ["AP", "ROC-AUC"]), SUITES["dynamic"])
    assert "| pop | 50.00 | 60.00 |" in one_seed


def test_replace_section_is_idempotent_and_leaves_the_rest(tmp_path):
    path = tmp_path / "RESULTS.md"
    head = "# Measured results\n\n## Lead's section\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"
    path.write_text(head)
    key = "suite:session:ml-100k"
    first = f"<!-- {key}:start -->\n## Suite\n\nold table\n<!-- {key}:end -->"
    replace_section(path, key, first)
    once = path.read_text()
    assert once.startswith(head) and once.endswith(first + "\n")
    path.write_text(once + "\n## Later section by the lead\n")
    second = first.replace("old table", "new table")
    replace_section(path, key, second)
    replace_section(path, key, second)
    text = path.read_text()
    assert text == once.replace("old table", "new table") + "\n## Later section by the lead\n"
    assert text.count(f"<!-- {key}:start -->") == 1
    other = "<!-- suite:dynamic:collegemsg:start -->\nx\n<!-- suite:dynamic:collegemsg:end -->"
    replace_section(path, "suite:dynamic:collegemsg", other)
    assert path.read_text().startswith(text.rstrip("\n")) and "new table" in path.read_text()
    with pytest.raises(ValueError, match="must start with"):
        replace_section(path, key, "no markers")


@pytest.mark.parametrize("suite", ["session", "dynamic", "bipartite"])
def test_suite_options_override_defaults_and_must_be_known(suite):
    spec = SUITES[suite]
    default = spec.config("tiny", {})
    assert default["scale"] == "tiny"
    name, value = next((k, v) for k, v in default.items() if isinstance(v, int) and k != "scale")
    assert spec.config("tiny", {name: value + 1})[name] == value + 1
    with pytest.raises(ValueError, match=rf"^the {suite} suite has no option\(s\) bogus, nope$"):
        spec.config("tiny", {"nope": 1, "bogus": 2})


def test_validation_topk_callback_counts_hits_and_reciprocal_ranks():
    class Net:
        history = History()

    net = Net()
    net.history.new_epoch()
    callback = ValidationTopK(k=2)
    callback.on_epoch_begin(net)
    scores = torch.tensor([[0.9, 0.5, 0.1], [0.1, 0.2, 0.7], [0.3, 0.2, 0.1]])
    y = torch.tensor([1, 0, 0])  # ranks 2, 3, 1 -> hits at 2: two of three; RR 1/2 + 0 + 1
    callback.on_batch_end(net, batch=(None, y), training=False, y_pred=scores)
    callback.on_batch_end(net, batch=(None, y), training=True, y_pred=scores)  # training batches ignored
    callback.on_epoch_end(net)
    assert net.history[-1, "valid_P@2"] == pytest.approx(100 * 2 / 3)
    assert net.history[-1, "valid_MRR@2"] == pytest.approx(100 * 1.5 / 3)


def test_cli_benchmark_help_explains_every_option(capsys):
    with pytest.raises(SystemExit):
        main(["benchmark", "--help"])
    text = capsys.readouterr().out
    for option in ("--suite", "--data", "--task", "--seeds", "--quick", "--tiny", "--models", "--epochs",
                   "--hidden-size", "--max-train", "--max-test", "--threads", "--output-dir", "--results",
                   "--write", "--no-write", "--in-process", "--no-plot"):
        assert option in text


def test_cli_benchmark_tiny_writes_results_only_when_asked(tmp_path, capsys):
    results = tmp_path / "RESULTS.md"
    results.write_text("# Results\n")
    argv = ["benchmark", "--suite", "bipartite", "--tiny", "--in-process", "--no-plot", "--output-dir",
            str(tmp_path / "out"), "--results", str(results)]
    assert main(argv) == 0
    assert "| most popular |" in capsys.readouterr().out
    assert results.read_text() == "# Results\n"  # tiny runs do not write by default
    assert main([*argv, "--write"]) == 0
    text = results.read_text()
    assert "<!-- suite:bipartite:tiny:start -->" in text
    assert "`ubergnn benchmark --suite bipartite --tiny --in-process" in text
    assert main(["benchmark", "--suite", "session", "--tiny", "--task", "link"]) == 2
    assert capsys.readouterr().err.endswith("ubergnn: error: --task applies to the dynamic suite only\n")


def test_python_m_benchmarks_is_the_same_command(capsys):
    from benchmarks.__main__ import main as benchmarks_main

    with pytest.raises(SystemExit):
        benchmarks_main(["run", "--help"])
    text = capsys.readouterr().out
    assert "--suite" in text and "benchmarks/RESULTS.md" in text.replace("\n", "").replace(" ", "")


def test_run_suite_takes_a_list_of_seeds(tmp_path):
    report = run_suite("session", scale="tiny", isolate=False, models=["popularity"], seeds=[4, 2],
                       output_dir=tmp_path, write=False, plots=False)
    assert report.runs["seed"].tolist() == [4, 2]
    with pytest.raises(ValueError, match="non-empty list"):
        run_suite("session", scale="tiny", seeds=[], output_dir=tmp_path, write=False, plots=False)
