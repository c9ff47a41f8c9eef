// The float64 TypeScript reference against a PyTorch float64 reference (test/reference/decoder_ref.py)
// on every tiny variant: two independent readings of the Hugging Face modeling code must agree
// before either is used to judge our graphs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { refInvFreq, refLogits, type RefWeights } from '../../reference/decoder-ref';
import { randomWeights, tinyConfigs } from '../../reference/random-weights';

const python = '/usr/bin/python3';
const probe = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' });
const missing = probe.status === 0 ? undefined : `${python} with torch is not available (${(probe.stderr || String(probe.error)).trim().split('\n').pop()})`;
// CI installs python3-torch and sets SLHF_REQUIRE_TORCH, so there a missing torch fails instead of skipping.
const skip = missing && !process.env.SLHF_REQUIRE_TORCH ? missing : false;
test('PyTorch is there when the run requires it', { skip: !process.env.SLHF_REQUIRE_TORCH }, () => {
  assert.equal(missing, undefined, `${missing}: install it with \`apt-get install -y python3-torch\``);
});

/** A float64 safetensors file, written here so the check does not lean on our own writer. */
function writeF64Safetensors(path: string, weights: RefWeights): void {
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const [name, t] of weights) {
    header[name] = { dtype: 'F64', shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  const json = Buffer.from(JSON.stringify(header));
  const size = Buffer.alloc(8);
  size.writeBigUInt64LE(BigInt(json.length));
  const body = [...weights.values()].map((t) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  writeFileSync(path, Buffer.concat([size, json, ...body]));
}

for (const [name, config] of Object.entries(tinyConfigs)) {
  test(`TS reference equals the PyTorch reference: ${name}`, { skip }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'slhf-ref-'));
    try {
      const weights = randomWeights(config, 7);
      writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
      writeF64Safetensors(join(dir, 'model.safetensors'), weights);
      const ids = [1, 5, 9, 47, 3, 3, 20, 11, 0, 30, 2, 17];
      const run = spawnSync(python, [join(__dirname, '..', '..', 'reference', 'decoder_ref.py'), dir, ids.join(',')], { encoding: 'utf8' });
      assert.equal(run.status, 0, run.stderr);
      const torchLogits = (JSON.parse(run.stdout) as number[][]).flat();
      const ours = refLogits(config, weights, ids);
      assert.equal(ours.length, torchLogits.length);
      let maxDiff = 0;
      for (let i = 0; i < ours.length; i++) maxDiff = Math.max(maxDiff, Math.abs(ours[i] - torchLogits[i]));
      assert.ok(maxDiff < 1e-9, `max abs diff ${maxDiff}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('Mistral sliding window masks keys at distance >= window in both references', { skip }, () => {
  const config: Record<string, any> = { ...tinyConfigs.mistral_gqa, sliding_window: 3 };
  const weights = randomWeights(config, 3);
  const ids = [4, 8, 15, 16, 23, 42, 7];
  const full = refLogits({ ...config, sliding_window: null }, weights, ids); // the same model without a window
  const windowed = refLogits(config, weights, ids);
  const V = config.vocab_size;
  // The first three positions see at most three keys either way; later ones must differ.
  for (let i = 0; i < 3 * V; i++) assert.ok(Math.abs(full[i] - windowed[i]) < 1e-12);
  assert.ok(Math.abs(full[6 * V] - windowed[6 * V]) > 1e-6);
  const dir = mkdtempSync(join(tmpdir(), 'slhf-ref-'));
  try {
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    writeF64Safetensors(join(dir, 'model.safetensors'), weights);
    const run = spawnSync(python, [join(__dirname, '..', '..', 'reference', 'decoder_ref.py'), dir, ids.join(',')], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const torchLogits = (JSON.parse(run.stdout) as number[][]).flat();
    for (let i = 0; i < windowed.length; i++) assert.ok(Math.abs(windowed[i] - torchLogits[i]) < 1e-9);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('llama3 rope scaling leaves high frequencies, divides low ones by factor and blends the middle', () => {
  const cfg = tinyConfigs.llama3_scaled_mha;
  const plain = refInvFreq({ rope_theta: cfg.rope_theta }, 16);
  const scaled = refInvFreq(cfg, 16);
  const { factor, low_freq_factor, high_freq_factor, original_max_position_embeddings: ctx } = cfg.rope_scaling;
  const bands = { high: 0, low: 0, mid: 0 };
  plain.forEach((f, i) => {
    const wavelen = (2 * Math.PI) / f;
    if (wavelen < ctx / high_freq_factor) {
      bands.high++;
      assert.equal(scaled[i], f);
    } else if (wavelen > ctx / low_freq_factor) {
      bands.low++;
      assert.ok(Math.abs(scaled[i] - f / factor) < 1e-15);
    } else {
      bands.mid++;
      assert.ok(scaled[i] < f && scaled[i] > f / factor);
    }
  });
  assert.ok(bands.high > 0 && bands.low > 0 && bands.mid > 0, `fixture must span all bands: ${JSON.stringify(bands)}`);
});
