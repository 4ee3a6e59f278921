/**
 * Control characters (C0, DEL and C1: U+0000–U+001F, U+007F–U+009F) in text that came from
 * outside. They are refused in input, and escaped in output so nothing stored (even before the
 * input rule existed) can move a terminal's cursor, change its colours or ring its bell.
 */

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const CONTROLS = /[\u0000-\u001f\u007f-\u009f]/g;

export interface ControlCharacter {
  /** e.g. `U+001B`. */
  codePoint: string;
  /** 1-based, counted in characters (code points) of the text. */
  position: number;
}

const codePointName = (code: number) => `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;

/** The first control character in the text, or null when it has none. */
export function firstControlCharacter(text: string): ControlCharacter | null {
  if (!CONTROL.test(text)) return null;
  let position = 0;
  for (const char of text) {
    position++;
    if (CONTROL.test(char)) return { codePoint: codePointName(char.codePointAt(0)!), position };
  }
  return null;
}

/** `"<name> contains a control character (U+001B) at position 4"`, or null when the text has none. */
export function controlCharacterProblem(name: string, text: string): string | null {
  const found = firstControlCharacter(text);
  return found ? `${name} contains a control character (${found.codePoint}) at position ${found.position}` : null;
}

/** The text with every control character written as `\xHH` (ESC as `\x1b`, NUL as `\x00`). */
export function escapeControlCharacters(text: string): string {
  return text.replace(CONTROLS, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** Multi-line text (an error with a list of problems) with every line escaped; its line breaks stay. */
export function escapeControlCharactersByLine(text: string): string {
  return text.split('\n').map(escapeControlCharacters).join('\n');
}

/**
 * JSON text with DEL and the C1 characters also written as `\u` escapes: JSON.stringify escapes
 * only C0, and these can only occur inside strings, where the escape means the same character.
 */
export function escapeJsonControlCharacters(json: string): string {
  return json.replace(/[\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
