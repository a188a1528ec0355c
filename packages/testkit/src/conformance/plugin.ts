/**
 * What every account plugin must do for the connector (LPI2, RFC 24, and `Plugin` of @conn/types): connect with
 * a `connect` event, carry ILP packets both ways as the exact bytes, keep one data and one money handler at a
 * time, move money as it documents, and disconnect with a `disconnect` event, after which sending fails at once.
 * It runs a plugin against its counterparty (a client of a server plugin, the server of a client plugin, the
 * other end of an in-memory pair): the suite is given a factory of unconnected pairs.
 */
import assert from 'node:assert/strict'
import type { Plugin, PluginDataHandler, PluginMoneyHandler } from '@conn/types'
import { condition, fulfillFor, reject, serializePrepare } from '../packet.ts'
import { runner } from '../runner.ts'
import { DEFAULT_LIMIT, call, turns, within } from './settle.ts'

export interface PluginPair {
  /** The plugin under test: not connected, no handler registered. */
  plugin: Plugin
  /** Its counterparty: not connected, no handler registered. */
  peer: Plugin
  /**
   * Connects both and resolves once each can send to the other (default: `connect()` of both at once, which is
   * enough for plugins whose `connect()` resolves once the session is up).
   */
  connect?: () => Promise<void>
  /** Takes both down after the test (default: `disconnect()` of both; errors are ignored). */
  close?: () => Promise<void>
}

export interface PluginConformanceOptions {
  /** Title of the describe block (default `conformance: plugin`). */
  title?: string
  /** Destination of the Prepares the plugin sends, an address the pair delivers to the peer (default `test.conformance.peer`). */
  destination?: string
  /**
   * What `sendMoney` does, as the plugin documents it: `transfers` (LPI2: the counterparty's money handler gets
   * the amount; the default) or `none` (it resolves and moves nothing, as ilp-plugin-btp 1.5 and
   * ilp-plugin-mini-accounts, which move packets only).
   */
  money?: 'transfers' | 'none'
  /** ms that connecting, each send and disconnecting may take (default 2000). */
  timeout?: number
}

/** Two lists of strings are the same. */
function same (actual: readonly string[], expected: readonly string[]): boolean {
  return actual.length === expected.length && actual.every((value, i) => value === expected[i])
}

function assertThrows (fn: () => void, message: string): void {
  try {
    fn()
  } catch {
    return
  }
  assert.fail(message)
}

/** A Prepare and the reply its receiver gives. */
interface Exchange { prepare: Buffer, reply: Buffer, delay?: number }

function hex (data: Buffer): string {
  return data.length > 24 ? `${data.subarray(0, 24).toString('hex')}... (${data.length} bytes)` : `${data.toString('hex')} (${data.length} bytes)`
}

/** Fulfill, Reject, and a Prepare and Fulfill with the most data ILP allows, to `destination`. */
function exchanges (destination: string, tag: string): Exchange[] {
  const made: Exchange[] = []
  const fulfilled = condition()
  const first = serializePrepare({ destination, amount: 1000n, executionCondition: fulfilled.condition, data: Buffer.from(`${tag}: fulfill me`) })
  made.push({ prepare: first, reply: fulfillFor({ executionCondition: fulfilled.condition }, Buffer.from(`${tag}: fulfilled`)) })
  const rejected = serializePrepare({ destination, amount: 18446744073709551615n, executionCondition: condition().condition, data: Buffer.from(`${tag}: reject me`) })
  made.push({ prepare: rejected, reply: reject({ code: 'T04', triggeredBy: 'test.conformance', message: `${tag}: no liquidity ✓`, data: Buffer.from([0, 1, 2, 255]) }) })
  const big = condition()
  const full = Buffer.alloc(32767)
  for (let i = 0; i < full.length; i++) full[i] = (i * 7 + 3) & 0xff
  made.push({
    prepare: serializePrepare({ destination, amount: 1n, executionCondition: big.condition, data: full }),
    reply: fulfillFor({ executionCondition: big.condition }, Buffer.from(full).reverse())
  })
  return made
}

