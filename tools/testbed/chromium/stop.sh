#!/usr/bin/env bash
# Removes the env file start.sh wrote (no process to stop).
. "$(dirname "$0")/../lib.sh"
rm -f "$VIRTRIGAUD_TESTBED/chromium.env"
