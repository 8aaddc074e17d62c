#!/usr/bin/env bash
# PostgreSQL (Debian's package) for the real-Airflow tier: tests/airflow_real starts a private
# cluster on loopback (initdb + pg_ctl from /usr/lib/postgresql/*/bin, as the postgres user when
# run as root) in a temporary directory; the packaged service is not used.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

found() { compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null; }
if found; then
  exit 0
fi
need_apt postgresql || exit 0
# The package starts its own cluster where an init system runs; nothing here needs it.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet postgresql 2>/dev/null; then
  systemctl disable --now postgresql >/dev/null 2>&1 || true
fi
found || setup_unavailable "no /usr/lib/postgresql/*/bin/pg_ctl after installing the Debian package"
