/**
 * The relay's memory of recent messages, for viewers that connect later: the newest messages that fit
 * both a count and a byte budget. A message larger than the whole budget is not kept at all.
 */
export interface ReplayBuffer {
  push(message: Uint8Array): void;
  messages(): readonly Uint8Array[];
  readonly bytes: number;
  readonly size: number;
}

export function replayBuffer(maxMessages: number, maxBytes: number): ReplayBuffer {
  const kept: Uint8Array[] = [];
  let bytes = 0;
  return {
    push(message) {
      if (maxMessages === 0 || message.byteLength > maxBytes) return;
      kept.push(message);
      bytes += message.byteLength;
      while (kept.length > maxMessages || bytes > maxBytes) bytes -= kept.shift()!.byteLength;
    },
    messages: () => kept,
    get bytes() {
      return bytes;
    },
    get size() {
      return kept.length;
    },
  };
}
