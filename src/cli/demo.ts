import { UsageError } from './args.js';

type Out = { log: (text: string) => void; err: (text: string) => void };

export async function demo(_argv: string[], _out: Out): Promise<number> {
  throw new UsageError('demo: not wired yet');
}
