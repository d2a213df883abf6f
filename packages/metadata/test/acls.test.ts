// ACLs in the metadata: createAcls / deleteAcls (validation as Kafka's controller, filters as
// Kafka's AclBindingFilter), the change they publish, and the snapshot format that holds them (6) —
// while a state without ACLs is written exactly as before.
import { MetadataStateMachine, aclFilterMatches } from '@chronik/metadata';
import type { AclBinding, AclFilter } from '@chronik/metadata';
import { pack, unpack } from 'msgpackr';
import { Node, broker } from './helpers.js';

function acl(over: Partial<AclBinding> = {}): AclBinding {
  return {
    resourceType: 'TOPIC',
    resourceName: 'orders',
    patternType: 'LITERAL',
    principal: 'User:alice',
    host: '*',
    operation: 'READ',
    permission: 'ALLOW',
    ...over,
  };
}

const ANY: AclFilter = {
  resourceType: 'ANY',
  resourceName: null,
  patternType: 'ANY',
  principal: null,
  host: null,
  operation: 'ANY',
  permission: 'ANY',
};

function formatOf(sm: MetadataStateMachine): number {
  return (unpack(sm.snapshot()) as { format: number }).format;
}

describe('createAcls', () => {
  test('adds bindings, sorted; an existing one is left as it is; the change lists only new ones', () => {
    const n = new Node();
    const a = acl();
    const b = acl({ resourceType: 'GROUP', resourceName: 'readers' });
    const r1 = n.ok({ type: 'createAcls', acls: [a, b] });
    expect(r1.ok && r1.changes).toEqual([{ type: 'aclsChanged', index: 1, created: [a, b], deleted: [] }]);
    const r2 = n.ok({ type: 'createAcls', acls: [a] });
    expect(r2.ok && r2.changes).toEqual([]);
    // TOPIC sorts after GROUP (the key starts with the resource type).
    expect(n.sm.acls()).toEqual([b, a]);
  });

  test.each<[string, Partial<AclBinding>, RegExp]>([
    ['an empty resource name', { resourceName: '' }, /Resource name should not be empty/],
    ['a cluster not named kafka-cluster', { resourceType: 'CLUSTER', resourceName: 'x' }, /kafka-cluster/],
    ['a principal without a type', { principal: 'alice' }, /Invalid principal/],
    ['a principal without a name', { principal: 'User:' }, /Invalid principal/],
    ['an empty host', { host: '' }, /Host should not be empty/],
  ])('%s is INVALID_REQUEST and nothing of the command is added', (_what, over, message) => {
    const n = new Node();
    const r = n.apply({ type: 'createAcls', acls: [acl({ resourceName: 'ok' }), acl(over)] });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe('INVALID_REQUEST');
      expect(r.error.message).toMatch(message);
    }
    expect(n.sm.acls()).toEqual([]);
  });

  test('the array of acls() changes identity only when the ACLs change', () => {
    const n = new Node();
    const empty = n.sm.acls();
    n.ok(broker(1));
    expect(n.sm.acls()).toBe(empty);
    n.ok({ type: 'createAcls', acls: [acl()] });
    const one = n.sm.acls();
    expect(one).not.toBe(empty);
    n.ok({ type: 'createAcls', acls: [acl()] });
    expect(n.sm.acls()).toBe(one);
    expect(Object.isFrozen(one)).toBe(true);
  });
});

describe('deleteAcls', () => {
  test('removes what the filters match; each filter reports its matches', () => {
    const n = new Node();
    const read = acl();
    const write = acl({ operation: 'WRITE' });
    const bob = acl({ principal: 'User:bob' });
    n.ok({ type: 'createAcls', acls: [read, write, bob] });
    const alice: AclFilter = { ...ANY, principal: 'User:alice' };
    const reads: AclFilter = { ...ANY, operation: 'READ' };
    const nothing: AclFilter = { ...ANY, resourceType: 'GROUP' };
    const r = n.ok({ type: 'deleteAcls', filters: [alice, reads, nothing] });
    expect(r.ok && r.changes).toEqual([
      { type: 'aclsChanged', index: 2, created: [], deleted: [[read, write], [read, bob], []] },
    ]);
    expect(n.sm.acls()).toEqual([]);
  });

  test('a filter that matches nothing changes nothing', () => {
    const n = new Node();
    n.ok({ type: 'createAcls', acls: [acl()] });
    const before = n.sm.acls();
    const r = n.ok({ type: 'deleteAcls', filters: [{ ...ANY, principal: 'User:nobody' }] });
    expect(r.ok && r.changes).toEqual([]);
    expect(n.sm.acls()).toBe(before);
  });
});

