// Public entry point: every public name is re-exported here explicitly.
export const PACKAGE_STATUS = 'scaffold' as const;
