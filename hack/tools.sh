#!/usr/bin/env bash
# Builds the servers the tests and `make run` need (kcp with its front-proxy and cache server,
# kube-apiserver, etcd, kubectl) and the helm CLI that `make verify` and the chart e2e test use,
# from the pinned Go modules under hack/tools/, into a per-user cache keyed by tool, version and a
# hash of the tool module, then links them into bin/tools/. A fresh clone on the same machine
# reuses the cache; a cold build of everything takes about 12 minutes on 2 cores.
#
#   hack/tools.sh [tool...]   builds all tools, or only the named ones (kcp, kube, etcd, helm)
#   hack/tools.sh kube-bind   builds kube-bind's konnector v0.8.2 (bin/tools/konnector-kube-bind), the
#                             peer of side-by-side benchmarks; only when named, never by default
#                             (hack/tools/kube-bind/README.md says how to run it)
#
#   BINDERY_TOOLS_CACHE  cache folder (default: ${XDG_CACHE_HOME:-$HOME/.cache}/bindery/tools)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${BINDERY_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/bindery/tools}
links="$root/bin/tools"
export GONOSUMDB=${GONOSUMDB:-github.com/kcp-dev,sigs.k8s.io/multicluster-runtime,github.com/kube-bind}
export CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false"

# module_version prints the version a tool module requires of a module.
module_version() { (cd "$1" && go list -m -f '{{.Version}}' "$2"); }

# version_ldflags stamps the Kubernetes version into a binary, as upstream release builds do.
version_ldflags() {
  local git_version=$1 major minor flags=""
  major=$(echo "$git_version" | sed -E 's/^v([0-9]+)\..*/\1/')
  minor=$(echo "$git_version" | sed -E 's/^v[0-9]+\.([0-9]+)\..*/\1/')
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $pkg.gitVersion=$git_version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
    flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  echo "-s -w$flags"
}

# helm_ldflags stamps helm's version, and the Kubernetes version its `template` and `lint` assume
# (from the client-go it is built with), as helm's own Makefile does.
helm_ldflags() {
  local helm_version=$1 client_go=$2 major minor flags="-s -w"
  major=$(( $(echo "$client_go" | sed -E 's/^v([0-9]+)\..*/\1/') + 1 ))
  minor=$(echo "$client_go" | sed -E 's/^v[0-9]+\.([0-9]+)\..*/\1/')
  flags+=" -X helm.sh/helm/v3/internal/version.version=$helm_version -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
  for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
    flags+=" -X $pkg.k8sVersionMajor=$major -X $pkg.k8sVersionMinor=$minor"
  done
  echo "$flags"
}

# with_progress runs a command and prints a line every 30 s, so a long build never looks hung.
with_progress() {
  local what=$1; shift
  local start=$SECONDS
  "$@" &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    kill -0 "$pid" 2>/dev/null && echo "    ... still building $what ($((SECONDS - start))s)"
  done
  wait "$pid"
}

# wanted says whether the command line asks for a tool: no arguments means every tool except the
# on-request ones.
on_request=(kube-bind)
wanted() {
  local o
  if [ ${#requested[@]} -eq 0 ]; then
    for o in "${on_request[@]}"; do [ "$o" = "$1" ] && return 1; done
    return 0
  fi
  local r; for r in "${requested[@]}"; do [ "$r" = "$1" ] && return 0; done
  return 1
}
requested=("$@")
for r in "${requested[@]}"; do
  case $r in kcp|kube|etcd|helm|kube-bind) ;; *) echo "unknown tool $r; known: kcp kube etcd helm kube-bind" >&2; exit 2 ;; esac
done

