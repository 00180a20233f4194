#!/usr/bin/env node
// The package's bin. It is committed, so npm links it at install time, before
// the build has made dist/main.js, which it runs.
import "../dist/main.js";
