// The conn console page: one EventSource for everything live (state and traffic, pushed by the server once per
// interval), fetch with the admin token for actions. No framework, no network beyond this origin.
'use strict'

const TOKEN_KEY = 'conn-console-token'
const MAX_POINTS = 60
const COLORS = ['#2f5fd0', '#1f8a4c', '#c0392b', '#8e44ad', '#d68910', '#17a589', '#7f8c8d', '#e84393']
const SVG = 'http://www.w3.org/2000/svg'

const $ = (id) => document.getElementById(id)
let token = sessionStorage.getItem(TOKEN_KEY) || ''
let admin = false
let snapshot = null
/** Chart series: key -> [{t, v}] */
const packetSeries = new Map()
const rejectSeries = new Map()
const colorOf = new Map()

function color (key) {
  if (!colorOf.has(key)) colorOf.set(key, COLORS[colorOf.size % COLORS.length])
  return colorOf.get(key)
}

function el (tag, attrs, ...children) {
  const node = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') node.className = v
    else if (k.startsWith('data-')) node.setAttribute(k, v)
    else node[k] = v
  }
  for (const child of children) node.append(child)
  return node
}

function svg (tag, attrs, text) {
  const node = document.createElementNS(SVG, tag)
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v))
  if (text !== undefined) node.textContent = text
  return node
}

// ---- the admin token ----------------------------------------------------------------------------------------

async function api (method, path, body) {
  const headers = {}
  if (token !== '') headers.Authorization = 'Bearer ' + token
  if (body !== undefined) headers['Content-Type'] = 'application/json'
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
  const text = await res.text()
  if (!res.ok) throw new Error(res.status + ' ' + (text || res.statusText))
  return text === '' ? undefined : JSON.parse(text)
}

async function checkAccess () {
  let access = { admin: false, tokenConfigured: false }
  try { access = await api('GET', '/console/access') } catch {}
  admin = access.admin
  document.body.classList.toggle('admin', admin)
  $('access').textContent = admin ? 'admin' : access.tokenConfigured ? (token === '' ? 'read-only' : 'token refused') : 'read-only (no admin token configured)'
  $('access').className = 'badge' + (admin ? ' admin' : token !== '' && access.tokenConfigured ? ' off' : '')
  $('lock').hidden = token === ''
  $('ping').disabled = !admin
  if (snapshot) renderAccounts(snapshot)
}

$('token-form').addEventListener('submit', (event) => {
  event.preventDefault()
  token = $('token').value.trim()
  $('token').value = ''
  if (token === '') sessionStorage.removeItem(TOKEN_KEY)
  else sessionStorage.setItem(TOKEN_KEY, token)
  void checkAccess()
})

$('lock').addEventListener('click', () => {
  token = ''
  sessionStorage.removeItem(TOKEN_KEY)
  void checkAccess()
})

function showResult (id, text, ok) {
  const node = $(id)
  node.textContent = text
  node.classList.toggle('error', !ok)
}

// ---- accounts -----------------------------------------------------------------------------------------------

function balancePosition (balance) {
  const min = Number(balance.minimum)
  const max = Number(balance.maximum)
  if (!Number.isFinite(min) || !Number.isFinite(max) || max <= min) return undefined
  return Math.min(Math.max((Number(balance.balance) - min) / (max - min), 0), 1)
}

function accountRow (account) {
  const amount = el('input', { class: 'amount-diff', placeholder: '± amount', size: 10 })
  amount.setAttribute('aria-label', 'balance change for ' + account.id)
  const adjust = el('button', { class: 'adjust quiet', type: 'button', textContent: 'Adjust' })
  adjust.addEventListener('click', async () => {
    try {
      await api('POST', '/balance', { accountId: account.id, amountDiff: amount.value.trim() })
      amount.value = ''
      showResult('action-result', 'balance of ' + account.id + ' adjusted', true)
    } catch (err) { showResult('action-result', 'adjust ' + account.id + ': ' + err.message, false) }
  })
  const remove = el('button', { class: 'remove quiet', type: 'button', textContent: 'Remove' })
  remove.addEventListener('click', async () => {
    if (remove.textContent !== 'Confirm remove') { remove.textContent = 'Confirm remove'; return }
    try {
      await api('DELETE', '/accounts/' + encodeURIComponent(account.id))
      showResult('action-result', 'account ' + account.id + ' removed', true)
    } catch (err) { showResult('action-result', 'remove ' + account.id + ': ' + err.message, false) }
  })
  const row = el('tr', { 'data-account': account.id },
    el('td', { class: 'id' }, account.id), el('td', { class: 'relation' }), el('td', { class: 'asset' }), el('td', { class: 'connection' }),
    el('td', { class: 'balance' }), el('td', { class: 'settlement' }), el('td', { class: 'admin-only actions' }, amount, adjust, remove))
  return row
}

