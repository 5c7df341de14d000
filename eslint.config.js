// ESLint flat config: typescript-eslint plus the import boundaries of STYLE.md.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const STAGES = ['ingest', 'verify', 'validate', 'normalize', 'sequence', 'outbox', 'publish'];

/** Which package only one folder may use, so it stays swappable (STYLE.md "receiver/"). */
const OWNED_PACKAGES = {
  kafkajs: 'receiver/src/pipeline/publish/**',
  got: 'receiver/src/clients/**',
  express: ['receiver/src/pipeline/ingest/**', 'receiver/src/app.ts'],
};

function packageRestrictions(allowedIn) {
  return Object.entries(OWNED_PACKAGES)
    .filter(([, where]) => ![where].flat().some((w) => allowedIn.includes(w)))
    .map(([name, where]) => ({ name, allowTypeImports: true, message: `only ${[where].flat().join(', ')} may import ${name}` }));
}

/** A stage imports its own folder, the shared modules and generated/ — never another stage or the wiring. */
const stageBoundaries = STAGES.map((stage) => ({
  files: [`receiver/src/pipeline/${stage}/**/*.ts`],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        paths: packageRestrictions([`receiver/src/pipeline/${stage}/**`]),
        patterns: [
          {
            group: STAGES.filter((s) => s !== stage).map((s) => `../${s}/*`),
            message: 'stages do not import each other; wire them in pipeline.ts or receiver.ts',
          },
          {
            group: ['../pipeline.js', '../../app.js', '../../main.js', '../../receiver.js', '../../metrics.js'],
            message: 'a stage never imports the wiring',
          },
        ],
      },
    ],
  },
}));

const NO_ENUM = { selector: 'TSEnumDeclaration', message: 'use an `as const` object and a derived union (STYLE.md)' };

/**
 * Retry timing lives in `receiver/src/retry/` only (named policies, `docs/retries.md`): no timers and
 * no backoff arithmetic anywhere else in the receiver. Use `Backoff`, `every` or `sleep` from there.
 */
const RETRY_ONLY = 'retry timing lives in receiver/src/retry/ (a named policy in policies.ts; Backoff, every, sleep)';
const NO_HAND_ROLLED_TIMING = [
  { selector: 'CallExpression[callee.name=/^(setTimeout|setInterval)$/]', message: RETRY_ONLY },
  { selector: 'MemberExpression[property.name=/^(setTimeout|setInterval)$/]', message: RETRY_ONLY },
  { selector: 'ImportDeclaration[source.value=/^(node:)?timers(\\/promises)?$/]', message: RETRY_ONLY },
  {
    selector: "CallExpression[callee.object.name='Math'][callee.property.name=/^(min|max)$/] > BinaryExpression[operator=/^[*]{1,2}$/]",
    message: `${RETRY_ONLY}: no Math.min(delay * factor, max)`,
  },
  { selector: "CallExpression[callee.object.name='Math'][callee.property.name='pow']", message: `${RETRY_ONLY}: no exponential delays` },
  { selector: "BinaryExpression[operator='**']", message: `${RETRY_ONLY}: no exponential delays` },
  { selector: 'AssignmentExpression[operator=/^[*]{1,2}=$/]', message: `${RETRY_ONLY}: no growing delays` },
];

export default tseslint.config(
  { ignores: ['node_modules/', 'receiver/dist/', 'receiver/src/generated/', 'var/', 'netbox-plugin/', 'eda/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setImmediate: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        TextDecoder: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-restricted-syntax': ['error', NO_ENUM],
    },
  },
  {
    files: ['receiver/src/**/*.ts'],
    ignores: ['receiver/src/retry/**', 'receiver/src/generated/**'],
    rules: { 'no-restricted-syntax': ['error', NO_ENUM, ...NO_HAND_ROLLED_TIMING] },
  },
  {
    files: ['receiver/src/**/*.ts'],
    ignores: ['receiver/src/pipeline/*/**', 'receiver/src/app.ts', 'receiver/src/clients/**'],
    rules: { 'no-restricted-imports': ['error', { paths: packageRestrictions([]) }] },
  },
  {
    files: ['receiver/src/clients/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: packageRestrictions(['receiver/src/clients/**']) }] },
  },
  {
    files: ['receiver/src/app.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: packageRestrictions(['receiver/src/app.ts']) }] },
  },
  ...stageBoundaries,
  {
    files: ['scripts/**/*.mjs', 'scripts/**/*.js', 'eslint.config.js'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // The receiver image's HEALTHCHECK runs with the image's Node.js, whose fetch is global.
    files: ['docker/**/*.mjs'],
    languageOptions: { globals: { fetch: 'readonly', AbortSignal: 'readonly' } },
  },
  {
    // The PostgreSQL worker thread is CommonJS on purpose (store/postgres-worker.cjs says why).
    files: ['receiver/src/**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', Atomics: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
