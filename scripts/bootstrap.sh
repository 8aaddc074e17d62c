#!/usr/bin/env bash
# Create ./.venv (Python 3.11+) and install the project with its dev extra.
# Re-running is cheap: the install is skipped when pyproject.toml has not changed.
# Concurrent runs are serialised with a lock so two installs never write the venv at once.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
exec 9>".venv.lock"
flock 9
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.installed-$(cat pyproject.toml packaging/inference-sandbox/pyproject.toml | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check uv
  VIRTUAL_ENV="$PWD/.venv" .venv/bin/uv pip install --quiet --compile-bytecode -e ".[dev]" \
    -e ./packaging/inference-sandbox
  rm -f .venv/.installed-* && touch "$stamp"
fi
