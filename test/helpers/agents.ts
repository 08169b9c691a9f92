import { z } from 'zod';

/** The seed's agent output: content plus self-reported confidence. */
export const Draft = z.object({ content: z.string(), confidence: z.number().min(0).max(1) });
export type Draft = z.infer<typeof Draft>;

export const draft = (content: string, confidence = 0.9): Draft => ({ content, confidence });
