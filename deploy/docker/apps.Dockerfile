# The images of the four apps, one target each:
#   manager            the VirtRigaud manager (embedded SQLite store in /var/lib/virtrigaud)
#                      and vrtg, its command line (`docker run --entrypoint vrtg ...`)
#   provider-mock      the reference provider, every RPC in memory
#   provider-libvirt   the provider for libvirt/KVM hosts, reached over SSH (virsh runs on
#                      the host; the container needs no libvirt and no root)
#   provider-vsphere   the provider for VMware vSphere (vCenter)
#
# Build from the repository root, which is the build context, naming the target:
#   docker build -f deploy/docker/apps.Dockerfile --target provider-mock -t virtrigaud/provider-mock .
# (docker-compose.yml gives each service its target.) The build stages are shared: Docker
# builds the workspace once and every image shares those layers.
# BASE_IMAGE is a Debian bookworm image with Node.js 20 and npm: node:20-bookworm-slim by
# default; tools/compose/smoke.sh passes one made from Debian packages (no registry there).
# Flags and VIRTRIGAUD_* settings: `docker run --rm virtrigaud/<app> --help`;
# docs/guides/docker-compose.md shows the whole stack.
ARG BASE_IMAGE=node:20-bookworm-slim

# ---- build stages: the whole workspace's apps, built from the repository root ----
# They keep what runs: dist/, bin/, package.json and the production dependencies.

# The package manifests alone, so the install reruns only when one changes.
FROM ${BASE_IMAGE} AS manifests
WORKDIR /src
COPY . .
RUN find . -type f ! -name package.json ! -name package-lock.json ! -path './*/bin/*' -delete

FROM ${BASE_IMAGE} AS build
ENV npm_config_update_notifier=false npm_config_audit=false npm_config_fund=false
# python3, make and g++ build better-sqlite3 (the manager's store) from source, and ssh2's
# optional native crypto (provider-libvirt's SSH; without it, more CPU per GiB moved).
RUN if ! command -v python3 >/dev/null || ! command -v make >/dev/null || ! command -v g++ >/dev/null; then \
      apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*; \
    fi
# npm 11 runs only the install scripts package.json allows (better-sqlite3's and ssh2's).
RUN [ "$(npm --version)" = 11.19.1 ] || npm install --global npm@11.19.1
WORKDIR /app
COPY --from=manifests /src ./
# Exactly what the committed lockfile locks, as tools/install.sh does.
RUN npm ci
COPY . .
RUN npx tsc -b apps/manager/tsconfig.lib.json apps/provider-mock/tsconfig.lib.json \
      apps/provider-libvirt/tsconfig.lib.json apps/provider-vsphere/tsconfig.lib.json
# The web console's static files (vite is a build-time dependency, gone after the prune); the
# manager serves them at /console/.
RUN npm run build -w @virtrigaud/console
RUN npm prune --omit=dev \
 && mkdir /out && cp -a package.json node_modules /out/ \
 && for d in apps/* packages/*; do \
      mkdir -p "/out/$d" && cp -a "$d/package.json" "/out/$d/"; \
      for x in dist bin node_modules; do if [ -e "$d/$x" ]; then cp -a "$d/$x" "/out/$d/"; fi; done; \
    done \
 && find /out -name '*.tsbuildinfo' -delete \
 && find /out/node_modules -xtype l -delete

# ---- what every app image has: the built workspace in /app, run as uid 10001 ----
FROM ${BASE_IMAGE} AS app
RUN useradd --uid 10001 --user-group --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin virtrigaud
COPY --from=build /out /app
ENV NODE_ENV=production

# ---- the providers: RPC on 9443, /healthz, /readyz and /metrics on 8080 ----
FROM app AS provider
ENV VIRTRIGAUD_LISTEN=:9443 VIRTRIGAUD_OPS_LISTEN=:8080
USER 10001:10001
EXPOSE 9443 8080
HEALTHCHECK --interval=5s --timeout=3s --start-period=15s --retries=12 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

FROM provider AS provider-mock
ENTRYPOINT ["node", "/app/apps/provider-mock/bin/virtrigaud-provider-mock.js"]

FROM provider AS provider-libvirt
# An old generation of 128 MiB from the start: V8 counts the buffers of every
# 2 MiB disk chunk (read, encoded, sent, received) against its old generation,
# which starts at a few MiB, and ran a full mark-compact every few chunks of a
# disk transfer. From 128 MiB the same copy cut the provider's and the
# manager's CPU per GiB by about half (bench/migration). The manager, the
# copier between two providers, runs with the same flag. Each app's Node flags
# are its package.json's virtrigaud.nodeFlags, which tools/run.sh and the
# benchmarks read; tools/compose/check.sh fails when an ENTRYPOINT here differs.
ENTRYPOINT ["node", "--initial-old-space-size=128", "/app/apps/provider-libvirt/bin/virtrigaud-provider-libvirt.js"]

FROM provider AS provider-vsphere
# A young generation of 16 MiB from the start (V8 starts at 1 MiB and grows
# it as objects survive): a 1,000-VM property-collector answer allocates a lot
# of short-lived objects beside the values it keeps, and the first listing no
# longer pays for growing the young generation through a dozen extra
# scavenges, and fewer short-lived objects reach the old generation
# (bench/vsphere: 5 to 12% less CPU on a process's first listing, and about a
# third less peak RSS). Its package.json's virtrigaud.nodeFlags, as above.
ENTRYPOINT ["node", "--min-semi-space-size=16", "/app/apps/provider-vsphere/bin/virtrigaud-provider-vsphere.js"]

# ---- the manager: API and web console (/console/) on 9090, ops on 9091, its store in /var/lib/virtrigaud ----
FROM app AS manager
RUN mkdir -p /var/lib/virtrigaud && chown 10001:10001 /var/lib/virtrigaud \
 && ln -s /app/apps/manager/bin/vrtg.js /usr/local/bin/vrtg
ENV VIRTRIGAUD_LISTEN=:9090 VIRTRIGAUD_OPS_LISTEN=:9091
ENV VIRTRIGAUD_DATA=/var/lib/virtrigaud
ENV VIRTRIGAUD_CONSOLE_DIR=/app/apps/console/dist
# Providers' TLS files (the CA, the manager's client certificate) are mounted secrets: the only
# files a Provider manifest may name.
ENV VIRTRIGAUD_PROVIDER_TLS_DIR=/run/secrets
USER 10001:10001
EXPOSE 9090 9091
HEALTHCHECK --interval=5s --timeout=3s --start-period=15s --retries=12 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9091/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# The old generation starts at 128 MiB: the copier of disk transfers (see provider-libvirt above).
# The young generation may grow to 64 MiB: what reconciles and provider calls hold while they wait
# dies there instead of being copied into the old generation (apps/manager/README.md).
ENTRYPOINT ["node", "--initial-old-space-size=128", "--max-semi-space-size=64", "/app/apps/manager/bin/virtrigaud-manager.js"]
