// Behaviour of the generated codec beyond the round trip: tagged fields (known and unknown), defaults
// of fields absent from a version, nullable handling, the non-ignorable-field error, the registry and
// header versions, default responses by API key, and the error code table.

import {
  API_SCHEMAS,
  ApiKey,
  ErrorCode,
  KAFKA_ERRORS,
  ProtocolError,
  Reader,
  Writer,
  decodeApiVersionsResponse,
  decodeFetchRequest,
  decodeMetadataRequest,
  decodeMetadataResponse,
  decodeRequest,
  decodeRequestFrame,
  decodeResponse,
  defaultApiVersionsResponse,
  defaultResponse,
  DEFAULT_RESPONSE_BY_KEY,
  defaultFetchRequest,
  defaultMetadataRequest,
  defaultMetadataResponse,
  defaultMetadataResponseTopic,
  defaultProduceRequest,
  encodeApiVersionsResponse,
  encodeFetchRequest,
  encodeMetadataRequest,
  encodeMetadataResponse,
  encodeProduceRequest,
  encodeRequestFrame,
  encodeResponse,
  isSupportedVersion,
  kafkaErrorInfo,
  peekClientId,
  peekRequestIds,
  requestHeaderVersion,
  responseHeaderVersion,
  supportedApiVersions,
} from '../src/index.js';
import type { ApiVersionsResponse, ProduceResponse, ProtocolErrorCode } from '../src/index.js';
import { defaultStruct, loadMessages, range } from './support/schemas.js';

function bytesOf(fn: (w: Writer) => void): Buffer {
  const w = new Writer();
  fn(w);
  return w.toBuffer();
}

function errorCode(fn: () => unknown): ProtocolErrorCode | 'none' | 'untyped' {
  try {
    fn();
    return 'none';
  } catch (e) {
    return e instanceof ProtocolError ? e.code : 'untyped';
  }
}

describe('tagged fields', () => {
  const base = (): ApiVersionsResponse => ({
    ...defaultApiVersionsResponse(),
    apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 4 }],
  });

  it('writes an empty tag section when every tagged field holds its default', () => {
    const bytes = bytesOf((w) => encodeApiVersionsResponse(base(), 3, w));
    // error(2) apiKeys(compact len 1 + 2 + 2 + 2 + tags 1) throttle(4) tags(1)
    expect(bytes.toString('hex')).toBe('0000' + '02' + '0012' + '0000' + '0004' + '00' + '00000000' + '00');
  });

  it('writes known tagged fields in tag order and decodes them', () => {
    const msg = { ...base(), finalizedFeaturesEpoch: 5n, zkMigrationReady: true };
    const bytes = bytesOf((w) => encodeApiVersionsResponse(msg, 3, w));
    const tail = bytes.subarray(bytes.length - 14).toString('hex');
    // 2 tags: tag 1 (8 bytes int64 5), tag 3 (1 byte true)
    expect(tail).toBe('02' + '01' + '08' + '0000000000000005' + '03' + '01' + '01');
    expect(decodeApiVersionsResponse(new Reader(bytes), 3)).toEqual(msg);
  });

  it('keeps unknown tagged fields and re-emits them merged in tag order', () => {
    const msg = {
      ...base(),
      finalizedFeaturesEpoch: 9n,
      _unknownTaggedFields: [{ tag: 2000, data: Buffer.from('zz') }],
    };
    const bytes = bytesOf((w) => encodeApiVersionsResponse(msg, 3, w));
    const r = new Reader(bytes);
    const back = decodeApiVersionsResponse(r, 3);
    expect(r.remaining()).toBe(0);
    expect(back._unknownTaggedFields).toEqual([{ tag: 2000, data: Buffer.from('zz') }]);
    expect(back.finalizedFeaturesEpoch).toBe(9n);
    expect(bytesOf((w) => encodeApiVersionsResponse(back, 3, w)).equals(bytes)).toBe(true);
  });

  it('skips unknown tags inside nested structs and keeps them on that struct', () => {
    const topic = {
      ...defaultMetadataResponseTopic(),
      name: 't',
      _unknownTaggedFields: [{ tag: 42, data: Buffer.from([1, 2, 3]) }],
    };
    const msg = { ...defaultMetadataResponse(), topics: [topic] };
    const bytes = bytesOf((w) => encodeMetadataResponse(msg, 12, w));
    const back = decodeMetadataResponse(new Reader(bytes), 12);
    expect(back.topics[0]!._unknownTaggedFields).toEqual([{ tag: 42, data: Buffer.from([1, 2, 3]) }]);
    expect(back._unknownTaggedFields).toBeUndefined();
    expect(bytesOf((w) => encodeMetadataResponse(back, 12, w)).equals(bytes)).toBe(true);
  });

  it('refuses unknown tagged fields in a non-flexible version', () => {
    const msg = { ...defaultMetadataResponse(), _unknownTaggedFields: [{ tag: 1, data: Buffer.alloc(0) }] };
    expect(errorCode(() => encodeMetadataResponse(msg, 8, new Writer()))).toBe('UnsupportedField');
  });

  it('rejects a tagged field whose size runs past the input', () => {
    const good = bytesOf((w) => encodeApiVersionsResponse({ ...base(), finalizedFeaturesEpoch: 5n }, 3, w));
    const bad = Buffer.from(good);
    bad[bad.length - 9] = 0x7f; // the size byte of tag 1
    expect(errorCode(() => decodeApiVersionsResponse(new Reader(bad), 3))).toBe('Truncated');
  });
});

