/**
 * The reproduction scorecard: the papers' claims as data (registry), the rules that compute a
 * verdict from findings (rules), the findings themselves from cached predictions (evidence),
 * and the scorecard rows.
 */
export * from "./rules.ts";
export * from "./registry.ts";
export * from "./scorecard.ts";
