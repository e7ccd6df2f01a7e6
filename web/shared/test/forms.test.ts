import { describe, expect, it } from 'vitest';
import { changedFields, emptyToNull, todayIso } from '../src/forms';

describe('changedFields', () => {
  it('sends only what changed, blanks as null', () => {
    const original = { phone: '', email: 'a@b.test', address: '1 Main St' };
    const form = { phone: '', email: 'a@b.test', address: '  ' };
    expect(changedFields(original, form)).toEqual({ address: null });
  });

  it('treats a record null and an empty form field as the same', () => {
    const original: Record<'allergies' | 'medications', string | null> = { allergies: null, medications: '' };
    expect(changedFields(original, { allergies: '', medications: ' ' })).toEqual({});
    expect(changedFields(original, { allergies: 'Latex', medications: '' })).toEqual({ allergies: 'Latex' });
  });

  it('never sends null for a required field', () => {
    expect(changedFields({ first_name: 'Ann' }, { first_name: '  ' }, ['first_name'])).toEqual({ first_name: '' });
    expect(changedFields({ first_name: 'Ann' }, { first_name: ' Ann ' }, ['first_name'])).toEqual({});
  });
});

it('emptyToNull trims', () => {
  expect(emptyToNull('  x ')).toBe('x');
  expect(emptyToNull('   ')).toBeNull();
});

it('todayIso uses the local calendar date', () => {
  expect(todayIso(new Date(2026, 0, 5, 23, 59))).toBe('2026-01-05');
});
