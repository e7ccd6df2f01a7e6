/**
 * Types for patient records (documents, consents, the medical summary and the timeline), checked
 * against the generated OpenAPI types in `contract.ts` like the rest of `types.ts`.
 */
import type { Appointment, Condition, Intake, IsoDate, Timestamp, Uuid } from './types';
import type { PromLatestScore } from '../proms';

export type DocumentCategory = 'referral' | 'imaging' | 'lab_result' | 'letter' | 'other';

/** A patient's uploaded file (metadata; the content is downloaded separately). */
export interface PatientDocument {
  id: Uuid;
  patient_id: Uuid;
  file_name: string;
  /** The checked type the content is served as. */
  content_type: string;
  size_bytes: number;
  sha256: string;
  category: string;
  description: string | null;
  uploaded_by_role: string;
  uploaded_by_name: string | null;
  created_at: Timestamp;
}

/** The types uploads accept (declared and sniffed), for the file picker. */
export const ACCEPTED_DOCUMENT_TYPES = [
  'application/pdf',
  'image/png',
  'image/jpeg',
  'image/heic',
  'image/heif',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  'text/plain',
  '.pdf,.png,.jpg,.jpeg,.heic,.heif,.docx,.txt',
].join(',');

/** A document as a message carries it. */
export interface Attachment {
  document_id: Uuid;
  patient_id: Uuid;
  file_name: string;
  content_type: string;
  size_bytes: number;
}

export interface ConsentVersion {
  id: Uuid;
  version: number;
  body: string;
  created_at: Timestamp;
}

export interface ConsentType {
  id: Uuid;
  key: string;
  title: string;
  required: boolean;
  active: boolean;
  current_version: ConsentVersion;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface NewConsentType {
  key: string;
  title: string;
  required?: boolean;
  body: string;
}

export type ConsentTypePatch = Partial<{ title: string; required: boolean; active: boolean }>;

export type ConsentStanding = 'granted' | 'outdated' | 'revoked' | 'pending';

/** A patient's standing for one consent type. */
export interface ConsentStatus {
  consent_type_id: Uuid;
  key: string;
  title: string;
  required: boolean;
  current_version: ConsentVersion;
  status: ConsentStanding;
  decided_version: number | null;
  decided_at: Timestamp | null;
}

export type ConsentDecisionKind = 'granted' | 'revoked';

export interface NewConsentDecision {
  consent_version_id: Uuid;
  decision: ConsentDecisionKind;
}

export interface ConsentDecision {
  id: Uuid;
  patient_id: Uuid;
  consent_type_id: Uuid;
  key: string;
  title: string;
  consent_version_id: Uuid;
  version: number;
  decision: ConsentDecisionKind;
  recorded_by_role: string;
  recorded_by_name: string | null;
  decided_at: Timestamp;
}

/** Whether every required consent is granted in its current version (the portal's gate). */
export function requiredConsentsGranted(consents: readonly ConsentStatus[]): boolean {
  return consents.every((c) => !c.required || c.status === 'granted');
}

export interface MedicalSummary {
  patient_id: Uuid;
  name: string;
  date_of_birth: IsoDate;
  sex: string | null;
  medical_history: string | null;
  medications: string | null;
  allergies: string | null;
  active_conditions: Condition[];
  latest_intake: Intake | null;
  upcoming_appointments: Appointment[];
  recent_appointments: Appointment[];
  recent_documents: PatientDocument[];
  /** The latest scores of each questionnaire the patient completed, newest first. */
  prom_scores: PromLatestScore[];
  consents: ConsentStatus[];
  required_consents_granted: boolean;
}

export interface TimelineEntry {
  at: Timestamp;
  /** `intake.submitted`, `evaluation.status`, `appointment`, `document.uploaded`, `consent.granted`, `consent.revoked`, `conversation`. */
  kind: string;
  resource_id: Uuid;
  title: string;
  detail: Record<string, unknown>;
}

/** Human-readable file size. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(n < 10 * 1024 ? 1 : 0)} KB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MB`;
}
