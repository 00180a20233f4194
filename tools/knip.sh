#!/usr/bin/env bash
# The dead-export check (knip 6, configured in knip.json): fails on a source file
# nothing imports and on an export nothing uses.
#   1. Every workspace: unused files, exports, types and duplicate exports. A package's
#      entry points (package.json "exports", bins) are its public surface; an export
#      only its own file uses counts as unused.
#   2. The SDK's entry points: every value @virtrigaud/contracts exports from its root or
#      a subpath must be used somewhere in the repository (a provider, the manager,
#      conformance, the scaffolder, a test); what nothing uses leaves the public surface.
# Usage: tools/knip.sh   (from anywhere; exit status 1 when knip found something)
set -euo pipefail
cd "$(dirname "$0")/.."
export NO_COLOR=1
npx knip --no-progress --files --exports
npx knip --no-progress --workspace packages/contracts --include-entry-exports --include exports