describe('filters (Kafka AclBindingFilter)', () => {
  const literal = acl({ resourceName: 'orders' });
  const wildcard = acl({ resourceName: '*' });
  const prefixed = acl({ resourceName: 'ord', patternType: 'PREFIXED' });
  const other = acl({ resourceName: 'payments' });
  const all = [literal, wildcard, prefixed, other];
  const matching = (f: Partial<AclFilter>): AclBinding[] =>
    all.filter((b) => aclFilterMatches({ ...ANY, ...f }, b));

  test('MATCH: the literal name, the literal wildcard and every prefix', () => {
    expect(matching({ resourceName: 'orders', patternType: 'MATCH' })).toEqual([literal, wildcard, prefixed]);
    expect(matching({ resourceName: 'payments', patternType: 'MATCH' })).toEqual([wildcard, other]);
    expect(matching({ resourceName: null, patternType: 'MATCH' })).toEqual(all);
  });

  test('ANY with a name: that exact name under any pattern type; LITERAL / PREFIXED: that type', () => {
    expect(matching({ resourceName: 'ord' })).toEqual([prefixed]);
    expect(matching({ resourceName: '*' })).toEqual([wildcard]);
    expect(matching({ patternType: 'PREFIXED' })).toEqual([prefixed]);
    expect(matching({ patternType: 'LITERAL', resourceName: 'ord' })).toEqual([]);
  });

  test('principal, host, operation and permission match exactly unless null / ANY', () => {
    const b = acl({ host: '10.0.0.1', operation: 'ALL', permission: 'DENY' });
    const m = (f: Partial<AclFilter>): boolean => aclFilterMatches({ ...ANY, ...f }, b);
    expect(m({ host: '10.0.0.1', operation: 'ALL', permission: 'DENY', principal: 'User:alice' })).toBe(true);
    expect(m({ host: '*' })).toBe(false);
    expect(m({ operation: 'READ' })).toBe(false);
    expect(m({ permission: 'ALLOW' })).toBe(false);
    expect(m({ principal: 'User:*' })).toBe(false);
  });
});

describe('snapshot', () => {
  test('a state without ACLs keeps its format; ACLs need format 6 and are restored', () => {
    const n = new Node();
    n.ok(broker(1));
    expect(formatOf(n.sm)).toBe(1);
    const a = acl({ resourceName: 'ord', patternType: 'PREFIXED', host: '10.0.0.9' });
    const b = acl({ resourceType: 'CLUSTER', resourceName: 'kafka-cluster', operation: 'ALTER' });
    n.ok({ type: 'createAcls', acls: [a, b] });
    expect(formatOf(n.sm)).toBe(6);
    const restored = MetadataStateMachine.fromSnapshot(n.sm.snapshot());
    expect(restored.acls()).toEqual(n.sm.acls());
    expect(Buffer.from(restored.snapshot())).toEqual(Buffer.from(n.sm.snapshot()));
    n.ok({ type: 'deleteAcls', filters: [ANY] });
    expect(formatOf(n.sm)).toBe(1);
  });

  test('a format-4 snapshot (no acls field) still reads', () => {
    const n = new Node();
    n.ok({ ...broker(1), listeners: [{ name: 'A', host: 'h', port: 1, securityProtocol: 'SSL' }] });
    expect(formatOf(n.sm)).toBe(4);
    const restored = MetadataStateMachine.fromSnapshot(n.sm.snapshot());
    expect(restored.acls()).toEqual([]);
  });

  test('an invalid or duplicated ACL in a snapshot is refused', () => {
    const n = new Node();
    n.ok({ type: 'createAcls', acls: [acl()] });
    const snap = unpack(n.sm.snapshot()) as { acls: AclBinding[] };
    const twice = pack({ ...snap, acls: [snap.acls[0], snap.acls[0]] });
    expect(() => MetadataStateMachine.fromSnapshot(twice)).toThrow(/duplicate ACL/);
    const bad = pack({ ...snap, acls: [{ ...snap.acls[0], principal: 'nobody' }] });
    expect(() => MetadataStateMachine.fromSnapshot(bad)).toThrow(/Invalid principal/);
  });
});
