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
