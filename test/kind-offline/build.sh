#!/bin/bash
# build.sh: build, from the Go module proxy and Debian's packages only,
# everything `kind create cluster` needs to run offline on this machine:
# the Docker engine, kind, the Kubernetes binaries, etcd, CoreDNS, pause, the
# control-plane images, the default CNI's image (kube-network-policies and our
# agent), a kind node image, and the example lab's app image.
#
# Idempotent. Every expensive artifact is cached under
#   ${LABGRADER_CACHE_DIR:-$HOME/.cache/labgrader}/kind-offline
# so a second run only checks and re-tags. Prints the time of every step and
# a summary table at the end; appends the timings to $CACHE/timings.log.
#
# Usage: test/kind-offline/build.sh            # all steps
#        LABGRADER_KIND_STEPS="kind k8s" test/kind-offline/build.sh   # a subset
# See README.md next to this file.
set -euo pipefail

HERE=${LABGRADER_KIND_HERE:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
REPO=$(cd "$HERE/../.." && pwd)
# shellcheck source=versions.sh
. "$HERE/versions.sh"

CACHE=${LABGRADER_CACHE_DIR:-$HOME/.cache/labgrader}/kind-offline
# Debian's docker client first (it matches Debian's daemon), then Go.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:/usr/local/go/bin:$PATH
export GOCACHE=$CACHE/go-build
export GOMODCACHE=$CACHE/go-mod
export CGO_ENABLED=0
export GOFLAGS="-buildvcs=false"
export DOCKER_BUILDKIT=0
NICE=(nice -n "${LABGRADER_NICE:-10}")

ALL_STEPS="docker kind k8s images-list etcd coredns pause kube-network-policies rootfs-kube-proxy rootfs-node rootfs-cni control-plane-images cni-image node-image app-image save"
STEPS=${LABGRADER_KIND_STEPS:-$ALL_STEPS}

log() { printf '[build %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { printf '[build %s] ERROR: %s\n' "$(date +%T)" "$*" >&2; exit 1; }

mkdir -p "$CACHE"/{bin,rootfs,images,tmp,stamps}

# ---------------------------------------------------------------- timings
STEP_NAMES=() STEP_SECS=() STEP_RESULTS=()
CURRENT_STEP="" STEP_RESULT="" RUN_T0=$SECONDS
step() {
  local name=$1 fn=$2 t0=$SECONDS dt
  case " $STEPS " in *" $name "*) ;; *) return 0 ;; esac
  CURRENT_STEP=$name STEP_RESULT=done
  log "==> $name"
  "$fn"
  dt=$((SECONDS - t0))
  STEP_NAMES+=("$name") STEP_SECS+=("$dt") STEP_RESULTS+=("$STEP_RESULT")
  printf '%s %s %ss %s\n' "$(date -u +%FT%TZ)" "$name" "$dt" "$STEP_RESULT" >>"$CACHE/timings.log"
  log "<== $name: ${dt}s ($STEP_RESULT)"
  CURRENT_STEP=""
}
fmt() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }
summary() {
  local rc=$? i
  {
    echo
    echo "kind-offline build summary (cache: $CACHE)"
    printf '  %-22s %10s  %s\n' STEP TIME RESULT
    for i in "${!STEP_NAMES[@]}"; do
      printf '  %-22s %10s  %s\n' "${STEP_NAMES[$i]}" "$(fmt "${STEP_SECS[$i]}")" "${STEP_RESULTS[$i]}"
    done
    [ -n "$CURRENT_STEP" ] && printf '  %-22s %10s  %s\n' "$CURRENT_STEP" "-" "FAILED"
    printf '  %-22s %10s\n' TOTAL "$(fmt $((SECONDS - RUN_T0)))"
    if [ "$rc" = 0 ]; then
      echo "node image: $(node_tag 2>/dev/null || echo '?')   app image: $APP_IMAGE"
    else
      echo "BUILD FAILED (exit $rc) in step '${CURRENT_STEP:-?}'"
    fi
  } >&2
  printf '%s TOTAL %ss rc=%s\n' "$(date -u +%FT%TZ)" $((SECONDS - RUN_T0)) "$rc" >>"$CACHE/timings.log"
}
trap summary EXIT

# ---------------------------------------------------------------- helpers
K8S_DIR=$CACHE/k8s/$K8S_VERSION
K8S_BINS="kubeadm kubelet kubectl kube-apiserver kube-controller-manager kube-scheduler kube-proxy"
KIND_BIN=$CACHE/bin/kind-$KIND_VERSION/kind
KNP_BIN=$CACHE/bin/kube-network-policies-$KNP_VERSION/kube-network-policies

# Images are keyed on their inputs and on this script, so a change of recipe
# rebuilds them (seconds) while the binaries and rootfs tarballs stay cached.
RECIPE=$(sha256sum "$HERE/build.sh" | cut -c1-16)

