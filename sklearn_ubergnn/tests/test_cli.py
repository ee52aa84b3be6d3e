"""The ``ubergnn`` command and the shared evaluation loop."""
import pickle

import numpy as np
import pandas as pd
import pytest

from sklearn_ubergnn import PopularityRecommender, SessionKNNRecommender
from sklearn_ubergnn.cli import main
from sklearn_ubergnn.evaluation import evaluate_recommenders, format_table


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
    assert main(["demo", "--quick", "--models", "bogus", "--output-dir", str(tmp_path)]) == 2
    assert_one_error_line(capsys, "unknown model(s) bogus; choose from popularity, ")


def test_help_explains_every_option(capsys):
    with pytest.raises(SystemExit):
        main(["evaluate", "--help"])
    text = capsys.readouterr().out
    for option in ("--data", "--format", "--test-days", "--min-item-count", "--models", "--k", "--output-dir",
                   "--session-col", "--item-col", "--time-col", "--sep", "--max-test"):
        assert option in text


def assert_one_error_line(capsys, expected):
    """stderr ends with one line ``ubergnn: error: <expected>...``, and no traceback was printed."""
    err = capsys.readouterr().err
    assert "Traceback" not in err
    last = err.rstrip("\n").splitlines()[-1]
    assert last.startswith(f"ubergnn: error: {expected}"), err
    return last


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


def test_user_models_need_portraits(tmp_path, capsys):
    _write_srgnn(tmp_path / "data")
    assert main(["evaluate", "--data", str(tmp_path / "data"), "--format", "srgnn", "--models",
                 "uber-gnn-hybrid"]) == 2
    assert_one_error_line(capsys, "uber-gnn-hybrid need user portraits")


def test_evaluate_bad_file_names_file_and_line(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("sid,iid,ts\n1,2,3\n1,2\n")
    assert main(["evaluate", "--data", str(bad), "--format", "session-csv", "--session-col", "sid",
                 "--item-col", "iid", "--time-col", "ts"]) == 2
    assert_one_error_line(capsys, f"cannot read {bad} as session-csv: {bad}, line 3: expected 3 fields")
    assert main(["evaluate", "--data", str(tmp_path / "missing"), "--format", "srgnn"]) == 2
    assert_one_error_line(capsys, f"--data {tmp_path / 'missing'} does not exist")


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
    assert main(["evaluate", "--data", str(path)]) == 2
    assert_one_error_line(capsys, "evaluate --task session needs --format")
    assert main(["evaluate", "--task", "link", "--data", str(tmp_path / "missing.csv")]) == 2
    assert_one_error_line(capsys, "--data")


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


# ------------------------------------------------------------------------------------------------
# user errors: one line on stderr, exit status 2, no traceback; --debug / UBERGNN_DEBUG=1 re-raise
# ------------------------------------------------------------------------------------------------
@pytest.fixture
def no_loading(monkeypatch):
    """Fail the test if any data set is loaded or any suite runs."""
    def refuse(*args, **kwargs):
        raise AssertionError("data loaded before the arguments were checked")

    monkeypatch.setattr("sklearn_ubergnn.cli.load_session_split", refuse)
    monkeypatch.setattr("sklearn_ubergnn.cli.synthetic_session_split", refuse)
    monkeypatch.setattr("sklearn_ubergnn.benchmark.run_suite", refuse)


@pytest.mark.parametrize("argv, message", [
    (["evaluate", "--data", ".", "--format", "srgnn", "--k", "0"], "argument --k: must be a positive integer"),
    (["demo", "--epochs", "0"], "argument --epochs: must be a positive integer, got '0'"),
    (["demo", "--n-sessions", "0"], "argument --n-sessions: must be a positive integer, got '0'"),
    (["demo", "--batch-size", "-5"], "argument --batch-size: must be a positive integer, got '-5'"),
    (["demo", "--lr", "nan"], "argument --lr: must be a positive number, got 'nan'"),
    (["demo", "--k", "ten"], "argument --k: must be a positive integer, got 'ten'"),
    (["evaluate", "--data", ".", "--format", "srgnn", "--max-test", "0"], "argument --max-test: must be a"),
    (["evaluate", "--data", ".", "--test-days", "-1"], "argument --test-days: must be a positive number"),
    (["benchmark", "--suite", "session", "--epochs", "0"], "argument --epochs: must be a positive integer"),
    (["benchmark", "--suite", "dynamic", "--seeds", "0"], "argument --seeds: must be a positive integer"),
    (["demo", "--task", "nope"], "argument --task: invalid choice: 'nope'"),
    (["demo", "--threads", "0"], "argument --threads: must be a non-zero integer (-1 for every CPU)"),
    (["benchmark", "--suite", "session", "--threads", "x"], "argument --threads: must be a non-zero integer"),
    (["demo", "--quiet", "--verbose"], "argument --verbose: not allowed with argument --quiet"),
    ([], "the following arguments are required"),
])
def test_bad_arguments_are_one_line_before_any_loading(argv, message, capsys, no_loading):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"ubergnn: error: {message}"), err
    assert "--help" in err  # points at the help of the command


