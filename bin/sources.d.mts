export const ROOT: string;
export const STAMP: string;
export function newestSourceMtime(root?: string): number;
export function builtIsCurrent(root?: string): boolean;
