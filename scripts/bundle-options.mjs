// esbuild options the product's Node bundles are built with (scripts/build.mjs), in one place, so
// a benchmark can run its child processes as the product runs its workers: bundled, under plain node.
// Native or heavy packages stay outside the bundles and load from node_modules at run time.
export const external = ['vscode', 'onnxruntime-node', '@huggingface/transformers', 'sharp', 'onnxruntime-web', 'harper.js'];

export const nodeBundle = { bundle: true, platform: 'node', format: 'cjs', target: 'node20', sourcemap: true, external, logLevel: 'warning' };
