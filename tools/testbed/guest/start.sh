#!/usr/bin/env bash
# Starts nothing: writes guest.env with the path of the image setup.sh built
# (VIRTRIGAUD_GUEST_IMAGE), for the tests that boot a real guest.
# shellcheck source=SCRIPTDIR/../lib.sh
. "$(dirname "$0")/../lib.sh"
image=$("$repo_root/tools/guest-image/build.sh" --no-build)
write_env guest "VIRTRIGAUD_GUEST_IMAGE=$image"
