/**
 * The switchable stages of recall after fusion, each a weight (0 turns it off). Defaults were
 * chosen on LoCoMo conversations 1–5 and checked on 6–10 and on other datasets
 * (bench/research/README.md, "Recall that generalises").
 */
export interface RecallFeatures {
  /** Boost for memories spoken by a person the query names (the `speaker` column). */
  speakerBoost: number;
  /** Boost by the share of the query's content words found in the memory's own text (not its context). */
  ownWordsBoost: number;
  /** Boost for memories created inside a time the query names ("in May 2023", "last week"). */
  timeBoost: number;
  /** Per earlier pick from the same day, a memory's score is multiplied by (1 − this): spreads results over days. */
  dayDiversity: number;
}

export const NO_FEATURES: RecallFeatures = { speakerBoost: 0, ownWordsBoost: 0, timeBoost: 0, dayDiversity: 0 };

export const DEFAULT_FEATURES: RecallFeatures = { speakerBoost: 0.2, ownWordsBoost: 0.3, timeBoost: 0.5, dayDiversity: 0 };

export const FEATURE_NAMES = Object.keys(NO_FEATURES) as (keyof RecallFeatures)[];
