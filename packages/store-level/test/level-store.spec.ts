import { expect } from 'chai'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sinon from 'sinon'
import { Level } from 'level'
import { RecordingLogger, rejectionOf, storeConformance } from '@conn/testkit'
import { isOperatorError, TYPES_RANGE } from '@conn/types'
import manifest, { LevelStore, LevelStoreError } from '../src/index.ts'

describe('level-store', () => {
  const root = mkdtempSync(join(tmpdir(), 'conn-store-level-'))
  let count = 0
  /** A path in the suite's temp folder that no test used yet (not created: the store creates it). */
  const freshPath = (): string => join(root, `db-${++count}`)
  const opened: LevelStore[] = []

  /** A store on a fresh directory, closed after the test. */
  function storeAt (path = freshPath(), options: Record<string, unknown> = {}, logger?: RecordingLogger): LevelStore {
    const store = new LevelStore({ path, ...options }, logger)
    opened.push(store)
    return store
  }

  afterEach(async () => {
    sinon.restore()
    await Promise.all(opened.splice(0).map(async (store) => { await store.close() }))
  })
  after(() => { rmSync(root, { recursive: true, force: true }) })

  storeConformance(() => new LevelStore({ path: freshPath() }))

  describe('manifest', () => {
    it('is the `leveldown` store for this @conn/types, and create() passes path and storeConfig to a LevelStore', async () => {
      expect([manifest.kind, manifest.name, manifest.types]).to.deep.equal(['store', 'leveldown', TYPES_RANGE])
      const logger = new RecordingLogger()
      const path = freshPath()
      const store = await manifest.create({ path, sync: true }, { logger })
      expect(store).to.be.instanceOf(LevelStore)
      expect([(store as LevelStore).path, (store as LevelStore).sync]).to.deep.equal([path, true])
      await store.open?.()
      expect(logger.at('info').map((r) => [r.msg, r.obj])).to.deep.equal([['leveldown store opened', { path, sync: true }]])
      await store.close?.()
    })

    it('has no atomic balance methods: core keeps balances over get/put (one process holds the directory)', () => {
      const store = storeAt()
      for (const method of ['getBalance', 'adjustBalance', 'reserveBalance', 'commitBalance', 'releaseBalance']) {
        expect(store, method).not.to.have.property(method)
      }
    })
  })

  describe('persistence', () => {
    it('a new store on the same directory reads what the closed one wrote, and not what it deleted', async () => {
      const path = freshPath()
      const first = storeAt(path)
      await first.open()
      await first.put('balance:alice', '-12345678901234567890')
      await first.put('plugin:bob:channel', '{"id":"x"}')
      await first.put('gone', 'x')
      await first.del('gone')
      await first.close()

      const second = storeAt(path)
      await second.open()
      expect([await second.get('balance:alice'), await second.get('plugin:bob:channel'), await second.get('gone')])
        .to.deep.equal(['-12345678901234567890', '{"id":"x"}', undefined])
    })

    it('close() releases the lock: the same instance, and then another, can open the directory again', async () => {
      const path = freshPath()
      const store = storeAt(path)
      await store.open()
      await store.put('k', 'v1')
      await store.close()
      await store.open()
      expect(await store.get('k')).to.equal('v1')
      await store.put('k', 'v2')
      await store.close()

      const other = storeAt(path)
      await other.open()
      expect(await other.get('k')).to.equal('v2')
    })

    it('with sync: true every put and del asks LevelDB for an fsync; by default none does', async () => {
      const put = sinon.spy(Level.prototype, 'put')
      const del = sinon.spy(Level.prototype, 'del')
      const synced = storeAt(freshPath(), { sync: true })
      await synced.open()
      await synced.put('a', '1')
      await synced.del('a')
      const plain = storeAt()
      await plain.open()
      await plain.put('a', '1')
      await plain.del('a')
      expect(put.getCalls().map((call) => call.args[2])).to.deep.equal([{ sync: true }, { sync: false }])
      expect(del.getCalls().map((call) => call.args[1])).to.deep.equal([{ sync: true }, { sync: false }])
      expect(await synced.get('a')).to.equal(undefined)
    })

    it('get/put before open() throw "not open: call open() first" naming the path', async () => {
      const store = storeAt()
      const err = await rejectionOf<Error>(store.put('k', 'v'))
      expect(err.message).to.equal(`the leveldown store at ${store.path} is not open: call open() first`)
      expect((await rejectionOf<Error>(store.get('k'))).message).to.include('not open')
    })

    it('close() resolves when the store was never opened, and twice in a row', async () => {
      const store = storeAt()
      await store.close()
      await store.open()
      await store.close()
      await store.close()
      expect(await rejectionOf<Error>(store.get('k'))).to.have.property('code', 'LEVEL_DATABASE_NOT_OPEN')
    })
  })

  describe('configuration errors (ERR_STORE_CONFIG, thrown by create)', () => {
    it('no path (storePath / CONNECTOR_STORE_PATH unset, or empty): says it is required and where to set it', () => {
      for (const options of [{}, { path: '' }, { path: undefined }]) {
        const err = catchError(() => manifest.create(options, { logger: new RecordingLogger() }))
        expect(err).to.be.instanceOf(LevelStoreError)
        expect(isOperatorError(err), 'an OperatorError: the cli prints its message without a stack').to.equal(true)
        expect(err).to.have.property('code', 'ERR_STORE_CONFIG')
        expect(err.message).to.equal("storePath (CONNECTOR_STORE_PATH): required for the leveldown store: set it to the directory that keeps the connector's data (created if missing)")
      }
    })

    it('a path or sync of the wrong type names the option and what it got', () => {
      expect(catchError(() => new LevelStore({ path: 42 as unknown as string })).message)
        .to.equal('storePath (CONNECTOR_STORE_PATH): expected a directory path (string), got number 42')
      expect(catchError(() => new LevelStore({ path: freshPath(), sync: 'yes' as unknown as boolean })))
        .to.include({ code: 'ERR_STORE_CONFIG', message: 'storeConfig.sync: expected true or false, got "yes"' })
    })

    it('warns once about storeConfig keys it does not know, and keeps going', async () => {
      const logger = new RecordingLogger()
      const store = storeAt(freshPath(), { syncc: true, cacheSize: 1 }, logger)
      expect(logger.at('warn').map((r) => [r.msg, r.obj])).to.deep.equal([
        ['storeConfig: syncc, cacheSize are not options of the leveldown store (ignored)', { options: ['syncc', 'cacheSize'] }]
      ])
      await store.open()
      expect(store.sync).to.equal(false)
    })
  })

  describe('open errors (thrown by open)', () => {
    it('a directory another store holds open: ERR_STORE_LOCKED, naming the path and "another conn running on it?"', async () => {
      const path = freshPath()
      await storeAt(path).open()
      const err = await rejectionOf<LevelStoreError>(storeAt(path).open())
      expect(err).to.be.instanceOf(LevelStoreError)
      expect(isOperatorError(err)).to.equal(true)
      expect(err.code).to.equal('ERR_STORE_LOCKED')
      expect(err.message).to.match(new RegExp(
        `^storePath \\(CONNECTOR_STORE_PATH\\): the leveldown store at ${escape(path)} is locked by another process ` +
        '\\(another conn running on it\\?\\): stop that process, or give this one another directory \\(IO error: lock .*LOCK'))
      expect(err.cause).to.have.property('code', 'LEVEL_DATABASE_NOT_OPEN')
    })

    it('a path under a regular file: ERR_STORE_NOT_WRITABLE, naming the path and saying a parent is a file', async () => {
      const file = join(root, `file-${++count}`)
      writeFileSync(file, 'not a directory')
      const path = join(file, 'db')
      const err = await rejectionOf<LevelStoreError>(storeAt(path).open())
      expect(err.code).to.equal('ERR_STORE_NOT_WRITABLE')
      expect(err.message).to.equal(
        `storePath (CONNECTOR_STORE_PATH): cannot create or write the leveldown store at ${path}: ` +
        'the path or one of its parents is a file, not a directory: use a directory this process can create and write ' +
        `(ENOTDIR: not a directory, mkdir '${path}')`)
    })

    it('a path that is a regular file: ERR_STORE_NOT_WRITABLE', async () => {
      const file = join(root, `file-${++count}`)
      writeFileSync(file, 'not a directory')
      const err = await rejectionOf<LevelStoreError>(storeAt(file).open())
      expect(err.code).to.equal('ERR_STORE_NOT_WRITABLE')
      expect(err.message).to.include(`cannot create or write the leveldown store at ${file}: the path or one of its parents is a file`)
    })

    it('a directory that is not a LevelDB database: ERR_STORE_OPEN, naming the path and what to do', async () => {
      const path = freshPath()
      mkdirSync(path)
      writeFileSync(join(path, 'CURRENT'), 'MANIFEST-000099\n')
      const err = await rejectionOf<LevelStoreError>(storeAt(path).open())
      expect(err.code).to.equal('ERR_STORE_OPEN')
      expect(err.message).to.match(new RegExp(
        `^storePath \\(CONNECTOR_STORE_PATH\\): cannot open the leveldown store at ${escape(path)}: ` +
        'check that the path is a LevelDB directory of this conn and that the disk is not full \\(IO error: .*MANIFEST-000099'))
    })

    it('close() after a failed open resolves, and a later open of a freed directory works', async () => {
      const path = freshPath()
      const holder = storeAt(path)
      await holder.open()
      const store = storeAt(path)
      expect(await rejectionOf(store.open())).to.have.property('code', 'ERR_STORE_LOCKED')
      await store.close()
      await holder.close()
      await store.open()
      await store.put('k', 'v')
      expect(await store.get('k')).to.equal('v')
    })
  })
})

function catchError (fn: () => unknown): Error & { code?: string } {
  try {
    fn()
  } catch (err) {
    return err as Error
  }
  throw new Error('expected a throw')
}

function escape (text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
