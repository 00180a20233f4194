#!/usr/bin/env bash
# A real `docker-compose up` of docker-compose.yml on a machine with no image
# registry: a private Docker engine, a base image made of Debian packages, the
# stack's images built from this checkout, the stack up with its health checks,
# a Provider, VMClass, VMImage and VirtualMachine applied with vrtg (in the
# stack's vrtg container, over mutual TLS) and the VM waited Ready, then
# everything taken down again.
#
#   tools/compose/smoke.sh                 manager + provider-mock, and the
#                                          vsphere profile (vcsim, provider-vsphere)
#   tools/compose/smoke.sh --no-vsphere    manager + provider-mock only
#   tools/compose/smoke.sh --clean         remove the engine's state, the cached
#                                          images and the base rootfs, and exit
#
# Steps and what they use:
#   1. Debian's docker.io, docker-compose, debootstrap, openssl and
#      openssh-client (apt-get).
#   2. dockerd with its own data-root, exec-root, pidfile and unix socket under
#      $VIRTRIGAUD_TESTBED/docker, no default bridge and no iptables rules.
#      Containers left in it by an interrupted earlier run are removed.
#   3. virtrigaud/base:bookworm: debootstrap --variant=minbase bookworm plus the
#      files of this machine's nodejs package (Node.js 20), its npm and its CA
#      bundle, imported with `docker import` (tools/compose/lib.sh).
#   4. Certificates, vcsim credentials and libvirt's SSH key
#      (deploy/docker/make-certs.sh) in $VIRTRIGAUD_TESTBED/docker/secrets.
#   5. docker-compose build with tools/compose/docker-compose.smoke.yml, whose
#      only change is that build steps use the machine's network (npm registry,
#      Debian mirror): the engine has no default bridge for them. provider-libvirt
#      is built too, and every app image runs its binary's --help.
#   6. docker-compose up -d, health checks, vrtg apply and wait Ready, then TLS:
#      the manager and each provider refuse a client without a certificate, and
#      the manager's published port completes a verified mutual TLS handshake
#      from this machine.
#   7. docker-compose down -v, the engine stopped by its PID, and a check that
#      no container, network, volume, process or mount of it is left.
# Every step's wall time is printed at the end (also on a failure).
#
# The engine's data-root (images and build cache) and the debootstrap rootfs
# stay in $VIRTRIGAUD_TESTBED/docker so the next run is faster; --clean removes
# them. Bounded: builds 25 min, health 3 min, VM Ready 2 min.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

vsphere=true
case ${1:-} in
  --no-vsphere) vsphere=false ;;
  --clean)
    engine_stop
    rm -rf "$docker_dir"
    log "smoke: removed $docker_dir"
    exit 0
    ;;
  "") ;;
  *) echo "usage: $0 [--no-vsphere | --clean]" >&2; exit 2 ;;
esac

t0=$(date +%s%N)
timings=()
step_start=$t0
step() {
  local now
  now=$(date +%s%N)
  [ -z "${step_name:-}" ] || timings+=("$(printf '%-28s %7.1f s' "$step_name" "$(((now - step_start) / 1000000))e-3")")
  step_name=$1
  step_start=$now
  [ "$1" = "done" ] || log "smoke: == $1"
}

cd "$repo_root"
export VIRTRIGAUD_SECRETS=$docker_dir/secrets
export VIRTRIGAUD_BASE_IMAGE=$base_image VIRTRIGAUD_VCSIM_BASE_IMAGE=$base_image
export VIRTRIGAUD_TAG=smoke
compose_files=(-f docker-compose.yml -f tools/compose/docker-compose.smoke.yml)
profiles=(--profile tools)
services=(manager provider-mock)
# Built and run with --help, not started: it needs a libvirt host over SSH.
built=(provider-libvirt)
if $vsphere; then
  profiles+=(--profile vsphere)
  services+=(vcsim provider-vsphere)
fi
compose() { docker-compose "${compose_files[@]}" "${profiles[@]}" "$@"; }
vrtg() { compose run --rm -T vrtg "$@"; }

