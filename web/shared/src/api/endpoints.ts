import type { ApiClient } from './client';
import type {
  ConsentDecision,
  ConsentStatus,
  ConsentType,
  ConsentTypePatch,
  MedicalSummary,
  NewConsentDecision,
  NewConsentType,
  PatientDocument,
  TimelineEntry,
} from './records';
import type {
  Conversation,
  ConversationListQuery,
  ConversationPatch,
  Message,
  NewConversation,
  NewMessage,
  ReadMarker,
  ReadState,
} from './types';
import type {
  AcceptInvitationRequest,
  Appointment,
  AppointmentListQuery,
  AppointmentPatch,
  ClinicSettings,
  ClinicSettingsPatch,
  Email,
  EmailListQuery,
  EmailSummary,
  NewAppointment,
  NotificationPreference,
  NewProvider,
  Provider,
  ProviderPatch,
  AuditEntry,
  AuditQuery,
  BusyTime,
  ChainStatus,
  Condition,
  ConditionPatch,
  Evaluation,
  EvaluationDetail,
  EvaluationListQuery,
  EvaluationPatch,
  Intake,
  IntakeListQuery,
  NewIntake,
  IdentityProvider,
  LoginRequest,
  Me,
  NewCondition,
  NewIdentityProvider,
  NewPatient,
  NewUser,
  Page,
  PageQuery,
  Patient,
  PatientListQuery,
  PatientPatch,
  Timestamp,
  TokenResponse,
  User,
  UserPatch,
  Uuid,
} from './types';

import type {
  NewPromAssignment,
  NewPromTemplate,
  PromAlert,
  PromAnswers,
  PromAssignment,
  PromInstance,
  PromInstanceQuery,
  PromInstanceSummary,
  PromStandardInstrument,
  PromTemplate,
  PromTemplateStats,
  PromTemplateSummary,
  PromTemplateVersion,
  PromTrend,
} from '../proms';

const id = (v: string) => encodeURIComponent(v);

