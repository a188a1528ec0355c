/** The manifest checks every conformance suite starts with: the kind, a name, a types range, a factory. */
import assert from 'node:assert/strict'
import { TYPES_VERSION, type ManifestKind } from '@conn/types'
import { satisfies } from '../semver.ts'

/** Throws an AssertionError saying what is wrong with the manifest, or returns. */
export function assertManifest (manifest: { kind?: unknown, name?: unknown, types?: unknown, create?: unknown }, kind: ManifestKind): void {
  assert.ok(manifest.kind === kind, `manifest.kind is ${String(manifest.kind)}, not "${kind}"`)
  assert.ok(typeof manifest.name === 'string' && manifest.name !== '', 'manifest.name is not a non-empty string')
  assert.ok(typeof manifest.types === 'string', 'manifest.types is not a string')
  assert.ok(satisfies(TYPES_VERSION, manifest.types), `manifest.types "${manifest.types}" does not include ${TYPES_VERSION}`)
  assert.ok(typeof manifest.create === 'function', 'manifest.create is not a function')
}
