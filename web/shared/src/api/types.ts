/**
 * Types for the Qivr REST contract (`/api/v1`, DESIGN.md §5).
 *
 * The source of truth is the Rust side: `openapi.gen.ts` is generated from the server's
 * `/api/openapi.json` (`npm run api-types`), and `contract.ts` makes `tsc` fail when these types
 * drift from it. They are kept as named, documented types because the OpenAPI document marks
 * every `Option` field optional, while the server always sends it (as `null`), and leaves
 * enums such as a condition's `status` as plain strings.
 */

import type { Attachment } from './records';

/** A UUID, as the API serialises it. */
export type Uuid = string;
/** A calendar date, `YYYY-MM-DD`. */
export type IsoDate = string;
/** An RFC 3339 timestamp. */
export type Timestamp = string;

export type Role = 'admin' | 'staff' | 'patient';

/** Every list endpoint answers with this shape; pass `next_cursor` back as `cursor`. */
export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export interface PageQuery {
  cursor?: string | undefined;
  limit?: number | undefined;
}

/** RFC 9457 problem details, as every error response carries them. */
export interface ProblemDetails {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  errors?: FieldProblem[];
}

export interface FieldProblem {
  field: string;
  message: string;
}

// ---- auth -------------------------------------------------------------------------------

export interface LoginRequest {
  /** The clinic's slug, e.g. `harbour-physio`. */
  tenant: string;
  email: string;
  password: string;
}

export interface AuthUser {
  id: Uuid;
  tenant_id: Uuid;
  role: Role;
  email: string;
  name: string;
}

/** Answer to `POST /auth/login` and `POST /auth/refresh`. */
export interface TokenResponse {
  access_token: string;
  refresh_token: string;
  /** Lifetime of `access_token`, in seconds. */
  expires_in: number;
  /** `Bearer`. */
  token_type: string;
  /** The server ends a session unused for this long (seconds). */
  idle_timeout_secs: number;
  user: AuthUser;
}

/** `POST /auth/invitations/accept`: the token from the invitation link and the chosen password. */
export interface AcceptInvitationRequest {
  token: string;
  /** At least 10 characters (the server says so per field otherwise). */
  password: string;
}

export interface Tenant {
  id: Uuid;
  slug: string;
  name: string;
}

/** `GET /me`. */
export interface Me extends AuthUser {
  tenant: Tenant;
}

// ---- patients ---------------------------------------------------------------------------

