// DeleteGroups (key 42), v0–v2: deletes groups that have no members, with their committed
// offsets (tombstones written durably to __consumer_offsets before the answer). A group with
// members answers NON_EMPTY_GROUP; an unknown one GROUP_ID_NOT_FOUND. Each group needs DELETE
// (GROUP_AUTHORIZATION_FAILED).
import { ApiKey, ErrorCode } from '@chronik/protocol';
import { allowedNames } from './authz.js';
import { groupErrorCode } from './group-util.js';
import { defineHandler } from './types.js';

export const deleteGroupsHandler = defineHandler({
  apiKey: ApiKey.DeleteGroups,
  minVersion: 0,
  maxVersion: 2,
  uses: ['groups'],
  async handle(req, ctx) {
    const deletable = allowedNames(ctx, 'DELETE', 'GROUP', req.groupsNames);
    const results = await ctx.deps.groups.deleteGroups(req.groupsNames.filter((g) => deletable.has(g)));
    const denied = [...new Set(req.groupsNames.filter((g) => !deletable.has(g)))];
    return {
      throttleTimeMs: 0,
      results: [
        ...results.map((r) => ({ groupId: r.groupId, errorCode: groupErrorCode(r.errorCode) })),
        ...denied.map((groupId) => ({ groupId, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED })),
      ],
    };
  },
});
