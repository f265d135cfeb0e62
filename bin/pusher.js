#!/usr/bin/env node
// The `pusher` command; the code lives in the build (npm run build).
import "../dist/src/cli/main.js";
