#!/usr/bin/env node
// The package's bin. It is committed, so npm links it at install time, before
// the build has made dist/vrtg/cli.js, which it runs.
import "../dist/vrtg/cli.js";
