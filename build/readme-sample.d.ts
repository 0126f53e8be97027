export declare const MARKER: string;
export declare function withSample(readme: string, output: string): string;
export declare function refreshSample(root: string, output: string): boolean;