/** Typed calls for each REST endpoint the web apps use. */
export function createQivrApi(client: ApiClient) {
  return {
    auth: {
      login: (body: LoginRequest) => client.post<TokenResponse>('/auth/login', body, { auth: false }),
      refresh: (refresh_token: string) =>
        client.post<TokenResponse>('/auth/refresh', { refresh_token }, { auth: false }),
      /** Revokes the refresh token family. `accessToken` is passed explicitly: the session may already be cleared locally. */
      logout: (refresh_token: string, accessToken?: string) =>
        client.post<void>('/auth/logout', { refresh_token }, accessToken ? { token: accessToken } : { auth: false }),
      /** Sets an invited user's password; answers like a login. 404: the link is invalid, used or expired. */
      acceptInvitation: (body: AcceptInvitationRequest) =>
        client.post<TokenResponse>('/auth/invitations/accept', body, { auth: false }),
    },
    me: () => client.get<Me>('/me'),
    patients: {
      list: (query: PatientListQuery = {}, signal?: AbortSignal) =>
        client.get<Page<Patient>>('/patients', { query: { ...query }, signal }),
      create: (body: NewPatient) => client.post<Patient>('/patients', body),
      get: (patientId: Uuid, signal?: AbortSignal) => client.get<Patient>(`/patients/${id(patientId)}`, { signal }),
      me: (signal?: AbortSignal) => client.get<Patient>('/patients/me', { signal }),
      update: (patientId: Uuid, patch: PatientPatch) => client.patch<Patient>(`/patients/${id(patientId)}`, patch),
      remove: (patientId: Uuid) => client.delete(`/patients/${id(patientId)}`),
      /** Emails a portal invitation (202). 422: no email on record; 409: already has a portal login. */
      invite: (patientId: Uuid) => client.post<void>(`/patients/${id(patientId)}/invite`),
      conditions: {
        list: (patientId: Uuid, query: PageQuery = {}, signal?: AbortSignal) =>
          client.get<Page<Condition>>(`/patients/${id(patientId)}/conditions`, { query: { ...query }, signal }),
        create: (patientId: Uuid, body: NewCondition) =>
          client.post<Condition>(`/patients/${id(patientId)}/conditions`, body),
        update: (patientId: Uuid, conditionId: Uuid, patch: ConditionPatch) =>
          client.patch<Condition>(`/patients/${id(patientId)}/conditions/${id(conditionId)}`, patch),
      },
    },
    /** Clinic logins; admins only (403 otherwise). */
    users: {
      list: (query: PageQuery = {}, signal?: AbortSignal) =>
        client.get<Page<User>>('/users', { query: { ...query }, signal }),
      /** Creates the login and emails an invitation. 409: the email is taken. */
      create: (body: NewUser) => client.post<User>('/users', body),
      update: (userId: Uuid, patch: UserPatch) => client.patch<User>(`/users/${id(userId)}`, patch),
    },
    /** The access audit log; admins only. */
    audit: {
      list: (query: AuditQuery = {}, signal?: AbortSignal) =>
        client.get<Page<AuditEntry>>('/audit', { query: { ...query }, signal }),
      verify: (signal?: AbortSignal) => client.get<ChainStatus>('/audit/verify', { signal }),
    },
    /** Intake forms: a patient's own (or, for staff, one patient's). */
    intakes: {
      list: (query: IntakeListQuery = {}, signal?: AbortSignal) =>
        client.get<Page<Intake>>('/intakes', { query: { ...query }, signal }),
      /** Submits an intake; an evaluation appears in the clinic's queue at once. 422: field problems. */
      create: (body: NewIntake) => client.post<Intake>('/intakes', body),
    },
    /** The clinic's evaluation queue and triage; staff and admins. */
    evaluations: {
      list: (query: EvaluationListQuery = {}, signal?: AbortSignal) =>
        client.get<Page<Evaluation>>('/evaluations', { query: { ...query }, signal }),
      get: (evaluationId: Uuid, signal?: AbortSignal) =>
        client.get<EvaluationDetail>(`/evaluations/${id(evaluationId)}`, { signal }),
      /** 422 names the field: a status change the workflow does not allow, an inactive assignee. */
      update: (evaluationId: Uuid, patch: EvaluationPatch) =>
        client.patch<Evaluation>(`/evaluations/${id(evaluationId)}`, patch),
    },
    /** The clinicians appointments are booked with: everyone lists them (patients: active only); admins change them. */
    providers: {
      list: (signal?: AbortSignal) => client.get<Page<Provider>>('/providers', { signal }),
      create: (body: NewProvider) => client.post<Provider>('/providers', body),
      update: (providerId: Uuid, patch: ProviderPatch) => client.patch<Provider>(`/providers/${id(providerId)}`, patch),
      /** When the provider is booked between `from` and `to` (at most 62 days). */
      busy: (providerId: Uuid, from: Timestamp, to: Timestamp, signal?: AbortSignal) =>
        client.get<BusyTime[]>(`/providers/${id(providerId)}/busy`, { query: { from, to }, signal }),
    },
    /** Staff: the clinic's appointments; patients: their own. */
    appointments: {
      list: (query: AppointmentListQuery = {}, signal?: AbortSignal) =>
        client.get<Page<Appointment>>('/appointments', { query: { ...query }, signal }),
      /** 409 (field `starts_at`): the provider is already booked then. 403: a patient while self-booking is off. */
      create: (body: NewAppointment) => client.post<Appointment>('/appointments', body),
      update: (appointmentId: Uuid, patch: AppointmentPatch) =>
        client.patch<Appointment>(`/appointments/${id(appointmentId)}`, patch),
    },
    /** Scheduling settings: everyone reads them, admins change them. */
    clinicSettings: {
      get: (signal?: AbortSignal) => client.get<ClinicSettings>('/clinic/settings', { signal }),
      update: (patch: ClinicSettingsPatch) => client.patch<ClinicSettings>('/clinic/settings', patch),
    },
    /** External issuers whose tokens the clinic accepts; admins only. */
    identityProviders: {
      list: (signal?: AbortSignal) => client.get<Page<IdentityProvider>>('/identity-providers', { signal }),
      create: (body: NewIdentityProvider) => client.post<IdentityProvider>('/identity-providers', body),
      remove: (providerId: Uuid) => client.delete(`/identity-providers/${id(providerId)}`),
    },
    /** PROMs: templates, assignment and analytics for staff; completion for patients. */
    proms: {
      instruments: (signal?: AbortSignal) => client.get<Page<PromStandardInstrument>>('/prom-instruments', { signal }),
      templates: (signal?: AbortSignal) => client.get<Page<PromTemplateSummary>>('/prom-templates', { signal }),
      template: (templateId: Uuid, version?: number, signal?: AbortSignal) =>
        client.get<PromTemplate>(`/prom-templates/${id(templateId)}`, { query: { version }, signal }),
      /** 422 names the field of the definition, e.g. `definition.sections[0].items[1].options`. */
      createTemplate: (body: NewPromTemplate) => client.post<PromTemplate>('/prom-templates', body),
      /** Saves a new version; responses keep theirs. */
      updateTemplate: (templateId: Uuid, body: PromTemplateVersion) =>
        client.put<PromTemplate>(`/prom-templates/${id(templateId)}`, body),
      assign: (body: NewPromAssignment) => client.post<PromAssignment>('/prom-assignments', body),
      /** Patients: their own; staff: the clinic's, filtered. */
      instances: (query: PromInstanceQuery = {}, signal?: AbortSignal) =>
        client.get<Page<PromInstanceSummary>>('/prom-instances', { query: { ...query }, signal }),
      instance: (instanceId: Uuid, signal?: AbortSignal) => client.get<PromInstance>(`/prom-instances/${id(instanceId)}`, { signal }),
      /** A completed response as a FHIR R4 `QuestionnaireResponse`. */
      instanceFhir: (instanceId: Uuid) => client.get<Record<string, unknown>>(`/prom-instances/${id(instanceId)}/fhir`),
      /** A draft: required items may be open. */
      saveAnswers: (instanceId: Uuid, template_version: number, answers: PromAnswers) =>
        client.put<PromInstance>(`/prom-instances/${id(instanceId)}/answers`, { template_version, answers }),
      /** 422 names the item (`answers.<id>`) or `template_version`; 409: already submitted or not open yet. */
      submit: (instanceId: Uuid, template_version: number, answers: PromAnswers) =>
        client.post<PromInstance>(`/prom-instances/${id(instanceId)}/submit`, { template_version, answers }),
      alerts: (query: { open?: boolean; patient_id?: Uuid } = {}, signal?: AbortSignal) =>
        client.get<Page<PromAlert>>('/prom-alerts', { query: { ...query }, signal }),
      acknowledge: (alertId: Uuid) => client.post<PromAlert>(`/prom-alerts/${id(alertId)}/acknowledge`),
      trends: (patientId: Uuid, signal?: AbortSignal) => client.get<Page<PromTrend>>(`/patients/${id(patientId)}/prom-trends`, { signal }),
      analytics: (signal?: AbortSignal) => client.get<Page<PromTemplateStats>>('/prom-analytics', { signal }),
    },
    /** Secure messaging: a patient's own threads, or (staff) the clinic's. */
    conversations: {
      list: (query: ConversationListQuery = {}, signal?: AbortSignal) =>
        client.get<Page<Conversation>>('/conversations', { query: { ...query }, signal }),
      /** Staff name `patient_id`; `body` sends a first message. 422: field problems. */
      create: (body: NewConversation) => client.post<Conversation>('/conversations', body),
      get: (conversationId: Uuid, signal?: AbortSignal) =>
        client.get<Conversation>(`/conversations/${id(conversationId)}`, { signal }),
      /** Staff: assign (or `null` to unassign) and open/close. */
      update: (conversationId: Uuid, patch: ConversationPatch) =>
        client.patch<Conversation>(`/conversations/${id(conversationId)}`, patch),
      /** Newest first; `next_cursor` leads to older messages. */
      messages: (conversationId: Uuid, query: PageQuery = {}, signal?: AbortSignal) =>
        client.get<Page<Message>>(`/conversations/${id(conversationId)}/messages`, { query: { ...query }, signal }),
      /** 201, or 200 with the stored message when `client_id` was sent before (a retry). */
      send: (conversationId: Uuid, body: NewMessage) =>
        client.post<Message>(`/conversations/${id(conversationId)}/messages`, body),
      markRead: (conversationId: Uuid, upTo: Uuid) =>
        client.post<ReadState>(`/conversations/${id(conversationId)}/read`, { up_to: upTo }),
      /** How far each participant has read (what "Seen" starts from). */
      reads: (conversationId: Uuid, signal?: AbortSignal) =>
        client.get<ReadMarker[]>(`/conversations/${id(conversationId)}/reads`, { signal }),
    },
    /** The clinic's outgoing mail, including the dev mailbox; admins only. */
    mailbox: {
      list: (query: EmailListQuery = {}, signal?: AbortSignal) =>
        client.get<Page<EmailSummary>>('/mailbox', { query: { ...query }, signal }),
      get: (emailId: Uuid, signal?: AbortSignal) => client.get<Email>(`/mailbox/${id(emailId)}`, { signal }),
    },
    /** The caller's email notification settings. */
    notificationPreferences: {
      list: (signal?: AbortSignal) => client.get<NotificationPreference[]>('/me/notification-preferences', { signal }),
      set: (kind: string, email: boolean) =>
        client.put<NotificationPreference>(`/me/notification-preferences/${id(kind)}`, { email }),
    },
    /** A patient's files: staff for any patient of the clinic, a patient for themselves. */
    documents: {
      list: (patientId: Uuid, query: PageQuery = {}, signal?: AbortSignal) =>
        client.get<Page<PatientDocument>>(`/patients/${id(patientId)}/documents`, { query: { ...query }, signal }),
      /** 413 too large, 415 a type not accepted, 422 content not of its declared type (field `file`). */
      upload: (patientId: Uuid, file: File, options: { category?: string; description?: string; onProgress?: (fraction: number) => void } = {}) => {
        const form = new FormData();
        if (options.category) form.append('category', options.category);
        if (options.description) form.append('description', options.description);
        form.append('file', file, file.name);
        return client.upload<PatientDocument>(`/patients/${id(patientId)}/documents`, form, options.onProgress);
      },
      content: (patientId: Uuid, documentId: Uuid) => client.blob(`/patients/${id(patientId)}/documents/${id(documentId)}/content`),
      remove: (patientId: Uuid, documentId: Uuid) => client.delete(`/patients/${id(patientId)}/documents/${id(documentId)}`),
    },
    /** The clinic's consent types: everyone reads them, admins change them. */
    consentTypes: {
      list: (signal?: AbortSignal) => client.get<Page<ConsentType>>('/consent-types', { signal }),
      create: (body: NewConsentType) => client.post<ConsentType>('/consent-types', body),
      update: (typeId: Uuid, patch: ConsentTypePatch) => client.patch<ConsentType>(`/consent-types/${id(typeId)}`, patch),
      /** A new text; patients' grants of earlier versions become `outdated`. */
      publish: (typeId: Uuid, body: string) => client.post<ConsentType>(`/consent-types/${id(typeId)}/versions`, { body }),
    },
    /** A patient's consents: standing per type, decisions and their history. */
    consents: {
      list: (patientId: Uuid, signal?: AbortSignal) => client.get<Page<ConsentStatus>>(`/patients/${id(patientId)}/consents`, { signal }),
      decide: (patientId: Uuid, body: NewConsentDecision) => client.post<ConsentDecision>(`/patients/${id(patientId)}/consents`, body),
      history: (patientId: Uuid, query: PageQuery = {}, signal?: AbortSignal) =>
        client.get<Page<ConsentDecision>>(`/patients/${id(patientId)}/consents/history`, { query: { ...query }, signal }),
    },
    /** The record at a glance. */
    records: {
      summary: (patientId: Uuid, signal?: AbortSignal) => client.get<MedicalSummary>(`/patients/${id(patientId)}/summary`, { signal }),
      timeline: (patientId: Uuid, query: PageQuery = {}, signal?: AbortSignal) =>
        client.get<Page<TimelineEntry>>(`/patients/${id(patientId)}/timeline`, { query: { ...query }, signal }),
    },
  };
}

export type QivrApi = ReturnType<typeof createQivrApi>;
