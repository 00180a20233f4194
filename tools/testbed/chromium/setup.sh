#!/usr/bin/env bash
# Installs Debian's Chromium for the console's browser tests (driven by npm
# playwright-core, which downloads no browser of its own) and a font, so the
# pages and their screenshots have readable text. Idempotent.
. "$(dirname "$0")/../lib.sh"
ensure_packages chromium fonts-dejavu-core
