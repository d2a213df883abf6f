// The authorizer's decisions (security/authorizer.ts) against Kafka's StandardAuthorizer rules:
// literal, wildcard and prefixed patterns, principal and host matching, deny over allow, the
// operations ALL and the implied DESCRIBE / DESCRIBE_CONFIGS, super users,
// allow.everyone.if.no.acl.found, authorizeByResourceType and the KIP-430 bit sets.
import type { AclBinding } from '@chronik/metadata';
import { AclAuthorizer, ALLOW_EVERYTHING } from '../src/security/authorizer.js';
import type { Requester } from '../src/security/authorizer.js';

const alice: Requester = { principal: 'User:alice', host: '10.0.0.1' };
const bob: Requester = { principal: 'User:bob', host: '10.0.0.2' };

function acl(over: Partial<AclBinding>): AclBinding {
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

function authorizer(
  acls: AclBinding[],
  options: { superUsers?: string[]; allowEveryoneIfNoAclFound?: boolean } = {},
): AclAuthorizer {
  const list = Object.freeze([...acls]);
  return new AclAuthorizer(
    {
      superUsers: options.superUsers ?? [],
      allowEveryoneIfNoAclFound: options.allowEveryoneIfNoAclFound ?? false,
    },
    () => list,
  );
}

test('a literal ALLOW allows its principal its operation on that name only', () => {
  const a = authorizer([acl({})]);
  expect(a.allows(alice, 'READ', 'TOPIC', 'orders')).toBe(true);
  expect(a.allows(alice, 'WRITE', 'TOPIC', 'orders')).toBe(false);
  expect(a.allows(alice, 'READ', 'TOPIC', 'orders2')).toBe(false);
  expect(a.allows(bob, 'READ', 'TOPIC', 'orders')).toBe(false);
  expect(a.allows(alice, 'READ', 'GROUP', 'orders')).toBe(false);
});

test('prefixed patterns, the literal wildcard and User:*', () => {
  const a = authorizer([
    acl({ resourceName: 'ord', patternType: 'PREFIXED', operation: 'WRITE' }),
    acl({ resourceName: '*', principal: 'User:*', operation: 'DESCRIBE' }),
  ]);
  expect(a.allows(alice, 'WRITE', 'TOPIC', 'orders')).toBe(true);
  expect(a.allows(alice, 'WRITE', 'TOPIC', 'ord')).toBe(true);
  expect(a.allows(alice, 'WRITE', 'TOPIC', 'or')).toBe(false);
  expect(a.allows(bob, 'DESCRIBE', 'TOPIC', 'anything')).toBe(true);
  expect(a.allows(bob, 'WRITE', 'TOPIC', 'orders')).toBe(false);
});

test('deny over allow, whichever pattern carries it; a DENY of READ does not deny DESCRIBE', () => {
  const a = authorizer([
    acl({ resourceName: '*', operation: 'ALL' }),
    acl({ resourceName: 'secret-', patternType: 'PREFIXED', operation: 'READ', permission: 'DENY' }),
  ]);
  expect(a.allows(alice, 'READ', 'TOPIC', 'public')).toBe(true);
  expect(a.allows(alice, 'READ', 'TOPIC', 'secret-plans')).toBe(false);
  expect(a.allows(alice, 'DESCRIBE', 'TOPIC', 'secret-plans')).toBe(true);
  expect(a.allows(alice, 'WRITE', 'TOPIC', 'secret-plans')).toBe(true);
});

test('a DENY of ALL denies every operation', () => {
  const a = authorizer([
    acl({ operation: 'ALL' }),
    acl({ operation: 'ALL', permission: 'DENY', host: '10.0.0.1' }),
  ]);
  expect(a.allows(alice, 'READ', 'TOPIC', 'orders')).toBe(false);
  expect(a.allows({ ...alice, host: '10.0.0.9' }, 'READ', 'TOPIC', 'orders')).toBe(true);
});

test('READ, WRITE, DELETE and ALTER imply DESCRIBE; ALTER_CONFIGS implies DESCRIBE_CONFIGS', () => {
  for (const op of ['READ', 'WRITE', 'DELETE', 'ALTER'] as const) {
    const a = authorizer([acl({ operation: op })]);
    expect(a.allows(alice, 'DESCRIBE', 'TOPIC', 'orders')).toBe(true);
  }
  expect(authorizer([acl({ operation: 'CREATE' })]).allows(alice, 'DESCRIBE', 'TOPIC', 'orders')).toBe(false);
  const configs = authorizer([acl({ operation: 'ALTER_CONFIGS' })]);
  expect(configs.allows(alice, 'DESCRIBE_CONFIGS', 'TOPIC', 'orders')).toBe(true);
  expect(configs.allows(alice, 'DESCRIBE', 'TOPIC', 'orders')).toBe(false);
});

test('hosts: an ACL for one address applies to that client address only', () => {
  const a = authorizer([acl({ host: '10.0.0.1' })]);
  expect(a.allows(alice, 'READ', 'TOPIC', 'orders')).toBe(true);
  expect(a.allows({ ...alice, host: '10.0.0.7' }, 'READ', 'TOPIC', 'orders')).toBe(false);
});

test('super users may do everything, even against a DENY', () => {
  const a = authorizer([acl({ principal: 'User:root', operation: 'ALL', permission: 'DENY' })], {
    superUsers: ['User:root'],
  });
  const root = { principal: 'User:root', host: '1.2.3.4' };
  expect(a.allows(root, 'ALTER', 'CLUSTER', 'kafka-cluster')).toBe(true);
  expect(a.allows(root, 'READ', 'TOPIC', 'orders')).toBe(true);
});

test('allow.everyone.if.no.acl.found: only resources no ACL applies to (whatever its principal)', () => {
  const acls = [acl({ principal: 'User:bob' })];
  expect(authorizer(acls).allows(alice, 'READ', 'TOPIC', 'free')).toBe(false);
  const open = authorizer(acls, { allowEveryoneIfNoAclFound: true });
  expect(open.allows(alice, 'READ', 'TOPIC', 'free')).toBe(true);
  expect(open.allows(alice, 'READ', 'TOPIC', 'orders')).toBe(false);
  expect(open.allows(alice, 'READ', 'GROUP', 'g')).toBe(true);
});

test('allowsAny (authorizeByResourceType): some allowed name not covered by a deny', () => {
  expect(authorizer([]).allowsAny(alice, 'WRITE', 'TOPIC')).toBe(false);
  expect(authorizer([acl({ operation: 'WRITE' })]).allowsAny(alice, 'WRITE', 'TOPIC')).toBe(true);
  expect(authorizer([acl({ operation: 'READ' })]).allowsAny(alice, 'WRITE', 'TOPIC')).toBe(false);
  expect(
    authorizer([
      acl({ operation: 'WRITE' }),
      acl({ operation: 'WRITE', permission: 'DENY', resourceName: 'or', patternType: 'PREFIXED' }),
    ]).allowsAny(alice, 'WRITE', 'TOPIC'),
  ).toBe(false);
  expect(
    authorizer([
      acl({ operation: 'WRITE', resourceName: 'a-', patternType: 'PREFIXED' }),
      acl({ operation: 'WRITE', permission: 'DENY', resourceName: 'b' }),
    ]).allowsAny(alice, 'WRITE', 'TOPIC'),
  ).toBe(true);
  expect(
    authorizer([
      acl({ operation: 'WRITE' }),
      acl({ operation: 'ALL', permission: 'DENY', resourceName: '*' }),
    ]).allowsAny(alice, 'WRITE', 'TOPIC'),
  ).toBe(false);
  expect(authorizer([], { superUsers: ['User:alice'] }).allowsAny(alice, 'WRITE', 'TOPIC')).toBe(true);
});

test('authorized operations: the bits of the operations allowed (KIP-430)', () => {
  const a = authorizer([acl({ operation: 'READ' })]);
  // READ (3) and the DESCRIBE (8) it implies.
  expect(a.operations(alice, 'TOPIC', 'orders')).toBe((1 << 3) | (1 << 8));
  expect(a.operations(bob, 'TOPIC', 'orders')).toBe(0);
  expect(ALLOW_EVERYTHING.operations(alice, 'TOPIC', 'x')).toBe(3576);
  expect(ALLOW_EVERYTHING.operations(alice, 'CLUSTER', 'kafka-cluster')).toBe(8096);
  expect(ALLOW_EVERYTHING.operations(alice, 'GROUP', 'g')).toBe(328);
});

test('a change of the ACLs is seen at once (the cache follows the array)', () => {
  let list: readonly AclBinding[] = Object.freeze([]);
  const a = new AclAuthorizer({ superUsers: [], allowEveryoneIfNoAclFound: false }, () => list);
  expect(a.allows(alice, 'READ', 'TOPIC', 'orders')).toBe(false);
  list = Object.freeze([acl({})]);
  expect(a.allows(alice, 'READ', 'TOPIC', 'orders')).toBe(true);
  list = Object.freeze([acl({}), acl({ permission: 'DENY' })]);
  expect(a.allows(alice, 'READ', 'TOPIC', 'orders')).toBe(false);
});