node_tag() { echo "$NODE_IMAGE_REPO:$K8S_VERSION"; }

# Hash of files/strings, used to key cached artifacts on their inputs.
inputs_hash() { cat "$@" | sha256sum | cut -c1-16; }

# The Debian mirror apt is configured with (deb822 .sources or sources.list).
debian_mirror() {
  local m=""
  if [ -n "${LABGRADER_DEBIAN_MIRROR:-}" ]; then echo "$LABGRADER_DEBIAN_MIRROR"; return; fi
  m=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  [ -n "$m" ] || m=$(awk '$1 == "deb" && $0 !~ /security/ {for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) {print $i; exit}}' /etc/apt/sources.list 2>/dev/null || true)
  [ -n "$m" ] || die "cannot find a Debian mirror in apt's sources; set LABGRADER_DEBIAN_MIRROR"
  echo "$m"
}

apt_install() {
  local missing=() p
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends "${missing[@]}" >"$CACHE/tmp/apt.log" 2>&1 ||
    { apt-get update >>"$CACHE/tmp/apt.log" 2>&1 && apt-get install -y --no-install-recommends "${missing[@]}" >>"$CACHE/tmp/apt.log" 2>&1; } ||
    { tail -20 "$CACHE/tmp/apt.log" >&2; die "apt-get install ${missing[*]} failed"; }
}

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

# docker import a tarball ($1) as image $2 with --change options (rest).
import_tar() {
  local tar=$1 tag=$2; shift 2
  local changes=() c
  for c in "$@"; do changes+=(--change "$c"); done
  docker import "${changes[@]}" "$tar" "$tag" >/dev/null
}

# ---------------------------------------------------------------- steps
step_docker() {
  "$HERE/docker-up.sh"
}

step_kind() {
  if [ -x "$KIND_BIN" ] && [[ "$("$KIND_BIN" version 2>/dev/null)" == "kind $KIND_VERSION "* ]]; then
    STEP_RESULT=cached; return
  fi
  GOBIN=$(dirname "$KIND_BIN") "${NICE[@]}" go install "sigs.k8s.io/kind@$KIND_VERSION"
  "$KIND_BIN" version
  STEP_RESULT=built
}

# Kubernetes: k8s.io/kubernetes requires its staging modules (k8s.io/api,
# k8s.io/client-go, ...) at v0.0.0 and replaces them with ./staging paths,
# which a dependent module cannot use. A wrapper module requires
# k8s.io/kubernetes and replaces every staging module with its published
# version (v0.MINOR.PATCH), then builds the commands by package path.
step_k8s() {
  local b ok=1
  for b in $K8S_BINS; do [ -x "$K8S_DIR/bin/$b" ] || ok=0; done
  if [ "$ok" = 1 ] && [ -f "$K8S_DIR/bin/.complete" ]; then STEP_RESULT=cached; return; fi

  local mod="$K8S_DIR/wrapper" info gomod minor patch staging_ver go_directive build_date
  rm -rf "$mod" "$K8S_DIR/bin"
  mkdir -p "$mod" "$K8S_DIR/bin"
  info=$(cd "$mod" && go mod download -json "k8s.io/kubernetes@$K8S_VERSION")
  gomod=$(printf '%s' "$info" | jq -r .GoMod)
  build_date=$(printf '%s' "$info" | jq -r '.Time // empty')
  [ -n "$build_date" ] || build_date=$(date -u +%FT%TZ)
  IFS=. read -r _ minor patch <<<"${K8S_VERSION#v}"
  patch=${patch%%-*}
  staging_ver="v0.$minor.$patch"
  go_directive=$(awk '$1 == "go" {print $2; exit}' "$gomod")

  {
    echo "// Generated by test/kind-offline/build.sh: builds Kubernetes $K8S_VERSION from its published modules."
    echo "module labgrader.local/kind-offline/k8s-build"
    echo
    echo "go $go_directive"
    grep -E '^godebug ' "$gomod" || true
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    echo "replace ("
    grep -oE '^\s*k8s\.io/[A-Za-z0-9._/-]+ => \./staging/src/' "$gomod" | awk -v v="$staging_ver" '{print "\t" $1 " => " $1 " " v}'
    echo ")"
  } >"$mod/go.mod"
  log "wrapper module: $(grep -c ' => ' "$mod/go.mod") staging replaces at $staging_ver"

  local pkg=k8s.io/component-base/version cpkg=k8s.io/client-go/pkg/version ld="-s -w" p
  for p in $pkg $cpkg; do
    ld+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor"
    ld+=" -X $p.gitCommit= -X $p.gitTreeState=archive -X $p.buildDate=$build_date"
  done
  local pkgs=()
  for b in $K8S_BINS; do pkgs+=("k8s.io/kubernetes/cmd/$b"); done
  log "go build ${pkgs[*]} (the long step: ~10-12 min cold on this 2-core machine)"
  (cd "$mod" && "${NICE[@]}" go build -mod=mod -trimpath -ldflags "$ld" -o "$K8S_DIR/bin/" "${pkgs[@]}")

  local v
  v=$("$K8S_DIR/bin/kubeadm" version -o short)
  [ "$v" = "$K8S_VERSION" ] || die "kubeadm reports version '$v', expected $K8S_VERSION (version ldflags wrong?)"
  v=$("$K8S_DIR/bin/kubelet" --version)
  [ "$v" = "Kubernetes $K8S_VERSION" ] || die "kubelet reports '$v'"
  [[ "$("$K8S_DIR/bin/kubectl" version --client -o yaml)" == *"gitVersion: $K8S_VERSION"* ]] || die "kubectl version stamp wrong"
  touch "$K8S_DIR/bin/.complete"
  STEP_RESULT=built
}

