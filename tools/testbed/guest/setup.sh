#!/usr/bin/env bash
# Builds the guest image (tools/guest-image/build.sh), or finds it in its
# cache: a real Debian guest for tests that boot an OS. The first build takes
# a few minutes; later ones return at once until the recipe changes.
# shellcheck source=SCRIPTDIR/../lib.sh
. "$(dirname "$0")/../lib.sh"
image=$("$repo_root/tools/guest-image/build.sh")
log "guest: image $image"
