import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkSchemaStability, messageTypes, minimalMessage } from '../../../../scripts/lib/schema-stability.js';

const SCHEMAS = fileURLToPath(new URL('../../../../schemas/', import.meta.url));
const CHECK = fileURLToPath(new URL('../../../../scripts/lib/check-schemas.ts', import.meta.url));

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- schema documents edited in place

describe('schema stability: golden examples against the current schemas', () => {
  let copy: string;
  beforeEach(() => {
    copy = mkdtempSync(join(tmpdir(), 'unicop-schemas-'));
    cpSync(SCHEMAS, copy, { recursive: true });
  });
  afterEach(() => rmSync(copy, { recursive: true, force: true }));

  /** Edits one schema (or golden) of the copy. */
  function edit(file: string, change: (doc: Json) => void): void {
    const path = join(copy, file);
    const doc = JSON.parse(readFileSync(path, 'utf8')) as Json;
    change(doc);
    writeFileSync(path, JSON.stringify(doc));
  }

  it('finds every message type with a golden that still validates in schemas/', () => {
    assert.deepEqual(checkSchemaStability(SCHEMAS), []);
    const goldens = readdirSync(join(SCHEMAS, 'examples'));
    for (const type of messageTypes(SCHEMAS).keys()) assert.ok(goldens.includes(`${type}.json`), `${type} has a golden`);
  });

  it('makes minimal goldens of the required fields alone', () => {
    const golden = JSON.parse(readFileSync(join(SCHEMAS, 'examples', 'unicop.object.updated.json'), 'utf8')) as Json & { type: string };
    const minimal = minimalMessage(SCHEMAS, golden) as Json;
    assert.deepEqual(Object.keys(minimal.data.scope), ['tenant', 'site', 'region'], 'regions is optional within v1');
    assert.deepEqual(minimal.data.current, {});
    assert.equal(minimal.data.object.id, golden.data.object.id);
  });

  it('fails when a v1 schema stops requiring a field readers rely on, through the minimal golden', () => {
    edit('audit.v1.schema.json', (s) => {
      s.properties.data.required = s.properties.data.required.filter((f: string) => f !== 'reason');
    });
    assert.deepEqual(checkSchemaStability(copy), [
      'schemas/examples/unicop.audit.decision.minimal.json: holds /data/reason, which audit.v1.schema.json no longer requires (readers rely on a required field: a breaking change)',
    ]);
  });

  it('fails when a v1 schema makes an optional field required, through the minimal golden', () => {
    edit('event-envelope.v1.schema.json', (s) => s.$defs.objectEventData.properties.scope.required.push('regions'));
    const problems = checkSchemaStability(copy);
    // the full goldens carry `regions`, so only the minimal ones see the narrowing
    assert.deepEqual(
      problems.map((p) => p.split(':')[0]),
      [
        'schemas/examples/unicop.object.created.minimal.json',
        'schemas/examples/unicop.object.deleted.minimal.json',
        'schemas/examples/unicop.object.updated.minimal.json',
      ],
    );
    assert.match(problems[0]!, /no longer validates against event-envelope\.v1\.schema\.json .*\/data\/scope must have required property 'regions'/);
  });

  it('fails when a v1 schema narrows a pattern, naming the golden and the field', () => {
    edit('reconcile-command.v1.schema.json', (s) => {
      s.properties.subject.pattern = '^dcim\\.interface:[1-9][0-9]*$';
    });
    const problems = checkSchemaStability(copy);
    assert.deepEqual(
      problems.map((p) => p.split(':')[0]),
      ['schemas/examples/unicop.reconcile.command.json', 'schemas/examples/unicop.reconcile.command.minimal.json'],
    );
    assert.match(problems[0]!, /no longer validates against reconcile-command\.v1\.schema\.json .*\/subject must match pattern/);
  });

  it('fails for a message type without a golden and for a golden of a type no schema has', () => {
    edit('access.v1.schema.json', (s) => s.properties.type.enum.push('unicop.access.extended'));
    writeFileSync(join(copy, 'examples', 'unicop.access.renamed.json'), readFileSync(join(SCHEMAS, 'examples', 'unicop.access.granted.json')));
    assert.deepEqual(checkSchemaStability(copy), [
      'unicop.access.extended (access.v1.schema.json) has no golden example: add schemas/examples/unicop.access.extended.json',
      'schemas/examples/unicop.access.renamed.json: names type unicop.access.renamed, which no CloudEvents schema of schemas/ has',
    ]);
  });

  it('fails for a golden whose type or dataschema disagrees with its name, and for one that is not JSON', () => {
    const examples = join(copy, 'examples');
    writeFileSync(join(examples, 'unicop.access.revoked.1.json'), readFileSync(join(examples, 'unicop.access.granted.json')));
    edit('examples/unicop.audit.decision.json', (g) => {
      g.dataschema = 'https://unicop.dev/schemas/access.v1.schema.json';
    });
    writeFileSync(join(examples, 'unicop.root.state.minimal.json'), '{"type":');
    const problems = checkSchemaStability(copy);
    assert.equal(problems.length, 3, problems.join('\n'));
    assert.match(
      problems[0]!,
      /^schemas\/examples\/unicop\.access\.revoked\.1\.json: its type is "unicop\.access\.granted", its file name says unicop\.access\.revoked$/,
    );
    assert.match(problems[1]!, /^schemas\/examples\/unicop\.audit\.decision\.json: dataschema ".*access\.v1\.schema\.json" is not .*audit\.v1\.schema\.json/);
    assert.match(problems[2]!, /^schemas\/examples\/unicop\.root\.state\.minimal\.json: not JSON/);
  });

  it('keeps older goldens (<type>.<n>.json) as history: each must still validate', () => {
    const older = join(copy, 'examples', 'unicop.reconcile.outcome.1.json');
    writeFileSync(older, readFileSync(join(SCHEMAS, 'examples', 'unicop.reconcile.outcome.json')));
    assert.deepEqual(checkSchemaStability(copy), []);
    edit('examples/unicop.reconcile.outcome.1.json', (g) => {
      g.data.result = 'maybe';
    });
    assert.match(
      checkSchemaStability(copy).join('\n'),
      /unicop\.reconcile\.outcome\.1\.json: no longer validates .*\/data\/result must be equal to one of the allowed values/,
    );
  });

  it('exits non-zero from the command line, naming the problem', () => {
    edit('root-state.v1.schema.json', (s) => s.required.push('partitionkey'));
    const run = spawnSync(process.execPath, ['--import', 'tsx', CHECK, copy], { encoding: 'utf8' });
    assert.equal(run.status, 1, run.stdout);
    assert.match(
      run.stderr,
      /unicop\.root\.state\.json: no longer validates against root-state\.v1\.schema\.json .*must have required property 'partitionkey'/,
    );
  });
});