# The image list kubeadm will ask for; etcd/CoreDNS/pause versions follow it.
ETCD_TAG="" COREDNS_TAG="" PAUSE_TAG="" IMAGES_FILE=$K8S_DIR/images.txt
load_image_list() {
  [ -s "$IMAGES_FILE" ] || "$K8S_DIR/bin/kubeadm" config images list --kubernetes-version "$K8S_VERSION" >"$IMAGES_FILE"
  ETCD_TAG=$(grep '/etcd:' "$IMAGES_FILE" | sed 's/.*://')
  COREDNS_TAG=$(grep '/coredns:' "$IMAGES_FILE" | sed 's/.*://')
  PAUSE_TAG=$(grep '/pause:' "$IMAGES_FILE" | sed 's/.*://')
  [ -n "$ETCD_TAG" ] && [ -n "$COREDNS_TAG" ] && [ -n "$PAUSE_TAG" ] || die "cannot parse $IMAGES_FILE"
}
step_images_list() {
  rm -f "$IMAGES_FILE"
  load_image_list
  sed 's/^/    /' "$IMAGES_FILE" >&2
}

# etcd's go.mod uses relative replaces for its own modules, so `go install`
# by name is refused; a wrapper module requiring go.etcd.io/etcd/server/v3
# (whose published go.mod requires its siblings at the same version) works.
step_etcd() {
  load_image_list
  local ver="v${ETCD_TAG%%-*}" dir
  dir=$CACHE/etcd/$ver
  if [ -x "$dir/etcd" ] && [[ "$("$dir/etcd" --version 2>/dev/null)" == *"etcd Version: ${ver#v}"* ]]; then
    STEP_RESULT=cached; return
  fi
  mkdir -p "$dir/wrapper"
  cat >"$dir/wrapper/go.mod" <<EOF
// Generated by test/kind-offline/build.sh: builds etcd $ver from its published modules.
module labgrader.local/kind-offline/etcd-build

go 1.24

require go.etcd.io/etcd/server/v3 $ver
EOF
  (cd "$dir/wrapper" && "${NICE[@]}" go build -mod=mod -trimpath -ldflags "-s -w" -o "$dir/etcd" go.etcd.io/etcd/server/v3)
  "$dir/etcd" --version | head -3 >&2
  [[ "$("$dir/etcd" --version)" == *"etcd Version: ${ver#v}"* ]] || die "etcd version mismatch"
  STEP_RESULT=built
}

step_coredns() {
  load_image_list
  local dir=$CACHE/coredns/$COREDNS_TAG
  if [ -x "$dir/coredns" ] && [[ "$("$dir/coredns" -version 2>/dev/null)" == *"CoreDNS-${COREDNS_TAG#v}"* ]]; then
    STEP_RESULT=cached; return
  fi
  mkdir -p "$dir"
  GOBIN=$dir "${NICE[@]}" go install -trimpath -ldflags "-s -w" "github.com/coredns/coredns@$COREDNS_TAG"
  "$dir/coredns" -version >&2
  STEP_RESULT=built
}

# kube-network-policies, the default CNI's NetworkPolicy engine. Its command
# is the module's ./cmd package, so `go install` names the binary "cmd".
step_kube_network_policies() {
  # Outputs captured before matching: with pipefail, `grep -q` exiting at its first match can kill the
  # writer with SIGPIPE and fail the whole pipeline (it did: "does not look like kube-network-policies").
  if [ -x "$KNP_BIN" ] && grep -qE "^[[:space:]]+mod[[:space:]]+sigs\.k8s\.io/kube-network-policies[[:space:]]+$KNP_VERSION([[:space:]]|\$)" \
      <<<"$(go version -m "$KNP_BIN" 2>/dev/null)"; then
    STEP_RESULT=cached; return
  fi
  local dir
  dir=$(dirname "$KNP_BIN")
  rm -rf "$dir"; mkdir -p "$dir"
  GOBIN=$dir "${NICE[@]}" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kube-network-policies/cmd@$KNP_VERSION"
  mv "$dir/cmd" "$KNP_BIN"
  local help
  help=$("$KNP_BIN" --help 2>&1 || true)
  [[ $help == *-nfqueue-id* ]] || die "$KNP_BIN does not look like kube-network-policies"
  STEP_RESULT=built
}

