/** Words for the intake form and the evaluation queue, shared by the portal and the dashboard. */
import type { EvaluationStatus, RedFlag, Urgency } from './api/types';

/** The red-flag questions: the plain-language question patients answer, and the clinical label staff see. */
export const RED_FLAGS: readonly { key: RedFlag; question: string; label: string }[] = [
  {
    key: 'bladder_bowel_change',
    question: 'Have you had new trouble controlling your bladder or bowels?',
    label: 'Bladder or bowel change',
  },
  {
    key: 'saddle_numbness',
    question: 'Do you have numbness or tingling around your groin, bottom or inner thighs?',
    label: 'Saddle numbness',
  },
  {
    key: 'progressive_weakness',
    question: 'Is weakness in your arms or legs getting worse?',
    label: 'Progressive weakness',
  },
  {
    key: 'unexplained_weight_loss',
    question: 'Have you lost weight recently without trying?',
    label: 'Unexplained weight loss',
  },
  {
    key: 'night_pain',
    question: 'Does the pain wake you at night, or not ease however you lie?',
    label: 'Night pain',
  },
  { key: 'fever', question: 'Have you had a fever, chills or night sweats?', label: 'Fever' },
  {
    key: 'recent_trauma',
    question: 'Did this start after a fall, accident or other injury?',
    label: 'Recent trauma',
  },
  { key: 'history_of_cancer', question: 'Have you ever had cancer?', label: 'History of cancer' },
];

export function redFlagLabel(key: string): string {
  return RED_FLAGS.find((f) => f.key === key)?.label ?? key;
}

/** Body regions offered as pain areas (sent as these labels). */
export const PAIN_AREAS = [
  'Head',
  'Jaw',
  'Neck',
  'Left shoulder',
  'Right shoulder',
  'Upper back',
  'Lower back',
  'Chest',
  'Left arm or elbow',
  'Right arm or elbow',
  'Left wrist or hand',
  'Right wrist or hand',
  'Left hip',
  'Right hip',
  'Left knee',
  'Right knee',
  'Left ankle or foot',
  'Right ankle or foot',
] as const;

export const EVALUATION_STATUSES: readonly EvaluationStatus[] = ['pending', 'in_review', 'triaged', 'scheduled', 'closed'];

/** How the dashboard names each status. */
export const STATUS_LABELS: Record<EvaluationStatus, string> = {
  pending: 'Pending',
  in_review: 'In review',
  triaged: 'Triaged',
  scheduled: 'Scheduled',
  closed: 'Closed',
};

/** How the portal tells a patient where their intake stands. */
export const PATIENT_STATUS_LABELS: Record<EvaluationStatus, string> = {
  pending: 'Received',
  in_review: 'Being reviewed',
  triaged: 'Reviewed',
  scheduled: 'Appointment being arranged',
  closed: 'Closed',
};

export const URGENCIES: readonly Urgency[] = ['routine', 'soon', 'urgent'];
export const URGENCY_LABELS: Record<Urgency, string> = { routine: 'Routine', soon: 'Soon', urgent: 'Urgent' };

/** The status changes triage allows (the server's `transition_allowed`). */
export const STATUS_TRANSITIONS: Record<EvaluationStatus, readonly EvaluationStatus[]> = {
  pending: ['in_review', 'closed'],
  in_review: ['pending', 'triaged', 'closed'],
  triaged: ['in_review', 'scheduled', 'closed'],
  scheduled: ['triaged', 'closed'],
  closed: ['in_review'],
};

export function statusLabel(status: string, labels: Record<EvaluationStatus, string> = STATUS_LABELS): string {
  return (labels as Record<string, string>)[status] ?? status;
}