@pytest.mark.parametrize("argv, message", [
    (["demo", "--models", "bogus"], "unknown model(s) bogus"),
    (["demo", "--task", "link", "--n-sessions", "100"], "--n-sessions applies to --task session only, not link"),
    (["demo", "--task", "bipartite", "--quick", "--n-sessions", "9"], "--n-sessions applies to --task session"),
    (["benchmark", "--suite", "bipartite", "--hidden-size", "8"], "--hidden-size does not apply to the"),
])
def test_inconsistent_options_are_refused_before_any_loading(argv, message, capsys, no_loading):
    assert main(argv) == 2
    assert_one_error_line(capsys, message)


def test_evaluate_data_errors_are_one_line(tmp_path, capsys):
    folder = tmp_path / "folder"
    folder.mkdir()
    assert main(["evaluate", "--data", str(folder), "--format", "diginetica"]) == 2
    assert_one_error_line(capsys, f"Diginetica file not found: {folder} (it is a directory)")
    assert main(["evaluate", "--data", str(folder), "--format", "srgnn"]) == 2
    assert_one_error_line(capsys, f"SR-GNN file not found: {folder / 'all_train_seq.txt'}")
    assert main(["evaluate", "--task", "link", "--data", str(folder)]) == 2
    assert_one_error_line(capsys, f"interactions file not found: {folder} (it is a directory)")
    deep = tmp_path / "deep"
    _write_srgnn(deep)
    (deep / "test.txt").write_bytes(b"\x80\x02" + b"]" * 50_000 + b"a" * 49_999 + b".")
    assert main(["evaluate", "--data", str(deep), "--format", "srgnn"]) == 2
    assert_one_error_line(capsys, f"cannot read {deep} as srgnn: {deep / 'test.txt'}: expected a pair")
    _write_srgnn(tmp_path / "data")
    not_a_folder = tmp_path / "out.txt"
    not_a_folder.write_text("a file where the output folder should be")
    assert main(["evaluate", "--data", str(tmp_path / "data"), "--format", "srgnn", "--models", "popularity",
                 "--output-dir", str(not_a_folder)]) == 2
    assert_one_error_line(capsys, "File exists: ")


@pytest.mark.parametrize("command", [
    ["evaluate", "--format", "diginetica"],
    ["evaluate", "--format", "session-csv"],
    ["evaluate", "--task", "link"],
    ["benchmark", "--suite", "dynamic", "--in-process"],  # the full scale loads --data
])
def test_binary_data_is_not_a_text_file(command, tmp_path, capsys):
    path = tmp_path / "clicks.csv"
    path.write_bytes(b"sessionId,itemId\n" + bytes(range(256)) * 8)
    assert main([*command, "--data", str(path), "--output-dir", str(tmp_path / "o")]) == 2
    line = assert_one_error_line(capsys, "")
    assert f"{path}, line 2, column 1: not a text file" in line
    assert line.isascii() and line.isprintable()  # never the raw bytes
    assert len(line.replace(str(path), "")) < 250


