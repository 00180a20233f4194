# shellcheck shell=bash
# Shared helpers of tools/compose/*.sh. Source it: . "$(dirname "$0")/lib.sh"
#
# A private Docker engine (dockerd from Debian's docker.io) whose state lives
# under $VIRTRIGAUD_TESTBED/docker, and the base image the stack's images are
# built from when no registry is reachable: Debian bookworm from debootstrap
# plus this machine's Node.js 20 package.
# shellcheck source=../testbed/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../testbed/lib.sh"

docker_dir=$VIRTRIGAUD_TESTBED/docker
# Debian's client, the engine's own version (another docker on PATH may be newer).
docker_bin=/usr/bin/docker
# docker-compose builds with the `docker` first on PATH: make it this same
# client, so that its builds and smoke.sh's own share one build cache (clients
# of other versions send the build context differently, and nothing matches).
mkdir -p "$docker_dir/bin"
ln -sf "$docker_bin" "$docker_dir/bin/docker"
export PATH="$docker_dir/bin:$PATH"
export DOCKER_HOST="unix://$docker_dir/run/docker.sock"
# docker-compose (v1) reads these; the smoke test's project is apart from any other.
export COMPOSE_PROJECT_NAME=${COMPOSE_PROJECT_NAME:-vrtg-smoke}
base_image=virtrigaud/base:bookworm

# ms_since START_NS: milliseconds since a `date +%s%N` reading.
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }

