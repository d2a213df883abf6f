// What every command gets: the streams, the output in the chosen format, the global options, and
// a Kafka client made on first use (commands such as `cluster health` never open one).
import type { ClientOptions } from './client/client.js';
import { DEFAULT_CLIENT_OPTIONS, KafkaClient } from './client/client.js';
import type { Io } from './io.js';
import { Output } from './output.js';
import type { Format } from './output.js';

export interface GlobalOptions {
  brokers: string[];
  /** --format as given; each command checks it against its own choices and picks its default. */
  format: string | undefined;
  clientId: string;
  requestTimeoutMs: number;
  retries: number;
}

export class Context {
  private kafka: KafkaClient | undefined;

  constructor(
    readonly io: Io,
    readonly options: GlobalOptions,
    readonly out: Output,
  ) {}

  static create(io: Io, options: GlobalOptions, format: Format): Context {
    return new Context(io, options, new Output(io, format));
  }

  get client(): KafkaClient {
    if (this.kafka === undefined) {
      const options: ClientOptions = {
        ...DEFAULT_CLIENT_OPTIONS,
        brokers: this.options.brokers,
        clientId: this.options.clientId,
        requestTimeoutMs: this.options.requestTimeoutMs,
        retries: this.options.retries,
      };
      this.kafka = new KafkaClient(options);
    }
    return this.kafka;
  }

  get aborted(): boolean {
    return this.io.signal?.aborted === true;
  }

  close(): void {
    this.kafka?.close();
  }
}

/** A command's work once its arguments are parsed: returns the exit code. */
export type Action = (ctx: Context) => Promise<number>;
