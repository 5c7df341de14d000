import { UnicopError } from '../../errors.js';
import type { NetboxBatch } from '../../generated/netbox-batch.js';
import type { SchemaRegistry } from '../../schema-registry.js';

const SCHEMA = 'netbox-batch.schema.json';

export type BatchValidator = (parsed: unknown) => NetboxBatch;

/**
 * Checks the batch envelope only (`schemas/netbox-batch.schema.json`): each item is validated like
 * a webhook afterwards, so one bad item is one rejected item, never a refused batch.
 */
export function createBatchValidator(registry: SchemaRegistry): BatchValidator {
  const isBatch = registry.validator<NetboxBatch>(SCHEMA);
  return (parsed) => {
    if (!isBatch(parsed)) {
      throw new UnicopError('UNICOP_VALIDATE_SCHEMA', 'body is not a batch of NetBox webhook bodies', { details: registry.lastErrors(SCHEMA) });
    }
    return parsed;
  };
}