def test_debug_flag_and_environment_show_the_traceback(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("UBERGNN_DEBUG", raising=False)
    argv = ["evaluate", "--data", str(tmp_path), "--format", "diginetica"]
    with pytest.raises(FileNotFoundError, match="it is a directory"):
        main(["--debug", *argv])
    with pytest.raises(FileNotFoundError):
        main([*argv, "--debug"])  # after the command too
    monkeypatch.setenv("UBERGNN_DEBUG", "1")
    with pytest.raises(FileNotFoundError):
        main(argv)
    monkeypatch.setenv("UBERGNN_DEBUG", "0")
    assert main(argv) == 2


def test_interrupt_and_internal_errors(monkeypatch, capsys):
    monkeypatch.delenv("UBERGNN_DEBUG", raising=False)

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr("sklearn_ubergnn.cli._run_command", interrupted)
    assert main(["demo"]) == 130
    assert capsys.readouterr().err == "ubergnn: interrupted\n"

    def bug(*args):
        raise AttributeError("'Thing' object has no attribute 'x'\nsecond line")

    monkeypatch.setattr("sklearn_ubergnn.cli._run_command", bug)
    assert main(["demo"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("ubergnn: internal error: AttributeError: 'Thing' object has no attribute 'x' second")
    assert "--debug" in err
    with pytest.raises(AttributeError):
        main(["--debug", "demo"])


def test_demo_quick_acts_on_every_task(monkeypatch, tmp_path):
    seen = {}

    def fake_run_suite(suite, **kwargs):
        seen[suite] = kwargs["scale"]
        raise ValueError("stop here")

    monkeypatch.setattr("sklearn_ubergnn.benchmark.run_suite", fake_run_suite)
    for task, suite in (("link", "dynamic"), ("bipartite", "bipartite")):
        assert main(["demo", "--task", task, "--quick", "--output-dir", str(tmp_path)]) == 2
        assert seen.pop(suite) == "tiny"
        assert main(["demo", "--task", task, "--output-dir", str(tmp_path)]) == 2
        assert seen.pop(suite) == "quick"


def test_demo_shows_training_on_stderr_and_results_on_stdout(tmp_path, capsys):
    """Each neural model is named and its epoch table (with validation P@20/MRR@20) goes to stderr."""
    argv = ["demo", "--quick", "--models", "popularity,sr-gnn", "--epochs", "2", "--no-plot",
            "--output-dir", str(tmp_path)]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "fitting sr-gnn" in captured.err and "valid_P@20" in captured.err and "valid_MRR@20" in captured.err
    assert "train_loss" not in captured.out and "| sr-gnn |" in captured.out
    assert main([*argv, "--quiet"]) == 0
    assert "train_loss" not in capsys.readouterr().err


def test_threads_reach_every_neural_model(monkeypatch, tmp_path):
    """``--threads`` is the models' ``n_jobs`` (session task) and the suites' ``threads`` (other tasks)."""
    fitted = {}

    def fake_evaluate(models, *args, **kwargs):
        fitted.update({name: model.get_params().get("n_jobs", "none") for name, model in models.items()})
        raise ValueError("stop here")

    monkeypatch.setattr("sklearn_ubergnn.cli.evaluate_recommenders", fake_evaluate)
    main(["demo", "--quick", "--models", "popularity,sr-gnn,gru4rec", "--threads", "-1",
          "--output-dir", str(tmp_path)])
    assert fitted == {"popularity": "none", "sr-gnn": -1, "gru4rec": -1}
    seen = {}

    def fake_run_suite(suite, **kwargs):
        seen.update(threads=kwargs["threads"], verbose=kwargs["verbose"], seeds=kwargs["seeds"])
        raise ValueError("stop here")

    monkeypatch.setattr("sklearn_ubergnn.benchmark.run_suite", fake_run_suite)
    main(["demo", "--task", "link", "--threads", "2", "--quiet", "--seed", "3", "--output-dir", str(tmp_path)])
    assert seen == {"threads": 2, "verbose": 0, "seeds": [3]}  # --seed acts on every task
    main(["demo", "--task", "link", "--output-dir", str(tmp_path)])
    assert seen == {"threads": None, "verbose": 1, "seeds": [0]}  # stderr is not a terminal under pytest
