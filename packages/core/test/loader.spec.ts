import { expect } from 'chai'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { join } from 'node:path'
import { TYPES_VERSION, TYPES_RANGE } from '@conn/types'
import { checkManifest, defaultExport, importByName, LoadError, resolvePackage } from '../src/loader.ts'

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url))
/** An app directory whose node_modules holds the fixture packages. */
const APP = join(FIXTURES, 'app')
/** A directory from which none of the fixture packages resolve. */
const ELSEWHERE = join(FIXTURES, 'nowhere')

const MANIFEST = { kind: 'middleware', name: 'm', types: TYPES_RANGE, create: () => ({ name: 'm' }) }

async function loadErrorOf (promise: Promise<unknown>): Promise<LoadError> {
  try {
    await promise
  } catch (err) {
    expect(err).to.be.instanceOf(LoadError)
    return err as LoadError
  }
  expect.fail('expected a LoadError')
}

function syncLoadErrorOf (fn: () => unknown): LoadError {
  try {
    fn()
  } catch (err) {
    expect(err).to.be.instanceOf(LoadError)
    return err as LoadError
  }
  expect.fail('expected a LoadError')
}

describe('loader', () => {
  describe('importByName', () => {
    it('imports a package by name from a directory whose node_modules has it', async () => {
      const mod = await importByName('loader-fixture-mw', [APP])
      const manifest = checkManifest(defaultExport(mod), 'middleware', 'loader-fixture-mw')
      expect(manifest.name).to.equal('loader-fixture-mw')
      expect(await manifest.create({ a: 1 }, {} as never)).to.deep.equal({ name: 'loader-fixture-mw', options: { a: 1 } })
    })

    it('looks in each directory in turn and uses the first that has the package', async () => {
      const mod = await importByName('loader-fixture-mw', [ELSEWHERE, APP])
      expect((defaultExport(mod) as { name: string }).name).to.equal('loader-fixture-mw')
    })

    it('accepts a file: URL as a place to resolve from', async () => {
      const mod = await importByName('loader-fixture-mw', [pathToFileURL(join(APP, 'config.json')).href])
      expect((defaultExport(mod) as { name: string }).name).to.equal('loader-fixture-mw')
    })

    it('rejects with ERR_PACKAGE_NOT_FOUND naming the package and every place it looked', async () => {
      const err = await loadErrorOf(importByName('loader-fixture-missing', [ELSEWHERE, APP]))
      expect(err.code).to.equal('ERR_PACKAGE_NOT_FOUND')
      expect(err.message).to.equal(`package "loader-fixture-missing" is not installed (looked from ${ELSEWHERE}, ${APP})`)
    })

    it('loads a path relative to the directory, as well as a package name', async () => {
      const mod = await importByName('./node_modules/loader-fixture-mw/index.js', [APP])
      expect((defaultExport(mod) as { name: string }).name).to.equal('loader-fixture-mw')
    })

    it('does not find a package that is only in a directory it was not told to look in', async () => {
      const err = await loadErrorOf(importByName('loader-fixture-mw', [ELSEWHERE]))
      expect(err.code).to.equal('ERR_PACKAGE_NOT_FOUND')
    })

    it('rejects with ERR_PACKAGE_INVALID naming the package when its exports offer only an "import" condition', async () => {
      const err = await loadErrorOf(importByName('loader-fixture-import-only', [APP]))
      expect(err.code).to.equal('ERR_PACKAGE_INVALID')
      expect(err.message).to.equal(`package "loader-fixture-import-only" cannot be loaded from ${APP}: its package.json "exports" has no "default" (or "require") condition`)
    })

    it('rejects with ERR_PACKAGE_LOAD, the package name and the cause when the package throws on import', async () => {
      const err = await loadErrorOf(importByName('loader-fixture-broken', [APP]))
      expect(err.code).to.equal('ERR_PACKAGE_LOAD')
      expect(err.message).to.equal('package "loader-fixture-broken" failed to load: fixture exploded on import')
      expect((err.cause as Error).message).to.equal('fixture exploded on import')
    })
  })

  describe('resolvePackage', () => {
    it('returns the entry file of a package, or undefined when no directory has it', () => {
      expect(resolvePackage('loader-fixture-mw', [APP])).to.equal(join(APP, 'node_modules', 'loader-fixture-mw', 'index.js'))
      expect(resolvePackage('loader-fixture-cjs', [ELSEWHERE, APP])).to.equal(join(APP, 'node_modules', 'loader-fixture-cjs', 'index.js'))
      expect(resolvePackage('loader-fixture-mw', [ELSEWHERE])).to.equal(undefined)
      expect(resolvePackage('loader-fixture-mw', [])).to.equal(undefined)
    })
  })

  describe('defaultExport', () => {
    it('takes the default export of an ES module', async () => {
      const mod = await importByName('loader-fixture-mw', [APP])
      expect(defaultExport(mod)).to.equal(mod.default)
    })

    it('unwraps a CommonJS module whose manifest is on exports.default', async () => {
      const mod = await importByName('loader-fixture-cjs', [APP])
      const manifest = checkManifest(defaultExport(mod), 'store', 'loader-fixture-cjs')
      expect(manifest.name).to.equal('loader-fixture-cjs')
    })

    it('uses the module itself when it has no default export', () => {
      const mod = { kind: 'backend' }
      expect(defaultExport(mod)).to.equal(mod)
    })
  })

  describe('checkManifest', () => {
    it('returns a manifest of the expected kind whose types range includes this @conn/types', () => {
      expect(checkManifest(MANIFEST, 'middleware', 'pkg')).to.equal(MANIFEST)
      const exact = { ...MANIFEST, types: TYPES_VERSION }
      expect(checkManifest(exact, 'middleware', 'pkg')).to.equal(exact)
      const range = { ...MANIFEST, types: '>=0.1.0 <1' }
      expect(checkManifest(range, 'middleware', 'pkg')).to.equal(range)
    })

    it('rejects a value that is not a manifest with create, naming the package and what it needs', () => {
      for (const value of [undefined, null, 'x', () => {}, { ...MANIFEST, create: undefined }, { ...MANIFEST, create: 'fn' }]) {
        const err = syncLoadErrorOf(() => checkManifest(value, 'middleware', 'my-pkg'))
        expect(err.code).to.equal('ERR_PACKAGE_INVALID')
        expect(err.message).to.equal('package "my-pkg" does not default-export a conn middleware manifest ({ kind, name, types, create })')
      }
    })

    it('rejects a manifest of the wrong kind, naming the package and both kinds', () => {
      const err = syncLoadErrorOf(() => checkManifest({ ...MANIFEST, kind: 'store' }, 'middleware', 'my-pkg'))
      expect(err.code).to.equal('ERR_PACKAGE_INVALID')
      expect(err.message).to.equal('package "my-pkg" is a store, not a middleware')
    })

    it('rejects a manifest without a kind', () => {
      const err = syncLoadErrorOf(() => checkManifest({ ...MANIFEST, kind: undefined }, 'backend', 'my-pkg'))
      expect(err.code).to.equal('ERR_PACKAGE_INVALID')
      expect(err.message).to.match(/^package "my-pkg" .*not a backend$/)
    })

    it('rejects an incompatible types range such as ^9.0.0, naming the package, its range and our version', () => {
      const err = syncLoadErrorOf(() => checkManifest({ ...MANIFEST, types: '^9.0.0' }, 'middleware', 'my-pkg'))
      expect(err.code).to.equal('ERR_PACKAGE_INVALID')
      expect(err.message).to.equal(`package "my-pkg" targets @conn/types ^9.0.0, but this conn has @conn/types ${TYPES_VERSION}`)
    })

    it('rejects a missing or unparsable types range', () => {
      expect(syncLoadErrorOf(() => checkManifest({ ...MANIFEST, types: undefined }, 'middleware', 'my-pkg')).message)
        .to.equal(`package "my-pkg" targets @conn/types undefined, but this conn has @conn/types ${TYPES_VERSION}`)
      expect(syncLoadErrorOf(() => checkManifest({ ...MANIFEST, types: 'not a range' }, 'middleware', 'my-pkg')).code)
        .to.equal('ERR_PACKAGE_INVALID')
    })
  })
})
