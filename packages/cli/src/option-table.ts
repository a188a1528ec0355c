/** `conn --help --all`: every CONNECTOR_* option with its type, default and meaning, from the options the parser reads. */
import { OPTIONS, OPTION_HELP, envName } from '@conn/core'

export function optionTable (): string {
  const rows = Object.entries(OPTIONS).map(([option, spec]) => {
    const fallback = spec.default === undefined ? 'required' : JSON.stringify(spec.default)
    return { variable: envName(option), detail: `${option}, ${spec.type}, default ${fallback}`, help: OPTION_HELP[option as keyof typeof OPTIONS] }
  })
  const width = Math.max(...rows.map((row) => row.variable.length)) + 2
  const lines = rows.map((row) => `  ${row.variable.padEnd(width)}${row.help}\n  ${' '.repeat(width)}(${row.detail})`)
  return `\nAll options (a JSON --config file uses the names in parentheses; objects and arrays are JSON):\n${lines.join('\n')}\n`
}