PAUSE_BIN=""
step_pause() {
  apt_install gcc libc6-dev
  local h
  h=$(inputs_hash "$HERE/pause/pause.c")
  PAUSE_BIN=$CACHE/bin/pause-$h
  if [ -x "$PAUSE_BIN" ]; then STEP_RESULT=cached; return; fi
  gcc -static -Os -Wall -Wextra -DPAUSE_VERSION="\"labgrader-$h\"" -o "$PAUSE_BIN.tmp" "$HERE/pause/pause.c"
  strip "$PAUSE_BIN.tmp"
  mv "$PAUSE_BIN.tmp" "$PAUSE_BIN"
  STEP_RESULT=built
}

# The tarball of a debootstrapped rootfs, keyed on suite and package list.
rootfs_tar() { # $1 = name, $2 = packages
  local key
  key=$(printf '%s %s %s' "$DEBIAN_SUITE" "$2" "v1" | sha256sum | cut -c1-12)
  echo "$CACHE/rootfs/$1-$DEBIAN_SUITE-$key.tar"
}

# debootstrap a minimal Debian into a tarball ($1 = name, $2 = packages).
debootstrap_tar() {
  local name=$1 pkgs=$2 out dir mirror
  out=$(rootfs_tar "$name" "$pkgs")
  # Drop tarballs of older package lists.
  find "$CACHE/rootfs" -name "$name-*.tar" ! -path "$out" -delete
  if [ -s "$out" ]; then STEP_RESULT=cached; return; fi
  apt_install debootstrap
  mirror=$(debian_mirror)
  dir=$CACHE/tmp/rootfs-$name
  rm -rf "$dir"
  log "debootstrap --variant=minbase $DEBIAN_SUITE ($name) from the configured Debian mirror"
  debootstrap --variant=minbase --include="$pkgs" "$DEBIAN_SUITE" "$dir" "$mirror" >"$CACHE/tmp/debootstrap-$name.log" 2>&1 ||
    { tail -30 "$CACHE/tmp/debootstrap-$name.log" >&2; die "debootstrap ($name) failed"; }
  # Make the rootfs small and neutral: no apt lists, caches or logs.
  rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/*.bin "$dir"/var/cache/apt/archives/*.deb \
    "$dir"/var/log/*.log "$dir"/var/log/apt/* "$dir"/usr/share/doc/* "$dir"/usr/share/man/* "$dir"/usr/share/info/*
  : >"$dir/etc/machine-id"
  rm -f "$dir/var/lib/dbus/machine-id"
  tar --numeric-owner --xattrs --xattrs-include='*' -C "$dir" -cf "$out.tmp" .
  mv "$out.tmp" "$out"
  rm -rf "$dir"
  log "rootfs $name: $(du -h "$out" | cut -f1)"
  STEP_RESULT=built
}

KUBE_PROXY_PKGS="iptables,conntrack,ipset,kmod"
step_rootfs_kube_proxy() { debootstrap_tar kube-proxy "$KUBE_PROXY_PKGS"; }

# What the node needs: systemd as init, containerd + runc + CNI plugins from
# Debian, the tools kubelet/kubeadm/kube-proxy shell out to, curl for checks.
NODE_PKGS="systemd,systemd-sysv,dbus,containerd,runc,containernetworking-plugins,iptables,nftables,conntrack,ipset,iproute2,ethtool,socat,util-linux,mount,kmod,procps,libseccomp2,ca-certificates,curl,less,pigz,ebtables,jq"
step_rootfs_node() { debootstrap_tar node "$NODE_PKGS"; }

# The default CNI's image: ip route, iptables (NFQUEUE, the egress guard's
# realm), nft for looking at kube-network-policies' table, curl (the smoke
# test's client pods use this image too).
CNI_PKGS="iptables,nftables,iproute2,ca-certificates,curl"
step_rootfs_cni() { debootstrap_tar cni "$CNI_PKGS"; }

# Control-plane images: one binary in an otherwise empty rootfs, tagged
# exactly as `kubeadm config images list` prints. kube-proxy gets a Debian
# rootfs because it runs iptables/conntrack.
minimal_rootfs() { # $1 = dir
  mkdir -p "$1"/{etc,tmp,var/run,usr/local/bin}
  chmod 1777 "$1/tmp"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$1/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n' >"$1/etc/group"
  printf 'hosts: files dns\n' >"$1/etc/nsswitch.conf"
  [ -f /etc/ssl/certs/ca-certificates.crt ] && install -D -m 0644 /etc/ssl/certs/ca-certificates.crt "$1/etc/ssl/certs/ca-certificates.crt"
  return 0
}
step_control_plane_images() {
  load_image_list
  [ -n "$PAUSE_BIN" ] || step_pause >/dev/null
  local etcd_bin=$CACHE/etcd/v${ETCD_TAG%%-*}/etcd coredns_bin=$CACHE/coredns/$COREDNS_TAG/coredns
  local key built=0 img name dir kp_rootfs
  kp_rootfs=$(rootfs_tar kube-proxy "$KUBE_PROXY_PKGS")
  [ -s "$kp_rootfs" ] || die "missing $kp_rootfs (run the rootfs-kube-proxy step)"
  # Inputs that define the images: the binaries' hashes and this script's recipe version.
  key=$( (sha256sum "$K8S_DIR"/bin/kube-apiserver "$K8S_DIR"/bin/kube-controller-manager "$K8S_DIR"/bin/kube-scheduler \
    "$K8S_DIR"/bin/kube-proxy "$etcd_bin" "$coredns_bin" "$PAUSE_BIN" | cut -c1-64; echo "$kp_rootfs $RECIPE") | sha256sum | cut -c1-16)
  local tarball=$CACHE/images/control-plane-$K8S_VERSION-$key.tar
  if [ -s "$tarball" ]; then
    # Cached as a `docker save` archive: load it if the daemon lacks any tag.
    local missing=0
    while read -r img; do image_exists "$img" || missing=1; done <"$IMAGES_FILE"
    if [ "$missing" = 1 ]; then docker load -i "$tarball" >/dev/null; STEP_RESULT=loaded; else STEP_RESULT=cached; fi
    CONTROL_PLANE_TAR=$tarball
    return
  fi
  local label="LABEL labgrader.kind-offline.cp-key=$key"
  while read -r img; do
    name=${img##*/}; name=${name%%:*}
    dir=$CACHE/tmp/img-$name
    rm -rf "$dir"; mkdir -p "$dir"
    case "$name" in
      kube-apiserver|kube-controller-manager|kube-scheduler)
        minimal_rootfs "$dir"
        install -m 0755 "$K8S_DIR/bin/$name" "$dir/usr/local/bin/$name"
        tar --numeric-owner -C "$dir" -cf "$dir.tar" .
        import_tar "$dir.tar" "$img" "$label" 'ENV PATH=/usr/local/bin:/usr/bin:/bin' "ENTRYPOINT [\"/usr/local/bin/$name\"]"
        ;;
      etcd)
        minimal_rootfs "$dir"
        mkdir -p "$dir/var/lib/etcd"
        install -m 0755 "$etcd_bin" "$dir/usr/local/bin/etcd"
        tar --numeric-owner -C "$dir" -cf "$dir.tar" .
        import_tar "$dir.tar" "$img" "$label" 'ENV PATH=/usr/local/bin:/usr/bin:/bin' 'ENTRYPOINT ["/usr/local/bin/etcd"]'
        ;;
      coredns)
        minimal_rootfs "$dir"
        install -m 0755 "$coredns_bin" "$dir/coredns"
        tar --numeric-owner -C "$dir" -cf "$dir.tar" .
        import_tar "$dir.tar" "$img" "$label" 'ENTRYPOINT ["/coredns"]' 'EXPOSE 53 53/udp'
        ;;
      pause)
        mkdir -p "$dir"
        install -m 0755 "$PAUSE_BIN" "$dir/pause"
        tar --numeric-owner -C "$dir" -cf "$dir.tar" .
        import_tar "$dir.tar" "$img" "$label" 'ENTRYPOINT ["/pause"]' 'USER 65535:65535'
        ;;
      kube-proxy)
        # Debian rootfs (iptables, conntrack) plus the binary.
        mkdir -p "$dir/usr/local/bin"
        install -m 0755 "$K8S_DIR/bin/kube-proxy" "$dir/usr/local/bin/kube-proxy"
        cp "$kp_rootfs" "$dir.tar"
        tar --numeric-owner -C "$dir" -rf "$dir.tar" ./usr/local/bin/kube-proxy
        import_tar "$dir.tar" "$img" "$label" 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' 'ENTRYPOINT ["/usr/local/bin/kube-proxy"]'
        ;;
      *) die "no recipe for image $img" ;;
    esac
    rm -rf "$dir" "$dir.tar"
    log "imported $img"
    built=$((built + 1))
  done <"$IMAGES_FILE"
  # shellcheck disable=SC2046
  docker save -o "$tarball.tmp" $(cat "$IMAGES_FILE")
  mv "$tarball.tmp" "$tarball"
  # Older builds of these tags are dangling now; so are their archives.
  docker image prune -f --filter "label=labgrader.kind-offline.cp-key" >/dev/null || true
  find "$CACHE/images" -name "control-plane-*.tar" ! -path "$tarball" -delete
  CONTROL_PLANE_TAR=$tarball
  STEP_RESULT=built
}