function renderAccounts (state) {
  const body = $('accounts').tBodies[0]
  const rows = new Map([...body.rows].map((row) => [row.dataset.account, row]))
  for (const account of state.accounts) {
    let row = rows.get(account.id)
    if (row === undefined) { row = accountRow(account); body.append(row) }
    rows.delete(account.id)
    row.querySelector('.relation').textContent = account.relation
    row.querySelector('.asset').textContent = account.assetCode + ' / ' + account.assetScale
    const connection = row.querySelector('.connection')
    connection.replaceChildren(el('span', { class: 'badge ' + (account.connected ? 'connected' : 'disconnected') }, account.connected ? 'connected' : 'disconnected'))
    const balanceCell = row.querySelector('.balance')
    if (account.balance === undefined) {
      balanceCell.replaceChildren(el('span', { class: 'muted' }, 'not tracked'))
    } else {
      const position = balancePosition(account.balance)
      const parts = []
      if (position !== undefined) {
        const marker = el('span')
        marker.style.left = (position * 100).toFixed(1) + '%'
        parts.push(el('span', { class: 'bar' }, marker))
      }
      parts.push(el('span', { class: 'amount' }, account.balance.balance), ' ',
        el('span', { class: 'limits' }, '(' + account.balance.minimum + ' … ' + account.balance.maximum + ')'))
      balanceCell.replaceChildren(...parts)
    }
    const s = account.settlement
    const settlement = []
    if (s?.unsettled !== undefined) settlement.push(el('span', { class: 'badge off' }, 'unsettled ' + s.unsettled))
    if (s?.settleThreshold !== undefined) settlement.push(' settles below ' + s.settleThreshold + (s.settleTo !== undefined ? ' to ' + s.settleTo : ''))
    row.querySelector('.settlement').replaceChildren(...(settlement.length > 0 ? settlement : [el('span', { class: 'muted' }, '—')]))
  }
  for (const row of rows.values()) row.remove()
}

$('add-account').addEventListener('submit', async (event) => {
  event.preventDefault()
  const id = $('add-id').value.trim()
  let options
  try { options = JSON.parse($('add-options').value) } catch (err) { showResult('action-result', 'options: ' + err.message, false); return }
  try {
    const result = await api('POST', '/addAccount', { id, options })
    showResult('action-result', 'account ' + id + ' added' + (result.connected ? ', connected' : ', not connected yet') + (result.error ? ': ' + result.error : ''), !result.error)
    $('add-id').value = ''
  } catch (err) { showResult('action-result', 'add ' + id + ': ' + err.message, false) }
})

// ---- routes and their graph ---------------------------------------------------------------------------------

function renderRoutes (state) {
  const body = $('routes').tBodies[0]
  body.replaceChildren(...state.routes.map((route) => el('tr', { 'data-prefix': route.prefix },
    el('td', {}, route.prefix), el('td', {}, route.nextHop || '(us)'), el('td', { class: 'kind-' + route.kind }, route.kind),
    el('td', { class: 'muted' }, route.path.join(' → ')))))
  renderGraph(state)
}

