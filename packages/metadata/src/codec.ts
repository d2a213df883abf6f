import { Packr } from 'msgpackr';
import type { AlterConfigOp, ConfigAlteration } from './configs.js';
import { MetadataError } from './errors.js';
import { canonicalize, Reader } from './internal/reader.js';
import { METADATA_LIMITS as L } from './limits.js';
import { ACL_OPERATIONS, ACL_PATTERN_TYPES, ACL_PERMISSIONS, ACL_RESOURCE_TYPES } from './acls.js';
import type { AclBinding, AclFilter } from './acls.js';
import { CLIENT_QUOTA_KEYS, SCRAM_MECHANISMS, SECURITY_PROTOCOLS } from './types.js';
import type {
  BrokerListener,
  ClientQuotaEntityPart,
  ClientQuotaKey,
  ConfigEntry,
  MetadataCommand,
  MetadataCommandType,
  ScramCredential,
  ScramMechanismName,
  SecurityProtocolName,
} from './types.js';

/**
 * Wire format of a command: one msgpack map (msgpackr records, definitions inline, so every
 * encoding decodes on its own) with keys sorted: `t` the command type, `v` its format version,
 * and the command's fields. Format-versioning rule: a command's fields never change meaning
 * within a version; adding, removing or reinterpreting a field makes a new version, and the
 * decoder keeps reading every older version (upgrading it to the current in-memory shape).
 * Committed fixtures (test/fixtures/commands.json) prove each old encoding still decodes.
 */
export const COMMAND_FORMAT_VERSIONS: Readonly<Record<MetadataCommandType, number>> = {
  initCluster: 1,
  registerBroker: 2,
  unregisterBroker: 1,
  fenceBroker: 1,
  createTopic: 1,
  deleteTopic: 1,
  createPartitions: 1,
  assignReplicas: 1,
  changeLeader: 1,
  changeIsr: 1,
  alterTopicConfigs: 1,
  alterBrokerConfigs: 1,
  allocateProducerIds: 1,
  replicaRepair: 1,
  alterScramCredentials: 1,
  alterClientQuotas: 1,
  createAcls: 1,
  deleteAcls: 1,
  alterReassignment: 1,
  completeReassignment: 1,
  addNode: 1,
  removeNode: 1,
  membershipDone: 1,
  decommissionNode: 1,
  recommissionNode: 1,
  startRebalance: 1,
  endRebalance: 1,
};

// useRecords with no shared structures: each encoding carries its record definitions, and the
// instance keeps no state between calls, so the bytes depend only on the value.
const packr = new Packr({ useRecords: true, mapsAsObjects: true, moreTypes: false, bundleStrings: false });