# The default CNI's image: the Debian rootfs of rootfs-cni with
# kube-network-policies, kubectl and our agent (cni/labgrader-cni), tagged
# $CNI_IMAGE. Kept as a `docker save` archive; the node-image step preloads it
# into the node, whose /kind/manifests/default-cni.yaml names it.
CNI_IMAGE_TAR=""
step_cni_image() {
  local rootfs key tarball dir
  rootfs=$(rootfs_tar cni "$CNI_PKGS")
  [ -s "$rootfs" ] || die "missing $rootfs (run the rootfs-cni step)"
  [ -x "$KNP_BIN" ] || die "missing $KNP_BIN (run the kube-network-policies step)"
  key=$( (sha256sum "$rootfs" "$KNP_BIN" "$K8S_DIR/bin/kubectl" "$HERE/cni/labgrader-cni" | cut -c1-64
    echo "$CNI_IMAGE $RECIPE") | sha256sum | cut -c1-16)
  tarball=$CACHE/images/kind-cni-$key.tar
  CNI_IMAGE_TAR=$tarball
  if [ -s "$tarball" ]; then
    if [ "$(docker image inspect -f '{{index .Config.Labels "labgrader.kind-offline.cni-key"}}' "$CNI_IMAGE" 2>/dev/null)" = "$key" ]; then
      STEP_RESULT=cached
    else
      docker load -i "$tarball" >/dev/null; STEP_RESULT=loaded
    fi
    return
  fi
  dir=$CACHE/tmp/img-cni
  rm -rf "$dir" "$dir.tar"; mkdir -p "$dir/usr/local/bin"
  install -m 0755 "$KNP_BIN" "$K8S_DIR/bin/kubectl" "$HERE/cni/labgrader-cni" "$dir/usr/local/bin/"
  cp "$rootfs" "$dir.tar"
  tar --numeric-owner -C "$dir" -rf "$dir.tar" ./usr/local/bin/kube-network-policies ./usr/local/bin/kubectl ./usr/local/bin/labgrader-cni
  import_tar "$dir.tar" "$CNI_IMAGE" "LABEL labgrader.kind-offline.cni-key=$key" \
    'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' 'ENTRYPOINT ["/usr/local/bin/labgrader-cni"]'
  rm -rf "$dir" "$dir.tar"
  docker save -o "$tarball.tmp" "$CNI_IMAGE"
  mv "$tarball.tmp" "$tarball"
  docker image prune -f --filter "label=labgrader.kind-offline.cni-key" >/dev/null || true
  find "$CACHE/images" -name "kind-cni-*.tar" ! -path "$tarball" -delete
  log "$CNI_IMAGE: $(du -h "$tarball" | cut -f1)"
  STEP_RESULT=built
}

