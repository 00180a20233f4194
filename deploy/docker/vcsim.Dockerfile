# vcsim: the vCenter simulator of tools/vcsim (govmomi's simulator, VPX model), built in
# GOPATH mode from Debian's golang-go and golang-github-vmware-govmomi-dev as
# tools/testbed/vcsim/setup.sh does; nothing is fetched but Debian packages.
#
# Build from the repository root, which is the build context:
#   docker build -f deploy/docker/vcsim.Dockerfile -t virtrigaud/vcsim .
# It serves https://127.0.0.1:8989/sdk inside its network namespace only (tools/vcsim
# listens on loopback and its certificate names 127.0.0.1), so its client shares that
# namespace (docker-compose.yml: provider-vsphere has network_mode "service:vcsim").
# The username and password are the files username and password in
# $VCSIM_CREDENTIALS_DIR (default /run/secrets/vsphere). The certificate it makes at
# start goes to /run/vcsim/ca.pem, a volume its client mounts to verify it.
ARG BASE_IMAGE=debian:bookworm-slim

FROM ${BASE_IMAGE} AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends golang-go golang-github-vmware-govmomi-dev ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY tools/vcsim /src/tools/vcsim
WORKDIR /src/tools/vcsim
RUN GO111MODULE=off GOPATH=/go:/usr/share/gocode GOFLAGS= go build -o /out/vcsim .

FROM ${BASE_IMAGE}
RUN useradd --uid 10001 --user-group --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin virtrigaud \
 && mkdir -p /run/vcsim && chown 10001:10001 /run/vcsim
COPY --from=build /out/vcsim /usr/local/bin/vcsim
COPY deploy/docker/vcsim-entrypoint.sh /usr/local/bin/vcsim-entrypoint
USER 10001:10001
EXPOSE 8989
HEALTHCHECK --interval=2s --timeout=2s --start-period=5s --retries=15 CMD ["test", "-s", "/run/vcsim/info.json"]
ENTRYPOINT ["/usr/local/bin/vcsim-entrypoint"]
