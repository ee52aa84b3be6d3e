#!/usr/bin/env bash
# Build the documentation as HTML, failing on any warning (Sphinx -W), into $1 (default docs/_build/html).
# Needs the docs extra: pip install -e ".[docs]". Runs every script of examples/ in its --quick mode.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-docs/_build/html}"
python -m sphinx -W --keep-going -b html docs "$out"
echo "documentation built in $out"
