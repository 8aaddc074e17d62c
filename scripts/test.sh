#!/usr/bin/env bash
# The test command: lint, types, layering, then the whole pytest suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
export PATH="$PWD/.venv/bin:$PATH"
echo "== ruff"; ruff check .
echo "== mypy (strict on inference_core)"; mypy inference_core
echo "== layering"; lint-imports
echo "== pytest"; pytest -q -p no:cacheprovider "$@"
