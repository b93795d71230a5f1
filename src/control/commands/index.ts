export { controlCommands } from './control-commands.js';
export { inspectCommands, maybeList } from './inspect-commands.js';
