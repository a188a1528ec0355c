#!/usr/bin/env node
// Committed stub so pnpm can link the bin before dist/ is built.
import '../dist/bin.js'
