/** The Node 22 binary mcpdo needs. */
export declare const node22: string;
/** mcpdo's command-line entry point (run it with node22). */
export declare const mcpdoCli: string;
