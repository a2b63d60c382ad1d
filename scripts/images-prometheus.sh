# The Prometheus images of scripts/images (sourced by it, never run): Prometheus, the Prometheus Operator and its
# prometheus-config-reloader, each one static Go binary built from its Go module (pins: the '# --- prometheus images'
# section of scripts/real-node.env; the operator's version is CLUSTER_ADDON_PROMETHEUS_OPERATOR_VERSION in
# scripts/control-plane.env, the version of the CRDs scripts/cluster applies). scripts/prometheus runs them.
# shellcheck shell=bash

PROMETHEUS_LDFLAGS="-s -w"

# prometheus_bin_dir: the binaries' cache (an image rebuild does not recompile them).
prometheus_bin_dir() {
  echo "$(cache_dir images)/bin/prometheus-$IMAGE_PROMETHEUS_VERSION-operator-${CLUSTER_ADDON_PROMETHEUS_OPERATOR_VERSION#v}-$(
    echo "$IMAGE_PROMETHEUS_VERSION $IMAGE_PROMETHEUS_MODULE_VERSION $CLUSTER_ADDON_PROMETHEUS_OPERATOR_VERSION $PROMETHEUS_LDFLAGS $IMAGE_PROMETHEUS_BUILD_RECIPE" | pins_key
  )"
}

# version_ldflags VERSION: what upstream's promu stamps into github.com/prometheus/common/version (the binaries
# report it in --version, build_info and the operator's user agent).
version_ldflags() { echo "$PROMETHEUS_LDFLAGS -X github.com/prometheus/common/version.Version=$1 -X github.com/prometheus/common/version.Branch=HEAD"; }

# check_module_version DIR VERSION: the module's VERSION file (upstream's release number) says VERSION.
check_module_version() {
  local got
  got=$(cat "$1/VERSION" 2>/dev/null || true)
  [ "$got" = "$2" ] || die "$1/VERSION says '$got', not $2: the module version pinned is another release"
}

# Prometheus: cmd/prometheus of github.com/prometheus/prometheus at IMAGE_PROMETHEUS_MODULE_VERSION, built inside a
# copy of the module (its own go.mod and go.sum, replaces included). Upstream picks the built-in service discoveries
# in plugins.yml, generated into plugins/plugins.go; the copy's plugins.go registers only the kubernetes one (the
# file/http ones come with plugins/minimum.go), which is all the Prometheus Operator's configuration uses and keeps
# the build to client-go instead of every cloud's SDK. (go build -overlay would do it without a copy, but refuses
# files in the module cache.) The UI's assets are an npm build upstream and are not embedded (no builtinassets
# tag): the HTTP API, scraping and rules are complete.
build_prometheus_bin() {
  local out=$1 work dir
  dir=$(module_dir "github.com/prometheus/prometheus@$IMAGE_PROMETHEUS_MODULE_VERSION") || die "cannot download the Prometheus module"
  check_module_version "$dir" "$IMAGE_PROMETHEUS_VERSION"
  work=$(mktemp -d)
  cp -r "$dir" "$work/prometheus"
  chmod -R u+w "$work/prometheus"
  printf '%s\n' "package plugins" "" "// Register the kubernetes service discovery (the one the Prometheus Operator's configuration uses)." \
    "import _ \"github.com/prometheus/prometheus/discovery/kubernetes\"" >"$work/prometheus/plugins/plugins.go"
  (cd "$work/prometheus" && go_env go build -p 2 -trimpath -ldflags "$(version_ldflags "$IMAGE_PROMETHEUS_VERSION")" -o "$out" ./cmd/prometheus) \
    || { rm -rf "$work"; die "go build github.com/prometheus/prometheus/cmd/prometheus@$IMAGE_PROMETHEUS_MODULE_VERSION failed"; }
  rm -rf "$work"
}

