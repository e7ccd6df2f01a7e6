import { describe, expect, it } from 'vitest';
import { formatBytes, requiredConsentsGranted, type ConsentStatus } from '../src/api/records';

const consent = (key: string, required: boolean, status: ConsentStatus['status']): ConsentStatus => ({
  consent_type_id: key,
  key,
  title: key,
  required,
  current_version: { id: `${key}-v2`, version: 2, body: 'text', created_at: '2026-01-01T00:00:00Z' },
  status,
  decided_version: status === 'pending' ? null : 1,
  decided_at: status === 'pending' ? null : '2026-01-01T00:00:00Z',
});

describe('the consent gate', () => {
  it('opens only when every required consent is granted in its current version', () => {
    expect(requiredConsentsGranted([consent('privacy', true, 'granted'), consent('telehealth', false, 'pending')])).toBe(true);
    expect(requiredConsentsGranted([consent('privacy', true, 'outdated')])).toBe(false);
    expect(requiredConsentsGranted([consent('privacy', true, 'revoked')])).toBe(false);
    expect(requiredConsentsGranted([consent('privacy', true, 'pending')])).toBe(false);
    expect(requiredConsentsGranted([])).toBe(true);
  });
});

describe('formatBytes', () => {
  it('uses the largest unit that keeps the number readable', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KB');
    expect(formatBytes(300 * 1024)).toBe('300 KB');
    expect(formatBytes(25 * 1024 * 1024)).toBe('25.0 MB');
  });
});
