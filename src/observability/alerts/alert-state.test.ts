import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type AlertState, conditionCleared, conditionHeld, INACTIVE } from './alert-state.ts';

describe('alert state machine', () => {
  it('inactive -> pending -> firing after `for`, emitting firing once', () => {
    let step = conditionHeld(INACTIVE, 0, 60_000);
    assert.deepEqual(step, { state: { kind: 'pending', activeAt: 0 }, emit: null });
    step = conditionHeld(step.state, 59_999, 60_000);
    assert.equal(step.state.kind, 'pending');
    step = conditionHeld(step.state, 60_000, 60_000);
    assert.deepEqual(step, { state: { kind: 'firing', activeAt: 0, firedAt: 60_000 }, emit: 'firing' });
    step = conditionHeld(step.state, 75_000, 60_000);
    assert.equal(step.emit, null);
    assert.equal(step.state.kind, 'firing');
  });

  it('fires at once when `for` is 0', () => {
    assert.deepEqual(conditionHeld(INACTIVE, 5, 0), {
      state: { kind: 'firing', activeAt: 5, firedAt: 5 },
      emit: 'firing',
    });
  });

  it('pending that clears goes back to inactive silently', () => {
    const pending: AlertState = { kind: 'pending', activeAt: 0 };
    assert.deepEqual(conditionCleared(pending, 10), { state: INACTIVE, emit: null });
  });

  it('firing that clears resolves, emitting resolved once; a new activation starts pending again', () => {
    const firing: AlertState = { kind: 'firing', activeAt: 0, firedAt: 60 };
    const resolved = conditionCleared(firing, 90);
    assert.deepEqual(resolved, {
      state: { kind: 'resolved', activeAt: 0, firedAt: 60, resolvedAt: 90 },
      emit: 'resolved',
    });
    assert.deepEqual(conditionCleared(resolved.state, 120), { state: resolved.state, emit: null });
    assert.deepEqual(conditionHeld(resolved.state, 150, 30), { state: { kind: 'pending', activeAt: 150 }, emit: null });
  });
});
