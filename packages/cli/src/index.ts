export { main, run, type RunOptions, type Started } from './main.ts'
export { embeddedDefault, DEFAULT_PORT } from './defaults.ts'
