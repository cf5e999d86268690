/** The Node 22 binary the conformance suite needs. */
export declare const node22: string;
/** The conformance suite's command-line entry point. */
export declare const conformanceCli: string;
/** The suite's own requirement file for a revision: `server`, `client` and `not_scored` lists. */
export declare function requirementsFile(revision: string): string;
