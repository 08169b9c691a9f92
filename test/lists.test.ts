import { describe, expect, it } from 'vitest';
import { pushed, withItem } from '../machines/lists.js';

describe('lists kept at their exact length', () => {
  it('withItem: a new list with one more item; the old one and array items are left as they are', () => {
    const before = Object.freeze([1, 2]) as readonly unknown[];
    const after = withItem(before, [3, 4]);
    expect(after).toEqual([1, 2, [3, 4]]);
    expect(before).toEqual([1, 2]);
    expect(after).not.toBe(before);
    // Long lists too (copied in one piece there).
    const long = Object.freeze(Array.from({ length: 20 }, (_, i) => i));
    expect(withItem(long, 20)).toEqual(Array.from({ length: 21 }, (_, i) => i));
    expect(long).toHaveLength(20);
  });

  it('pushed: keeps every item in order, short and long, and grows long lists in place', () => {
    let list: number[] = [];
    const kept: number[][] = [];
    for (let i = 0; i < 40; i++) {
      list = pushed(list, i);
      kept.push(list);
    }
    expect(list).toEqual(Array.from({ length: 40 }, (_, i) => i));
    // Short lists are new arrays (earlier ones unchanged); from 16 items on, the same array grows.
    expect(kept[3]).toEqual([0, 1, 2, 3]);
    expect(kept[20]).toBe(kept[39]);
  });
});
