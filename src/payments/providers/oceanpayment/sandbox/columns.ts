/**
 * The compact storage the sandbox's ledgers share: typed arrays that grow, interned strings, and
 * small indexes that hold one row without an array.
 */

export function addToIndex<K>(map: Map<K, number | number[]>, key: K, index: number): void {
  const current = map.get(key);
  if (current === undefined) map.set(key, index);
  else if (typeof current === 'number') map.set(key, [current, index]);
  else current.push(index);
}

/** Maps strings to small numbers so a repeated string is stored once. */
export class Interner {
  readonly #ids = new Map<string, number>();
  readonly #values: string[] = [];

  get size(): number {
    return this.#values.length;
  }

  id(value: string): number {
    let id = this.#ids.get(value);
    if (id === undefined) {
      id = this.#values.length;
      this.#values.push(value);
      this.#ids.set(value, id);
    }
    return id;
  }

  existingId(value: string): number | undefined {
    return this.#ids.get(value);
  }

  value(id: number | undefined): string {
    return id === undefined ? '' : (this.#values[id] ?? '');
  }
}

export interface NumericArray {
  readonly length: number;
  [index: number]: number;
  set(array: ArrayLike<number>, offset?: number): void;
}

/** A typed array that doubles when full. */
export class Column<A extends NumericArray> {
  data: A;
  readonly #make: (length: number) => A;

  constructor(make: (length: number) => A) {
    this.#make = make;
    this.data = make(1024);
  }

  ensure(length: number): void {
    if (length <= this.data.length) return;
    const next = this.#make(Math.max(length, this.data.length * 2));
    next.set(this.data);
    this.data = next;
  }

  set(length: number, index: number, value: number): void {
    this.ensure(length);
    this.data[index] = value;
  }
}

/** The rows an index holds for a key, oldest first. */
export function rowsFor<K>(map: ReadonlyMap<K, number | number[]>, key: K): number[] {
  const entry = map.get(key);
  return entry === undefined ? [] : typeof entry === 'number' ? [entry] : [...entry];
}
