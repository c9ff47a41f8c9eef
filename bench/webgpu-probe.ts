// Checks that ONNX Runtime's WebGPU provider runs a graph built by our engine on this machine's GPU,
// and that it agrees with the CPU provider. Run: `node --import tsx bench/webgpu-probe.ts` (N=4096 for
// a larger product). On Linux, WebGPU (Dawn) needs the Vulkan loader, libvulkan.so.1 (Debian: libvulkan1),
// and a GPU driver with a Vulkan ICD; without them ORT reports "No supported adapters".
import { Graph, createSession, matmul, serialize, softmax, type Device } from '../src/onnx';

async function main(): Promise<void> {
  const n = Number(process.env.N ?? 2048);
  const g = new Graph('webgpu-probe');
  const a = g.input('a', 'float32', [n, n]);
  const b = g.input('b', 'float32', [n, n]);
  g.output(softmax(matmul(a, b), -1), 'y');
  const model = serialize(g);
  const feeds = {
    a: { dtype: 'float32' as const, data: new Float32Array(n * n).map((_, i) => Math.sin(i) * 0.01), dims: [n, n] },
    b: { dtype: 'float32' as const, data: new Float32Array(n * n).map((_, i) => Math.cos(i) * 0.01), dims: [n, n] },
  };
  const outputs: Partial<Record<Device, Float32Array>> = {};
  for (const device of ['cpu', 'webgpu'] as const) {
    try {
      const session = await createSession(model, { device });
      await session.run(feeds); // warm-up: kernel compilation, uploads
      const reps = 5;
      const t0 = performance.now();
      let out = await session.run(feeds);
      for (let i = 1; i < reps; i++) out = await session.run(feeds);
      const seconds = (performance.now() - t0) / 1000 / reps;
      outputs[device] = out.y.data as Float32Array;
      console.log(`${device}: ${(seconds * 1000).toFixed(1)} ms per ${n}x${n} matmul + softmax = ${((2 * n ** 3) / seconds / 1e9).toFixed(0)} GFLOP/s, host transfers included`);
      await session.release();
    } catch (e) {
      console.log(`${device}: failed: ${(e as Error).message.split('\n').slice(-1)[0]}`);
    }
  }
  const cpu = outputs.cpu;
  const gpu = outputs.webgpu;
  if (cpu && gpu) {
    let max = 0;
    for (let i = 0; i < cpu.length; i++) max = Math.max(max, Math.abs(cpu[i] - gpu[i]));
    console.log(`max abs difference, cpu vs webgpu: ${max.toExponential(2)}`);
  }
}

main();
