// Public entry point of @chronik/protocol: every public name is re-exported here explicitly.
export const PACKAGE_STATUS = 'scaffold' as const;

// --- records (owned by the record-batch work) ---
// --- end records ---
