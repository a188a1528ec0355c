#!/usr/bin/env bash
# The Dockerfile's steps without Docker (this machine has the docker client but no engine):
#   build context = the repo minus .dockerignore; `pnpm fetch` with only the lockfile, pnpm-workspace.yaml and
#   .npmrc; `pnpm install --frozen-lockfile --offline`; `pnpm exec tsc -b`; `pnpm deploy ... --prod <out>`;
# then deletes everything but <out> and runs it as the runtime stage would: `node <out>/bin/conn.js --help`, and
# a connector with two ilp-plugin-btp accounts and the admin API, paid through by BTP clients, stopped by SIGTERM.
# Usage: scripts/docker-sim.sh [repo dir, default: the parent of this script's dir]
set -euo pipefail
SRC=$(cd "${1:-$(dirname "$0")/..}" && pwd)
W=$(mktemp -d "${TMPDIR:-/tmp}/conn-docker-sim.XXXXXX")
trap 'rm -rf "$W"' EXIT
export CI=true TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1 NPM_CONFIG_UPDATE_NOTIFIER=false

mkdir -p "$W/src" "$W/fetch"
tar -C "$SRC" --exclude=node_modules --exclude=dist --exclude=.turbo --exclude='*.tsbuildinfo' --exclude='*.log' \
  --exclude=./.git --exclude=./.ci --exclude=./.changeset --exclude='.env' --exclude='.env.*' \
  --exclude=./Dockerfile --exclude=./.dockerignore -cf - . | tar -C "$W/src" -xf -
cp "$SRC/pnpm-lock.yaml" "$SRC/pnpm-workspace.yaml" "$SRC/.npmrc" "$W/fetch/"
(cd "$W/fetch" && pnpm fetch >/dev/null)
(cd "$W/src" && pnpm install --frozen-lockfile --offline >/dev/null)
(cd "$W/src" && pnpm exec tsc -b)
(cd "$W/src" && pnpm deploy --config.inject-workspace-packages=true --offline --filter @conn/cli --prod "$W/out" >/dev/null)
rm -rf "$W/src" "$W/fetch"
echo "deployed tree: $(du -sh "$W/out" | cut -f1)"
outside=$(find "$W/out" -type l | while read -r l; do case "$(readlink -f "$l")" in "$W"/out/*) ;; *) echo "$l";; esac; done)
if [ -n "$outside" ]; then echo "links leaving the tree:"; echo "$outside"; exit 1; fi

cd /
"$W/out/bin/conn.js" --help | head -1
# BTP clients from the repo's cli package (the deployed tree has no test tools).
cat > "$W/smoke.mjs" <<'EOF'
import { spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { createServer } from 'node:net'
import { createRequire } from 'node:module'
const [out, cliDir] = process.argv.slice(2)
const require = createRequire(cliDir + '/package.json')
const BtpPlugin = require('ilp-plugin-btp')
const IlpPacket = require('ilp-packet')
const freePort = () => new Promise((resolve) => { const s = createServer(); s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)) }) })
const [a, b, admin] = [await freePort(), await freePort(), await freePort()]
const listener = (port, secret) => ({ listener: { port, secret, wsOpts: { host: '127.0.0.1', port } } })
const conn = spawn(process.execPath, [out + '/bin/conn.js'], {
  cwd: '/',
  stdio: ['ignore', 'pipe', 'pipe'],
  env: {
    PATH: process.env.PATH, NODE_ENV: 'production', CONNECTOR_ILP_ADDRESS: 'test.conn', CONNECTOR_ADMIN_API: 'true', CONNECTOR_ADMIN_API_PORT: String(admin),
    CONNECTOR_ACCOUNTS: JSON.stringify({
      alice: { relation: 'child', plugin: 'ilp-plugin-btp', assetCode: 'XRP', assetScale: 9, balance: { maximum: '1000' }, options: listener(a, 'a') },
      bob: { relation: 'child', plugin: 'ilp-plugin-btp', assetCode: 'XRP', assetScale: 9, options: listener(b, 'b') }
    })
  }
})
let log = ''
conn.stdout.on('data', (d) => { log += d }); conn.stderr.on('data', (d) => { log += d })
setTimeout(() => { console.error('timed out\n' + log); conn.kill('SIGKILL'); process.exit(1) }, 20000).unref()
const alice = new BtpPlugin({ server: `btp+ws://:a@127.0.0.1:${a}`, reconnectIntervals: [100] })
const bob = new BtpPlugin({ server: `btp+ws://:b@127.0.0.1:${b}`, reconnectIntervals: [100] })
await Promise.all([alice.connect(), bob.connect()])
bob.registerDataHandler(async (data) => IlpPacket.serializeIlpFulfill({ fulfillment: IlpPacket.deserializeIlpPrepare(data).data.subarray(0, 32), data: Buffer.alloc(0) }))
const fulfillment = randomBytes(32)
const reply = IlpPacket.deserializeIlpReply(await alice.sendData(IlpPacket.serializeIlpPrepare({
  amount: '100', destination: 'test.conn.bob', executionCondition: createHash('sha256').update(fulfillment).digest(), expiresAt: new Date(Date.now() + 5000), data: fulfillment
})))
if (reply.fulfillment === undefined) throw new Error('payment rejected: ' + JSON.stringify(reply))
const status = await (await fetch(`http://127.0.0.1:${admin}/balance`)).json()
const metrics = await (await fetch(`http://127.0.0.1:${admin}/metrics`)).text()
await alice.disconnect(); await bob.disconnect()
conn.kill('SIGTERM')
const code = await new Promise((resolve) => conn.once('exit', resolve))
console.log('payment fulfilled; GET /balance', JSON.stringify(status))
console.log(metrics.split('\n').find((l) => l.startsWith('ilp_connector_incoming_ilp_packets{account="alice"') && l.includes('fulfilled')))
console.log('exit code after SIGTERM:', code)
if (code !== 0) process.exit(1)
EOF
node "$W/smoke.mjs" "$W/out" "$SRC/packages/cli"
echo "docker-sim: ok"
