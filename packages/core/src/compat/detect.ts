/**
 * The one place that tells a conn package from one written for the reference connector ilp-connector v23.
 * A default export that is an object with `kind` or `create` is a conn manifest and is checked as before; a
 * function (a class) is the reference's form for backends, stores and middlewares, and becomes a manifest
 * whose `create` constructs it and wraps it in conn's interface. Anything else is an error that names both forms.
 */
import { TYPES_VERSION, type Manifest, type ManifestKind } from '@conn/types'
import { checkManifest, LoadError } from '../loader.ts'
import { REFERENCE_FORMS, type ReferenceConstructor, type ReferenceHost, type ReferenceKind } from './host.ts'
import { referenceBackendFactory } from './reference-backend.ts'
import { referenceMiddlewareFactory } from './reference-middleware.ts'
import { referenceStoreFactory } from './reference-store.ts'

function hasReferenceForm (kind: ManifestKind): kind is ReferenceKind {
  return kind in REFERENCE_FORMS
}

/**
 * The manifest of a loaded package's default export: a conn manifest as it is (checked), or for a
 * backend, store or middleware class written for ilp-connector, a manifest that creates its adapter.
 * `name` is what the configuration calls it (a custom middleware's key), for messages.
 */
export function extensionManifest<K extends ManifestKind> (
  value: unknown,
  kind: K,
  packageName: string,
  host: ReferenceHost,
  name = packageName
): Extract<Manifest, { kind: K }> {
  if (typeof value === 'function' && hasReferenceForm(kind)) {
    const base = { name: packageName, types: TYPES_VERSION }
    const Reference = value as ReferenceConstructor
    const manifest: Manifest = kind === 'backend'
      ? { ...base, kind, create: referenceBackendFactory(Reference, packageName, host) }
      : kind === 'store'
        ? { ...base, kind, create: referenceStoreFactory(Reference, packageName) }
        : { ...base, kind: 'middleware', create: referenceMiddlewareFactory(Reference, packageName, host, name) }
    return manifest as Extract<Manifest, { kind: K }>
  }
  const isObject = value !== null && typeof value === 'object'
  if (hasReferenceForm(kind) && !(isObject && ('kind' in value || 'create' in value))) {
    throw new LoadError('ERR_PACKAGE_INVALID', `package "${packageName}" exports neither a conn ${kind} manifest ` +
      `({ kind, name, types, create }) nor ${REFERENCE_FORMS[kind]}; it exports ${describe(value)}`)
  }
  return checkManifest(value, kind, packageName)
}

function describe (value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'object') return `an object with keys ${Object.keys(value).join(', ') || '(none)'}`
  return `a ${typeof value}`
}
