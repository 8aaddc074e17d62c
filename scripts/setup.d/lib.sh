#!/usr/bin/env bash
# Helpers for the set-up steps in this folder (sourced, not run).

# need_apt PACKAGE... : install the Debian packages that are missing (apt-get update once per boot).
need_apt() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ]; then
    setup_unavailable "Debian packages ${missing[*]} are missing and this user cannot install them"
    return 1
  fi
  (
    flock 8
    if [ ! -f /tmp/.infstack-apt-updated ]; then
      DEBIAN_FRONTEND=noninteractive apt-get update -qq && touch /tmp/.infstack-apt-updated
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  ) 8>/tmp/.infstack-apt.lock
}

# setup_unavailable MESSAGE : fail when the real tier is required, else warn.
setup_unavailable() {
  if [ "${INFSTACK_REQUIRE_REAL:-}" = 1 ]; then
    echo "set-up: $1 (INFSTACK_REQUIRE_REAL=1)" >&2
    exit 1
  fi
  echo "set-up: $1; the real-engine tests will skip" >&2
}

# Where the Go-built tools go, as <tool>-<version> (tests/real/tools.py reads the same folder).
cache="${INFSTACK_TOOLS_CACHE:-$HOME/.cache/inference-stacks/tools}"

# version MODULE_DIR MODULE : the version MODULE_DIR/go.mod requires of MODULE.
version() { (cd "$1" && go list -m -f '{{.Version}}' "$2"); }

# build MODULE_DIR PACKAGE TOOL VERSION [LDFLAGS] : go build PACKAGE as $cache/TOOL-VERSION unless
# it is there.
build() {
  local dir="$1" pkg="$2" tool="$3" version="$4" ldflags="-s -w ${5:-}" out
  out="$cache/$tool-$version"
  [ -x "$out" ] && return 0
  echo "set-up: building $tool $version (go build $pkg) into $cache"
  local start=$SECONDS
  if (cd "$dir" && nice -n 10 go build -trimpath -ldflags="$ldflags" -o "$out.tmp" "$pkg"); then
    mv "$out.tmp" "$out"
    echo "set-up: built $tool $version in $((SECONDS - start))s"
  else
    rm -f "$out.tmp"
    setup_unavailable "go build $pkg failed"
  fi
}
