# postgres: PostgreSQL 15 from Debian's postgresql-15 package, for the compose profile "ha"
# (several managers on one database). Built from Debian packages like vcsim's image, so it
# needs no image registry beyond its base.
#
# Build from the repository root, which is the build context:
#   docker build -f deploy/docker/postgres.Dockerfile -t virtrigaud/postgres .
# On its first start the entry point (deploy/docker/postgres-entrypoint.sh) makes a cluster
# in /var/lib/postgresql/data (a volume) with the superuser virtrigaud, whose password is the
# file $POSTGRES_PASSWORD_FILE (default /run/secrets/postgres-password), and a database
# virtrigaud. Clients authenticate over TCP with that password (SCRAM-SHA-256).
ARG BASE_IMAGE=debian:bookworm-slim

FROM ${BASE_IMAGE}
# postgresql-common would make and start a cluster "main" while installing: not in an image.
RUN mkdir -p /etc/postgresql-common/createcluster.d \
 && echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.d/no-main.conf \
 && apt-get update \
 && apt-get install -y --no-install-recommends postgresql-15 \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/lib/postgresql/data /run/postgresql \
 && chown postgres:postgres /var/lib/postgresql/data /run/postgresql \
 && chmod 700 /var/lib/postgresql/data
COPY deploy/docker/postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint
USER postgres
EXPOSE 5432
HEALTHCHECK --interval=2s --timeout=2s --start-period=10s --retries=15 \
  CMD ["/usr/lib/postgresql/15/bin/pg_isready", "-q", "-h", "127.0.0.1", "-p", "5432"]
ENTRYPOINT ["/usr/local/bin/postgres-entrypoint"]
