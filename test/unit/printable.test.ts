import { describe, expect, it } from 'vitest';
import { controlCharacterProblem, escapeControlCharacters, escapeJsonControlCharacters, firstControlCharacter } from '../../src/lib/printable.ts';

describe('control characters', () => {
  it('are found with their code point and 1-based position, C0, DEL and C1 alike', () => {
    expect(firstControlCharacter('Ada\x1b[31m')).toEqual({ codePoint: 'U+001B', position: 4 });
    expect(firstControlCharacter('\0')).toEqual({ codePoint: 'U+0000', position: 1 });
    expect(firstControlCharacter('ab\x7f')).toEqual({ codePoint: 'U+007F', position: 3 });
    expect(firstControlCharacter('Zoë\u009b1m')).toEqual({ codePoint: 'U+009B', position: 4 });
    // Positions count characters, not UTF-16 units.
    expect(firstControlCharacter('😀\x07')).toEqual({ codePoint: 'U+0007', position: 2 });
    expect(firstControlCharacter('Zoë Ünal, ÿ\u00a0')).toBeNull();
  });

  it('are named with the field in the refusal', () => {
    expect(controlCharacterProblem('first_name', 'Ada\x1b')).toBe('first_name contains a control character (U+001B) at position 4');
    expect(controlCharacterProblem('first_name', 'Ada')).toBeNull();
  });

  it('are escaped as \\xHH in text output, so none reaches the terminal raw', () => {
    expect(escapeControlCharacters('Ada\x1b[2J\x07\u009b\r\nend')).toBe('Ada\\x1b[2J\\x07\\x9b\\x0d\\x0aend');
    expect(escapeControlCharacters('plain, ünïcode')).toBe('plain, ünïcode');
  });

  it('are escaped in JSON too, C1 and DEL included, and the JSON still means the same', () => {
    const value = { name: 'Ada\x1b\u0085\x7f\u009f' };
    const json = escapeJsonControlCharacters(JSON.stringify(value));
    expect(json).toBe('{"name":"Ada\\u001b\\u0085\\u007f\\u009f"}');
    expect(JSON.parse(json)).toEqual(value);
  });
});
