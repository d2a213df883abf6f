// Every package's failures answer the Kafka error their code means (src/error-map.ts), by class and
// code — never by the shape of an arbitrary object.
import { MetadataError } from '@chronik/metadata';
import { ErrorCode, RecordsError } from '@chronik/protocol';
import { RaftError, RaftErrorCode } from '@chronik/raft';
import { ForwardedProposalError, TransportError } from '@chronik/raft-grpc';
import { HostError } from '@chronik/raft-host';
import { WalError } from '@chronik/wal';
import { toKafkaError } from '../src/error-map.js';
import { KafkaError } from '../src/errors.js';
import { errorCodeOf } from '../src/handlers/errors.js';

test.each<[string, unknown, number]>([
  ['a WAL I/O error (disk full)', new WalError('Io', 'ENOSPC'), ErrorCode.KAFKA_STORAGE_ERROR],
  ['a corrupt WAL record', new WalError('Corruption', 'checksum'), ErrorCode.KAFKA_STORAGE_ERROR],
  ['an overloaded WAL', new WalError('Overloaded', 'busy'), ErrorCode.REQUEST_TIMED_OUT],
  ['a closed WAL', new WalError('Closed', 'closed'), ErrorCode.NOT_LEADER_OR_FOLLOWER],
  ['a Raft NotLeader', new RaftError(RaftErrorCode.NotLeader, 'no'), ErrorCode.NOT_LEADER_OR_FOLLOWER],
  ['a host timeout', new HostError('Timeout', 'late'), ErrorCode.REQUEST_TIMED_OUT],
  ['a host refusing a large entry', new HostError('TooLarge', 'big'), ErrorCode.MESSAGE_TOO_LARGE],
  ['an unreachable peer', new TransportError('Unreachable', 'down'), ErrorCode.REQUEST_TIMED_OUT],
  [
    'a forwarded proposal that timed out there',
    new ForwardedProposalError('Timeout', 'late', 2),
    ErrorCode.REQUEST_TIMED_OUT,
  ],
  [
    'a forwarded proposal refused there',
    new ForwardedProposalError('NotLeader', 'no', 3),
    ErrorCode.NOT_LEADER_OR_FOLLOWER,
  ],
  [
    'a forwarded failure of unknown code',
    new ForwardedProposalError('Whatever', '?', 3),
    ErrorCode.UNKNOWN_SERVER_ERROR,
  ],
  ['a bad batch', new RecordsError('CrcMismatch', 'crc'), ErrorCode.CORRUPT_MESSAGE],
  ['a metadata refusal', new MetadataError('TOPIC_ALREADY_EXISTS', 'exists'), ErrorCode.TOPIC_ALREADY_EXISTS],
  ['a KafkaError', new KafkaError('OFFSET_NOT_AVAILABLE', 'wait'), ErrorCode.OFFSET_NOT_AVAILABLE],
  // Not by shape: an arbitrary error that happens to carry a known code is a bug of ours.
  [
    'a plain Error with a code property',
    Object.assign(new Error('x'), { code: 'NotLeader' }),
    ErrorCode.UNKNOWN_SERVER_ERROR,
  ],
  ['a thrown string', 'boom', ErrorCode.UNKNOWN_SERVER_ERROR],
])('%s', (_what, e, code) => {
  expect(errorCodeOf(e)).toBe(code);
});

test('toKafkaError keeps the cause and says what failed', () => {
  const cause = new WalError('Io', 'EIO');
  const k = toKafkaError(cause, 't-0: append');
  expect(k.code).toBe('KAFKA_STORAGE_ERROR');
  expect(k.message).toBe('t-0: append: EIO');
  expect(k.cause).toBe(cause);
  const same = new KafkaError('NOT_ENOUGH_REPLICAS');
  expect(toKafkaError(same, 'ignored')).toBe(same);
});