describe('defaults of fields absent from a version', () => {
  it('fills fields a version lacks with their schema defaults', () => {
    const v0 = bytesOf((w) => encodeMetadataRequest({ ...defaultMetadataRequest(), topics: [] }, 0, w));
    expect(v0.toString('hex')).toBe('00000000');
    const back = decodeMetadataRequest(new Reader(v0), 0);
    expect(back.allowAutoTopicCreation).toBe(true); // default "true"
    expect(back.includeTopicAuthorizedOperations).toBe(false);
    const res = decodeApiVersionsResponse(new Reader(Buffer.from('0000' + '00000000', 'hex')), 0);
    expect(res.throttleTimeMs).toBe(0);
    expect(res.finalizedFeaturesEpoch).toBe(-1n); // int64 default "-1"
    expect(res.supportedFeatures).toEqual([]);
  });

  it('gives default factories the same values', () => {
    expect(defaultProduceRequest().transactionalId).toBeNull();
    expect(defaultMetadataResponseTopic().topicAuthorizedOperations).toBe(-2147483648);
    expect(defaultFetchRequest().replicaState).toEqual({ replicaId: -1, replicaEpoch: -1n });
  });
});

describe('nullable fields', () => {
  it('encodes null only where the version allows it', () => {
    const msg = { ...defaultMetadataRequest(), topics: null };
    expect(errorCode(() => encodeMetadataRequest(msg, 0, new Writer()))).toBe('InvalidValue');
    expect(bytesOf((w) => encodeMetadataRequest(msg, 1, w)).toString('hex')).toBe('ffffffff');
    expect(bytesOf((w) => encodeMetadataRequest(msg, 9, w)).toString('hex')).toBe(
      '00' + '01' + '00' + '00' + '00',
    ); // compact null, auto-create, 2 x include-ops, tags
  });

  it('rejects a null on the wire where the version does not allow it', () => {
    expect(errorCode(() => decodeMetadataRequest(new Reader(Buffer.from('ffffffff', 'hex')), 0))).toBe(
      'InvalidValue',
    );
    expect(decodeMetadataRequest(new Reader(Buffer.from('ffffffff', 'hex')), 1).topics).toBeNull();
  });

  it('handles nullable strings and records', () => {
    const p = { ...defaultProduceRequest(), transactionalId: null, acks: -1, timeoutMs: 100 };
    p.topicData = [{ name: 't', partitionData: [{ index: 0, records: null }] }];
    for (const v of [3, 9]) {
      const bytes = bytesOf((w) => encodeProduceRequest(p, v, w));
      const back = decodeRequest(ApiKey.Produce, v, new Reader(bytes));
      expect(back.transactionalId).toBeNull();
      expect(back.topicData[0]!.partitionData[0]!.records).toBeNull();
    }
  });
});

