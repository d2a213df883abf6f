// How a command module hands its work to main: yargs parses, the handler only records what to run.
import type { Argv } from 'yargs';
import type { Action } from '../context.js';

export interface Planned {
  action: Action;
  /** The --format values this command accepts; the first is its default. */
  formats: readonly string[];
}

export type Plan = (planned: Planned) => void;

/** Registers a command (and its subcommands) on the parser. */
export type Register = (y: Argv, plan: Plan) => Argv;

export const READ_FORMATS = ['text', 'json'] as const;
