import { expect } from 'chai'
import { TYPES_VERSION, TYPES_RANGE } from '@conn/types'
import { extensionManifest } from '../../src/compat/detect.ts'
import type { ReferenceHost } from '../../src/compat/host.ts'
import { LoadError } from '../../src/loader.ts'

const host: ReferenceHost = {
  getAccounts: () => [],
  getOwnAddress: () => 'test.conn',
  middlewareNames: () => [],
  outgoingData: async () => { throw new Error('not used') }
}

function loadErrorOf (fn: () => unknown): LoadError {
  try {
    fn()
  } catch (err) {
    expect(err).to.be.instanceOf(LoadError)
    return err as LoadError
  }
  expect.fail('expected a LoadError')
}

describe('compat: extensionManifest (telling conn packages from ilp-connector ones)', () => {
  it('returns a conn manifest as it is', () => {
    const manifest = { kind: 'store', name: 's', types: TYPES_RANGE, create: () => new Map() }
    expect(extensionManifest(manifest, 'store', 's', host)).to.equal(manifest)
  })

  it('checks a conn manifest as before (wrong kind, wrong types range)', () => {
    const backend = { kind: 'backend', name: 'b', types: TYPES_RANGE, create: () => ({}) }
    expect(loadErrorOf(() => extensionManifest(backend, 'middleware', 'b', host)).message).to.equal('package "b" is a backend, not a middleware')
    const old = { kind: 'store', name: 's', types: '^9.0.0', create: () => ({}) }
    expect(loadErrorOf(() => extensionManifest(old, 'store', 's', host)).message)
      .to.equal(`package "s" targets @conn/types ^9.0.0, but this conn has @conn/types ${TYPES_VERSION}`)
  })

  for (const kind of ['backend', 'store', 'middleware'] as const) {
    it(`turns a ${kind} class (the reference's form) into a ${kind} manifest`, () => {
      class Reference {}
      const manifest = extensionManifest(Reference, kind, 'ref-pkg', host)
      expect(manifest).to.include({ kind, name: 'ref-pkg', types: TYPES_VERSION })
      expect(manifest.create).to.be.a('function')
    })
  }

  it('names both forms when the export is neither a manifest nor a class', () => {
    const err = loadErrorOf(() => extensionManifest({ get: () => {} }, 'store', 'odd-store', host))
    expect(err.code).to.equal('ERR_PACKAGE_INVALID')
    expect(err.message).to.equal('package "odd-store" exports neither a conn store manifest ({ kind, name, types, create }) nor an ' +
      'ilp-connector store class (new Store(options, api); get(key), put(key, value), del(key)); it exports an object with keys get')
    expect(loadErrorOf(() => extensionManifest('text', 'backend', 'odd-backend', host)).message).to.equal(
      'package "odd-backend" exports neither a conn backend manifest ({ kind, name, types, create }) nor an ilp-connector backend class ' +
      '(new Backend(options, api); connect(), getRate(source, destination), submitPayment(payment)); it exports a string')
    expect(loadErrorOf(() => extensionManifest(null, 'middleware', 'odd-mw', host)).message).to.match(
      /^package "odd-mw" exports neither a conn middleware manifest .* nor an ilp-connector middleware class \(new Middleware\(options, api\); applyToPipelines\(pipelines, accountId\)\); it exports null$/)
  })

  it('names the missing methods and both forms when a class\'s instances do not fit', () => {
    class NotAStore { get (): undefined { return undefined } }
    const manifest = extensionManifest(NotAStore, 'store', 'half-store', host)
    const err = loadErrorOf(() => manifest.create({}, { logger: undefined as never }))
    expect(err.message).to.equal('package "half-store" exports a class whose instances have no put, del methods: expected a conn store ' +
      'manifest ({ kind, name, types, create }) or an ilp-connector store class (new Store(options, api); get(key), put(key, value), del(key))')
  })

  it('has no reference form for kinds the reference does not load (routing, extension): a class is not a manifest', () => {
    class Routing {}
    expect(loadErrorOf(() => extensionManifest(Routing, 'routing', 'r', host)).message)
      .to.equal('package "r" does not default-export a conn routing manifest ({ kind, name, types, create })')
  })
})