describe('non-ignorable fields', () => {
  it('is an error to set a non-ignorable field in a version that cannot carry it', () => {
    const msg = { ...defaultMetadataRequest(), topics: [], allowAutoTopicCreation: false };
    expect(errorCode(() => encodeMetadataRequest(msg, 3, new Writer()))).toBe('UnsupportedField');
    expect(errorCode(() => encodeMetadataRequest(msg, 4, new Writer()))).toBe('none');
  });

  it('drops ignorable fields silently', () => {
    const msg = { ...defaultMetadataResponse(), throttleTimeMs: 50, clusterId: 'c' };
    expect(errorCode(() => encodeMetadataResponse(msg, 0, new Writer()))).toBe('none');
  });

  it('applies to tagged fields outside their tagged versions', () => {
    const msg = { ...defaultFetchRequest(), replicaState: { replicaId: 3, replicaEpoch: 7n } };
    expect(errorCode(() => encodeFetchRequest(msg, 14, new Writer()))).toBe('UnsupportedField');
    const bytes = bytesOf((w) => encodeFetchRequest(msg, 15, w));
    expect(decodeFetchRequest(new Reader(bytes), 15).replicaState).toEqual({
      replicaId: 3,
      replicaEpoch: 7n,
    });
  });
});

describe('typed errors on encode', () => {
  it('rejects values a field cannot hold', () => {
    const msg = { ...defaultMetadataResponse(), throttleTimeMs: 2 ** 31 };
    expect(errorCode(() => encodeMetadataResponse(msg, 3, new Writer()))).toBe('InvalidValue');
    const t = { ...defaultMetadataResponseTopic(), topicId: 'not-a-uuid' };
    expect(
      errorCode(() =>
        encodeMetadataResponse({ ...defaultMetadataResponse(), topics: [t] }, 10, new Writer()),
      ),
    ).toBe('InvalidValue');
    expect(errorCode(() => encodeMetadataResponse(defaultMetadataResponse(), 99, new Writer()))).toBe(
      'UnsupportedVersion',
    );
  });
});

describe('registry', () => {
  const messages = loadMessages();

  it('lists every API of the schemas with its valid and flexible versions', () => {
    const requests = messages.filter((m) => m.type === 'request');
    expect(API_SCHEMAS.map((a) => a.apiKey)).toEqual(requests.map((m) => m.apiKey!).sort((a, b) => a - b));
    for (const req of requests) {
      const info = API_SCHEMAS.find((a) => a.apiKey === req.apiKey)!;
      const valid = range(req.validVersions)!;
      expect([info.name + 'Request', info.minVersion, info.maxVersion]).toEqual([
        req.name,
        valid.lo,
        valid.hi,
      ]);
      expect(info.requestFlexibleFrom).toBe(range(req.flexibleVersions)?.lo ?? -1);
    }
    expect(supportedApiVersions.length).toBe(API_SCHEMAS.length);
    const endTxn = API_SCHEMAS.find((a) => a.apiKey === ApiKey.EndTxn)!;
    expect(endTxn.maxStableVersion).toBe(
      endTxn.latestVersionUnstable ? endTxn.maxVersion - 1 : endTxn.maxVersion,
    );
    expect(API_SCHEMAS.find((a) => a.apiKey === ApiKey.Produce)!.maxStableVersion).toBe(11);
    expect(ApiKey.Produce).toBe(0);
    expect(ApiKey.DescribeTopicPartitions).toBe(75);
  });

  it('reports unknown keys and unsupported versions with typed errors', () => {
    const r = new Reader(Buffer.alloc(16));
    expect(errorCode(() => decodeRequest(9999, 0, r))).toBe('UnknownApiKey');
    expect(errorCode(() => decodeRequest(ApiKey.ApiVersions, 5, r))).toBe('UnsupportedVersion');
    expect(errorCode(() => decodeResponse(-1, 0, r))).toBe('UnknownApiKey');
    expect(isSupportedVersion(ApiKey.Metadata, 12)).toBe(true);
    expect(isSupportedVersion(ApiKey.Metadata, 13)).toBe(false);
  });
});

