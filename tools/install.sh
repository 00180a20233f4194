#!/usr/bin/env bash
# Installs the workspace exactly as package-lock.json locks it, with `npm ci`:
# the same packages on every machine and every day, whatever the registry lists
# then, and the lockfile is never rewritten.
#
# A second run on the same clone does nothing when nothing changed: the install
# is recorded in node_modules/.virtrigaud-install (a hash of the lockfile, every
# workspace package.json, .npmrc, Node.js, npm and the platform), so
# better-sqlite3 is not compiled again. Anything else reinstalls from scratch.
#
# Usage: tools/install.sh [--force]
set -euo pipefail
cd "$(dirname "$0")/.."

force=0
case ${1-} in
  --force) force=1 ;;
  "") ;;
  *) echo "Usage: tools/install.sh [--force]" >&2; exit 2 ;;
esac

say() { printf 'install: %s\n' "$*" >&2; }

# A lockfile written where the registry hid other platforms' packages: npm ci
# would refuse it, and npm install would rewrite it. Name the fix instead.
node tools/lockfile/check.mjs

stamp=node_modules/.virtrigaud-install
inputs() {
  printf 'node %s\nnpm %s\nplatform %s %s\n' "$(node --version)" "$(npm --version)" "$(uname -s)" "$(uname -m)"
  local f
  for f in package-lock.json package.json .npmrc packages/*/package.json apps/*/package.json bench/*/package.json; do
    [ -f "$f" ] && printf '%s %s\n' "$(sha256sum <"$f" | cut -d' ' -f1)" "$f"
  done
  return 0
}

# One install at a time in this tree (tools/run.sh and tools/test.sh may overlap).
exec 9>.npm-install.lock
flock 9

want=$(inputs | sha256sum | cut -d' ' -f1)
if [ $force -eq 0 ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  say "node_modules already holds package-lock.json's packages (nothing changed since the last install)"
  exit 0
fi

lock_before=$(sha256sum package-lock.json)
say "npm ci (exactly what package-lock.json locks; better-sqlite3 builds from source)"
if ! npm ci --no-audit --no-fund --loglevel=error; then
  cat >&2 <<'MSG'
install: npm ci could not install from package-lock.json; its message above says what differs.
install: If a package.json changed, run `npm install` to update package-lock.json, check the
install: diff (`git diff package-lock.json`) and commit both. If the registry could not be reached,
install: rerun when it can: nothing was changed.
MSG
  exit 1
fi
if [ "$(sha256sum package-lock.json)" != "$lock_before" ]; then
  say "npm ci changed package-lock.json, which it must never do: restore it with \`git checkout package-lock.json\` and report this"
  exit 1
fi
# better-sqlite3 is compiled by its install script (allowed in package.json);
# npm 11 skips scripts it is not allowed to run without failing, so prove it ran.
if ! node -e 'new (require("better-sqlite3"))(":memory:").close()' 2>/dev/null; then
  say "better-sqlite3 did not build: it needs python3, make and g++ (apt-get install python3 make g++), then tools/install.sh --force"
  exit 1
fi
# ssh2's native crypto is built by its install script too (allowed in package.json), which
# never fails the install: say so when it did not build. SSH then works, at about a third more
# CPU per GiB a provider moves (provider-libvirt's test of its SSH host checks it is there).
if ! node -e 'process.exit(require("ssh2/lib/protocol/crypto.js").bindingAvailable ? 0 : 1)' 2>/dev/null; then
  say "ssh2's native crypto did not build (python3, make and g++ build it): SSH works without it, at more CPU"
fi
echo "$want" >"$stamp"
