# shellcheck shell=bash
# Shared by scripts/toolchain, scripts/cluster, scripts/pulumi-toolchain, scripts/real-node and scripts/images
# (sourced, never run). Set LOG_PREFIX before sourcing. Every function here is pure shell, a Go command or
# apt-get update; nothing is downloaded but Go modules and Debian package lists.

# log MESSAGE...: one line on stderr, prefixed with the calling script's name.
log() { printf '[%s] %s\n' "${LOG_PREFIX:-script}" "$*" >&2; }

# cache_dir NAME: the per-user cache directory of one script (outside the clone, so fresh clones and CI reuse it).
cache_dir() { echo "${XDG_CACHE_HOME:-$HOME/.cache}/stateful-apps/$1"; }

# pins_key: a 12-character key for a cache, from the pins on stdin and the Go version that builds them; a new pin
# or Go version gives a new cache directory (the old one stays until removed by hand).
pins_key() { { cat; go version 2>/dev/null || echo "no-go"; } | sha256sum | cut -c1-12; }

# go_env CMD...: the environment every Go command here runs in. Low priority (nice 10: other work shares this
# machine); GOFLAGS=-mod=mod lets the wrapper modules resolve; CGO off gives static binaries; GOTOOLCHAIN=auto
# lets a module that needs a newer Go fetch it from the proxy; GOWORK=off ignores any go.work around the cache.
go_env() { nice -n 10 env GOFLAGS=-mod=mod CGO_ENABLED=0 GOTOOLCHAIN=auto GOWORK=off "$@"; }

# version_ge A B: A >= B for versions like v3.274.1.
version_ge() { [ "$(printf '%s\n%s\n' "${1#v}" "${2#v}" | sort -V | head -n1)" = "${2#v}" ]; }

# module_dir MODULE@VERSION: downloads the module (zip, go.mod) and prints its directory in the module cache;
# on a refusal prints the proxy's answer and returns 3.
module_dir() {
  local tmp out
  tmp=$(mktemp -d)
  (cd "$tmp" && go_env go mod init local/probe >/dev/null 2>&1)
  if ! out=$(cd "$tmp" && go_env go mod download -json "$1" 2>&1) || grep -q '"Error"' <<<"$out"; then
    rm -rf "$tmp"
    log "go mod download $1 failed; the module proxy answered:"
    printf '%s\n' "$out" >&2
    return 3
  fi
  rm -rf "$tmp"
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' <<<"$out" | head -n1
}

# apt_update: `apt-get update`, retried for a minute: scripts/toolchain and scripts/real-node may both need it at
# once (.ci/run builds side by side), and apt refuses a second run while the first holds its lock.
apt_update() {
  local i
  for i in 1 2 3 4 5 6; do
    apt-get update -q >&2 && return 0
    [ "$i" = 6 ] || { log "apt-get update failed (another apt running?); trying again in 10 s"; sleep 10; }
  done
  return 1
}
