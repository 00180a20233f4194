#!/usr/bin/env bash
# Nothing runs for this test bed: removes guest.env. The image stays cached.
# shellcheck source=SCRIPTDIR/../lib.sh
. "$(dirname "$0")/../lib.sh"
rm -f "$VIRTRIGAUD_TESTBED/guest.env"
