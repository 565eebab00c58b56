import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadOptional, MissingPackageError } from './optional-package.ts';

describe('loadOptional', () => {
  it('names the feature and what to install when one of its packages is missing', async () => {
    const missing = 'autoloop-test-no-such-package';
    const error = await loadOptional('sqlite:// stores', [`${missing}@1.2.3`], () => import(missing)).then(
      () => assert.fail('loaded a package that does not exist'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof MissingPackageError);
    assert.equal(error.name, 'MissingPackageError');
    assert.equal(
      error.message,
      `sqlite:// stores: the package ${missing} is not installed; install it beside autoloop: npm install ${missing}@1.2.3`,
    );
    assert.deepEqual(error.packages, [`${missing}@1.2.3`]);
  });

  it('passes other failures through: a missing package it was not told about, a module that throws', async () => {
    const unrelated = 'autoloop-test-unrelated';
    const other = await loadOptional('tracing', ['@opentelemetry/api'], () => import(unrelated)).catch(
      (e: unknown) => e,
    );
    assert.ok(!(other instanceof MissingPackageError));
    const thrown = new Error('boom');
    await assert.rejects(
      loadOptional('tracing', ['@opentelemetry/api'], () => Promise.reject(thrown)),
      (e) => e === thrown,
    );
  });

  it('returns the module when it loads', async () => {
    const path = await loadOptional('paths', ['node:path'], () => import('node:path'));
    assert.equal(typeof path.join, 'function');
  });
});
