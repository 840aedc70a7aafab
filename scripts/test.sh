#!/usr/bin/env bash
# Sets up (scripts/setup.sh) then runs every check CI runs: lint, format, types, layers, tests.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
py=.venv/bin/python
echo "== ruff check" && "$py" -m ruff check src tests benchmarks scripts
echo "== ruff format --check" && "$py" -m ruff format --check src tests benchmarks scripts
echo "== mypy --strict (src, tests, benchmarks: [tool.mypy] files)" && "$py" -m mypy
echo "== import-linter" && .venv/bin/lint-imports
echo "== pytest" && "$py" -m pytest -q "$@"
