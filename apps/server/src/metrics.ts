// Prometheus metrics (prom-client), on a registry of our own so tests can run several brokers.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class ServerMetrics {
  readonly registry = new Registry();
  /** Set by the broker: reports the open connection count when scraped. */
  connectionCount: () => number = () => 0;
  /** Set by the broker: the network layer's state when scraped. */
  networkState: () => { muted: number; inFlightBytes: number; unsentBytes: number } = () => ({
    muted: 0,
    inFlightBytes: 0,
    unsentBytes: 0,
  });
  readonly connections: Gauge = new Gauge({
    name: 'chronik_connections',
    help: 'Open Kafka connections',
    registers: [this.registry],
    collect: (): void => this.connections.set(this.connectionCount()),
  });
  readonly mutedConnections: Gauge = new Gauge({
    name: 'chronik_connections_muted',
    help: 'Kafka connections not being read: over their own limits, waiting for a byte budget or for their turn',
    registers: [this.registry],
    collect: (): void => this.mutedConnections.set(this.networkState().muted),
  });
  readonly inFlightRequestBytes: Gauge = new Gauge({
    name: 'chronik_in_flight_request_bytes',
    help: 'Request bytes received and not yet answered, all connections',
    registers: [this.registry],
    collect: (): void => this.inFlightRequestBytes.set(this.networkState().inFlightBytes),
  });
  readonly unsentResponseBytes: Gauge = new Gauge({
    name: 'chronik_unsent_response_bytes',
    help: 'Response bytes not yet taken by their clients, all connections',
    registers: [this.registry],
    collect: (): void => this.unsentResponseBytes.set(this.networkState().unsentBytes),
  });
  readonly requests = new Counter({
    name: 'chronik_requests_total',
    help: 'Kafka requests handled, by API and error outcome',
    labelNames: ['api', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly requestSeconds = new Histogram({
    name: 'chronik_request_duration_seconds',
    help: 'Time from decoding a request to its response being ready',
    labelNames: ['api'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly bytesIn = new Counter({
    name: 'chronik_network_in_bytes_total',
    help: 'Request bytes received',
    registers: [this.registry],
  });
  readonly bytesOut = new Counter({
    name: 'chronik_network_out_bytes_total',
    help: 'Response bytes sent',
    registers: [this.registry],
  });
  readonly producedBytes = new Counter({
    name: 'chronik_produced_bytes_total',
    help: 'Record batch bytes appended',
    registers: [this.registry],
  });
  readonly producedRecords = new Counter({
    name: 'chronik_produced_records_total',
    help: 'Records appended',
    registers: [this.registry],
  });
  readonly malformedRequests = new Counter({
    name: 'chronik_malformed_requests_total',
    help: 'Malformed input from clients, each closing its connection: bad frames (size prefix) or requests that do not decode',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly throttledResponses = new Counter({
    name: 'chronik_throttled_responses_total',
    help: 'Responses carrying a client quota throttle time (the connection is muted for it), by quota',
    labelNames: ['quota'] as const,
    registers: [this.registry],
  });
  readonly throttleSeconds = new Counter({
    name: 'chronik_throttle_seconds_total',
    help: 'Throttle time given to clients over a quota, by quota',
    labelNames: ['quota'] as const,
    registers: [this.registry],
  });
  readonly closedConnections = new Counter({
    name: 'chronik_closed_connections_total',
    help: 'Connections closed by the broker, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly tlsHandshakeFailures = new Counter({
    name: 'chronik_tls_handshake_failures_total',
    help: 'TLS handshakes that failed (bad or missing client certificate, not TLS), by listener',
    labelNames: ['listener'] as const,
    registers: [this.registry],
  });
  readonly authentications = new Counter({
    name: 'chronik_sasl_authentications_total',
    help: 'SASL authentications by listener, mechanism and outcome (ok, failed, rate_limited)',
    labelNames: ['listener', 'mechanism', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly adminAuthenticationFailures = new Counter({
    name: 'chronik_admin_authentication_failures_total',
    help: 'Admin API requests without the bearer token they needed (or with a wrong one)',
    registers: [this.registry],
  });
  readonly authorizationDenials = new Counter({
    name: 'chronik_authorization_denied_total',
    help: 'Operations the authorizer denied a request, by operation and resource type',
    labelNames: ['operation', 'resource_type'] as const,
    registers: [this.registry],
  });

  /** Set by the mode: the replicas of this node that do not serve fully, by state. */
  replicaProblems: () => ReadonlyArray<{ state: string }> = () => [];
  readonly replicaProblemGauge: Gauge = new Gauge({
    name: 'chronik_replica_problems',
    help: 'Partition replicas of this node that do not serve fully, by state (damaged, stopped, not-opened)',
    labelNames: ['state'] as const,
    registers: [this.registry],
    collect: (): void => {
      const counts = { damaged: 0, stopped: 0, 'not-opened': 0 } as Record<string, number>;
      for (const p of this.replicaProblems()) counts[p.state] = (counts[p.state] ?? 0) + 1;
      for (const [state, n] of Object.entries(counts)) this.replicaProblemGauge.set({ state }, n);
    },
  });
  readonly scrubbedBytes = new Counter({
    name: 'chronik_log_scrub_bytes_total',
    help: 'Stored batch bytes read back and checked by the log scrubber',
    registers: [this.registry],
  });
  readonly scrubDamage = new Counter({
    name: 'chronik_log_scrub_damage_total',
    help: 'Damaged storage found by the log scrubber',
    registers: [this.registry],
  });

  readonly cleanerPasses = new Counter({
    name: 'chronik_log_cleaner_passes_total',
    help: 'Log cleaner passes, by outcome (completed, or stopped early: leadership moved, a stale relocation)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly cleanerBytesRead = new Counter({
    name: 'chronik_log_cleaner_read_bytes_total',
    help: 'Batch bytes the log cleaner read (key maps and cleaning)',
    registers: [this.registry],
  });
  readonly cleanerBytesWritten = new Counter({
    name: 'chronik_log_cleaner_written_bytes_total',
    help: 'Relocation entry bytes the log cleaner wrote',
    registers: [this.registry],
  });
  readonly cleanerBatchesRemoved = new Counter({
    name: 'chronik_log_cleaner_removed_batches_total',
    help: 'Record batches the log cleaner removed whole (every record superseded, expired or aborted)',
    registers: [this.registry],
  });

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics === true)
      collectDefaultMetrics({ register: this.registry, prefix: 'chronik_' });
  }
}
