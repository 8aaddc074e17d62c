#!/usr/bin/env bash
# The main job on local defaults: see README "Demo".
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
exec .venv/bin/python scripts/demo.py "$@"