/** msgpack-encodes a plain value with sorted keys (deterministic). */
export function packCanonical(value: unknown): Uint8Array {
  const buf = packr.pack(canonicalize(value));
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** Decodes msgpack bytes; throws MetadataError with the given code when they are malformed. */
export function unpack(
  bytes: Uint8Array,
  what: string,
  errorCode: 'INVALID_REQUEST' | 'UNKNOWN_SERVER_ERROR',
): unknown {
  try {
    return packr.unpack(bytes);
  } catch (cause) {
    throw new MetadataError(errorCode, `${what}: malformed msgpack`, { cause });
  }
}

function alterationsToWire(alterations: readonly ConfigAlteration[]): unknown[] {
  return alterations.map((a) => ({ name: a.name, op: a.op, value: a.value }));
}

/**
 * The wire type and format version of a request envelope: a command together with the id of the
 * request that carries it, `{ t: 'request', v, id, c: <the command's map> }`. A node that does not
 * know the envelope (code older than it) meets an unknown command type and stops applying
 * (UNSUPPORTED_VERSION) rather than apply a retry twice and diverge.
 */
export const REQUEST_WIRE_TYPE = 'request';
export const REQUEST_FORMAT_VERSION = 1;

export interface EncodeOptions {
  /**
   * The id of the request this command belongs to (1..METADATA_LIMITS.maxRequestIdLength
   * characters, unique per request; a retry of the same request carries the same id): the state
   * machine applies the first entry with an id and answers later ones with its outcome.
   */
  readonly requestId?: string;
}

/** A decoded log entry: the command, and its request id when it was proposed with one. */
export interface DecodedEntry {
  readonly command: MetadataCommand;
  readonly requestId: string | null;
}

function checkRequestId(id: string): string {
  if (id.length === 0 || id.length > L.maxRequestIdLength) {
    throw new MetadataError(
      'INVALID_REQUEST',
      `A request id must have 1 to ${L.maxRequestIdLength} characters, not ${id.length}`,
    );
  }
  return id;
}

/**
 * Encodes a command at its current format version; with `requestId`, inside a request envelope
 * (REQUEST_FORMAT_VERSION). Without one the bytes are those of the bare command, as before envelopes.
 */
export function encodeCommand(command: MetadataCommand, options: EncodeOptions = {}): Uint8Array {
  const wire = commandWire(command);
  const bytes = packCanonical(
    options.requestId === undefined
      ? wire
      : {
          t: REQUEST_WIRE_TYPE,
          v: REQUEST_FORMAT_VERSION,
          id: checkRequestId(options.requestId),
          c: wire,
        },
  );
  if (bytes.length > L.maxCommandBytes) {
    throw new MetadataError(
      'POLICY_VIOLATION',
      `Command of ${bytes.length} bytes exceeds the ${L.maxCommandBytes}-byte limit`,
    );
  }
  return bytes;
}

/** A command as the map it is encoded as: its fields, `t` the type, `v` its format version. */
function commandWire(command: MetadataCommand): Record<string, unknown> {
  let version: number = COMMAND_FORMAT_VERSIONS[command.type];
  let fields: Record<string, unknown>;
  switch (command.type) {
    case 'registerBroker':
      // Without listeners it is the version-1 command, byte for byte: a node that registers only
      // the default listener writes what every older node reads.
      if (command.listeners === undefined) {
        version = 1;
        fields = { ...command };
      } else {
        fields = { ...command, listeners: command.listeners.map((l) => ({ ...l })) };
      }
      break;
    case 'alterScramCredentials':
      fields = {
        deletions: command.deletions.map((d) => ({ user: d.user, mechanism: d.mechanism })),
        upsertions: command.upsertions.map((u) => ({ ...u })),
      };
      break;
    case 'alterClientQuotas':
      fields = {
        entries: command.entries.map((e) => ({
          entity: e.entity.map((p) => ({ type: p.type, name: p.name })),
          ops: e.ops.map((o) => ({ key: o.key, value: o.value })),
        })),
      };
      break;
    case 'createAcls':
      fields = { acls: command.acls.map((a) => ({ ...a })) };
      break;
    case 'deleteAcls':
      fields = { filters: command.filters.map((f) => ({ ...f })) };
      break;
    case 'createTopic':
      fields = {
        ...command,
        assignments: command.assignments.map((r) => [...r]),
        configs: command.configs.map((c) => ({ name: c.name, value: c.value })),
      };
      break;
    case 'createPartitions':
      fields = { ...command, assignments: command.assignments.map((r) => [...r]) };
      break;
    case 'alterReassignment':
      fields = { ...command, replicas: command.replicas === null ? null : [...command.replicas] };
      break;
    case 'completeReassignment':
      fields = { ...command, replicas: [...command.replicas] };
      break;
    case 'alterTopicConfigs':
    case 'alterBrokerConfigs':
      fields = { ...command, alterations: alterationsToWire(command.alterations) };
      break;
    default:
      fields = { ...command };
  }
  delete fields['type'];
  return { ...fields, t: command.type, v: version };
}

const MAX_ID = L.maxInt32;
const S = L.maxStringLength;

function readAlterations(r: Reader): ConfigAlteration[] {
  return r.objects('alterations', L.maxConfigAlterations).map((a) => ({
    name: a.str('name', S),
    op: a.int('op', 0, 3) as AlterConfigOp,
    value: a.nullableStr('value', S * 4),
  }));
}

function readConfigs(r: Reader): ConfigEntry[] {
  return r
    .objects('configs', L.maxConfigAlterations)
    .map((c) => ({ name: c.str('name', S), value: c.str('value', S * 4) }));
}

export function readListeners(r: Reader): BrokerListener[] {
  return r.objects('listeners', L.maxListenersPerBroker).map((l) => {
    const securityProtocol = l.str('securityProtocol', 32);
    if (!(SECURITY_PROTOCOLS as readonly string[]).includes(securityProtocol))
      l.fail('securityProtocol', `unknown security protocol ${JSON.stringify(securityProtocol)}`);
    return {
      name: l.str('name', L.maxListenerNameLength),
      host: l.str('host', S),
      port: l.int('port', 0, 65535),
      securityProtocol: securityProtocol as SecurityProtocolName,
    };
  });
}

function readMechanism(r: Reader): ScramMechanismName {
  const m = r.str('mechanism', 32);
  if (!(SCRAM_MECHANISMS as readonly string[]).includes(m))
    r.fail('mechanism', `unknown SCRAM mechanism ${JSON.stringify(m)}`);
  return m as ScramMechanismName;
}

/** One of `names` (an enum spelled by name), else a decoding failure naming the field. */
function readName<T extends string>(r: Reader, key: string, names: readonly T[]): T {
  const v = r.str(key, 32);
  if (!(names as readonly string[]).includes(v)) r.fail(key, `unknown value ${JSON.stringify(v)}`);
  return v as T;
}

export function readAclBinding(r: Reader): AclBinding {
  return {
    resourceType: readName(r, 'resourceType', ACL_RESOURCE_TYPES),
    resourceName: r.str('resourceName', L.maxStringLength),
    patternType: readName(r, 'patternType', ACL_PATTERN_TYPES),
    principal: r.str('principal', L.maxStringLength),
    host: r.str('host', L.maxStringLength),
    operation: readName(r, 'operation', ACL_OPERATIONS),
    permission: readName(r, 'permission', ACL_PERMISSIONS),
  };
}

function readAclFilter(r: Reader): AclFilter {
  return {
    resourceType: readName(r, 'resourceType', [...ACL_RESOURCE_TYPES, 'ANY'] as const),
    resourceName: r.nullableStr('resourceName', L.maxStringLength),
    patternType: readName(r, 'patternType', [...ACL_PATTERN_TYPES, 'ANY', 'MATCH'] as const),
    principal: r.nullableStr('principal', L.maxStringLength),
    host: r.nullableStr('host', L.maxStringLength),
    operation: readName(r, 'operation', [...ACL_OPERATIONS, 'ANY'] as const),
    permission: readName(r, 'permission', [...ACL_PERMISSIONS, 'ANY'] as const),
  };
}

/** base64 of at most `maxBytes` bytes. */
const base64Length = (maxBytes: number): number => Math.ceil(maxBytes / 3) * 4;

export function readScramCredential(r: Reader): ScramCredential {
  return {
    user: r.str('user', L.maxScramUserLength),
    mechanism: readMechanism(r),
    salt: r.str('salt', base64Length(L.maxScramSaltBytes)),
    iterations: r.int('iterations', 0, MAX_ID),
    storedKey: r.str('storedKey', base64Length(64)),
    serverKey: r.str('serverKey', base64Length(64)),
  };
}

/** A client quota entity's parts (their types and names; the state machine checks the combination). */
export function readQuotaEntity(r: Reader): ClientQuotaEntityPart[] {
  return r.objects('entity', 2).map((p) => {
    const type = p.str('type', 16);
    if (type !== 'user' && type !== 'client-id' && type !== 'ip')
      p.fail('type', `unknown quota entity type ${JSON.stringify(type)}`);
    return { type: type as ClientQuotaEntityPart['type'], name: p.nullableStr('name', S) };
  });
}

export function readQuotaKey(r: Reader): ClientQuotaKey {
  const key = r.str('key', 64);
  if (!(CLIENT_QUOTA_KEYS as readonly string[]).includes(key))
    r.fail('key', `unknown client quota key ${JSON.stringify(key)}`);
  return key as ClientQuotaKey;
}

/** A quota value: a finite number (the state machine checks its range). */
export function readQuotaValue(r: Reader): number {
  const v = r.raw('value');
  if (typeof v !== 'number' || !Number.isFinite(v)) r.fail('value', 'expected a finite number');
  return v;
}

function readAssignments(r: Reader): number[][] {
  return r.intMatrix('assignments', L.maxPartitionsPerTopic, L.maxReplicationFactor, 0, MAX_ID);
}

/**
 * Decodes a command, bare or in a request envelope (whose id it drops: see decodeEntry). Throws
 * MetadataError: INVALID_REQUEST when the bytes are malformed (every node agrees, so the command is
 * rejected), UNSUPPORTED_VERSION when the command type or version is newer than this code knows
 * (this node cannot apply it and must not continue).
 */
export function decodeCommand(bytes: Uint8Array): MetadataCommand {
  return decodeEntry(bytes).command;
}

/** Decodes a log entry: the command and, for a request envelope, its request id. Throws as decodeCommand. */
export function decodeEntry(bytes: Uint8Array): DecodedEntry {
  if (bytes.length > L.maxCommandBytes) {
    throw new MetadataError(
      'INVALID_REQUEST',
      `Command of ${bytes.length} bytes exceeds the ${L.maxCommandBytes}-byte limit`,
    );
  }
  const r = Reader.of(unpack(bytes, 'command', 'INVALID_REQUEST'), 'command');
  if (r.str('t', 64) !== REQUEST_WIRE_TYPE) return { command: readCommand(r), requestId: null };
  const version = r.int('v', 0, MAX_ID);
  if (version !== REQUEST_FORMAT_VERSION) {
    throw new MetadataError(
      'UNSUPPORTED_VERSION',
      `Metadata request envelope has format version ${version}; this node reads ${REQUEST_FORMAT_VERSION}`,
    );
  }
  const requestId = checkRequestId(r.str('id', L.maxRequestIdLength));
  return { command: readCommand(Reader.of(r.raw('c'), 'command.c')), requestId };
}

/** Reads a command's map (`t`, `v` and its fields). */
function readCommand(r: Reader): MetadataCommand {
  const type = r.str('t', 64);
  if (type === REQUEST_WIRE_TYPE) r.fail('t', 'a request envelope inside another');
  const version = r.int('v', 0, MAX_ID);
  const known = (COMMAND_FORMAT_VERSIONS as Record<string, number>)[type];
  if (known === undefined)
    throw new MetadataError('UNSUPPORTED_VERSION', `Unknown metadata command type ${JSON.stringify(type)}`);
  if (version < 1 || version > known) {
    throw new MetadataError(
      'UNSUPPORTED_VERSION',
      `Metadata command ${type} has format version ${version}; this node reads 1..${known}`,
    );
  }
  switch (type as MetadataCommandType) {
    case 'initCluster':
      return { type: 'initCluster', clusterId: r.str('clusterId', S) };
    case 'registerBroker':
      return {
        type: 'registerBroker',
        brokerId: r.int('brokerId', 0, MAX_ID),
        host: r.str('host', S),
        port: r.int('port', 0, 65535),
        rack: r.nullableStr('rack', S),
        raftAddress: r.str('raftAddress', S),
        incarnation: r.str('incarnation', S),
        ...(version >= 2 ? { listeners: readListeners(r) } : {}),
      };
    case 'unregisterBroker':
      return { type: 'unregisterBroker', brokerId: r.int('brokerId', 0, MAX_ID) };
    case 'fenceBroker':
      return {
        type: 'fenceBroker',
        brokerId: r.int('brokerId', 0, MAX_ID),
        brokerEpoch: r.int('brokerEpoch', -1, Number.MAX_SAFE_INTEGER),
        fenced: r.bool('fenced'),
      };
    case 'createTopic':
      return {
        type: 'createTopic',
        name: r.str('name', S),
        topicId: r.str('topicId', 64),
        assignments: readAssignments(r),
        configs: readConfigs(r),
        internal: r.bool('internal'),
      };
    case 'deleteTopic':
      return { type: 'deleteTopic', name: r.str('name', S), topicId: r.str('topicId', 64) };
    case 'createPartitions':
      return {
        type: 'createPartitions',
        name: r.str('name', S),
        topicId: r.str('topicId', 64),
        expectedCurrentCount: r.int('expectedCurrentCount', 0, MAX_ID),
        assignments: readAssignments(r),
      };
    case 'assignReplicas':
      return {
        type: 'assignReplicas',
        topicId: r.str('topicId', 64),
        partition: r.int('partition', 0, MAX_ID),
        replicas: r.intArray('replicas', L.maxReplicationFactor, 0, MAX_ID),
      };
    case 'changeLeader':
      return {
        type: 'changeLeader',
        topicId: r.str('topicId', 64),
        partition: r.int('partition', 0, MAX_ID),
        leader: r.int('leader', -1, MAX_ID),
        leaderEpoch: r.int('leaderEpoch', 0, MAX_ID),
        isr: r.intArray('isr', L.maxReplicationFactor, 0, MAX_ID),
      };
    case 'changeIsr':
      return {
        type: 'changeIsr',
        topicId: r.str('topicId', 64),
        partition: r.int('partition', 0, MAX_ID),
        leaderEpoch: r.int('leaderEpoch', 0, MAX_ID),
        isr: r.intArray('isr', L.maxReplicationFactor, 0, MAX_ID),
      };
    case 'alterTopicConfigs':
      return {
        type: 'alterTopicConfigs',
        name: r.str('name', S),
        topicId: r.str('topicId', 64),
        alterations: readAlterations(r),
        replace: r.bool('replace'),
      };
    case 'alterBrokerConfigs':
      return {
        type: 'alterBrokerConfigs',
        brokerId: r.nullableInt('brokerId', 0, MAX_ID),
        alterations: readAlterations(r),
        replace: r.bool('replace'),
      };
    case 'allocateProducerIds':
      return {
        type: 'allocateProducerIds',
        brokerId: r.int('brokerId', 0, MAX_ID),
        brokerEpoch: r.int('brokerEpoch', -1, Number.MAX_SAFE_INTEGER),
        count: r.int('count', 1, L.maxProducerIdBlock),
      };
    case 'alterScramCredentials':
      return {
        type: 'alterScramCredentials',
        deletions: r
          .objects('deletions', L.maxScramAlterations)
          .map((d) => ({ user: d.str('user', L.maxScramUserLength), mechanism: readMechanism(d) })),
        upsertions: r.objects('upsertions', L.maxScramAlterations).map(readScramCredential),
      };
    case 'alterClientQuotas':
      return {
        type: 'alterClientQuotas',
        entries: r.objects('entries', L.maxClientQuotaAlterations).map((e) => ({
          entity: readQuotaEntity(e),
          ops: e.objects('ops', CLIENT_QUOTA_KEYS.length * 2).map((o) => ({
            key: readQuotaKey(o),
            value: o.has('value') && o.raw('value') !== null ? readQuotaValue(o) : null,
          })),
        })),
      };
    case 'createAcls':
      return { type: 'createAcls', acls: r.objects('acls', L.maxAclChanges).map(readAclBinding) };
    case 'deleteAcls':
      return { type: 'deleteAcls', filters: r.objects('filters', L.maxAclChanges).map(readAclFilter) };
    case 'replicaRepair': {
      const phase = r.str('phase', 16);
      if (phase !== 'requested' && phase !== 'rebuilding' && phase !== 'done')
        r.fail('phase', `unknown repair phase ${JSON.stringify(phase)}`);
      return {
        type: 'replicaRepair',
        topicId: r.str('topicId', 64),
        partition: r.int('partition', 0, MAX_ID),
        brokerId: r.int('brokerId', 0, MAX_ID),
        phase,
        requestIndex: r.int('requestIndex', -1, Number.MAX_SAFE_INTEGER),
      };
    }
    case 'alterReassignment':
      return {
        type: 'alterReassignment',
        topicId: r.str('topicId', 64),
        partition: r.int('partition', 0, MAX_ID),
        replicas:
          r.raw('replicas') === null ? null : r.intArray('replicas', L.maxReplicationFactor, 0, MAX_ID),
      };
    case 'completeReassignment':
      return {
        type: 'completeReassignment',
        topicId: r.str('topicId', 64),
        partition: r.int('partition', 0, MAX_ID),
        replicas: r.intArray('replicas', L.maxReplicationFactor, 0, MAX_ID),
      };
    case 'addNode':
      return {
        type: 'addNode',
        nodeId: r.int('nodeId', 0, MAX_ID),
        raftAddress: r.str('raftAddress', S),
        clusterId: r.str('clusterId', S),
        directoryId: r.str('directoryId', S),
      };
    case 'removeNode':
      return { type: 'removeNode', nodeId: r.int('nodeId', 0, MAX_ID) };
    case 'membershipDone':
      return {
        type: 'membershipDone',
        nodeId: r.int('nodeId', 0, MAX_ID),
        requestIndex: r.int('requestIndex', 1, Number.MAX_SAFE_INTEGER),
        refused: r.nullableStr('refused', S),
      };
    case 'decommissionNode':
      return { type: 'decommissionNode', nodeId: r.int('nodeId', 0, MAX_ID), remove: r.bool('remove') };
    case 'recommissionNode':
      return { type: 'recommissionNode', nodeId: r.int('nodeId', 0, MAX_ID) };
    case 'startRebalance':
      return { type: 'startRebalance' };
    case 'endRebalance':
      return {
        type: 'endRebalance',
        requestIndex: r.int('requestIndex', 1, Number.MAX_SAFE_INTEGER),
        reason: r.str('reason', S),
      };
  }
}