engine_pid() {
  local pid
  pid=$(cat "$docker_dir/run/dockerd.pid" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

# engine_start: starts dockerd unless it already runs. No default bridge and no
# iptables rules: the engine changes nothing on the machine but the bridges of
# the networks compose creates (removed again by `docker-compose down`).
engine_start() {
  if engine_pid >/dev/null && "$docker_bin" version >/dev/null 2>&1; then
    log "docker: engine already running (pid $(engine_pid))"
    return 0
  fi
  local started
  started=$(date +%s%N)
  mkdir -p "$docker_dir/data" "$docker_dir/exec" "$docker_dir/run"
  rm -f "$docker_dir/run/docker.sock" "$docker_dir/run/dockerd.pid"
  dockerd \
    --data-root "$docker_dir/data" \
    --exec-root "$docker_dir/exec" \
    --pidfile "$docker_dir/run/dockerd.pid" \
    -H "$DOCKER_HOST" \
    --bridge=none --iptables=false --ip6tables=false \
    </dev/null >"$docker_dir/run/dockerd.log" 2>&1 &
  local pid=$!
  echo "$pid" >"$docker_dir/run/dockerd.started"
  local _
  for _ in $(seq 300); do
    "$docker_bin" version >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if ! "$docker_bin" version >/dev/null 2>&1; then
    log "docker: the engine did not start; its log:"
    tail -n 30 "$docker_dir/run/dockerd.log" >&2
    engine_stop
    return 1
  fi
  log "docker: engine up in $(ms_since "$started") ms (pid $pid, $DOCKER_HOST)"
}

# engine_stop: stops the dockerd engine_start started (by its PID; dockerd
# stops its containerd), then unmounts whatever it left under its directories.
engine_stop() {
  local pid i
  pid=$(cat "$docker_dir/run/dockerd.started" 2>/dev/null || true)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for i in $(seq 300); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "docker: engine did not stop in 30 s; killing it"
      kill -9 "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$docker_dir/run/dockerd.started"
  # Mounts a killed engine can leave (overlay layers, network namespaces), deepest first.
  local mounts
  mounts=$(awk -v d="$docker_dir/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r)
  if [ -n "$mounts" ]; then
    while read -r i; do umount -l "$i" 2>/dev/null || true; done <<<"$mounts"
  fi
  # containerd puts its shims' sockets under /run/containerd/s, and dockerd its
  # plugin directory under /run/docker, whatever their state directories. A
  # killed engine's shim sockets stay behind: remove those nobody listens on
  # (a live containerd's are listened on), then the directories when empty.
  local sock listening
  listening=$(ss -xlH 2>/dev/null | awk '{ print $5 }')
  for sock in /run/containerd/s/*; do
    [ -S "$sock" ] || continue
    grep -qxF "$sock" <<<"$listening" || rm -f "$sock"
  done
  rmdir /run/containerd/s /run/containerd /run/docker/plugins /run/docker 2>/dev/null || true
}

# build_base_image: virtrigaud/base:bookworm, Debian bookworm (debootstrap
# minbase from the Debian mirror apt uses) with the files of this machine's
# nodejs package (NodeSource's Node.js 20 .deb) and its npm, imported with
# `docker import`. Rebuilt only when its inputs change.
#
# It also gets this machine's CA bundle (/etc/ssl/certs/ca-certificates.crt)
# with NODE_EXTRA_CA_CERTS pointing at it, as Node here has: where outbound
# HTTPS goes through a proxy that only the machine's bundle trusts, npm in a
# build step fails with SELF_SIGNED_CERT_IN_CHAIN without it.
build_base_image() {
  ensure_packages debootstrap
  local node_pkg npm_version digest started
  node_pkg=$(dpkg-query -W -f='${Package} ${Version}' nodejs 2>/dev/null) || {
    log "docker: the base image needs the nodejs package (Node.js 20) installed on this machine"
    return 1
  }
  npm_version=$(npm --version 2>/dev/null)
  local ca_bundle=/etc/ssl/certs/ca-certificates.crt
  digest=$(printf '%s\n' "$node_pkg" "npm $npm_version" "bookworm minbase ca-certificates v2" \
    "$(sha256sum "$ca_bundle" 2>/dev/null)" | sha256sum | cut -c1-16)
  if [ "$("$docker_bin" image inspect -f '{{index .Config.Labels "io.virtrigaud.base"}}' "$base_image" 2>/dev/null)" = "$digest" ]; then
    log "docker: $base_image up to date ($node_pkg, npm $npm_version)"
    return 0
  fi
  local rootfs=$docker_dir/rootfs mirror
  mirror=$(debian_mirror)
  if [ ! -f "$rootfs/.virtrigaud-complete" ]; then
    started=$(date +%s%N)
    rm -rf "$rootfs"
    log "docker: debootstrap --variant=minbase bookworm from $mirror"
    debootstrap --variant=minbase --include=ca-certificates bookworm "$rootfs" "$mirror" \
      >"$docker_dir/debootstrap.log" 2>&1 || {
      tail -n 20 "$docker_dir/debootstrap.log" >&2
      return 1
    }
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    touch "$rootfs/.virtrigaud-complete"
    log "docker: debootstrap done in $(ms_since "$started") ms"
  fi
  started=$(date +%s%N)
  # Node.js: the regular files and links the nodejs package installed, and
  # npm as it is now (npm may have been upgraded in place since).
  local list=$docker_dir/nodejs-files.txt
  dpkg -L nodejs | while read -r f; do
    if [ -L "$f" ] || { [ -f "$f" ] && [ ! -d "$f" ]; }; then
      case $f in /usr/lib/node_modules/npm/*) ;; *) printf '%s\n' "${f#/}" ;; esac
    fi
  done >"$list"
  echo usr/lib/node_modules/npm >>"$list"
  tar -C / -cf - -T "$list" | tar -C "$rootfs" -xf -
  "$rootfs/usr/bin/node" --version >/dev/null
  [ ! -s "$ca_bundle" ] || cp "$ca_bundle" "$rootfs/etc/ssl/certs/ca-certificates.crt"
  tar -C "$rootfs" --exclude=./.virtrigaud-complete -cf - . |
    "$docker_bin" import \
      --change "ENV npm_config_nodedir=/usr" \
      --change "ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt" \
      --change "LABEL io.virtrigaud.base=$digest" \
      --change 'CMD ["/bin/bash"]' \
      - "$base_image" >/dev/null
  log "docker: imported $base_image ($node_pkg, npm $npm_version) in $(ms_since "$started") ms"
}

# debian_mirror: the first Debian mirror apt is configured with.
debian_mirror() {
  local uri
  uri=$(grep -hs -m1 -E '^URIs:.*/debian/?$' /etc/apt/sources.list.d/*.sources | awk '{ print $2 }' || true)
  [ -n "$uri" ] || uri=$(grep -hs -m1 -E '^deb .*/debian/? bookworm' /etc/apt/sources.list | awk '{ print $2 }' || true)
  echo "${uri:-http://deb.debian.org/debian}"
}
