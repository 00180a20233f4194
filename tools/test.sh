#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what it needs, then runs
# every check CI runs. This is the README's test command; .ci/run calls it.
set -euo pipefail
cd "$(dirname "$0")/.."
export NX_NO_CLOUD=true NX_DAEMON=false

step() { printf '\n==> %s\n' "$*"; }
started=$SECONDS

step "install: npm ci from the committed lockfile (skipped when nothing changed)"
# Every check below must leave the tree as the clone had it: compared at the end.
tree_before=$(git status --porcelain)
tools/install.sh

step "wire contract: buf lint, buf breaking, generated code current"
tools/proto.sh check

step "build"
npx nx run-many -t build --output-style=static

step "test beds: the real daemons integration tests use, on 127.0.0.1"
export VIRTRIGAUD_TESTBED=${VIRTRIGAUD_TESTBED:-$PWD/.testbed}
tools/testbed/up.sh
trap 'tools/testbed/down.sh' EXIT
for env_file in "$VIRTRIGAUD_TESTBED"/*.env; do
  if [ -e "$env_file" ]; then . "$env_file"; fi
done

step "guest image: boots under TCG to SSH and cloud-init done, and powers off on ACPI"
# The image the guest test bed built (VIRTRIGAUD_GUEST_IMAGE); one QEMU guest,
# about a minute. Bounded: a guest that never answers fails the run.
timeout --foreground 10m tools/guest-image/smoke.sh

step "typecheck sources and tests"
npx nx run-many -t typecheck --output-style=static

step "lint (zero warnings) and formatting"
npm run --silent lint
npx prettier --check . --log-level warn

step "dead exports: knip (a file or an export nothing uses fails)"
tools/knip.sh

step "tools: the scripts' own tests"
find tools -name '*.test.mjs' -print0 | sort -z | xargs -0 node --test --test-reporter=dot

step "docs: the CLI and configuration references match the binaries' --help"
node tools/docs/help.mjs --check

step "docker-compose.yml: docker-compose config, every profile"
tools/compose/check.sh

step "tests"
# Bounded: a hung test fails the run in minutes, not at the CI limit.
timeout --foreground 45m npx nx run-many -t test --parallel=1 --output-style=stream

step "conformance: vcts run against a running provider-mock"
tools/conformance-mock.sh

step "monitoring: alert rules (promtool), and the metric names they use on real /metrics"
tools/monitoring/check.sh

step "local stack: tools/run.sh --only-mock up, VMs Ready, Ctrl-C leaves nothing"
timeout --foreground 20m tools/run.test.sh

step "the tree is as the run found it: no tracked file rewritten, nothing left unignored"
if [ "$(git status --porcelain)" != "$tree_before" ]; then
  diff <(echo "$tree_before") <(git status --porcelain) >&2 || true
  echo "the checks changed the files above (git status); a check must never write into the tree" >&2
  exit 1
fi

printf '\nAll checks passed in %ss.\n' $((SECONDS - started))
