#!/usr/bin/env -S node --max-semi-space-size=4
// Committed stub so pnpm can link the bin before dist/ is built. The flag, set once at start: V8 keeps its young
// generation at two 4 MB semi-spaces instead of growing it to 2 x 16 MB under load, ~20 MB less resident memory
// at the same throughput (packages/bench: conn vs conn-v8-default). To size it yourself, run this file with node:
// `node --max-semi-space-size=<MB> <path>/bin/conn.js`.
import '../dist/bin.js'
