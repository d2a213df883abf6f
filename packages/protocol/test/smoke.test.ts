import {
  ApiKey,
  Reader,
  Writer,
  decodeRequestFrame,
  decodeResponseFrame,
  defaultApiVersionsResponse,
  defaultMetadataRequest,
  encodeRequestFrame,
  encodeResponseFrame,
} from '../src/index.js';

describe('smoke', () => {
  it('round-trips ApiVersions and Metadata frames', () => {
    const res = defaultApiVersionsResponse();
    res.apiKeys = [{ apiKey: 18, minVersion: 0, maxVersion: 4 }];
    for (const v of [0, 3]) {
      const frame = Buffer.concat(encodeResponseFrame(ApiKey.ApiVersions, v, 7, res));
      const back = decodeResponseFrame(ApiKey.ApiVersions, v, frame.subarray(4));
      expect(back.header.correlationId).toBe(7);
      expect(back.body.apiKeys).toEqual(res.apiKeys);
    }
    const req = defaultMetadataRequest();
    req.topics = [{ topicId: '00000000-0000-0000-0000-000000000000', name: 'a' }];
    const f = Buffer.concat(
      encodeRequestFrame({ requestApiKey: ApiKey.Metadata, requestApiVersion: 12, correlationId: 3, clientId: 'c' }, req),
    );
    const d = decodeRequestFrame(f.subarray(4));
    expect(d.header.clientId).toBe('c');
    expect(d.body).toEqual(req);
    expect(new Reader(Buffer.alloc(0)).remaining()).toBe(0);
    expect(new Writer().length).toBe(0);
  });
});