/** A data handler that answers each known Prepare with its reply (after its delay), and records what it got. */
function answering (known: Exchange[]): { handler: PluginDataHandler, received: Buffer[] } {
  const byBytes = new Map(known.map((exchange) => [exchange.prepare.toString('base64'), exchange]))
  const received: Buffer[] = []
  const handler: PluginDataHandler = async (data) => {
    received.push(Buffer.from(data))
    const exchange = byBytes.get(Buffer.from(data).toString('base64'))
    if (exchange === undefined) return reject({ code: 'F99', message: 'conformance: the handler got bytes that were never sent' })
    if (exchange.delay !== undefined) await new Promise((resolve) => setTimeout(resolve, exchange.delay))
    return exchange.reply
  }
  return { handler, received }
}

/** Records the amounts a money handler gets. */
function counting (): { handler: PluginMoneyHandler, amounts: string[] } {
  const amounts: string[] = []
  return { handler: async (amount) => { amounts.push(amount) }, amounts }
}

/**
 * Registers the conformance tests of an LPI2 plugin (call it in a spec file, inside a `describe()` or at the top
 * level). `createPair` is called once per test and must give a new, unconnected pair; the suite connects it,
 * registers the handlers it needs, and closes the pair at the end of the test.
 */
export function pluginConformance (createPair: () => PluginPair | Promise<PluginPair>, conformance: PluginConformanceOptions = {}): void {
  const { describe, it } = runner('pluginConformance')
  const limit = conformance.timeout ?? DEFAULT_LIMIT
  const destination = conformance.destination ?? 'test.conformance.peer'
  const money = conformance.money ?? 'transfers'

  async function connect (pair: PluginPair): Promise<void> {
    const connecting: Promise<unknown> = pair.connect !== undefined
      ? call(() => pair.connect!())
      : Promise.all([call(() => pair.plugin.connect()), call(() => pair.peer.connect())])
    await within(connecting, limit, 'connecting the pair')
  }

  /** Makes a pair, connects it unless told not to, runs `use`, closes the pair. */
  async function withPair (use: (pair: PluginPair) => Promise<void>, connected = true): Promise<void> {
    const pair = await within(call(createPair), limit, 'createPair()')
    try {
      if (connected) await connect(pair)
      await use(pair)
    } finally {
      const closing: Promise<unknown> = pair.close !== undefined
        ? call(() => pair.close!())
        : Promise.allSettled([call(() => pair.plugin.disconnect()), call(() => pair.peer.disconnect())])
      await within(closing, limit, 'closing the pair')
    }
  }

  /** Sends each exchange from `from` (whose counterparty answers with `handler`) and checks both ends. */
  async function checkExchanges (from: Plugin, known: Exchange[], received: Buffer[], direction: string): Promise<void> {
    for (const [i, exchange] of known.entries()) {
      const reply = await within(call(() => from.sendData(exchange.prepare)), limit, `sendData (${direction})`)
      const got = received[i]
      assert.ok(got !== undefined, `${direction}: the counterparty's data handler was not called for Prepare ${i + 1}`)
      assert.ok(got.equals(exchange.prepare), `${direction}: the data handler got ${hex(got)}, not the Prepare sent, ${hex(exchange.prepare)}`)
      assert.ok(Buffer.isBuffer(reply), `${direction}: sendData resolved with ${String(reply)}, not a Buffer`)
      assert.ok(reply.equals(exchange.reply), `${direction}: sendData resolved with ${hex(reply)}, not the reply the handler gave, ${hex(exchange.reply)}`)
    }
    assert.ok(received.length === known.length, `${direction}: the data handler was called ${received.length} times for ${known.length} Prepares`)
  }

  /** Whether a send to a counterparty without a handler was refused: rejected, or answered with an ILP Reject. */
  async function refused (send: Promise<Buffer | void>, what: string): Promise<void> {
    let outcome: Buffer | void
    try {
      outcome = await within(send, limit, what)
    } catch (err) {
      assert.ok(!(err instanceof Error && / did not settle within /.test(err.message)), (err as Error).message)
      return
    }
    assert.ok(Buffer.isBuffer(outcome) && outcome[0] === 14,
      `${what} resolved with ${Buffer.isBuffer(outcome) ? hex(outcome) : String(outcome)}, neither a rejection nor an ILP Reject`)
  }

  describe(conformance.title ?? 'conformance: plugin', () => {
    it('connect() resolves, isConnected() turns true with one connect event; connect() again resolves without another', async () => {
      await withPair(async (pair) => {
        const { plugin } = pair
        const events: string[] = []
        plugin.on('connect', () => { events.push('connect') })
        plugin.on('disconnect', () => { events.push('disconnect') })
        assert.ok(plugin.isConnected() === false, 'isConnected() is true before connect()')
        await connect(pair)
        await turns()
        assert.ok(plugin.isConnected() === true, 'isConnected() is false after connect() resolved')
        assert.ok(same(events, ['connect']), `events after connect(): ${events.join(', ') || 'none'}`)
        await within(call(() => plugin.connect()), limit, 'connect() while connected')
        await turns()
        assert.ok(same(events, ['connect']), `events after a second connect(): ${events.join(', ')}`)
      }, false)
    })

    it('sendData of a Prepare reaches the counterparty\'s data handler as the exact bytes and resolves with its reply unchanged (Fulfill, Reject, 32 KiB)', async () => {
      await withPair(async ({ plugin, peer }) => {
        const known = exchanges(destination, 'plugin to peer')
        const { handler, received } = answering(known)
        peer.registerDataHandler(handler)
        await checkExchanges(plugin, known, received, 'plugin to peer')
      })
    })

    it('the plugin\'s data handler gets the exact bytes the counterparty sends, and its reply reaches the counterparty unchanged', async () => {
      await withPair(async ({ plugin, peer }) => {
        const known = exchanges('test.conformance.plugin', 'peer to plugin')
        const { handler, received } = answering(known)
        plugin.registerDataHandler(handler)
        await checkExchanges(peer, known, received, 'peer to plugin')
      })
    })

    it('20 Prepares in flight both ways at once, answered in reverse order, each resolve with their own reply', async () => {
      await withPair(async ({ plugin, peer }) => {
        const outgoing: Exchange[] = []
        const incoming: Exchange[] = []
        for (let i = 0; i < 20; i++) {
          for (const [list, to] of [[outgoing, destination], [incoming, 'test.conformance.plugin']] as const) {
            const made = condition()
            const prepare = serializePrepare({ destination: to, amount: BigInt(i + 1), executionCondition: made.condition, data: Buffer.from(`in flight ${i} to ${to}`) })
            list.push({ prepare, reply: fulfillFor({ executionCondition: made.condition }, Buffer.from(`reply ${i} from ${to}`)), delay: (20 - i) * 3 })
          }
        }
        peer.registerDataHandler(answering(outgoing).handler)
        plugin.registerDataHandler(answering(incoming).handler)
        const replies = await within(Promise.all([
          ...outgoing.map(async (exchange) => await plugin.sendData(exchange.prepare)),
          ...incoming.map(async (exchange) => await peer.sendData(exchange.prepare))
        ]), limit, '40 sendData calls')
        for (const [i, exchange] of [...outgoing, ...incoming].entries()) {
          const direction = i < 20 ? `plugin to peer, Prepare ${i}` : `peer to plugin, Prepare ${i - 20}`
          assert.ok(replies[i]!.equals(exchange.reply), `${direction}: got ${hex(replies[i]!)}, not its own reply ${hex(exchange.reply)}`)
        }
      })
    })

    it('registerDataHandler throws while one is registered; after deregisterDataHandler the old one gets nothing, a Prepare is refused, and a new one can be registered', async () => {
      await withPair(async ({ plugin, peer }) => {
        const [first, second] = [exchanges('test.conformance.plugin', 'first'), exchanges('test.conformance.plugin', 'second')]
        const old = answering(first)
        plugin.registerDataHandler(old.handler)
        assertThrows(() => { plugin.registerDataHandler(answering(second).handler) }, 'registerDataHandler did not throw while a handler was registered')
        await checkExchanges(peer, first.slice(0, 1), old.received, 'peer to plugin, first handler')
        plugin.deregisterDataHandler()
        plugin.deregisterDataHandler() // LPI2: does nothing without a handler
        await refused(call(() => peer.sendData(second[1]!.prepare)), 'sendData to a plugin without a data handler')
        assert.ok(old.received.length === 1, 'the deregistered data handler was still called')
        const fresh = answering(second)
        plugin.registerDataHandler(fresh.handler)
        await checkExchanges(peer, second.slice(0, 1), fresh.received, 'peer to plugin, new handler')
      })
    })

    if (money === 'transfers') {
      it('sendMoney(amount) resolves once the counterparty\'s money handler got the amount, both ways; a second registerMoneyHandler throws; without a handler money is refused', async () => {
        await withPair(async ({ plugin, peer }) => {
          const atPeer = counting()
          const atPlugin = counting()
          peer.registerMoneyHandler(atPeer.handler)
          plugin.registerMoneyHandler(atPlugin.handler)
          assertThrows(() => { plugin.registerMoneyHandler(counting().handler) }, 'registerMoneyHandler did not throw while a handler was registered')
          await within(call(() => plugin.sendMoney('1')), limit, 'sendMoney (plugin to peer)')
          await within(call(() => plugin.sendMoney('18446744073709551615')), limit, 'sendMoney (plugin to peer)')
          assert.ok(same(atPeer.amounts, ['1', '18446744073709551615']), `the counterparty's money handler got ${atPeer.amounts.join(', ') || 'nothing'}`)
          await within(call(() => peer.sendMoney('250')), limit, 'sendMoney (peer to plugin)')
          assert.ok(same(atPlugin.amounts, ['250']), `the plugin's money handler got ${atPlugin.amounts.join(', ') || 'nothing'}`)
          plugin.deregisterMoneyHandler()
          plugin.deregisterMoneyHandler()
          await refused(call(() => peer.sendMoney('7')), 'sendMoney to a plugin without a money handler')
          assert.ok(same(atPlugin.amounts, ['250']), 'the deregistered money handler was still called')
          const fresh = counting()
          plugin.registerMoneyHandler(fresh.handler)
          await within(call(() => peer.sendMoney('8')), limit, 'sendMoney (peer to plugin, new handler)')
          assert.ok(same(fresh.amounts, ['8']), `the new money handler got ${fresh.amounts.join(', ') || 'nothing'}`)
        })
      })
    } else {
      it('sendMoney(amount) resolves and moves nothing (the counterparty\'s money handler is not called); a second registerMoneyHandler throws', async () => {
        await withPair(async ({ plugin, peer }) => {
          const atPeer = counting()
          peer.registerMoneyHandler(atPeer.handler)
          plugin.registerMoneyHandler(counting().handler)
          assertThrows(() => { plugin.registerMoneyHandler(counting().handler) }, 'registerMoneyHandler did not throw while a handler was registered')
          plugin.deregisterMoneyHandler()
          plugin.registerMoneyHandler(counting().handler)
          await within(call(() => plugin.sendMoney('100')), limit, 'sendMoney')
          // a round trip after it, so that anything sendMoney sent has arrived
          const known = exchanges(destination, 'after sendMoney').slice(0, 1)
          const { handler, received } = answering(known)
          peer.registerDataHandler(handler)
          await checkExchanges(plugin, known, received, 'plugin to peer after sendMoney')
          assert.ok(same(atPeer.amounts, []), `the counterparty's money handler got ${atPeer.amounts.join(', ')}`)
        })
      })
    }

    it(`disconnect() resolves, emits one disconnect event and isConnected() turns false; then ${money === 'transfers' ? 'sendData and sendMoney reject' : 'sendData rejects'} (within the time limit, never hangs); disconnect() again resolves without another event`, async () => {
      await withPair(async ({ plugin, peer }) => {
        const events: string[] = []
        plugin.on('connect', () => { events.push('connect') })
        plugin.on('disconnect', () => { events.push('disconnect') })
        const known = exchanges(destination, 'before disconnect').slice(0, 1)
        peer.registerDataHandler(answering(known).handler)
        await within(call(() => plugin.disconnect()), limit, 'disconnect()')
        await turns()
        assert.ok(same(events, ['disconnect']), `events after disconnect(): ${events.join(', ') || 'none'}`)
        assert.ok(plugin.isConnected() === false, 'isConnected() is true after disconnect()')
        let sent: Buffer | undefined
        try {
          sent = await within(call(() => plugin.sendData(known[0]!.prepare)), limit, 'sendData after disconnect()')
        } catch (err) {
          assert.ok(!(err instanceof Error && / did not settle within /.test(err.message)), (err as Error).message)
        }
        assert.ok(sent === undefined, `sendData after disconnect() resolved with ${sent === undefined ? '' : hex(sent)}`)
        if (money === 'transfers') {
          let paid = false
          try {
            await within(call(() => plugin.sendMoney('1')), limit, 'sendMoney after disconnect()')
            paid = true
          } catch (err) {
            assert.ok(!(err instanceof Error && / did not settle within /.test(err.message)), (err as Error).message)
          }
          assert.ok(!paid, 'sendMoney after disconnect() resolved')
        }
        await within(call(() => plugin.disconnect()), limit, 'disconnect() again')
        await turns()
        assert.ok(same(events, ['disconnect']), `events after a second disconnect(): ${events.join(', ')}`)
      })
    })
  })
}
