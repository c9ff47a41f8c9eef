// slhf.refine.harperFirstPass (issue 21): declared in package.json, default on, and the editor's
// refinement request carries it to the refiner (which applies it to the built-in model only).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readGenerationRequest, type SettingsReader } from '../../../src/ui/generation-settings';

const manifest = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'package.json'), 'utf8'));
const schema = manifest.contributes.configuration.properties['slhf.refine.harperFirstPass'];

const reader = (values: Record<string, unknown>): SettingsReader => ({
  get: <T>(key: string) => (key in values ? values[key] : key === 'refine.harperFirstPass' ? schema.default : undefined) as T,
  inspect: () => undefined,
});

test('the setting is a boolean, on by default, and reaches the request', () => {
  assert.equal(schema.type, 'boolean');
  assert.equal(schema.default, true);
  assert.equal(readGenerationRequest(reader({}), true).request.harperFirstPass, true);
  assert.equal(readGenerationRequest(reader({ 'refine.harperFirstPass': false }), true).request.harperFirstPass, false);
});
