export declare const external: string[];
export declare const nodeBundle: { bundle: true; platform: 'node'; format: 'cjs'; target: string; sourcemap: boolean; external: string[]; logLevel: 'warning' };