# The node image:
#   1. the debootstrapped node rootfs + our files (entrypoint, units,
#      containerd config, the default CNI's manifest) + binaries + /kind/version;
#   2. the control-plane images and the default CNI's image preloaded into
#      /var/lib/containerd, by a
#      throw-away containerd on the host (same Debian containerd version as
#      in the node) running `ctr -n k8s.io images import --no-unpack`;
#   3. `docker import` of that tree (entrypoint, env, labels), then a
#      metadata-only `docker build` FROM it (local image, nothing pulled) to
#      set STOPSIGNAL, which `docker import --change` does not accept.
step_node_image() {
  load_image_list
  [ -n "${CONTROL_PLANE_TAR:-}" ] || STEPS="control-plane-images" step_control_plane_images
  [ -n "$CNI_IMAGE_TAR" ] || step_cni_image
  local tag key rootfs_tar dir
  tag=$(node_tag)
  rootfs_tar=$(rootfs_tar node "$NODE_PKGS")
  [ -s "$rootfs_tar" ] || die "missing $rootfs_tar (run the rootfs-node step)"
  key=$( (sha256sum "$rootfs_tar" "$CONTROL_PLANE_TAR" "$K8S_DIR"/bin/kubeadm "$K8S_DIR"/bin/kubelet "$K8S_DIR"/bin/kubectl 2>/dev/null | cut -c1-64
    find "$HERE/node" -type f | sort | xargs sha256sum | cut -c1-64; echo "$PAUSE_TAG $CNI_IMAGE ${CNI_IMAGE_TAR##*/} $RECIPE") | sha256sum | cut -c1-16)
  local saved=$CACHE/images/kind-node-$K8S_VERSION-$key.tar
  echo "$saved" >"$CACHE/images/node-image.current"
  echo "$tag" >>"$CACHE/images/node-image.current"
  if image_exists "$tag" && [ "$(docker image inspect -f '{{index .Config.Labels "labgrader.kind-offline.key"}}' "$tag")" = "$key" ]; then
    STEP_RESULT=cached; return
  fi
  if [ -s "$saved" ]; then
    docker load -i "$saved" >/dev/null
    STEP_RESULT=loaded; return
  fi

  dir=$CACHE/tmp/node-rootfs
  rm -rf "$dir"; mkdir -p "$dir"
  tar --numeric-owner -C "$dir" -xf "$rootfs_tar"
  # Binaries.
  install -m 0755 "$K8S_DIR"/bin/kubeadm "$K8S_DIR"/bin/kubelet "$K8S_DIR"/bin/kubectl "$dir/usr/bin/"
  # kind looks for containerd and CNI plugins where its own base image has
  # them; Debian installs them in /usr/bin and /usr/lib/cni.
  mkdir -p "$dir/usr/local/bin" "$dir/opt/cni"
  ln -sf /usr/bin/containerd "$dir/usr/local/bin/containerd"
  ln -sfn /usr/lib/cni "$dir/opt/cni/bin"
  # Our own files.
  cp -a "$HERE/node/files/." "$dir/"
  chmod 0755 "$dir/usr/local/bin/entrypoint" "$dir/usr/local/bin/labgrader-cni-config"
  sed -i "s|@PAUSE_IMAGE@|$(grep '/pause:' "$IMAGES_FILE")|" "$dir/etc/containerd/config.toml"
  sed -i "s|@CNI_IMAGE@|$CNI_IMAGE|g" "$dir/kind/manifests/default-cni.yaml"
  mkdir -p "$dir/kind"
  echo "$K8S_VERSION" >"$dir/kind/version"
  # systemd setup: enable ours, mask what has no place in a container.
  local u
  mkdir -p "$dir/etc/systemd/system/multi-user.target.wants"
  ln -sf /lib/systemd/system/containerd.service "$dir/etc/systemd/system/multi-user.target.wants/containerd.service"
  ln -sf /etc/systemd/system/kubelet.service "$dir/etc/systemd/system/multi-user.target.wants/kubelet.service"
  ln -sf /etc/systemd/system/labgrader-cni-config.service "$dir/etc/systemd/system/multi-user.target.wants/labgrader-cni-config.service"
  for u in getty.target console-getty.service getty@tty1.service serial-getty@.service systemd-firstboot.service \
      systemd-udevd.service systemd-udev-trigger.service systemd-modules-load.service systemd-timesyncd.service \
      systemd-networkd-wait-online.service systemd-resolved.service apt-daily.timer apt-daily-upgrade.timer \
      sys-kernel-debug.mount sys-kernel-tracing.mount sys-kernel-config.mount sys-fs-fuse-connections.mount \
      systemd-binfmt.service proc-sys-fs-binfmt_misc.automount systemd-journald-audit.socket \
      e2scrub_all.timer e2scrub_reap.service fstrim.timer; do
    ln -sf /dev/null "$dir/etc/systemd/system/$u"
  done
  ln -sf /lib/systemd/system/multi-user.target "$dir/etc/systemd/system/default.target"

  # Preload the control-plane images and the CNI image with a private containerd.
  preload_images "$dir" "$CONTROL_PLANE_TAR" "$CNI_IMAGE_TAR"

  log "packing node rootfs ($(du -sh "$dir" | cut -f1))"
  tar --numeric-owner --xattrs --xattrs-include='*' -C "$dir" -cf "$dir.tar" .
  rm -rf "$dir"
  import_tar "$dir.tar" "$tag-rootfs" 'ENV container=docker' \
    "LABEL labgrader.kind-offline.key=$key labgrader.kind-offline.version=$K8S_VERSION" \
    'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]'
  rm -f "$dir.tar"
  printf 'FROM %s\nSTOPSIGNAL SIGRTMIN+3\n' "$tag-rootfs" | docker build -q -t "$tag" - >/dev/null
  docker rmi "$tag-rootfs" >/dev/null
  # The previous build of this tag is now dangling: drop it.
  docker image prune -f --filter "label=labgrader.kind-offline.version" >/dev/null || true
  STEP_RESULT=built
}

