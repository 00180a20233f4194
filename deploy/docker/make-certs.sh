#!/usr/bin/env bash
# Makes the files docker-compose.yml mounts as secrets, in a directory only you
# can enter (default deploy/docker/secrets, gitignored; VIRTRIGAUD_SECRETS or
# --dir DIR chooses another):
#
#   tls/ca.crt, tls/ca.key          the stack's CA (the key is never mounted): it
#                                   signs the services' certificates, and the
#                                   only client certificates it signs are the
#                                   managers', so providers that trust it for
#                                   clients accept calls from managers only
#   tls/users-ca.crt, users-ca.key  the CA of the manager API's users (vrtg):
#                                   the managers trust it for clients
#   tls/manager.{crt,key}           the manager's API (server) and its client
#                                   certificate toward the providers (mutual TLS)
#   tls/manager-{a,b}.{crt,key}     the same for the two managers of the profile
#                                   "ha" (manager-a, manager-b)
#   tls/provider-*.{crt,key}        each provider's server certificate
#   tls/vrtg.{crt,key}              vrtg's client certificate toward the manager,
#                                   signed by the users' CA
#   manager/secret-keys.yaml        the key the managers seal Secrets with at rest
#                                   (AES-256-GCM), made when absent and never
#                                   remade: a store is unreadable without it,
#                                   so back it up apart from the store
#   vsphere/username, password      made up for vcsim when absent (the vsphere
#                                   profile); put a real vCenter's there instead
#   postgres/password               the password of the user virtrigaud of the
#                                   postgres service (the profile "ha"), made up
#                                   when absent
#   libvirt/ssh-privatekey (+ .pub) provider-libvirt's SSH key (the libvirt
#                                   profile), made when absent: add the .pub
#                                   line to the libvirt host's authorized_keys
#   libvirt/known_hosts             made holding only a comment when absent, so
#                                   it trusts no host until you add the libvirt
#                                   host's key (ssh-keyscan -p PORT HOST >> it)
#
# Certificates name their service, localhost and 127.0.0.1, are valid for a
# year, and are remade when missing, not signed by their CA, or expiring within
# 30 days. --force remakes the CAs and every certificate.
#
# Keys are mode 0644 inside the 0700 directory: the containers run as uid
# 10001, and compose bind-mounts secret files with their owner and mode as they
# are on this machine, so the key must be readable by others to be readable
# there; the directory keeps everyone else on this machine out.
set -euo pipefail

repo_root=$(cd "$(dirname "$0")/../.." && pwd)
dir=${VIRTRIGAUD_SECRETS:-$repo_root/deploy/docker/secrets}
force=false
while [ $# -gt 0 ]; do
  case $1 in
    --dir) dir=$2; shift 2 ;;
    --force) force=true; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "make-certs.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
done
command -v openssl >/dev/null || { echo "make-certs.sh: needs openssl (apt-get install openssl)" >&2; exit 1; }

tls=$dir/tls
mkdir -p "$tls" "$dir/vsphere" "$dir/libvirt" "$dir/postgres"
chmod 700 "$dir"
log() { printf '[make-certs] %s\n' "$*" >&2; }

days=365
ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)

# make_ca NAME SUBJECT: a CA, unless a good one exists; a new one takes the
# certificates it signed with it.
make_ca() {
  local name=$1 subject=$2
  if $force || [ ! -s "$tls/$name.crt" ] || [ ! -s "$tls/$name.key" ] ||
    ! openssl x509 -in "$tls/$name.crt" -noout -checkend $((30 * 86400)) >/dev/null 2>&1; then
    log "CA: $tls/$name.crt"
    rm -f "$tls/$name.crt" "$tls/$name.key"
    (
      umask 077
      openssl req -x509 "${ec[@]}" -keyout "$tls/$name.key" -out "$tls/$name.crt" -days $((days * 3)) \
        -subj "/CN=$subject" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    )
    chmod 644 "$tls/$name.crt"
  fi
}
make_ca ca "VirtRigaud local CA"
make_ca users-ca "VirtRigaud local users CA"

