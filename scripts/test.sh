#!/usr/bin/env bash
# The test command: set-up steps, lint, types, layering, then the whole pytest suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
export PATH="$PWD/.venv/bin:$PATH"
for step in scripts/setup.d/*.sh; do
  [ "$(basename "$step")" = lib.sh ] && continue
  # one set-up at a time on a machine: two checkouts never build the same engine at once
  echo "== set-up: $(basename "$step")"; flock /tmp/.infstack-setup.lock bash "$step"
done
echo "== ruff"; ruff check .
echo "== mypy (strict on every shipped package)"; mypy inference_core airflow_provider pulumi_components
echo "== layering"; lint-imports
echo "== pytest"; pytest -q -p no:cacheprovider "$@"
