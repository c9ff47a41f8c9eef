// Every op's vector-Jacobian rule against central finite differences in float64 (<= 1e-6 relative),
// and the float32 build of the same graphs against float64 (<= 1e-3).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gradCheck, analyticGradients, relativeError } from './gradcheck';
import { opCases } from './op-cases';

for (const c of opCases) {
  test(`gradient of ${c.name} matches finite differences`, async () => {
    const { relError, analytic, numeric } = await gradCheck(c);
    assert.ok(relError <= 1e-6, `${c.name}: relative error ${relError}\nanalytic ${JSON.stringify(analytic)}\nnumeric ${JSON.stringify(numeric)}`);
  });
}

test('float32 builds agree with float64 within 1e-3', async () => {
  for (const c of opCases) {
    const f64 = await analyticGradients(c, 'float64');
    const f32 = await analyticGradients(c, 'float32');
    for (const k of Object.keys(f64.grads)) {
      const err = relativeError(f32.grads[k], f64.grads[k]);
      assert.ok(err <= 1e-3, `${c.name} input ${k}: float32 vs float64 relative error ${err}`);
    }
  }
});
