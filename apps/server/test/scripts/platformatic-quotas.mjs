// @platformatic/kafka 1.35's admin client quota calls (AlterClientQuotas v1, DescribeClientQuotas
// v1) against chronik-server. Usage: node platformatic-quotas.mjs BOOTSTRAP — prints one JSON line.
import { Admin } from '@platformatic/kafka';

const [bootstrap] = process.argv.slice(2);
const result = {};
const admin = new Admin({ clientId: 'plt-quotas', bootstrapBrokers: [bootstrap] });
const summary = (entries) =>
  entries.map((e) => ({
    entity: e.entity.map((p) => `${p.entityType}=${p.entityName ?? '<default>'}`).join(','),
    values: Object.fromEntries(e.values.map((v) => [v.key, v.value])),
  }));
try {
  const set = await admin.alterClientQuotas({
    entries: [
      {
        entities: [{ entityType: 'client-id', entityName: 'slow' }],
        ops: [{ key: 'producer_byte_rate', value: 1048576, remove: false }],
      },
      {
        entities: [
          { entityType: 'user', entityName: 'alice' },
          { entityType: 'client-id', entityName: null },
        ],
        ops: [{ key: 'consumer_byte_rate', value: 2097152, remove: false }],
      },
    ],
  });
  result.set = set.map((e) => e.errorCode);
  // The client throws on any entry's error: a byte rate must be a whole number.
  result.bad = await admin
    .alterClientQuotas({
      entries: [
        {
          entities: [{ entityType: 'client-id', entityName: 'bad' }],
          ops: [{ key: 'producer_byte_rate', value: 1.5, remove: false }],
        },
      ],
    })
    .then(
      () => 'accepted',
      (e) => (e?.errors ?? [e]).map((x) => String(x?.message ?? x)).join('; '),
    );
  result.all = summary(await admin.describeClientQuotas({ components: [] }));
  result.slow = summary(
    await admin.describeClientQuotas({
      components: [{ entityType: 'client-id', matchType: 0, match: 'slow' }],
      strict: true,
    }),
  );
  result.users = summary(
    await admin.describeClientQuotas({ components: [{ entityType: 'user', matchType: 2 }] }),
  );
  await admin.alterClientQuotas({
    entries: [
      {
        entities: [{ entityType: 'client-id', entityName: 'slow' }],
        ops: [{ key: 'producer_byte_rate', remove: true }],
      },
    ],
  });
  result.after = summary(await admin.describeClientQuotas({ components: [] }));
  result.ok = true;
} catch (e) {
  result.error = String(e?.stack ?? e);
  if (e?.errors) result.errors = e.errors.map((x) => String(x?.message ?? x));
} finally {
  await admin.close();
}
console.log(JSON.stringify(result));