# leaf NAME USAGES [CA]: a certificate for NAME signed by CA (default: the
# stack's), unless a good one exists.
leaf() {
  local name=$1 usages=$2 ca=${3:-ca}
  if [ -s "$tls/$name.crt" ] && [ -s "$tls/$name.key" ] &&
    openssl verify -CAfile "$tls/$ca.crt" "$tls/$name.crt" >/dev/null 2>&1 &&
    openssl x509 -in "$tls/$name.crt" -noout -checkend $((30 * 86400)) >/dev/null 2>&1; then
    return 0
  fi
  log "$name: $tls/$name.crt ($usages)"
  local ext
  ext=$(mktemp)
  printf '%s\n' \
    "basicConstraints=critical,CA:FALSE" \
    "keyUsage=critical,digitalSignature" \
    "extendedKeyUsage=$usages" \
    "subjectAltName=DNS:$name,DNS:localhost,IP:127.0.0.1" >"$ext"
  openssl req -new "${ec[@]}" -keyout "$tls/$name.key" -subj "/CN=$name" -out "$tls/$name.csr" 2>/dev/null
  openssl x509 -req -in "$tls/$name.csr" -CA "$tls/$ca.crt" -CAkey "$tls/$ca.key" -set_serial "0x$(openssl rand -hex 16)" \
    -days "$days" -extfile "$ext" -out "$tls/$name.crt" 2>/dev/null
  rm -f "$tls/$name.csr" "$ext"
  chmod 644 "$tls/$name.crt" "$tls/$name.key"
}

leaf manager serverAuth,clientAuth
leaf manager-a serverAuth,clientAuth
leaf manager-b serverAuth,clientAuth
leaf provider-mock serverAuth
leaf provider-libvirt serverAuth
leaf provider-vsphere serverAuth
# vrtg is a user of the manager's API, not one of its services: the providers
# (which trust the stack's CA for clients) refuse its certificate.
leaf vrtg clientAuth users-ca

# The Secrets' key, made once: remaking it would leave every stored Secret
# unreadable (rotate with virtrigaud-manager secret-key generate, then
# rotate-secrets; docs/guides/secrets.md).
if [ ! -s "$dir/manager/secret-keys.yaml" ]; then
  log "manager: the Secrets' key in $dir/manager/secret-keys.yaml"
  mkdir -p "$dir/manager"
  printf 'apiVersion: infra.virtrigaud.io/v1beta1\nkind: SecretKeys\nkeys:\n  - name: key-%s\n    secret: %s\n' \
    "$(date -u +%Y%m%d%H%M%S)" "$(openssl rand -base64 32)" >"$dir/manager/secret-keys.yaml"
  chmod 644 "$dir/manager/secret-keys.yaml"
fi

# vcsim's login, made up once; a real vCenter's credentials replace these files.
if [ ! -s "$dir/vsphere/username" ] || [ ! -s "$dir/vsphere/password" ]; then
  log "vsphere: made-up credentials for vcsim in $dir/vsphere"
  printf 'vrtg-%s@vsphere.local\n' "$(openssl rand -hex 4)" >"$dir/vsphere/username"
  openssl rand -base64 24 >"$dir/vsphere/password"
  chmod 644 "$dir/vsphere/username" "$dir/vsphere/password"
fi
# The password of PostgreSQL's user virtrigaud (the profile "ha"), made up once. Hex, with no
# newline: the postgres service's initdb and the managers read the file as it is.
if [ ! -s "$dir/postgres/password" ]; then
  log "postgres: made-up password in $dir/postgres/password"
  openssl rand -hex 24 | tr -d '\n' >"$dir/postgres/password"
  chmod 644 "$dir/postgres/password"
fi
# provider-libvirt's SSH identity toward the libvirt host. The host's key is
# never guessed: known_hosts starts empty and the provider refuses to connect
# until it holds the host's key.
if [ ! -s "$dir/libvirt/ssh-privatekey" ]; then
  if command -v ssh-keygen >/dev/null; then
    log "libvirt: SSH key $dir/libvirt/ssh-privatekey (add the .pub line to the libvirt host's authorized_keys)"
    rm -f "$dir/libvirt/ssh-privatekey.pub"
    ssh-keygen -q -t ed25519 -N '' -C virtrigaud-provider-libvirt -f "$dir/libvirt/ssh-privatekey"
    chmod 644 "$dir/libvirt/ssh-privatekey" "$dir/libvirt/ssh-privatekey.pub"
  else
    log "libvirt: no ssh-keygen (apt-get install openssh-client): put provider-libvirt's key at $dir/libvirt/ssh-privatekey"
  fi
fi
if [ ! -e "$dir/libvirt/known_hosts" ]; then
  log "libvirt: $dir/libvirt/known_hosts trusts no host yet: ssh-keyscan -p PORT HOST >> it"
  printf '%s\n' "# The libvirt host's SSH key, for provider-libvirt: ssh-keyscan -p PORT HOST >> this file" \
    >"$dir/libvirt/known_hosts"
  chmod 644 "$dir/libvirt/known_hosts"
fi
log "done: $dir"