# build_tool <tool module dir> <name> <version> <ldflags> <estimate> <pkg=binary>...
build_tool() {
  local dir=$1 name=$2 version=$3 ldflags=$4 estimate=$5; shift 5
  wanted "$name" || return 0
  local hash target
  hash=$(cat "$dir/go.mod" "$dir/go.sum" | sha256sum | cut -c1-12)
  target="$cache/$name-$version-$hash"
  local missing=""
  for spec in "$@"; do [ -x "$target/${spec#*=}" ] || missing+=" ${spec#*=}"; done
  if [ -z "$missing" ]; then
    echo ">>> $name $version: cached in $target"
  else
    echo ">>> $name $version: building$missing from pinned Go modules (hack/tools/$(basename "$dir"))"
    if [ -d "$target" ]; then
      echo "    added to the cached $name since it was built; the rest stays cached"
    else
      echo "    not in the cache yet; a cold build takes $estimate on 2 cores and is reused afterwards"
    fi
    local tmp="$target.tmp.$$"
    mkdir -p "$tmp"
    for spec in "$@"; do
      local pkg=${spec%=*} bin=${spec#*=}
      # A binary added to a tool later (kcp's front-proxy and cache-server) does not rebuild the
      # ones already cached for the same tool module.
      [ -x "$target/$bin" ] && continue
      echo "    go build $pkg -> $bin"
      (cd "$dir" && with_progress "$bin" go build -trimpath -ldflags "$ldflags" -o "$tmp/$bin" "$pkg")
    done
    if [ -d "$target" ]; then
      # Only the missing binaries were built: move them in next to the cached ones, which running
      # servers may be using.
      for f in "$tmp"/*; do mv "$f" "$target/"; done
      rmdir "$tmp"
    else
      mv "$tmp" "$target"
    fi
    echo "    done: $target"
  fi
  mkdir -p "$links"
  for spec in "$@"; do ln -sfn "$target/${spec#*=}" "$links/${spec#*=}"; done
}

kcp_version=$(module_version "$root/hack/tools/kcp" github.com/kcp-dev/kcp)
kube_version=$(module_version "$root/hack/tools/kube" k8s.io/kubernetes)
etcd_version=$(module_version "$root/hack/tools/kube" go.etcd.io/etcd/server/v3)
kcp_kube_version=$(module_version "$root/hack/tools/kcp" k8s.io/kubernetes)
helm_version=$(module_version "$root/hack/tools/helm" helm.sh/helm/v3)
helm_client_go=$(module_version "$root/hack/tools/helm" k8s.io/client-go)

# kcp-front-proxy and cache-server are what a sharded kcp needs besides the shards (test/servers
# StartShardedKCP); built after kcp from the same packages, they add about a minute.
build_tool "$root/hack/tools/kcp" kcp "$kcp_version" \
  "$(version_ldflags "$kcp_kube_version+kcp-$kcp_version")" "about 7 minutes" \
  github.com/kcp-dev/kcp/cmd/kcp=kcp github.com/kcp-dev/kcp/cmd/kcp-front-proxy=kcp-front-proxy \
  github.com/kcp-dev/kcp/cmd/cache-server=cache-server
build_tool "$root/hack/tools/kube" kube "$kube_version" \
  "$(version_ldflags "$kube_version")" "about 5 minutes" \
  k8s.io/kubernetes/cmd/kube-apiserver=kube-apiserver k8s.io/kubernetes/cmd/kubectl=kubectl
build_tool "$root/hack/tools/kube" etcd "$etcd_version" "-s -w" "about 1 minute" \
  go.etcd.io/etcd/server/v3=etcd
build_tool "$root/hack/tools/helm" helm "$helm_version" \
  "$(helm_ldflags "$helm_version" "$helm_client_go")" "about 1 minute" \
  helm.sh/helm/v3/cmd/helm=helm
# The version is stamped as kube-bind's Makefile does (<its required client-go, v0 -> v1>+kube-bind-<tag>):
# the konnector parses it at start and reports it in ClusterBinding status.konnectorVersion.
if wanted kube-bind; then
  kube_bind_version=$(module_version "$root/hack/tools/kube-bind" github.com/kube-bind/kube-bind)
  kube_bind_client_go=$(module_version "$root/hack/tools/kube-bind" k8s.io/client-go)
  build_tool "$root/hack/tools/kube-bind" kube-bind "$kube_bind_version" \
    "$(version_ldflags "${kube_bind_client_go/#v0/v1}+kube-bind-$kube_bind_version")" "up to 15 minutes" \
    github.com/kube-bind/kube-bind/cmd/konnector=konnector-kube-bind
fi

echo ">>> tools ready in $links: $(ls "$links" | tr '\n' ' ')"
