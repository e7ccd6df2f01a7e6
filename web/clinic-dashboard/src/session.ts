import { createAuth, DEFAULT_IDLE_MINUTES } from '@qivr/shared';

function idleMinutes(): number {
  const raw = import.meta.env['VITE_QIVR_IDLE_MINUTES'] as string | undefined;
  const n = raw === undefined || raw === '' ? NaN : Number(raw);
  return Number.isFinite(n) && n >= 0 ? n : DEFAULT_IDLE_MINUTES;
}

export const STAFF_ONLY_MESSAGE =
  'This dashboard is for clinic staff. Patients use the patient portal at /portal/.';

/** The dashboard's one session: staff and admins only. */
export const auth = createAuth({
  app: 'clinic',
  allowedRoles: ['admin', 'staff'],
  roleRefusal: STAFF_ONLY_MESSAGE,
  idleMinutes: idleMinutes(),
});

export const api = auth.api;
