import { createAuth, DEFAULT_IDLE_MINUTES } from '@qivr/shared';

function idleMinutes(): number {
  const raw = import.meta.env['VITE_QIVR_IDLE_MINUTES'] as string | undefined;
  const n = raw === undefined || raw === '' ? NaN : Number(raw);
  return Number.isFinite(n) && n >= 0 ? n : DEFAULT_IDLE_MINUTES;
}

export const PATIENTS_ONLY_MESSAGE =
  'This portal is for patients. Clinic staff use the clinic dashboard at /clinic/.';

/** The portal's one session: patients only. */
export const auth = createAuth({
  app: 'portal',
  allowedRoles: ['patient'],
  roleRefusal: PATIENTS_ONLY_MESSAGE,
  idleMinutes: idleMinutes(),
});

export const api = auth.api;
