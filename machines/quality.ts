/** Quality bands derived from an output's confidence. */
export type Quality = 'HIGH' | 'MEDIUM' | 'LOW';

export const QUALITIES: readonly Quality[] = ['LOW', 'MEDIUM', 'HIGH'];

/** HIGH when confidence > high; MEDIUM when medium ≤ confidence ≤ high; LOW below medium. */
export interface QualityThresholds {
  high: number;
  medium: number;
}

/** The seed's bands: HIGH > 0.85, MEDIUM 0.65–0.85 inclusive, LOW < 0.65. */
export const DEFAULT_QUALITY: QualityThresholds = Object.freeze({ high: 0.85, medium: 0.65 });

export function classifyQuality(
  confidence: number,
  thresholds: QualityThresholds = DEFAULT_QUALITY,
): Quality {
  if (confidence > thresholds.high) return 'HIGH';
  if (confidence >= thresholds.medium) return 'MEDIUM';
  return 'LOW';
}

/** Rank for comparisons: LOW 0 < MEDIUM 1 < HIGH 2. */
export const qualityRank = (q: Quality): number => QUALITIES.indexOf(q);

export const meetsQuality = (actual: Quality, minimum: Quality): boolean =>
  qualityRank(actual) >= qualityRank(minimum);