function renderGraph (state) {
  const graph = $('route-graph')
  const cx = 280; const cy = 210
  const nodes = []
  const accounts = state.accounts.map((a) => a.id)
  for (const route of state.routes) if (route.nextHop !== '' && !accounts.includes(route.nextHop)) accounts.push(route.nextHop)
  const angleOf = new Map(accounts.map((id, i) => [id, (2 * Math.PI * i) / Math.max(accounts.length, 1) - Math.PI / 2]))
  const lines = []
  const labels = []
  for (const id of accounts) {
    const a = angleOf.get(id)
    const x = cx + 90 * Math.cos(a); const y = cy + 90 * Math.sin(a)
    lines.push(svg('line', { x1: cx, y1: cy, x2: x, y2: y }))
    nodes.push(svg('circle', { class: 'account', cx: x, cy: y, r: 7 }))
    labels.push(svg('text', { class: 'node', x: x + 9, y: y - 8 }, id))
    const routes = state.routes.filter((r) => r.nextHop === id).slice(0, 12)
    const spread = Math.min(Math.PI / Math.max(accounts.length, 1), 0.9)
    routes.forEach((route, j) => {
      const b = a + (routes.length === 1 ? 0 : spread * ((j / (routes.length - 1)) - 0.5))
      const px = cx + 160 * Math.cos(b); const py = cy + 160 * Math.sin(b)
      lines.push(svg('line', { class: route.kind, x1: x, y1: y, x2: px, y2: py }))
      nodes.push(svg('circle', { class: 'prefix', cx: px, cy: py, r: 4 }))
      const hops = route.path.length > 0 ? ' (' + route.path.length + ' hop' + (route.path.length > 1 ? 's' : '') + ')' : ''
      labels.push(svg('text', { x: px + (Math.cos(b) < 0 ? -6 : 6), y: py + 3, 'text-anchor': Math.cos(b) < 0 ? 'end' : 'start' }, short(route.prefix) + hops))
    })
  }
  nodes.push(svg('circle', { class: 'us', cx, cy, r: 10 }))
  labels.push(svg('text', { class: 'node', x: cx, y: cy + 24, 'text-anchor': 'middle' }, state.address))
  graph.replaceChildren(...lines, ...nodes, ...labels)
}

/** Long prefixes keep their end, the part that tells them apart. */
function short (prefix) {
  return prefix.length > 24 ? '…' + prefix.slice(-23) : prefix
}

// ---- rates and alerts ---------------------------------------------------------------------------------------

function renderRates (state) {
  const ids = Object.keys(state.rates)
  const table = $('rates')
  if (ids.length === 0) { table.tHead.replaceChildren(); table.tBodies[0].replaceChildren(el('tr', {}, el('td', { class: 'muted' }, 'no rates'))); return }
  table.tHead.replaceChildren(el('tr', {}, el('th', {}, 'from \\ to'), ...ids.map((id) => el('th', {}, id))))
  table.tBodies[0].replaceChildren(...ids.map((src) => el('tr', {}, el('th', {}, src),
    ...ids.map((dst) => el('td', { class: 'amount' }, src === dst ? '—' : state.rates[src][dst] === undefined ? 'n/a' : String(+state.rates[src][dst].toPrecision(8)))))))
}

function renderAlerts (state) {
  const list = $('alerts')
  if (state.alerts.length === 0) { list.replaceChildren(el('li', { class: 'muted' }, 'none')); return }
  list.replaceChildren(...state.alerts.slice().reverse().map((alert) => el('li', { 'data-alert': alert.id },
    el('strong', {}, alert.accountId), ' ', alert.message, el('span', { class: 'muted' }, ' ×' + alert.count + ' — ' + (alert.triggeredBy ? alert.triggeredBy + ', ' : '') + new Date(alert.updatedAt).toLocaleTimeString()))))
}

// ---- charts -------------------------------------------------------------------------------------------------

function push (series, key, time, value) {
  let points = series.get(key)
  if (points === undefined) { points = []; series.set(key, points) }
  points.push({ t: time, v: value })
  if (points.length > MAX_POINTS) points.shift()
}

