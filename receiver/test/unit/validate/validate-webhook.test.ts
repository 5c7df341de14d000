import { strict as assert } from 'node:assert';
import { UnicopError } from '../../../src/errors.js';
import { createWebhookValidator } from '../../../src/pipeline/validate/validate-webhook.js';
import { SchemaRegistry } from '../../../src/schema-registry.js';
import { fixture } from '../../helpers/fixtures.js';

const validate = createWebhookValidator(new SchemaRegistry());

function withId(version: string, id: number) {
  const body = structuredClone(fixture(version, 'dcim.interface', 'updated').body) as { data: { id: number } };
  body.data.id = id;
  return body;
}

describe('webhook validation', () => {
  it('refuses an object id no JavaScript number holds exactly (its object key would read 1e+308), in every NetBox version', () => {
    for (const version of ['4.4', '4.6', '4.7']) {
      for (const id of [1e308, 2 ** 53]) {
        assert.throws(
          () => validate(withId(version, id), 1000),
          (error: unknown) =>
            error instanceof UnicopError && error.code === 'UNICOP_VALIDATE_SCHEMA' && error.details.some((detail) => detail.pointer === '/data/id'),
          `${version}: id ${id}`,
        );
      }
      assert.equal(validate(withId(version, 2 ** 53 - 1), 1000).body.data.id, 2 ** 53 - 1);
    }
  });
});
