// The message browser: the latest N records of a partition, or N from an offset or a time, with
// each key, value and header value shown as text, JSON or hex (automatic by default), and paging
// to older and newer records. Reads go to the admin API of this node, which asks the partition's
// leader; at most 500 records and 4 MiB of batches an answer.
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import { ErrorBox } from '../components/ui.js';
import type { Rendering } from '../format.js';
import {
  decodeBase64,
  formatBytes,
  formatCount,
  formatTime,
  guessRendering,
  parseLocalDateTime,
  render,
} from '../format.js';
import type { Bytes, RecordsAnswer, TopicDetail } from '../types.js';

type Mode = 'latest' | 'offset' | 'time';
type Shown = Rendering | 'auto';

const LIMITS = [20, 50, 100, 200, 500];

function Field({ bytes, as, name }: { bytes: Bytes | null; as: Shown; name: string }) {
  if (bytes === null) return <span class="muted">null</span>;
  const raw = decodeBase64(bytes.base64);
  const wanted = as === 'auto' ? guessRendering(raw) : as;
  const r = render(raw, wanted);
  return (
    <div class="field" data-field={name} data-rendering={r.fellBackTo ?? wanted}>
      <pre>{r.text}</pre>
      {r.fellBackTo !== undefined && as !== 'auto' ? (
        <span class="muted small">
          not {wanted}: shown as {r.fellBackTo}
        </span>
      ) : null}
      {bytes.truncated ? (
        <span class="muted small">
          first {formatBytes(raw.length)} of {formatBytes(bytes.size)}
        </span>
      ) : null}
    </div>
  );
}

/** "offsets 5–9 of 0–41", or what there is when nothing came back. */
function rangeText(a: RecordsAnswer): string {
  const last = (x: string): string => formatCount((BigInt(x) - 1n).toString());
  const log =
    BigInt(a.highWatermark) > BigInt(a.logStartOffset)
      ? `${formatCount(a.logStartOffset)}–${last(a.highWatermark)}`
      : 'nothing (empty)';
  return a.records.length === 0
    ? `no records from offset ${formatCount(a.startOffset)}; the log holds ${log}`
    : `offsets ${formatCount(a.records[0]?.offset ?? a.startOffset)}–${last(a.nextOffset)} of ${log}`;
}

