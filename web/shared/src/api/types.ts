/**
 * Types for the Qivr REST contract (`/api/v1`, DESIGN.md §5).
 *
 * The source of truth is the Rust side: `openapi.gen.ts` is generated from the server's
 * `/api/openapi.json` (`npm run api-types`), and `contract.ts` makes `tsc` fail when these types
 * drift from it. They are kept as named, documented types because the OpenAPI document marks
 * every `Option` field optional, while the server always sends it (as `null`), and leaves
 * enums such as a condition's `status` as plain strings.
 */

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
