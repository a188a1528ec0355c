import { expect } from 'chai'
import sinon from 'sinon'
import { compose, type NamedHandler } from '../src/pipeline.ts'

interface Ctx { log: string[], value?: number }

/** A handler that logs before and after awaiting next. */
function logging (name: string): NamedHandler<Ctx, string> {
  return {
    name,
    handler: async (ctx, next) => {
      ctx.log.push(name + ' before')
      const result = await next(ctx)
      ctx.log.push(name + ' after')
      return name + '(' + result + ')'
    }
  }
}

async function rejectionOf (promise: Promise<unknown>): Promise<Error> {
  try {
    await promise
  } catch (err) {
    return err as Error
  }
  expect.fail('expected the promise to reject')
}

/** A promise with its resolve function, for a terminal that answers when the test says so. */
function deferred<T> (): { promise: Promise<T>, resolve: (value: T) => void } {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((_resolve) => { resolve = _resolve })
  return { promise, resolve }
}

describe('pipeline', () => {
  for (const checked of [true, false]) {
    describe(`compose (checked=${String(checked)})`, () => {
      it('runs the first handler outermost: work before next in order, work after next in reverse order', async () => {
        const terminal = sinon.spy(async (ctx: Ctx) => { ctx.log.push('terminal'); return 'T' })
        const run = compose([logging('a'), logging('b'), logging('c')], terminal, checked)
        const ctx: Ctx = { log: [] }
        expect(await run(ctx)).to.equal('a(b(c(T)))')
        expect(ctx.log).to.deep.equal(['a before', 'b before', 'c before', 'terminal', 'c after', 'b after', 'a after'])
        expect(terminal.callCount).to.equal(1)
        expect(terminal.firstCall.args[0]).to.equal(ctx)
      })

      it('calls just the terminal when there are no handlers', async () => {
        const terminal = sinon.spy(async () => 'T')
        const run = compose<Ctx, string>([], terminal, checked)
        expect(await run({ log: [] })).to.equal('T')
        expect(terminal.callCount).to.equal(1)
      })

      it('can run the same composed chain many times, one terminal call per run', async () => {
        const terminal = sinon.spy(async (ctx: Ctx) => String(ctx.value))
        const run = compose([logging('a'), logging('b')], terminal, checked)
        const results = await Promise.all([1, 2, 3].map(async (value) => await run({ log: [], value })))
        expect(results).to.deep.equal(['a(b(1))', 'a(b(2))', 'a(b(3))'])
        expect(terminal.callCount).to.equal(3)
      })

      it('lets a handler short-circuit by not calling next: inner handlers and terminal never run', async () => {
        const terminal = sinon.spy(async () => 'T')
        const inner = logging('inner')
        const run = compose<Ctx, string>([
          logging('outer'),
          { name: 'gate', handler: async (ctx) => { ctx.log.push('gate'); return 'blocked' } },
          inner
        ], terminal, checked)
        const ctx: Ctx = { log: [] }
        expect(await run(ctx)).to.equal('outer(blocked)')
        expect(ctx.log).to.deep.equal(['outer before', 'gate', 'outer after'])
        expect(terminal.callCount).to.equal(0)
      })

      it('propagates an error thrown by the terminal through every handler', async () => {
        const error = new Error('boom')
        const run = compose([logging('a'), logging('b')], async () => { throw error }, checked)
        const ctx: Ctx = { log: [] }
        expect(await rejectionOf(run(ctx))).to.equal(error)
        expect(ctx.log).to.deep.equal(['a before', 'b before'])
      })

      it('propagates an error thrown by a handler to the outer ones, which may catch it', async () => {
        const terminal = sinon.spy(async () => 'T')
        const run = compose<Ctx, string>([
          { name: 'catcher', handler: async (ctx, next) => { try { return await next(ctx) } catch (err) { return 'caught ' + (err as Error).message } } },
          { name: 'thrower', handler: async () => { throw new Error('nope') } }
        ], terminal, checked)
        expect(await run({ log: [] })).to.equal('caught nope')
        expect(terminal.callCount).to.equal(0)
      })

      it('turns a handler or terminal that throws synchronously into a rejected promise: an outer then() sees it', async () => {
        const seen: unknown[] = []
        const run = compose<Ctx, string>([
          { name: 'chainer', handler: (ctx, next) => next(ctx).then(undefined, (err: Error) => { seen.push(err.message); return 'handled' }) },
          { name: 'sync-thrower', handler: () => { throw new Error('sync') } }
        ], async () => 'T', checked)
        expect(await run({ log: [] })).to.equal('handled')
        expect(seen).to.deep.equal(['sync'])
        const outermost = compose<Ctx, string>([{ name: 'sync-thrower', handler: () => { throw new Error('outer') } }], async () => 'T', checked)
        expect((await rejectionOf(outermost({ log: [] }))).message).to.equal('outer')
        const terminalOnly = compose<Ctx, string>([], () => { throw new Error('terminal') }, checked)
        expect((await rejectionOf(terminalOnly({ log: [] }))).message).to.equal('terminal')
      })

      it('passes on the context a handler gives to next', async () => {
        const run = compose<Ctx, string>([
          { name: 'setter', handler: async (ctx, next) => { ctx.value = 42; return await next(ctx) } }
        ], async (ctx) => String(ctx.value), checked)
        expect(await run({ log: [] })).to.equal('42')
      })

      it('allows a handler to throw before the next() it called settled (as expire does on timeout)', async () => {
        const late = deferred<string>()
        const terminal = sinon.spy(async () => await late.promise)
        const run = compose<Ctx, string>([
          logging('outer'),
          {
            name: 'expire',
            handler: async (ctx, next) => {
              void next(ctx)
              throw new Error('packet expired.')
            }
          }
        ], terminal, checked)
        const err = await rejectionOf(run({ log: [] }))
        expect(err.message).to.equal('packet expired.')
        expect(terminal.callCount).to.equal(1)
        late.resolve('too late')
      })
    })
  }

  describe('compose with checked=true', () => {
    it('rejects a second next() call with "next() called multiple times. middleware=<name>" and calls the terminal once', async () => {
      const terminal = sinon.spy(async () => 'T')
      const run = compose<Ctx, string>([
        logging('outer'),
        { name: 'twice', handler: async (ctx, next) => { await next(ctx); return await next(ctx) } }
      ], terminal, true)
      const err = await rejectionOf(run({ log: [] }))
      expect(err.message).to.equal('next() called multiple times. middleware=twice')
      expect(terminal.callCount).to.equal(1)
    })

    it('rejects a handler that returns before the next() it called settled, naming the middleware', async () => {
      const late = deferred<string>()
      const run = compose<Ctx, string>([
        logging('outer'),
        { name: 'forgetful', handler: async (ctx, next) => { void next(ctx); return 'early' } }
      ], async () => await late.promise, true)
      const err = await rejectionOf(run({ log: [] }))
      expect(err.message).to.equal('middleware returned before the next() it called settled; await it. middleware=forgetful')
      late.resolve('late')
    })

    it('accepts a handler that returns after the next() it called settled without awaiting it directly', async () => {
      const run = compose<Ctx, string>([
        {
          name: 'then',
          handler: async (ctx, next) => await new Promise((resolve) => { void next(ctx).then((reply) => resolve('then(' + reply + ')')) })
        }
      ], async () => 'T', true)
      expect(await run({ log: [] })).to.equal('then(T)')
    })

    it('checks each context separately: the same chain runs concurrently on two contexts', async () => {
      const first = deferred<string>()
      const second = deferred<string>()
      const replies = [first, second]
      let calls = 0
      const run = compose<Ctx, string>([logging('a')], async () => await replies[calls++]!.promise, true)
      const one = run({ log: [] })
      const two = run({ log: [] })
      second.resolve('2')
      first.resolve('1')
      expect(await Promise.all([one, two])).to.deep.equal(['a(1)', 'a(2)'])
    })
  })

  describe('compose with checked=false', () => {
    it('does not stop a second next() call: the terminal runs twice', async () => {
      const terminal = sinon.spy(async () => 'T')
      const run = compose<Ctx, string>([
        { name: 'twice', handler: async (ctx, next) => { await next(ctx); return await next(ctx) } }
      ], terminal, false)
      expect(await run({ log: [] })).to.equal('T')
      expect(terminal.callCount).to.equal(2)
    })

    it('lets a handler return before its next() settled', async () => {
      const late = deferred<string>()
      const run = compose<Ctx, string>([
        { name: 'forgetful', handler: async (ctx, next) => { void next(ctx); return 'early' } }
      ], async () => await late.promise, false)
      expect(await run({ log: [] })).to.equal('early')
      late.resolve('late')
    })
  })

  describe('compose default', () => {
    let nodeEnv: string | undefined
    beforeEach(() => { nodeEnv = process.env.NODE_ENV })
    afterEach(() => {
      if (nodeEnv === undefined) delete process.env.NODE_ENV
      else process.env.NODE_ENV = nodeEnv
    })

    const twice: NamedHandler<Ctx, string> = { name: 'twice', handler: async (ctx, next) => { await next(ctx); return await next(ctx) } }

    it('checks outside production', async () => {
      process.env.NODE_ENV = 'test'
      const run = compose<Ctx, string>([twice], async () => 'T')
      expect((await rejectionOf(run({ log: [] }))).message).to.equal('next() called multiple times. middleware=twice')
    })

    it('runs the slim chain without checks under NODE_ENV=production', async () => {
      process.env.NODE_ENV = 'production'
      const terminal = sinon.spy(async () => 'T')
      const run = compose<Ctx, string>([twice], terminal)
      expect(await run({ log: [] })).to.equal('T')
      expect(terminal.callCount).to.equal(2)
    })
  })
})
