#!/usr/bin/env bash
# Prometheus (Debian's package) for the promotion tests' real tier: the test fixture and the
# demo start it on loopback with a temporary config; the packaged service is not used.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

if command -v prometheus >/dev/null 2>&1; then
  exit 0
fi
need_apt prometheus || exit 0
# The package enables and starts its own service where systemd runs; nothing here needs it.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus 2>/dev/null; then
  systemctl disable --now prometheus >/dev/null 2>&1 || true
fi
command -v prometheus >/dev/null 2>&1 || setup_unavailable "prometheus is not on PATH after installing the Debian package"
