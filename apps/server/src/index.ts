// Public entry point of @chronik/server (the program's building blocks, for tests and embedding).
export { main } from './main.js';
