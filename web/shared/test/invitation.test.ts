import { describe, expect, it } from 'vitest';
import { inviteTokenFromHash, newPasswordProblems } from '../src/auth/invitation';

describe('inviteTokenFromHash', () => {
  it('reads the token from the fragment', () => {
    expect(inviteTokenFromHash('#token=7b12.utOp9l5Wqa_ks5V8-hQ')).toBe('7b12.utOp9l5Wqa_ks5V8-hQ');
  });
  it('accepts a fragment without the leading #', () => {
    expect(inviteTokenFromHash('token=abc')).toBe('abc');
  });
  it('finds the token among other parameters', () => {
    expect(inviteTokenFromHash('#utm=mail&token=abc&x=1')).toBe('abc');
  });
  it('decodes percent-encoding but keeps a plus sign', () => {
    expect(inviteTokenFromHash('#token=a%2Eb+c')).toBe('a.b+c');
  });
  it('is null when there is no token', () => {
    expect(inviteTokenFromHash('')).toBeNull();
    expect(inviteTokenFromHash('#')).toBeNull();
    expect(inviteTokenFromHash('#token=')).toBeNull();
    expect(inviteTokenFromHash('#tokens=abc')).toBeNull();
    expect(inviteTokenFromHash('#token')).toBeNull();
  });
  it('is null for malformed percent-encoding', () => {
    expect(inviteTokenFromHash('#token=%E0%A4%A')).toBeNull();
  });
});

describe('newPasswordProblems', () => {
  it('wants at least 10 characters', () => {
    expect(newPasswordProblems('short', 'short')).toEqual({ password: 'Use at least 10 characters.' });
    expect(newPasswordProblems('', '')).toHaveProperty('password');
  });
  it('counts characters, not UTF-16 units', () => {
    expect(newPasswordProblems('🔑🔑🔑🔑🔑', '🔑🔑🔑🔑🔑')).toHaveProperty('password');
  });
  it('wants the confirmation to match', () => {
    expect(newPasswordProblems('long enough 1', 'long enough 2')).toEqual({ confirm: 'The passwords do not match.' });
  });
  it('is empty when both are fine', () => {
    expect(newPasswordProblems('long enough 1', 'long enough 1')).toEqual({});
  });
});