# The operator and the config reloader: cmd/operator and cmd/prometheus-config-reloader of
# github.com/prometheus-operator/prometheus-operator, whose go.mod replaces its own pkg/apis/monitoring and
# pkg/client with ./pkg/...: Go ignores that in a dependency, so the wrapper requires both at the same version.
build_operator_bins() {
  local out=$1 work dir v=$CLUSTER_ADDON_PROMETHEUS_OPERATOR_VERSION m=github.com/prometheus-operator/prometheus-operator
  work=$(mktemp -d)
  (cd "$work" && go_env go mod init local/stateful-apps-image-prometheus-operator >/dev/null 2>&1)
  (cd "$work" && go_env go mod edit -require="$m@$v" -require="$m/pkg/apis/monitoring@$v" -require="$m/pkg/client@$v")
  dir=$(module_dir "$m@$v") || { rm -rf "$work"; die "cannot download the Prometheus Operator module"; }
  check_module_version "$dir" "${v#v}"
  local cmd
  for cmd in operator prometheus-config-reloader; do
    (cd "$work" && go_env go build -p 2 -trimpath -ldflags "$(version_ldflags "${v#v}")" -o "$out/$cmd" "$m/cmd/$cmd") \
      || { rm -rf "$work"; die "go build $m/cmd/$cmd@$v failed"; }
  done
  rm -rf "$work"
}

build_prometheus_bins() {
  local dir=$1 start=$SECONDS work got
  [ -x "$dir/prometheus" ] && [ -x "$dir/operator" ] && [ -x "$dir/prometheus-config-reloader" ] && return 0
  command -v go >/dev/null || die "no 'go' on PATH to build Prometheus with"
  log "prometheus: building Prometheus $IMAGE_PROMETHEUS_VERSION, the Prometheus Operator and its config reloader $CLUSTER_ADDON_PROMETHEUS_OPERATOR_VERSION into $dir (first time only; ~6 min on 2 cores)"
  work=$(mktemp -d)
  build_prometheus_bin "$work/prometheus"
  build_operator_bins "$work"
  got=$("$work/prometheus" --version 2>&1 | head -n1)
  [[ $got == "prometheus, version $IMAGE_PROMETHEUS_VERSION "* ]] || { rm -rf "$work"; die "prometheus --version says '$got'"; }
  mkdir -p "$dir"
  mv "$work/prometheus" "$work/operator" "$work/prometheus-config-reloader" "$dir/"
  rm -rf "$work"
  log "prometheus: built in $((SECONDS - start)) s (prometheus $(du -h "$dir/prometheus" | cut -f1), operator $(du -h "$dir/operator" | cut -f1), reloader $(du -h "$dir/prometheus-config-reloader" | cut -f1))"
}

# build_prometheus_root NAME ROOT: the image's root filesystem: the one binary in /bin, a passwd and group with
# nobody (65534, the user the images run as; the operator's pods set their own), /tmp. Prometheus also gets
# /prometheus (its working directory; the operator mounts the data volume there) and /etc/prometheus.
build_prometheus_root() {
  local name=$1 root=$2 bins
  bins=$(prometheus_bin_dir)
  build_prometheus_bins "$bins"
  mkdir -p "$root/bin" "$root/etc" "$root/tmp"
  case $name in
    prometheus)
      cp "$bins/prometheus" "$root/bin/prometheus"
      mkdir -p "$root/prometheus" "$root/etc/prometheus"
      [ "$(id -u)" != 0 ] || chown 65534:65534 "$root/prometheus" ;;
    prometheus-operator) cp "$bins/operator" "$root/bin/operator" ;;
    prometheus-config-reloader) cp "$bins/prometheus-config-reloader" "$root/bin/prometheus-config-reloader" ;;
  esac
  chmod 1777 "$root/tmp"
  printf '%s\n' "root:x:0:0:root:/root:/sbin/nologin" "nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin" >"$root/etc/passwd"
  printf '%s\n' "root:x:0:" "nogroup:x:65534:" >"$root/etc/group"
}
