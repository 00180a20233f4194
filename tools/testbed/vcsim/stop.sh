#!/usr/bin/env bash
# Stops the vcsim start.sh started (by its PID) and removes its env file.
. "$(dirname "$0")/../lib.sh"
stop_tracked vcsim
rm -f "$VIRTRIGAUD_TESTBED/vcsim.env"