function drawChart (svgId, legendId, series) {
  const chart = $(svgId)
  const W = 480; const H = 180; const left = 36; const bottom = 16; const top = 8
  let max = 1
  let latest = 0
  for (const points of series.values()) for (const p of points) { max = Math.max(max, p.v); latest = Math.max(latest, p.t) }
  max = niceCeil(max)
  const span = MAX_POINTS * intervalMs
  const x = (t) => left + (W - left - 4) * (1 - (latest - t) / span)
  const y = (v) => top + (H - top - bottom) * (1 - v / max)
  const parts = [svg('line', { x1: left, y1: y(0), x2: W - 4, y2: y(0), stroke: '#d9d9de' }),
    svg('text', { x: left - 4, y: y(max) + 4, 'text-anchor': 'end' }, fmt(max)), svg('text', { x: left - 4, y: y(0) + 3, 'text-anchor': 'end' }, '0'),
    svg('text', { x: W - 4, y: H - 3, 'text-anchor': 'end' }, 'now'), svg('text', { x: left, y: H - 3 }, '-' + Math.round(span / 1000) + ' s')]
  const legend = []
  for (const [key, points] of series) {
    parts.push(svg('polyline', { fill: 'none', stroke: color(key), 'stroke-width': 1.6, points: points.map((p) => x(p.t).toFixed(1) + ',' + y(p.v).toFixed(1)).join(' ') }))
    const swatch = el('i')
    swatch.style.background = color(key)
    legend.push(el('span', { 'data-series': key }, swatch, key + ' ' + fmt(points[points.length - 1].v)))
  }
  chart.replaceChildren(...parts)
  $(legendId).replaceChildren(...legend)
}

function niceCeil (v) {
  const p = Math.pow(10, Math.floor(Math.log10(v)))
  for (const m of [1, 2, 5, 10]) if (v <= m * p) return m * p
  return 10 * p
}

function fmt (v) { return v >= 100 ? String(Math.round(v)) : String(+v.toFixed(1)) }

let intervalMs = 1000
let lastTrafficTime

function onTraffic (point) {
  if (lastTrafficTime !== undefined) intervalMs = Math.max(point.time - lastTrafficTime, 100)
  lastTrafficTime = point.time
  for (const [account, traffic] of Object.entries(point.accounts)) {
    push(packetSeries, account, point.time, traffic.incoming)
    for (const [code, rate] of Object.entries(traffic.rejects)) push(rejectSeries, account + ' ' + code, point.time, rate)
  }
  // Accounts removed since drop out of the charts.
  for (const key of packetSeries.keys()) if (!(key in point.accounts)) packetSeries.delete(key)
  for (const key of rejectSeries.keys()) if (!(key.slice(0, key.lastIndexOf(' ')) in point.accounts)) rejectSeries.delete(key)
  // A reject series that saw nothing this interval drops to 0 rather than holding its last value.
  for (const [key, points] of rejectSeries) if (points[points.length - 1].t !== point.time) push(rejectSeries, key, point.time, 0)
  for (const id of ['packets-chart', 'rejects-chart']) $(id).dataset.points = String(Number($(id).dataset.points) + 1)
  drawChart('packets-chart', 'packets-legend', packetSeries)
  drawChart('rejects-chart', 'rejects-legend', rejectSeries)
}

// ---- ping ---------------------------------------------------------------------------------------------------

$('ping-form').addEventListener('submit', async (event) => {
  event.preventDefault()
  const destination = $('ping-destination').value.trim() || (snapshot ? snapshot.address : '')
  showResult('ping-result', 'pinging ' + destination + ' …', true)
  try {
    const result = await api('POST', '/console/ping', { destination })
    if (result.result === 'fulfill') showResult('ping-result', 'echo from ' + destination + ' in ' + result.ms + ' ms', true)
    else showResult('ping-result', result.result + ' from ' + (result.triggeredBy || '?') + ': ' + result.message + ' (' + result.ms + ' ms)', false)
  } catch (err) { showResult('ping-result', 'ping: ' + err.message, false) }
})

// ---- the live feed ------------------------------------------------------------------------------------------

function onState (state) {
  snapshot = state
  $('address').textContent = state.address
  $('state').textContent = state.state
  $('state').className = 'badge ' + (state.state === 'started' ? 'on' : 'off')
  if ($('ping-destination').placeholder === 'ILP address') $('ping-destination').placeholder = state.address
  renderAccounts(state)
  renderRoutes(state)
  renderRates(state)
  renderAlerts(state)
}

const feed = new EventSource('/console/events')
feed.addEventListener('open', () => { $('feed').textContent = 'live'; $('feed').className = 'badge on' })
feed.addEventListener('error', () => { $('feed').textContent = 'reconnecting'; $('feed').className = 'badge off' })
feed.addEventListener('state', (event) => onState(JSON.parse(event.data)))
feed.addEventListener('traffic', (event) => onTraffic(JSON.parse(event.data)))

void checkAccess()
