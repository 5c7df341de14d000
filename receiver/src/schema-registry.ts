import { readFileSync, readdirSync } from 'node:fs';
import { Ajv2020, type ValidateFunction, type ErrorObject } from 'ajv/dist/2020.js';
import addFormatsPlugin from 'ajv-formats';
import type { ErrorDetail } from './errors.js';

/** `schemas/` at the repository root: the one source of truth shared with the Python half. */
export const SCHEMAS_DIR = new URL('../../schemas/', import.meta.url);
export const SCHEMA_BASE_URI = 'https://unicop.dev/schemas/';

// ajv-formats is CommonJS; under NodeNext its default export arrives wrapped.
const addFormats = addFormatsPlugin as unknown as (ajv: Ajv2020) => Ajv2020;

export interface SchemaRegistryOptions {
  /** Convert "8080" to 8080 and fill defaults: used for the environment, never for webhook bodies. */
  coerce?: boolean;
}

export interface ValidatorOptions {
  /** Fill in the schema's defaults (policy files): the defaults live in the schema, nowhere else. */
  defaults?: boolean;
  /**
   * Drop properties the schema does not know instead of refusing them: how a consumer reads a v1
   * message from a newer producer (ARCHITECTURE.md: within v1 fields are only added, and consumers
   * ignore fields they do not know). The value is changed in place.
   */
  ignoreUnknownFields?: boolean;
}

/**
 * Loads every `schemas/*.schema.json` once and compiles validators on demand (each compiled once,
 * at start-up, by whoever asks first).
 */
export class SchemaRegistry {
  private readonly ajv: Ajv2020;
  /** Instances for the validator options, made when first asked for (ajv sets these per instance). */
  private readonly variants = new Map<string, Ajv2020>();
  private readonly compiled = new Map<string, ValidateFunction>();
  /** The validator each name ran last, whose errors `lastErrors` reports. */
  private readonly lastRun = new Map<string, ValidateFunction>();

  constructor(private readonly options: SchemaRegistryOptions = {}) {
    this.ajv = this.newAjv(options.coerce ?? false, false);
  }

  private newAjv(defaults: boolean, removeAdditional: boolean): Ajv2020 {
    const ajv = new Ajv2020({
      allErrors: true,
      strict: true,
      // `anyOf: [{required: [x]}]` names properties declared beside it, which ajv's strictRequired cannot see.
      strictRequired: false,
      allowUnionTypes: true,
      coerceTypes: this.options.coerce ? 'array' : false,
      useDefaults: defaults,
      removeAdditional,
    });
    addFormats(ajv);
    for (const file of readdirSync(SCHEMAS_DIR)
      .filter((f) => f.endsWith('.schema.json'))
      .sort()) {
      ajv.addSchema(JSON.parse(readFileSync(new URL(file, SCHEMAS_DIR), 'utf8')) as object);
    }
    return ajv;
  }

  /** `name` is the file name, e.g. `event-envelope.v1.schema.json`. */
  validator<T>(name: string, options: ValidatorOptions = {}): (value: unknown) => value is T {
    const defaults = options.defaults === true && !this.options.coerce;
    const tolerant = options.ignoreUnknownFields === true;
    const variant = `${defaults ? '+defaults' : ''}${tolerant ? '+tolerant' : ''}`;
    const cacheKey = name + variant;
    let fn = this.compiled.get(cacheKey);
    if (!fn) {
      let ajv = variant === '' ? this.ajv : this.variants.get(variant);
      if (!ajv) {
        ajv = this.newAjv(defaults || (this.options.coerce ?? false), tolerant);
        this.variants.set(variant, ajv);
      }
      fn = ajv.getSchema(SCHEMA_BASE_URI + name);
      if (!fn) throw new Error(`schema ${name} is not in ${SCHEMAS_DIR.pathname}`);
      this.compiled.set(cacheKey, fn);
    }
    const validate = fn;
    return (value: unknown): value is T => {
      this.lastRun.set(name, validate);
      return validate(value) === true;
    };
  }

  /** The errors of the last call of `validator(name)`, as error details with JSON pointers. */
  lastErrors(name: string, limit = 20): ErrorDetail[] {
    const errors: ErrorObject[] = this.lastRun.get(name)?.errors ?? [];
    return errors.slice(0, limit).map((e) => ({
      pointer: e.instancePath === '' ? '/' : e.instancePath,
      message: describe(e),
    }));
  }
}

function describe(e: ErrorObject): string {
  const params = e.params as Record<string, unknown>;
  if (e.keyword === 'additionalProperties') return `unexpected property "${String(params.additionalProperty)}"`;
  if (e.keyword === 'required') return `missing property "${String(params.missingProperty)}"`;
  return e.message ?? e.keyword;
}
