"""The ``ubergnn`` command and the shared evaluation loop."""
import pickle

import numpy as np
import pandas as pd
import pytest

from sklearn_ubergnn import PopularityRecommender, SessionKNNRecommender
from sklearn_ubergnn._evaluation import evaluate_recommenders, format_table
from sklearn_ubergnn.cli import main


def test_demo_writes_table_and_plot(tmp_path, capsys):
    models = "popularity,session-knn,sr-gnn,uber-gnn-hybrid"
    assert main(["demo", "--quick", "--models", models, "--epochs", "2", "--output-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for name in models.split(","):
        assert f"| {name} |" in out
    assert (tmp_path / "results.md").read_text().count("\n|") >= 3
    assert (tmp_path / "results.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_demo_model_selection_and_unknown_model(tmp_path, capsys):
    main(["demo", "--quick", "--models", "popularity", "--no-plot", "--output-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert "| popularity |" in out and "session-knn" not in out
    assert not (tmp_path / "results.png").exists()
    with pytest.raises(SystemExit, match="unknown model.*bogus"):
        main(["demo", "--quick", "--models", "bogus", "--output-dir", str(tmp_path)])


def test_help_explains_every_option(capsys):
    with pytest.raises(SystemExit):
        main(["evaluate", "--help"])
    text = capsys.readouterr().out
    for option in ("--data", "--format", "--test-days", "--min-item-count", "--models", "--k", "--output-dir",
                   "--session-col", "--item-col", "--time-col", "--sep", "--max-test"):
        assert option in text


def _write_srgnn(folder):
    folder.mkdir()
    train = [[1, 2, 3], [2, 3, 4], [1, 2, 4], [3, 4, 1]] * 5
    with open(folder / "all_train_seq.txt", "wb") as f:
        pickle.dump(train, f)
    with open(folder / "test.txt", "wb") as f:
        pickle.dump(([[1, 2], [2, 3], [3]], [3, 4, 4]), f)


def test_evaluate_srgnn_folder(tmp_path, capsys):
    _write_srgnn(tmp_path / "data")
    main(["evaluate", "--data", str(tmp_path / "data"), "--format", "srgnn", "--output-dir", str(tmp_path / "o")])
    captured = capsys.readouterr()
    assert "3 test prefixes" in captured.err
    assert "| session-knn |" in captured.out


def test_evaluate_session_csv_applies_protocol(tmp_path, capsys):
    rng = np.random.default_rng(0)
    rows = []
    for session in range(300):
        day = session // 20
        for click, item in enumerate(rng.integers(0, 12, size=rng.integers(2, 6))):
            rows.append((session, int(item), day * 86400 + click))
    pd.DataFrame(rows, columns=["sid", "iid", "ts"]).to_csv(tmp_path / "clicks.csv", index=False)
    main(["evaluate", "--data", str(tmp_path / "clicks.csv"), "--format", "session-csv", "--session-col", "sid",
          "--item-col", "iid", "--time-col", "ts", "--test-days", "2", "--output-dir", str(tmp_path / "o")])
    assert "| popularity |" in capsys.readouterr().out


def test_user_models_need_portraits(tmp_path):
    _write_srgnn(tmp_path / "data")
    with pytest.raises(SystemExit, match="uber-gnn-hybrid need user portraits"):
        main(["evaluate", "--data", str(tmp_path / "data"), "--format", "srgnn", "--models", "uber-gnn-hybrid"])


def test_evaluate_bad_file_names_file_and_line(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("sid,iid,ts\n1,2,3\n1,2\n")
    with pytest.raises(SystemExit, match=r"bad\.csv, line 3"):
        main(["evaluate", "--data", str(bad), "--format", "session-csv", "--session-col", "sid",
              "--item-col", "iid", "--time-col", "ts"])
    with pytest.raises(SystemExit, match="does not exist"):
        main(["evaluate", "--data", str(tmp_path / "missing"), "--format", "srgnn"])


def test_evaluate_recommenders_matches_direct_metrics():
    X = [[1, 2], [2, 3], [3, 1], [1, 3]] * 10
    y = [3, 1, 2, 2] * 10
    models = {"pop": PopularityRecommender(), "knn": SessionKNNRecommender(k=5)}
    results = evaluate_recommenders(models, X, y, X[:8], y[:8], k=2, chunk_size=3)
    assert list(results["model"]) == ["pop", "knn"]
    ranked = models["knn"].recommend(X[:8], k=2)
    expected = np.mean([t in row for t, row in zip(y[:8], ranked)]) * 100
    assert results.loc[1, "P@2"] == pytest.approx(expected)
    assert (results[["fit_s", "recommend_s"]] >= 0).all().all()
    table = format_table(results)
    assert table.splitlines()[0].startswith("| model | P@2 | MRR@2")


def test_demo_stream_and_bipartite_tasks(tmp_path, capsys):
    assert main(["demo", "--task", "link", "--models", "edgebank,rnn", "--epochs", "1", "--no-plot",
                 "--output-dir", str(tmp_path / "link")]) == 0
    out = capsys.readouterr().out
    assert "EdgeBank" in out and "AP" in out and "transformer" not in out.lower()
    assert main(["demo", "--task", "bipartite", "--epochs", "2", "--output-dir", str(tmp_path / "bp")]) == 0
    out = capsys.readouterr().out
    for label in ("most popular", "BPR-MF", "LightGCN", "DisentangledGraphEmbedder"):
        assert label in out
    assert (tmp_path / "bp" / "bipartite_quality_time.png").read_bytes()[:4] == b"\x89PNG"


def test_evaluate_event_task_on_a_stream_file(tmp_path, capsys):
    rng = np.random.default_rng(0)
    n = 600
    source = rng.integers(0, 40, n)
    # objects 0-9 rate badly: the label is predictable from history
    rating = np.where(source < 10, -rng.integers(1, 10, n), rng.integers(1, 10, n))
    frame = pd.DataFrame({"source": source, "target": rng.integers(40, 80, n), "rating": rating,
                          "time": np.arange(n) * 60 + 1_300_000_000})
    path = tmp_path / "bitcoin-small.csv"
    frame.to_csv(path, header=False, index=False)
    assert main(["evaluate", "--task", "event", "--data", str(path), "--models", "lr-history,rnn",
                 "--epochs", "1", "--no-plot", "--output-dir", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    assert "ROC-AUC" in out and "rnn" in out.lower()
    with pytest.raises(SystemExit, match="needs --format"):
        main(["evaluate", "--data", str(path)])
    with pytest.raises(SystemExit, match="does not exist"):
        main(["evaluate", "--task", "link", "--data", str(tmp_path / "missing.csv")])


def test_evaluate_bipartite_task_on_a_movielens_folder(tmp_path, capsys):
    rng = np.random.default_rng(0)
    folder = tmp_path / "ml"
    folder.mkdir()
    rows = {(u, i) for u, i in zip(rng.integers(1, 41, 900), rng.integers(1, 61, 900))}
    lines = [f"{u}\t{i}\t{1 + (u + i) % 5}\t{880000000 + k}" for k, (u, i) in enumerate(sorted(rows))]
    (folder / "u.data").write_text("\n".join(lines) + "\n")
    assert main(["evaluate", "--task", "bipartite", "--data", str(folder), "--models", "most_popular,disentangled",
                 "--epochs", "2", "--no-plot", "--output-dir", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    assert "Recall@20" in out and "most popular" in out and "DisentangledGraphEmbedder" in out
