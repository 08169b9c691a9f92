// Removes build output folders given as arguments, so a build never ships a stale file.
import { rmSync } from 'node:fs';

for (const dir of process.argv.slice(2)) rmSync(dir, { recursive: true, force: true });
