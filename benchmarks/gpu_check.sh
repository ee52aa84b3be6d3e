#!/usr/bin/env bash
# Ready for a GPU: run every device="cuda" test, then time one training epoch of each system on real
# data (UBER-GNN on YOOCHOOSE 1/64, the dynamic encoders on CollegeMsg, the disentangled GNN on
# MovieLens-100k) and print a table. Arguments pass through to `python -m benchmarks gpu`:
#
#   benchmarks/gpu_check.sh                      # on a CUDA machine: tests + timings (< 8 min on an H200)
#   benchmarks/gpu_check.sh --write              # ... and put the table in benchmarks/RESULTS.md
#   benchmarks/gpu_check.sh --device cpu --quick # anywhere: the CPU run on less data
#
# Uses .venv/bin/python when the checkout has one, else $PYTHON, else python.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -z "${PYTHON:-}" && -x .venv/bin/python ]]; then PYTHON=.venv/bin/python; fi
exec "${PYTHON:-python}" -m benchmarks gpu "$@"