preload_images() { # $1 = rootfs dir, $2... = docker-save archives
  local root=$1 run=$CACHE/tmp/preload-containerd pid archive
  shift
  rm -rf "$run"; mkdir -p "$run"
  mkdir -p "$root/var/lib/containerd"
  cat >"$run/config.toml" <<EOF
version = 2
root = "$root/var/lib/containerd"
state = "$run/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$run/containerd.sock"
[ttrpc]
  address = "$run/containerd.sock.ttrpc"
[debug]
  address = ""
EOF
  containerd --config "$run/config.toml" >"$run/containerd.log" 2>&1 &
  pid=$!
  local i
  for i in $(seq 1 30); do [ -S "$run/containerd.sock" ] && break; sleep 0.5; done
  [ -S "$run/containerd.sock" ] || { kill "$pid"; cat "$run/containerd.log" >&2; die "preload containerd did not start"; }
  for archive in "$@"; do
    if ! ctr --address "$run/containerd.sock" -n k8s.io images import --no-unpack "$archive" >&2; then
      kill "$pid"; die "ctr images import $archive failed"
    fi
  done
  ctr --address "$run/containerd.sock" -n k8s.io images ls -q >&2
  kill "$pid"; wait "$pid" 2>/dev/null || true
  rm -rf "$run"
}

