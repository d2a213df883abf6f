// DeleteGroups (key 42), v0–v2: deletes groups that have no members, with their committed
// offsets (tombstones written durably to __consumer_offsets before the answer). A group with
// members answers NON_EMPTY_GROUP; an unknown one GROUP_ID_NOT_FOUND.
import { ApiKey } from '@chronik/protocol';
import { groupErrorCode } from './group-util.js';
import { defineHandler } from './types.js';

export const deleteGroupsHandler = defineHandler({
  apiKey: ApiKey.DeleteGroups,
  minVersion: 0,
  maxVersion: 2,
  uses: ['groups'],
  async handle(req, ctx) {
    const results = await ctx.deps.groups.deleteGroups(req.groupsNames);
    return {
      throttleTimeMs: 0,
      results: results.map((r) => ({ groupId: r.groupId, errorCode: groupErrorCode(r.errorCode) })),
    };
  },
});
