// Test helper: pulls the `records` fields out of a non-flexible Produce request body (v3..v8) by hand,
// independent of the generated codec, so record-batch tests and fixtures depend on nothing else.

export interface ProducePartitionRecords {
  topic: string;
  partition: number;
  records: Buffer;
}

export function extractProduceRecords(body: Buffer, version: number): ProducePartitionRecords[] {
  if (version < 3 || version > 8) throw new Error(`Produce v${version} is not handled by this helper`);
  let pos = 0;
  const int16 = (): number => {
    const v = body.readInt16BE(pos);
    pos += 2;
    return v;
  };
  const int32 = (): number => {
    const v = body.readInt32BE(pos);
    pos += 4;
    return v;
  };
  const str = (): string | null => {
    const n = int16();
    if (n < 0) return null;
    const s = body.toString('utf8', pos, pos + n);
    pos += n;
    return s;
  };
  str(); // transactional_id
  int16(); // acks
  int32(); // timeout
  const out: ProducePartitionRecords[] = [];
  const topics = int32();
  for (let t = 0; t < topics; t++) {
    const topic = str() ?? '';
    const partitions = int32();
    for (let p = 0; p < partitions; p++) {
      const partition = int32();
      const n = int32();
      const records = n < 0 ? Buffer.alloc(0) : body.subarray(pos, pos + n);
      pos += Math.max(n, 0);
      out.push({ topic, partition, records });
    }
  }
  if (pos !== body.length) throw new Error(`Produce body has ${body.length - pos} trailing bytes`);
  return out;
}