# The example lab's app: a static Go binary in an otherwise empty image.
step_app_image() {
  local src=$REPO/examples/lab-85-passing/app key dir bin
  [ -f "$src/main.go" ] || die "missing $src/main.go"
  key=$( (sha256sum "$src/go.mod" "$src/main.go" | cut -c1-64; go version; echo "$RECIPE") | sha256sum | cut -c1-16)
  if image_exists "$APP_IMAGE" && [ "$(docker image inspect -f '{{index .Config.Labels "labgrader.kind-offline.key"}}' "$APP_IMAGE" 2>/dev/null)" = "$key" ]; then
    STEP_RESULT=cached; return
  fi
  local saved=$CACHE/images/lab85-web-$key.tar
  if [ -s "$saved" ]; then docker load -i "$saved" >/dev/null; STEP_RESULT=loaded; return; fi
  dir=$CACHE/tmp/app-rootfs
  rm -rf "$dir"; mkdir -p "$dir"
  minimal_rootfs "$dir"
  bin=$dir/web
  # Build from a copy so nothing is written under examples/.
  local work=$CACHE/tmp/app-src
  rm -rf "$work"; mkdir -p "$work"; cp "$src/go.mod" "$src/main.go" "$work/"
  (cd "$work" && GOTOOLCHAIN=local go build -trimpath -ldflags "-s -w" -o "$bin" .)
  tar --numeric-owner -C "$dir" -cf "$dir.tar" .
  import_tar "$dir.tar" "$APP_IMAGE" 'USER 65532:65532' 'ENTRYPOINT ["/web"]' 'EXPOSE 8080' \
    "LABEL labgrader.kind-offline.key=$key"
  docker image prune -f --filter "label=labgrader.kind-offline.key" >/dev/null || true
  rm -rf "$dir" "$dir.tar" "$work"
  docker save -o "$saved.tmp" "$APP_IMAGE" && mv "$saved.tmp" "$saved"
  echo "$saved" >"$CACHE/images/app-image.current"
  STEP_RESULT=built
}

# Keep `docker save` archives of the node image so it can be restored with
# `docker load` (ci-setup.sh does that) if the daemon's state is lost.
step_save() {
  local saved tag
  saved=$(sed -n 1p "$CACHE/images/node-image.current")
  tag=$(sed -n 2p "$CACHE/images/node-image.current")
  if [ -s "$saved" ]; then STEP_RESULT=cached; else
    docker save -o "$saved.tmp" "$tag"
    mv "$saved.tmp" "$saved"
    STEP_RESULT=built
  fi
  # Drop older archives of the node image.
  find "$CACHE/images" -name 'kind-node-*.tar' ! -path "$saved" -delete
  log "node image archive: $saved ($(du -h "$saved" | cut -f1))"
  # The app image too (it may have come from the daemon, not from a build).
  local key app_saved
  key=$(docker image inspect -f '{{index .Config.Labels "labgrader.kind-offline.key"}}' "$APP_IMAGE" 2>/dev/null || true)
  if [ -n "$key" ]; then
    app_saved=$CACHE/images/lab85-web-$key.tar
    if [ ! -s "$app_saved" ]; then
      docker save -o "$app_saved.tmp" "$APP_IMAGE" && mv "$app_saved.tmp" "$app_saved"
      STEP_RESULT=built
    fi
    find "$CACHE/images" -name 'lab85-web-*.tar' ! -path "$app_saved" -delete
    log "app image archive: $app_saved"
  fi
}

main() {
  [ "$(id -u)" = 0 ] || die "must run as root (Docker engine, debootstrap)"
  log "cache: $CACHE; kind $KIND_VERSION, Kubernetes $K8S_VERSION"
  step docker step_docker
  step kind step_kind
  step k8s step_k8s
  step images-list step_images_list
  step etcd step_etcd
  step coredns step_coredns
  step pause step_pause
  step kube-network-policies step_kube_network_policies
  step rootfs-kube-proxy step_rootfs_kube_proxy
  step rootfs-node step_rootfs_node
  step rootfs-cni step_rootfs_cni
  step control-plane-images step_control_plane_images
  step cni-image step_cni_image
  step node-image step_node_image
  step app-image step_app_image
  step save step_save
}

main "$@"
exit $?
