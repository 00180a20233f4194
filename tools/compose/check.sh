#!/usr/bin/env bash
# Validates the docker-compose stack without a Docker engine: installs Debian's
# docker-compose (1.29) when missing, then
#   - `docker-compose config -q` on docker-compose.yml, alone, with each profile
#     (libvirt, vsphere, ha, tools) and with all of them, and with the smoke test's
#     override file;
#   - every Dockerfile the file builds exists;
#   - each app service's build target is a stage of its Dockerfile (the four
#     apps share deploy/docker/apps.Dockerfile), and the flags and
#     VIRTRIGAUD_*/VSPHERE_* settings each service passes are ones its binary's
#     --help lists, /run/secrets paths are mounted secrets, and the health
#     checks probe the ops port (check-flags.mjs). This builds the four apps
#     first (npx tsc -b, incremental), so it needs the install done.
# Needs no Docker engine. Exits non-zero on the first failure.
# shellcheck source=../testbed/lib.sh
. "$(dirname "$0")/../testbed/lib.sh"
started=$(date +%s%N)
ensure_packages docker-compose
cd "$repo_root"

check() {
  log "compose: docker-compose $* config -q"
  docker-compose "$@" config -q
}
check -f docker-compose.yml
for profile in libvirt vsphere ha tools; do check -f docker-compose.yml --profile "$profile"; done
check -f docker-compose.yml --profile libvirt --profile vsphere --profile ha --profile tools
check -f docker-compose.yml -f tools/compose/docker-compose.smoke.yml --profile vsphere --profile tools

dockerfiles=$(docker-compose -f docker-compose.yml --profile libvirt --profile vsphere --profile ha --profile tools config |
  awk '$1 == "dockerfile:" { print $2 }' | sort -u)
[ -n "$dockerfiles" ] || { log "compose: no Dockerfile found in the rendered file"; exit 1; }
for f in $dockerfiles; do
  [ -f "$f" ] || { log "compose: $f is built by docker-compose.yml but does not exist"; exit 1; }
done

configs=()
for app in manager provider-mock provider-libvirt provider-vsphere; do configs+=("apps/$app/tsconfig.lib.json"); done
log "compose: building ${configs[*]} for their --help"
if ! out=$(npx tsc -b "${configs[@]}" 2>&1); then
  echo "$out" >&2
  log "compose: the apps do not build"
  exit 1
fi
docker-compose -f docker-compose.yml --profile libvirt --profile vsphere --profile ha --profile tools config |
  node tools/compose/check-flags.mjs

log "compose: docker-compose.yml valid ($(echo "$dockerfiles" | wc -l) Dockerfiles) in $((($(date +%s%N) - started) / 1000000)) ms"
