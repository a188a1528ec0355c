export { main, run, type RunOptions, type Started } from './main.ts'
export { embeddedDefault, DEFAULT_PORT } from './defaults.ts'
export { capYoungGeneration, SEMI_SPACE_MB, type YoungGenerationCap } from './young-generation.ts'
