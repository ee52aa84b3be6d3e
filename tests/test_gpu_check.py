"""``python -m benchmarks gpu`` (benchmarks/gpu_check.py): the CUDA-test selection and the timed epochs.

The real-data run takes minutes; these tests use the script's ``--synthetic`` mode (tiny generated
data, every system in this process) and a throw-away test file.
"""
import math

import pytest
import torch

from benchmarks import gpu_check
from benchmarks.__main__ import main as benchmarks_main


def test_synthetic_cpu_run_times_every_system_and_writes_its_section(tmp_path):
    results = tmp_path / "RESULTS.md"
    results.write_text("# Measured results\n\nkept text\n")
    threads = torch.get_num_threads()
    lines = []
    for _ in range(2):  # the second write replaces the first
        status, rows, section = gpu_check.run_gpu_check(
            device="cpu", synthetic=True, run_tests=False, isolate=False, write=True, results_file=results,
            log=lines.append)
    assert status == 0
    assert torch.get_num_threads() == threads
    assert [row["system"] for row in rows] == list(gpu_check.SYSTEMS)
    for row in rows:
        assert row["device"] == "cpu" and row["memory"] == "peak RSS"
        assert row["epoch_s"] > 0 and row["fit_s"] >= row["epoch_s"] and row["peak_mib"] > 0
        assert 0 <= row["quality"] <= 100 and not math.isnan(row["quality"])
        assert row["threads"] >= 1
    assert lines[0].startswith(f"torch {torch.__version__}") and "torch thread(s)" in lines[0]
    text = results.read_text()
    key = "gpu-check:cpu-synthetic"
    assert text.startswith("# Measured results\n\nkept text\n")
    assert text.count(f"<!-- {key}:start -->") == 1 and text.count(f"<!-- {key}:end -->") == 1
    assert section in text and "| DisentangledGraphEmbedder |" in section
    assert "CUDA tests not run" in section


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message given without CUDA")
def test_cuda_without_cuda_is_a_usage_error(capsys):
    assert benchmarks_main(["gpu", "--device", "cuda", "--synthetic", "--no-tests"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "CUDA is not available" in err and "--device cpu" in err


def test_unknown_system_is_a_usage_error(capsys):
    assert benchmarks_main(["gpu", "--device", "cpu", "--systems", "ubergnn,lightgcn", "--no-tests"]) == 2
    assert "lightgcn" in capsys.readouterr().err


def test_cuda_tests_are_found_selected_and_failures_counted(tmp_path):
    names = {path.name for path in gpu_check.cuda_test_files()}
    assert {"test_ubergnn.py", "test_common.py"} <= names
    assert "test_readme.py" not in names  # mentions CUDA in a comment only
    assert "test_gpu_check.py" not in names  # asks whether CUDA is there, puts nothing on it
    fake = tmp_path / "test_fake.py"
    on_gpu = "device=" + '"cuda"'  # spelt in two pieces so that this file is no CUDA test itself
    fake.write_text(f"import torch\n\ndef test_on_gpu():\n    torch.zeros(1, {on_gpu})\n\n"
                    "def test_plain():\n    assert torch.cuda.is_available() or True\n")
    result = gpu_check.run_cuda_tests([fake])  # test_plain is deselected: nothing passes
    assert result["failed"] == 1 and result["passed"] == 0 and result["skipped"] == 0 and result["rc"] == 1
