export const ROOT: string;
export const STAMP: string;
export function newestSourceMtime(root?: string): number;
export function builtIsCurrent(root?: string): boolean;
export function tsxInstalled(root?: string): boolean;
export type Entry = { kind: 'compiled' | 'source'; path: string } | { kind: 'missing'; problem: string };
export function chooseEntry(source: string, root?: string, hasTsx?: boolean): Entry;
export function loadEntry(source: string): Promise<Record<string, unknown>>;
