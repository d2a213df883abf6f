// DeleteGroups (key 42), v0–v2: deletes groups that have no members, with their committed
// offsets (tombstones written durably to __consumer_offsets before the answer). A group with
// members answers NON_EMPTY_GROUP; an unknown one GROUP_ID_NOT_FOUND.
import { ApiKey } from '../protocol.js';
import type { GroupCoordinator } from '../groups/coordinator.js';
import { groupErrorCode } from '../groups/handler-util.js';
import { defineHandler } from './types.js';

export function createDeleteGroupsHandler(groups: GroupCoordinator) {
  return defineHandler({
    apiKey: ApiKey.DeleteGroups,
    minVersion: 0,
    maxVersion: 2,
    async handle(req) {
      const results = await groups.deleteGroups(req.groupsNames);
      return {
        throttleTimeMs: 0,
        results: results.map((r) => ({ groupId: r.groupId, errorCode: groupErrorCode(r.errorCode) })),
      };
    },
  });
}
