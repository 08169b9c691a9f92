/** A stable hex digest of a string (FNV-1a, 32 bits per round, `rounds` rounds with distinct seeds). */
export function digest(text: string, rounds: number): string {
  let out = '';
  for (let r = 0; r < rounds; r++) {
    let h = (0x811c9dc5 ^ Math.imul(r + 1, 0x9e3779b1)) >>> 0;
    for (let i = 0; i < text.length; i++) {
      h ^= text.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
    out += (h >>> 0).toString(16).padStart(8, '0');
  }
  return out;
}
