#!/usr/bin/env bash
# Nothing runs: each browser test starts its own Chromium with a fresh profile.
# Writes where the binary is, for the tests to read.
. "$(dirname "$0")/../lib.sh"
command -v chromium >/dev/null || { log "chromium: not installed (run setup.sh)"; exit 1; }
write_env chromium VIRTRIGAUD_CHROMIUM="$(command -v chromium)"