describe('default responses', () => {
  const responses = loadMessages().filter((m) => m.type === 'response');

  it('gives every API key its response with each field at the schema default', () => {
    expect(Object.keys(DEFAULT_RESPONSE_BY_KEY).map(Number)).toEqual(API_SCHEMAS.map((a) => a.apiKey));
    for (const msg of responses) {
      // The test-side schema reader computes the defaults on its own: the two must agree.
      expect([msg.name, defaultResponse(msg.apiKey!)]).toEqual([msg.name, defaultStruct(msg, msg.fields)]);
    }
  });

  it('is typed by key and returns a new object on each call', () => {
    const produce: ProduceResponse = defaultResponse(ApiKey.Produce);
    const again = defaultResponse(ApiKey.Produce);
    expect(again).not.toBe(produce);
    expect(again.responses).not.toBe(produce.responses);
    produce.throttleTimeMs = 7;
    expect(again).toEqual({ responses: [], throttleTimeMs: 0, nodeEndpoints: [] });
  });

  it('encodes at every version of its API and decodes to itself', () => {
    for (const a of API_SCHEMAS) {
      for (let v = a.minVersion; v <= a.maxVersion; v++) {
        const body = defaultResponse(a.apiKey)!;
        const bytes = bytesOf((w) => encodeResponse(a.apiKey as never, v, body as never, w));
        expect([a.name, v, decodeResponse(a.apiKey, v, new Reader(bytes))]).toEqual([a.name, v, body]);
      }
    }
  });

  it('is undefined for keys the codec does not know', () => {
    for (const key of [-1, 9999, 1.5, Number.NaN]) expect(defaultResponse(key)).toBeUndefined();
  });
});