stack_up=false
cleanup() {
  local code=$?
  set +e
  [ $code -eq 0 ] || { step failed; printf '  %s\n' "${timings[@]}" >&2; }
  if $stack_up; then
    log "smoke: docker-compose down -v"
    if [ $code -ne 0 ]; then
      log "smoke: failed; the stack's logs:"
      compose logs --no-color --tail 40 >&2
    fi
    compose down -v --remove-orphans --timeout 10 >&2
  fi
  engine_stop
  exit $code
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step "install packages"
ensure_packages docker.io docker-compose debootstrap openssl openssh-client

step "start the engine"
engine_start
# The engine is this script's alone: containers in it are left from an earlier
# run that was interrupted (a killed build leaves its step's container).
mapfile -t stale < <("$docker_bin" ps -aq)
if [ ${#stale[@]} -gt 0 ]; then
  log "smoke: removing containers an interrupted earlier run left: ${stale[*]}"
  "$docker_bin" rm -f "${stale[@]}" >/dev/null
fi

step "base image"
build_base_image

step "certificates"
deploy/docker/make-certs.sh --dir "$VIRTRIGAUD_SECRETS"

step "build images"
timeout 1500 docker-compose "${compose_files[@]}" "${profiles[@]}" --profile libvirt build "${services[@]}" "${built[@]}" \
  >"$docker_dir/build.log" 2>&1 || {
  tail -n 60 "$docker_dir/build.log" >&2
  log "smoke: the build failed (whole log: $docker_dir/build.log)"
  exit 1
}
# Keep the build stages tagged (npm install, Debian's Go: the slow layers; these
# builds are all cache hits), then drop what earlier builds left untagged.
# Without it the data root grows by a build stage (~0.5 GB) whenever the
# sources change; an untagged build stage would be pruned with its cache.
cache_tag() {
  "$docker_bin" build -q --network host --build-arg "BASE_IMAGE=$base_image" --target build \
    -t "virtrigaud/build-cache:$1" -f "$2" . >>"$docker_dir/build.log" 2>&1
}
cache_tag apps deploy/docker/apps.Dockerfile
! $vsphere || cache_tag vcsim deploy/docker/vcsim.Dockerfile
"$docker_bin" image prune -f >/dev/null
"$docker_bin" image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep ':smoke\|base:' >&2
# Every app image starts its binary; provider-libvirt's is checked only so far.
for s in manager provider-mock provider-libvirt provider-vsphere; do
  $vsphere || [ "$s" != provider-vsphere ] || continue
  "$docker_bin" run --rm "virtrigaud/$s:smoke" --help | head -n 1 >&2
done

step "docker-compose up"
port=$(free_port)
export VIRTRIGAUD_MANAGER_PORT=$port
stack_up=true
compose up -d "${services[@]}"

step "health checks"
deadline=$((SECONDS + 180))
while :; do
  unhealthy=()
  for s in "${services[@]}"; do
    id=$(compose ps -q "$s")
    state=$("$docker_bin" inspect -f '{{.State.Status}}/{{if .State.Health}}{{.State.Health.Status}}{{end}}' "$id" 2>/dev/null || echo missing)
    [ "$state" = running/healthy ] || unhealthy+=("$s=$state")
  done
  [ ${#unhealthy[@]} -eq 0 ] && break
  if [ $SECONDS -ge $deadline ]; then
    log "smoke: not healthy after 180 s: ${unhealthy[*]}"
    exit 1
  fi
  sleep 1
done
compose ps

step "vrtg apply, wait Ready"
manifests=(-f /manifests/provider-mock.yaml -f /manifests/sample-vm.yaml)
$vsphere && manifests+=(-f /manifests/provider-vsphere.yaml -f /manifests/sample-vm-vsphere.yaml)
vrtg apply "${manifests[@]}"
vrtg wait providers mock --for condition=Ready --timeout 60s
vrtg wait vm web-1 --for condition=Ready --timeout 120s
if $vsphere; then
  vrtg wait providers vsphere --for condition=Ready --timeout 60s
  vrtg wait vm web-vsphere-1 --for condition=Ready --timeout 120s
fi
vrtg get providers
# As the guide shows it: no --profile, compose enables the profile of the service named.
docker-compose "${compose_files[@]}" run --rm -T vrtg get vm -o wide

step "TLS checks"
# The manager's API is mutual TLS: without a client certificate, vrtg is refused.
if out=$(compose run --rm -T --entrypoint node vrtg /app/apps/manager/bin/vrtg.js \
  --server https://manager:9090 --ca /run/secrets/ca.crt get vm 2>&1); then
  log "smoke: the manager answered a client without a certificate: $out"
  exit 1
fi
log "smoke: without a client certificate the manager refuses: $(grep -m1 'error' <<<"$out")"
# The providers are mutual TLS too: a client that verifies a provider's
# certificate against the stack's CA but shows none of its own is refused.
providers=(provider-mock:provider-mock)
$vsphere && providers+=(vcsim:provider-vsphere)
for p in "${providers[@]}"; do
  host=${p%%:*} name=${p#*:}
  out=$(compose run --rm -T --entrypoint node vrtg -e "
    const tls = require('node:tls'), fs = require('node:fs');
    const s = tls.connect({ host: '$host', port: 9443, servername: '$name', ALPNProtocols: ['h2'],
      ca: fs.readFileSync('/run/secrets/ca.crt') }, () => s.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'));
    s.on('data', () => {});
    s.on('error', (e) => { console.log('refused: ' + e.message); process.exit(e.message.includes('certificate required') ? 0 : 1); });
    s.on('close', () => { console.log('the connection closed without a TLS alert'); process.exit(1); });
    setTimeout(() => { console.log('not refused within 5 s'); process.exit(1); }, 5000);" 2>&1) || {
    log "smoke: $name did not refuse a client without a certificate: $out"
    exit 1
  }
  log "smoke: $name (at $host:9443) verifies against the CA and refuses a client without a certificate: $(grep -m1 refused <<<"$out")"
  # vrtg's certificate (the users' CA) is no manager's: refused too.
  out=$(compose run --rm -T --entrypoint node vrtg -e "
    const tls = require('node:tls'), fs = require('node:fs');
    const s = tls.connect({ host: '$host', port: 9443, servername: '$name', ALPNProtocols: ['h2'],
      ca: fs.readFileSync('/run/secrets/ca.crt'), cert: fs.readFileSync('/run/secrets/tls.crt'),
      key: fs.readFileSync('/run/secrets/tls.key') }, () => s.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'));
    s.on('data', () => {});
    s.on('error', (e) => { console.log('refused: ' + e.message); process.exit(0); });
    s.on('close', () => { console.log('refused: the provider closed the connection'); process.exit(0); });
    setTimeout(() => { console.log('not refused within 5 s'); process.exit(1); }, 5000);" 2>&1) || {
    log "smoke: $name did not refuse vrtg's certificate: $out"
    exit 1
  }
  log "smoke: $name refuses vrtg's certificate (it takes the managers' only): $(grep -m1 refused <<<"$out")"
done
# The published port, from this machine: a handshake verified against the CA.
tls=$VIRTRIGAUD_SECRETS/tls
handshake=$(openssl s_client -connect "127.0.0.1:$port" -servername manager -verify_return_error \
  -CAfile "$tls/ca.crt" -cert "$tls/vrtg.crt" -key "$tls/vrtg.key" </dev/null 2>&1 || true)
grep -q 'Verify return code: 0 (ok)' <<<"$handshake" || {
  echo "$handshake" >&2
  log "smoke: no verified TLS handshake with the manager on 127.0.0.1:$port"
  exit 1
}
log "smoke: the manager's published port 127.0.0.1:$port completes a verified mutual TLS handshake"

step "docker-compose down"
compose down -v --remove-orphans --timeout 10
stack_up=false
left=$("$docker_bin" ps -aq; "$docker_bin" volume ls -q; "$docker_bin" network ls -q -f type=custom)
[ -z "$left" ] || { log "smoke: left after down: $left"; exit 1; }

step "stop the engine"
engine_stop
if engine_pid >/dev/null; then
  log "smoke: the engine still runs"
  exit 1
fi
if awk -v d="$docker_dir/" 'index($2, d) == 1 { found = 1 } END { exit !found }' /proc/mounts; then
  log "smoke: mounts left under $docker_dir"
  exit 1
fi

step "done"
log "smoke: passed in $((($(date +%s%N) - t0) / 1000000000)) s; cache kept in $docker_dir ($(du -sh "$docker_dir" 2>/dev/null | cut -f1)), remove it with $0 --clean"
printf '  %s\n' "${timings[@]}" >&2