export interface Patient {
  id: Uuid;
  first_name: string;
  last_name: string;
  date_of_birth: IsoDate;
  sex: string | null;
  email: string | null;
  phone: string | null;
  address: string | null;
  medical_history: string | null;
  medications: string | null;
  allergies: string | null;
  /** The portal login linked to this record, if the patient has one. */
  user_id: Uuid | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface NewPatient {
  first_name: string;
  last_name: string;
  date_of_birth: IsoDate;
  email?: string | undefined;
  phone?: string | undefined;
}

/** The fields `PATCH /patients/{id}` accepts; any subset, `null` clears. */
export type PatientEditableField =
  | 'first_name'
  | 'last_name'
  | 'date_of_birth'
  | 'sex'
  | 'email'
  | 'phone'
  | 'address'
  | 'medical_history'
  | 'medications'
  | 'allergies';

export type PatientPatch = Partial<{
  first_name: string;
  last_name: string;
  date_of_birth: IsoDate;
  sex: string | null;
  email: string | null;
  phone: string | null;
  address: string | null;
  medical_history: string | null;
  medications: string | null;
  allergies: string | null;
}>;

export interface PatientListQuery extends PageQuery {
  /** Free-text search (name, email, phone). */
  q?: string | undefined;
}

export type ConditionStatus = 'active' | 'resolved';

export interface Condition {
  id: Uuid;
  patient_id: Uuid;
  name: string;
  status: ConditionStatus;
  onset_date: IsoDate | null;
  resolved_date: IsoDate | null;
  notes: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface NewCondition {
  name: string;
  status: ConditionStatus;
  onset_date?: IsoDate | undefined;
  notes?: string | undefined;
}

export type ConditionPatch = Partial<{
  name: string;
  status: ConditionStatus;
  onset_date: IsoDate | null;
  resolved_date: IsoDate | null;
  notes: string | null;
}>;

// ---- users (admins only) ---------------------------------------------------------------

/** The roles a clinic login can be given; patients get logins through `POST /patients/{id}/invite`. */
export type StaffRole = 'admin' | 'staff';

/** A clinic login, as `GET /users` lists it. */
export interface User {
  id: Uuid;
  tenant_id: Uuid;
  email: string;
  name: string;
  role: Role;
  /** A disabled user cannot sign in; disabling ends their sessions. */
  disabled: boolean;
  /** False until the user has accepted their invitation and chosen a password. */
  has_password: boolean;
  /** The `sub` of this user's tokens at the clinic's identity provider, if linked. */
  external_subject: string | null;
  last_login_at: Timestamp | null;
  created_at: Timestamp;
}

/** `POST /users`: creates the login and emails an invitation to choose a password. */
export interface NewUser {
  email: string;
  name: string;
  role: StaffRole;
}

/** `PATCH /users/{id}`; any subset. `external_subject: null` unlinks. */
export type UserPatch = Partial<{
  role: StaffRole;
  disabled: boolean;
  name: string;
  external_subject: string | null;
}>;

// ---- audit log (admins only) -----------------------------------------------------------

/** One entry of the tamper-evident access log, newest first in lists. */
export interface AuditEntry {
  /** Position in the clinic's hash chain. */
  seq: number;
  at: Timestamp;
  actor_user_id: Uuid | null;
  actor_name: string | null;
  actor_role: string | null;
  /** e.g. `patient.read`, `auth.login`, `user.update`. */
  action: string;
  resource_type: string | null;
  resource_id: Uuid | null;
  patient_id: Uuid | null;
  ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  /** Action-specific JSON (an object, often empty). */
  detail: unknown;
}

/** `GET /audit` filters. `from` is inclusive, `to` exclusive, both RFC 3339. */
export interface AuditQuery extends PageQuery {
  patient_id?: Uuid | undefined;
  user_id?: Uuid | undefined;
  /** Exact action, e.g. `patient.read`. */
  action?: string | undefined;
  from?: Timestamp | undefined;
  to?: Timestamp | undefined;
}

/** `GET /audit/verify`: the clinic's hash chain recomputed. */
export interface ChainStatus {
  intact: boolean;
  /** The first entry whose hash does not match its content and predecessor. */
  first_broken_seq: number | null;
  /** How many entries were checked. */
  entries: number;
}

// ---- identity providers (admins only) --------------------------------------------------

/** An external issuer whose tokens the clinic accepts (e.g. a Cognito user pool). */
export interface IdentityProvider {
  id: Uuid;
  issuer: string;
  audience: string;
  jwks_url: string;
  created_at: Timestamp;
}

export interface NewIdentityProvider {
  /** Exactly the tokens' `iss`, e.g. `https://cognito-idp.<region>.amazonaws.com/<pool id>`. */
  issuer: string;
  /** The app client id: the ID tokens' `aud`, or the access tokens' `client_id`. */
  audience: string;
  jwks_url: string;
}

// ---- messaging (DESIGN.md §5) -------------------------------------------------------------

export type ConversationStatus = 'open' | 'closed';

/** A patient's thread with the clinic, as the caller sees it (`unread_count` is the caller's). */
export interface Conversation {
  id: Uuid;
  patient_id: Uuid;
  patient_name: string;
  subject: string;
  status: ConversationStatus;
  assignee_user_id: Uuid | null;
  assignee_name: string | null;
  last_message_at: Timestamp | null;
  /** Messages the caller has not read. */
  unread_count: number;
  created_at: Timestamp;
  updated_at: Timestamp;
}

/** `GET /conversations`: most recent activity first. */
export interface ConversationListQuery extends PageQuery {
  /** Only conversations with messages the caller has not read. */
  unread?: boolean | undefined;
  /** Staff: a user id, or `me`. */
  assignee?: string | undefined;
  /** Staff only. */
  patient_id?: Uuid | undefined;
  status?: ConversationStatus | undefined;
}

/** `POST /conversations`: staff name the patient; `body` is an optional first message. */
export interface NewConversation {
  subject: string;
  patient_id?: Uuid | undefined;
  body?: string | undefined;
}

/** `PATCH /conversations/{id}` (staff); any subset. `assignee_user_id: null` unassigns. */
export type ConversationPatch = Partial<{
  assignee_user_id: Uuid | null;
  status: ConversationStatus;
}>;

export interface Message {
  id: Uuid;
  conversation_id: Uuid;
  /** `null` for system messages. */
  sender_user_id: Uuid | null;
  sender_name: string | null;
  /** `patient`, `staff`, `admin` or `system`. */
  sender_role: string;
  body: string;
  /** The sender's own id for the send, which makes retries idempotent. */
  client_id: string | null;
  created_at: Timestamp;
  /** Documents of the conversation's patient sent with it (metadata only). */
  attachments: Attachment[];
}

/** `POST /conversations/{id}/messages`: 201, or 200 for a retry with a `client_id` already stored. */
export interface NewMessage {
  body: string;
  client_id?: string | undefined;
  /** Documents of the conversation's patient, uploaded first. */
  attachment_ids?: Uuid[] | undefined;
}

/** `POST /conversations/{id}/read`. */
export interface ReadReceipt {
  up_to: Uuid;
}

export interface ReadState {
  conversation_id: Uuid;
  up_to: Uuid;
  unread_count: number;
  read_at: Timestamp;
}

/** `GET /conversations/{id}/reads`: how far one participant has read. */
export interface ReadMarker {
  user_id: Uuid;
  user_name: string;
  role: Role;
  up_to: Uuid;
  read_at: Timestamp;
}

/** `message.read` on `conversation:<id>`: someone read up to `up_to`. */
export interface MessageReadEvent {
  conversation_id: Uuid;
  user_id: Uuid;
  user_name: string;
  role: Role;
  up_to: Uuid;
  read_at: Timestamp;
}

/** What `conversation.updated` carries (never message text). */
export interface ConversationSummary {
  id: Uuid;
  patient_id: Uuid;
  patient_name: string;
  subject: string;
  status: ConversationStatus;
  assignee_user_id: Uuid | null;
  assignee_name: string | null;
  last_message_at: Timestamp | null;
  /** Who sent the newest message (`patient`, `staff`, `admin`, `system`), if any. */
  last_sender_role: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

/** `conversation.updated` on `inbox`: every clinic user's unread count, by user id. */
export interface InboxConversationEvent extends ConversationSummary {
  unread_counts: Record<Uuid, number>;
}

/** `conversation.updated` on the patient's `user:<id>`: their own unread count. */
export interface PatientConversationEvent extends ConversationSummary {
  unread_count: number;
}

/** `typing` on `conversation:<id>` (ephemeral); the hub adds who sent it. */
export interface TypingEvent {
  typing: boolean;
  user_id: Uuid;
  name: string;
}

// ---- intakes and the evaluation queue ---------------------------------------------------

/** Where an evaluation stands in triage (`pending → in_review → triaged → scheduled | closed`). */
export type EvaluationStatus = 'pending' | 'in_review' | 'triaged' | 'scheduled' | 'closed';
export type Urgency = 'routine' | 'soon' | 'urgent';

/** The intake form's red-flag questions; any "yes" makes the evaluation urgent. */
export type RedFlag =
  | 'bladder_bowel_change'
  | 'saddle_numbness'
  | 'progressive_weakness'
  | 'unexplained_weight_loss'
  | 'night_pain'
  | 'fever'
  | 'recent_trauma'
  | 'history_of_cancer';

/** `POST /intakes` from a patient (staff also name `patient_id`). */
export interface NewIntake {
  patient_id?: Uuid | undefined;
  chief_complaint: string;
  /** 0 (none) to 10 (worst imaginable). */
  pain_level: number;
  pain_areas?: string[] | undefined;
  onset?: string | null | undefined;
  duration?: string | null | undefined;
  history?: string | null | undefined;
  medications?: string | null | undefined;
  allergies?: string | null | undefined;
  goals?: string | null | undefined;
  /** The questions answered "yes". */
  red_flags?: RedFlag[] | undefined;
}

/** A submitted intake form, with the status of the evaluation it became. */
export interface Intake {
  id: Uuid;
  patient_id: Uuid;
  evaluation_id: Uuid;
  status: EvaluationStatus;
  chief_complaint: string;
  pain_level: number;
  pain_areas: string[];
  onset: string | null;
  duration: string | null;
  history: string | null;
  medications: string | null;
  allergies: string | null;
  goals: string | null;
  red_flags: RedFlag[];
  created_at: Timestamp;
  updated_at: Timestamp;
}

/** `GET /intakes`: a patient gets their own; staff name the patient. */
export interface IntakeListQuery {
  patient_id?: Uuid | undefined;
}

/** A queue item, as `GET /evaluations` lists it and `evaluation.*` events on `evaluations` carry it. */
export interface Evaluation {
  id: Uuid;
  intake_id: Uuid;
  patient_id: Uuid;
  patient_name: string;
  status: EvaluationStatus;
  urgency: Urgency;
  assignee_user_id: Uuid | null;
  assignee_name: string | null;
  notes: string | null;
  chief_complaint: string;
  pain_level: number;
  red_flags: RedFlag[];
  created_at: Timestamp;
  updated_at: Timestamp;
}

/** `GET /evaluations/{id}`: the queue item and the intake it triages. */
export interface EvaluationDetail extends Evaluation {
  intake: Intake;
}

export interface EvaluationListQuery extends PageQuery {
  /** One status, or several comma-separated. */
  status?: string | undefined;
  urgency?: Urgency | undefined;
  /** A user id, or `me`. */
  assignee?: string | undefined;
  patient_id?: Uuid | undefined;
}

/** `PATCH /evaluations/{id}`; any subset. `assignee_user_id: null` unassigns, `notes: null` clears. */
export type EvaluationPatch = Partial<{
  status: EvaluationStatus;
  urgency: Urgency;
  assignee_user_id: Uuid | null;
  notes: string | null;
}>;

/** What `evaluation.created` / `evaluation.updated` carry on the patient's own `user:<id>` channel. */
export interface EvaluationStatusEvent {
  /** The evaluation's id. */
  id: Uuid;
  intake_id: Uuid;
  status: EvaluationStatus;
  updated_at: Timestamp;
}

// ---- providers, appointments and scheduling settings -----------------------------------

/** One weekly block of a provider's working time, in the clinic's time zone. */
export interface WorkingHours {
  /** ISO weekday: 1 = Monday … 7 = Sunday. */
  weekday: number;
  /** `HH:MM` (the server answers `HH:MM:SS`). */
  start: string;
  end: string;
}

/** A clinician appointments are booked with (a record, not a login). */
export interface Provider {
  id: Uuid;
  name: string;
  specialty: string | null;
  email: string | null;
  /** Inactive providers take no new bookings; patients do not see them. */
  active: boolean;
  working_hours: WorkingHours[];
  created_at: Timestamp;
}

/** `POST /providers` (admins). */
export interface NewProvider {
  name: string;
  specialty?: string | undefined;
  email?: string | undefined;
  working_hours?: WorkingHours[] | undefined;
}

/** `PATCH /providers/{id}` (admins); any subset. `specialty: null` clears. */
export type ProviderPatch = Partial<{
  name: string;
  specialty: string | null;
  active: boolean;
  working_hours: WorkingHours[];
}>;

/** `requested → scheduled → confirmed → checked_in → completed`, with `cancelled` and `no_show` as exits. */
export type AppointmentStatus = 'requested' | 'scheduled' | 'confirmed' | 'checked_in' | 'completed' | 'cancelled' | 'no_show';

export interface Appointment {
  id: Uuid;
  patient_id: Uuid;
  patient_name: string;
  provider_id: Uuid;
  provider_name: string;
  /** The evaluation this appointment follows from. */
  evaluation_id: Uuid | null;
  starts_at: Timestamp;
  ends_at: Timestamp;
  /** `initial`, `follow_up`, `review`, `telehealth`, … */
  kind: string;
  location: string | null;
  video_url: string | null;
  /** Staff notes; left out of the events on the patient's own channel. */
  notes: string | null;
  status: AppointmentStatus;
  cancel_reason: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

/** What `appointment.created|updated|cancelled` carry (on `appointments` and the patient's `user:<id>`). */
export interface AppointmentEvent extends Appointment {
  /** The patient booked or cancelled it themselves. */
  by_patient: boolean;
}

/** `GET /appointments`, ordered by start. `from`/`to` are RFC 3339: ending after `from`, starting before `to`. */
export interface AppointmentListQuery extends PageQuery {
  from?: Timestamp | undefined;
  to?: Timestamp | undefined;
  provider_id?: Uuid | undefined;
  /** Staff only; patients always get their own. */
  patient_id?: Uuid | undefined;
  status?: AppointmentStatus | undefined;
}

/** `POST /appointments`. Staff name the patient; patients book for themselves (no `patient_id`, no `evaluation_id`). */
export interface NewAppointment {
  patient_id?: Uuid | undefined;
  provider_id: Uuid;
  starts_at: Timestamp;
  ends_at: Timestamp;
  kind?: string | undefined;
  location?: string | undefined;
  video_url?: string | undefined;
  notes?: string | undefined;
  /** The evaluation it follows from; a `triaged` one moves to `scheduled`. */
  evaluation_id?: Uuid | undefined;
}

/** `PATCH /appointments/{id}`; any subset (patients: only `{status: 'cancelled', cancel_reason?}`). */
export type AppointmentPatch = Partial<{
  status: AppointmentStatus;
  starts_at: Timestamp;
  ends_at: Timestamp;
  provider_id: Uuid;
  kind: string;
  location: string | null;
  video_url: string | null;
  notes: string | null;
  cancel_reason: string;
}>;

/** How patients may book online: not at all, as a request staff confirm, or directly into free slots. */
export type SelfBooking = 'off' | 'request' | 'direct';

/** `GET /clinic/settings` (everyone in the clinic). */
export interface ClinicSettings {
  self_booking: SelfBooking;
  /** Hours before an appointment that its reminder goes out (1–336). */
  reminder_hours: number;
  /** IANA time zone of working hours, e.g. `Australia/Sydney`. */
  timezone: string;
}

/** `PATCH /clinic/settings` (admins); any subset. */
export type ClinicSettingsPatch = Partial<ClinicSettings>;

/** An email's state: queued, being sent, sent, kept in the dev mailbox, or given up on. */
export type EmailStatus = 'pending' | 'sending' | 'sent' | 'dev_mailbox' | 'dead';

/** `GET /mailbox` (admins): one of the clinic's outgoing emails. */
export interface EmailSummary {
  id: Uuid;
  to_address: string;
  subject: string;
  kind: string;
  status: EmailStatus;
  attempts: number;
  last_error: string | null;
  created_at: Timestamp;
  sent_at: Timestamp | null;
}

/** `GET /mailbox/{id}`: the email with its text. */
export interface Email extends EmailSummary {
  body_text: string;
}

export interface EmailListQuery extends PageQuery {
  status?: EmailStatus | undefined;
  to?: string | undefined;
}

/** `GET /me/notification-preferences`: one kind of email the caller can turn off. */
export interface NotificationPreference {
  kind: string;
  description: string;
  email: boolean;
}

/** `GET /providers/{id}/busy`: a time the provider is booked (never whom with). */
export interface BusyTime {
  starts_at: Timestamp;
  ends_at: Timestamp;
}