describe('header versions', () => {
  it.each([
    // apiKey, version, request header, response header
    [ApiKey.ApiVersions, 0, 1, 0],
    [ApiKey.ApiVersions, 2, 1, 0],
    [ApiKey.ApiVersions, 3, 2, 0], // the ApiVersions response header is never flexible
    [ApiKey.ApiVersions, 4, 2, 0],
    [ApiKey.ApiVersions, 9, 2, 0], // above the supported range: still answerable
    [ApiKey.Metadata, 8, 1, 0],
    [ApiKey.Metadata, 9, 2, 1],
    [ApiKey.Produce, 8, 1, 0],
    [ApiKey.Produce, 9, 2, 1],
    [ApiKey.Fetch, 11, 1, 0],
    [ApiKey.Fetch, 12, 2, 1],
    [ApiKey.ControlledShutdown, 0, 0, 0],
    [ApiKey.ControlledShutdown, 1, 1, 0],
    [ApiKey.ControlledShutdown, 3, 2, 1],
  ])('key %i version %i: request header v%i, response header v%i', (key, version, req, res) => {
    expect(requestHeaderVersion(key, version)).toBe(req);
    expect(responseHeaderVersion(key, version)).toBe(res);
  });

  it('throws UnknownApiKey for keys the codec does not know', () => {
    expect(errorCode(() => requestHeaderVersion(12345, 0))).toBe('UnknownApiKey');
    expect(errorCode(() => responseHeaderVersion(-2, 0))).toBe('UnknownApiKey');
  });

  it('encodes a flexible request header with a classic client id and a tag section', () => {
    const frame = Buffer.concat(
      encodeRequestFrame(
        { requestApiKey: ApiKey.ApiVersions, requestApiVersion: 3, correlationId: 1, clientId: 'ab' },
        {
          clientSoftwareName: 'x',
          clientSoftwareVersion: '1',
        },
      ),
    );
    // len, key 18, version 3, correlation 1, client id int16 2 "ab", header tags 0, body compact strings, body tags 0
    expect(frame.toString('hex')).toBe(
      '00000012' + '0012' + '0003' + '00000001' + '0002' + '6162' + '00' + '0278' + '0231' + '00',
    );
    expect(peekRequestIds(frame.subarray(4))).toEqual({ apiKey: 18, apiVersion: 3, correlationId: 1 });
    const d = decodeRequestFrame(frame.subarray(4));
    expect(d.header.clientId).toBe('ab');
    expect(d.body).toEqual({ clientSoftwareName: 'x', clientSoftwareVersion: '1' });
  });

  it('lets a server read the correlation id of a request it cannot decode', () => {
    const frame = Buffer.from('0012' + '0009' + '0000002a' + '0000' + '00' + '00', 'hex');
    expect(peekRequestIds(frame).correlationId).toBe(42);
    expect(errorCode(() => decodeRequestFrame(frame))).toBe('UnsupportedVersion');
    expect(errorCode(() => peekRequestIds(frame.subarray(0, 7)))).toBe('Truncated');
  });

  it('reads the client id in place from header v1 and v2, and null where there is none', () => {
    const frameOf = (apiVersion: number, clientId: string | null): Buffer =>
      Buffer.concat(
        encodeRequestFrame(
          { requestApiKey: ApiKey.Metadata, requestApiVersion: apiVersion, correlationId: 7, clientId },
          defaultMetadataRequest(),
        ),
      ).subarray(4);
    // Metadata v1: header v1; v12: the flexible header v2, whose client id stays a nullable int16 string.
    expect(peekClientId(frameOf(1, 'rdkafka'))).toBe('rdkafka');
    expect(peekClientId(frameOf(12, 'zoë'))).toBe('zoë');
    expect(peekClientId(frameOf(12, null))).toBeNull();
    expect(peekClientId(frameOf(12, ''))).toBe('');
    // Header v0 has no client id: the bytes after the correlation id are the body.
    const shutdown = Buffer.from('0007' + '0000' + '00000001' + '00000003', 'hex');
    expect(peekClientId(shutdown)).toBeNull();
    // Too short, or a length past the end: null, never a throw.
    expect(peekClientId(Buffer.from('000300010000000100', 'hex'))).toBeNull();
    expect(peekClientId(Buffer.from('0003000100000001' + '0009' + '6162', 'hex'))).toBeNull();
  });
});

describe('Kafka error codes', () => {
  it('has unique names and codes, contiguous from -1, with retriable flags', () => {
    const codes = KAFKA_ERRORS.map((e) => e.code);
    expect(new Set(codes).size).toBe(codes.length);
    expect(new Set(KAFKA_ERRORS.map((e) => e.name)).size).toBe(codes.length);
    expect(codes).toEqual(Array.from({ length: codes.length }, (_, i) => i - 1));
    expect(Object.keys(ErrorCode).length).toBe(codes.length);
    for (const e of KAFKA_ERRORS) expect(ErrorCode[e.name as keyof typeof ErrorCode]).toBe(e.code);
  });

  it('knows the codes clients depend on', () => {
    expect(ErrorCode.NONE).toBe(0);
    expect(ErrorCode.UNSUPPORTED_VERSION).toBe(35);
    expect(ErrorCode.NOT_LEADER_OR_FOLLOWER).toBe(6);
    expect(ErrorCode.UNKNOWN_TOPIC_ID).toBe(100);
    expect(kafkaErrorInfo(6)?.retriable).toBe(true);
    expect(kafkaErrorInfo(35)?.retriable).toBe(false);
    expect(kafkaErrorInfo(9999)).toBeUndefined();
  });
});