export function MessageBrowser({ topic }: { topic: TopicDetail }) {
  const [partition, setPartition] = useState(0);
  const [mode, setMode] = useState<Mode>('latest');
  const [offset, setOffset] = useState('0');
  const [time, setTime] = useState('');
  const [limit, setLimit] = useState(50);
  const [as, setAs] = useState<Shown>('auto');
  const [answer, setAnswer] = useState<RecordsAnswer | undefined>(undefined);
  const [error, setError] = useState<Error | undefined>(undefined);
  const [busy, setBusy] = useState(false);

  const load = async (query: Record<string, string>): Promise<void> => {
    setBusy(true);
    setError(undefined);
    try {
      setAnswer(await api.records(topic.name, partition, { ...query, limit: String(limit) }));
    } catch (e) {
      setError(e instanceof Error ? e : new Error(String(e)));
    } finally {
      setBusy(false);
    }
  };

  const submit = (e?: Event): void => {
    e?.preventDefault();
    if (mode === 'latest') void load({});
    else if (mode === 'offset') {
      if (!/^\d+$/.test(offset.trim())) {
        setError(new Error('the offset must be a whole number'));
        return;
      }
      void load({ offset: offset.trim() });
    } else {
      const ms = parseLocalDateTime(time);
      if (ms === undefined) {
        setError(new Error('choose a date and time'));
        return;
      }
      void load({ timestamp: String(ms) });
    }
  };

  // The latest records of partition 0 when the topic opens, and again when the partition changes.
  useEffect(() => {
    setAnswer(undefined);
    if (mode === 'latest') void load({});
  }, [topic.name, partition]);

  const older = (): void => {
    if (answer === undefined) return;
    const start = BigInt(answer.startOffset) - BigInt(limit);
    const from = start < BigInt(answer.logStartOffset) ? BigInt(answer.logStartOffset) : start;
    setMode('offset');
    setOffset(from.toString());
    void load({ offset: from.toString() });
  };
  const newer = (): void => {
    if (answer === undefined) return;
    setMode('offset');
    setOffset(answer.nextOffset);
    void load({ offset: answer.nextOffset });
  };

  return (
    <div class="browser">
      <form class="toolbar" onSubmit={submit} aria-label="Message browser">
        <label>
          partition{' '}
          <select
            name="partition"
            value={String(partition)}
            onChange={(e) => setPartition(Number((e.target as HTMLSelectElement).value))}
          >
            {topic.partitions.map((p) => (
              <option key={p.partition} value={String(p.partition)}>
                {p.partition}
              </option>
            ))}
          </select>
        </label>
        <label>
          from{' '}
          <select
            name="mode"
            value={mode}
            onChange={(e) => setMode((e.target as HTMLSelectElement).value as Mode)}
          >
            <option value="latest">the latest</option>
            <option value="offset">an offset</option>
            <option value="time">a time</option>
          </select>
        </label>
        {mode === 'offset' ? (
          <input
            name="offset"
            aria-label="offset"
            inputMode="numeric"
            value={offset}
            onInput={(e) => setOffset((e.target as HTMLInputElement).value)}
          />
        ) : null}
        {mode === 'time' ? (
          <input
            name="time"
            aria-label="time"
            type="datetime-local"
            step="1"
            value={time}
            onInput={(e) => setTime((e.target as HTMLInputElement).value)}
          />
        ) : null}
        <label>
          records{' '}
          <select
            name="limit"
            value={String(limit)}
            onChange={(e) => setLimit(Number((e.target as HTMLSelectElement).value))}
          >
            {LIMITS.map((l) => (
              <option key={l} value={String(l)}>
                {l}
              </option>
            ))}
          </select>
        </label>
        <label>
          show as{' '}
          <select
            name="rendering"
            value={as}
            onChange={(e) => setAs((e.target as HTMLSelectElement).value as Shown)}
          >
            <option value="auto">automatic</option>
            <option value="text">text</option>
            <option value="json">JSON</option>
            <option value="hex">hex</option>
          </select>
        </label>
        <button type="submit" disabled={busy}>
          {busy ? 'Reading…' : 'Read'}
        </button>
      </form>
      <ErrorBox error={error} />
      {answer !== undefined ? (
        <>
          <div class="toolbar small">
            <span class="muted" id="records-range">
              {rangeText(answer)} · leader node {answer.leader}
            </span>
            <button
              type="button"
              onClick={older}
              disabled={busy || BigInt(answer.startOffset) <= BigInt(answer.logStartOffset)}
            >
              ← older
            </button>
            <button
              type="button"
              onClick={newer}
              disabled={busy || BigInt(answer.nextOffset) >= BigInt(answer.highWatermark)}
            >
              newer →
            </button>
          </div>
          <table class="table records" id="records">
            <thead>
              <tr>
                <th class="num">offset</th>
                <th>timestamp</th>
                <th>key</th>
                <th>value</th>
                <th>headers</th>
              </tr>
            </thead>
            <tbody>
              {answer.records.map((r) => (
                <tr key={r.offset} data-offset={r.offset}>
                  <td class="num">{r.offset}</td>
                  <td class="small nowrap">{formatTime(r.timestampMs)}</td>
                  <td>
                    <Field bytes={r.key} as={as} name="key" />
                  </td>
                  <td>
                    <Field bytes={r.value} as={as} name="value" />
                  </td>
                  <td>
                    {r.headers.length === 0 ? (
                      <span class="muted">—</span>
                    ) : (
                      <dl class="headers">
                        {r.headers.map((h, i) => (
                          <div key={i}>
                            <dt>{h.key}</dt>
                            <dd>
                              <Field bytes={h.value} as={as === 'json' ? 'auto' : as} name="header" />
                            </dd>
                          </div>
                        ))}
                      </dl>
                    )}
                  </td>
                </tr>
              ))}
              {answer.records.length === 0 ? (
                <tr>
                  <td colSpan={5} class="muted">
                    No records there.
                  </td>
                </tr>
              ) : null}
            </tbody>
          </table>
        </>
      ) : null}
    </div>
  );
}
