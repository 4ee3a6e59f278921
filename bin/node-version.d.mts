export function requiredNodeVersion(): [number, number, number];
export function nodeVersionProblem(version: string, required: readonly number[]): string | null;
export function requireSupportedNode(): void;
