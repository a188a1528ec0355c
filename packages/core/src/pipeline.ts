/**
 * Composes middleware handlers into one function, once, koa-compose style: the first handler is the
 * outermost. Each handler gets the context and the fixed `next` of the rest of the chain, so no closure
 * is made per packet. Outside production each step is checked: `next` called twice, or a handler that
 * returns a result before the `next` it called has settled (a forgotten `await`), is an error naming the
 * middleware. Throwing early is allowed: that is how the expire middleware gives up on a late reply.
 * A handler or terminal that throws instead of returning a rejected promise is turned into one, so `next`
 * never throws: middlewares can chain on it with `then` (no async function per packet) and still see every
 * failure.
 */

export type Handler<C, R> = (ctx: C, next: (ctx: C) => Promise<R>) => Promise<R>
export interface NamedHandler<C, R> { name: string, handler: Handler<C, R> }

export function compose<C extends object, R> (
  handlers: Array<NamedHandler<C, R>>,
  terminal: (ctx: C) => Promise<R>,
  checked = process.env.NODE_ENV !== 'production'
): (ctx: C) => Promise<R> {
  let next = rejectingThrows(terminal)
  for (let i = handlers.length - 1; i >= 0; i--) {
    const { name, handler } = handlers[i]!
    const inner = next
    next = checked ? checkedStep(name, handler, inner) : rejectingThrows((ctx: C) => handler(ctx, inner))
  }
  return next
}

/** The same function, except that what it throws comes back as a rejected promise. */
function rejectingThrows<C, R> (step: (ctx: C) => Promise<R>): (ctx: C) => Promise<R> {
  return (ctx: C): Promise<R> => {
    try {
      return step(ctx)
    } catch (err) {
      return Promise.reject(err)
    }
  }
}

/** Per-context bookkeeping of the checked chain: which steps called their `next`, and whether it settled. */
const calls = new WeakMap<object, Map<string, { settled: boolean }>>()

function checkedStep<C extends object, R> (name: string, handler: Handler<C, R>, inner: (ctx: C) => Promise<R>) {
  const guardedNext = (ctx: C): Promise<R> => {
    let byStep = calls.get(ctx)
    if (byStep === undefined) calls.set(ctx, byStep = new Map())
    if (byStep.has(name)) return Promise.reject(new Error('next() called multiple times. middleware=' + name))
    const state = { settled: false }
    byStep.set(name, state)
    return inner(ctx).finally(() => { state.settled = true })
  }
  return async (ctx: C): Promise<R> => {
    const result = await handler(ctx, guardedNext)
    const state = calls.get(ctx)?.get(name)
    if (state !== undefined && !state.settled) {
      throw new Error('middleware returned before the next() it called settled; await it. middleware=' + name)
    }
    return result
  }
}
