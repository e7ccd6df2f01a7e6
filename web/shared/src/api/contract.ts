/**
 * Compile-time check that `types.ts` matches the server's OpenAPI document (`openapi.gen.ts`).
 * Nothing here exists at run time; `tsc --noEmit` (part of `npm run build`) fails with an error
 * pointing at the line of the type that drifted.
 *
 * - Responses: exactly the same field names, and each field's type compatible with the
 *   generated one (narrower enums and always-present nullable fields are allowed).
 * - Requests: every body we send is a valid body for the server.
 */
import type { components, operations } from './openapi.gen';
import type {
  Attachment,
  ConsentDecision,
  ConsentStatus,
  ConsentType,
  ConsentTypePatch,
  ConsentVersion,
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
  ConversationStatus,
  Message,
  NewConversation,
  NewMessage,
  ReadMarker,
  ReadReceipt,
  ReadState,
  Email,
  EmailListQuery,
  EmailSummary,
  EmailStatus,
  NotificationPreference,
  BusyTime,
} from './types';
import type {
  AcceptInvitationRequest,
  AuditEntry,
  AuditQuery,
  AuthUser,
  ChainStatus,
  Condition,
  ConditionPatch,
  FieldProblem,
  IdentityProvider,
  LoginRequest,
  Me,
  NewCondition,
  NewIdentityProvider,
  NewPatient,
  NewUser,
  Page,
  Patient,
  PatientListQuery,
  PatientPatch,
  Role,
  StaffRole,
  Tenant,
  TokenResponse,
  User,
  UserPatch,
  EvaluationStatus,
  Urgency,
  RedFlag,
  NewIntake,
  Intake,
  IntakeListQuery,
  Evaluation,
  EvaluationDetail,
  EvaluationListQuery,
  EvaluationPatch,
  WorkingHours,
  Provider,
  NewProvider,
  ProviderPatch,
  Appointment,
  AppointmentStatus,
  AppointmentListQuery,
  NewAppointment,
  AppointmentPatch,
  ClinicSettings,
  ClinicSettingsPatch,
} from './types';

type S = components['schemas'];
/** The query string an operation accepts. */
type Q<Op extends keyof operations> = NonNullable<operations[Op]['parameters']['query']>;

type Compatible<A, B> = [A] extends [B] ? true : [B] extends [A] ? true : false;
type SameKeys<A, B> = [keyof A] extends [keyof B] ? ([keyof B] extends [keyof A] ? true : false) : false;
type FieldsCompatible<Mine, Gen> = {
  [K in keyof Mine & keyof Gen]-?: Compatible<Mine[K], Required<Gen>[K]>;
}[keyof Mine & keyof Gen] extends true
  ? true
  : false;
type ResponseMatches<Mine, Gen> = SameKeys<Mine, Gen> extends true ? FieldsCompatible<Mine, Gen> : false;
type RequestFits<Mine, Gen> = [Mine] extends [Gen] ? true : false;
type Check<T extends true> = T;

export type ContractChecks = [
  Check<Compatible<Role, S['Role']>>,
  Check<ResponseMatches<AuthUser, S['UserSummary']>>,
  Check<ResponseMatches<TokenResponse, S['TokenResponse']>>,
  Check<ResponseMatches<Tenant, S['TenantSummary']>>,
  Check<ResponseMatches<Me, S['Me']>>,
  Check<ResponseMatches<Patient, S['Patient']>>,
  Check<ResponseMatches<Page<Patient>, S['Page_Patient']>>,
  Check<ResponseMatches<Condition, S['Condition']>>,
  Check<ResponseMatches<Page<Condition>, S['Page_Condition']>>,
  Check<ResponseMatches<FieldProblem, S['FieldError']>>,
  Check<RequestFits<LoginRequest, S['LoginRequest']>>,
  Check<RequestFits<NewPatient, S['NewPatient']>>,
  Check<RequestFits<PatientPatch, S['PatientChanges']>>,
  Check<RequestFits<NewCondition, S['NewCondition']>>,
  Check<RequestFits<ConditionPatch, S['ConditionChanges']>>,
  Check<RequestFits<PatientListQuery, Q<'list_patients'>>>,
  Check<RequestFits<AcceptInvitationRequest, S['AcceptInvitation']>>,
  // users
  Check<RequestFits<StaffRole, S['Role']>>,
  Check<ResponseMatches<User, S['User']>>,
  Check<ResponseMatches<Page<User>, S['Page_User']>>,
  Check<RequestFits<NewUser, S['NewUser']>>,
  Check<RequestFits<UserPatch, S['UserChanges']>>,
  // audit
  Check<ResponseMatches<AuditEntry, S['AuditEntry']>>,
  Check<ResponseMatches<Page<AuditEntry>, S['Page_AuditEntry']>>,
  Check<ResponseMatches<ChainStatus, S['ChainStatus']>>,
  Check<RequestFits<AuditQuery, Q<'list_entries'>>>,
  // identity providers
  Check<ResponseMatches<IdentityProvider, S['IdentityProvider']>>,
  Check<ResponseMatches<Page<IdentityProvider>, S['Page_IdentityProvider']>>,
  Check<RequestFits<NewIdentityProvider, S['NewIdentityProvider']>>,
  // intakes and evaluations
  Check<RequestFits<NewIntake, S['NewIntake']>>,
  Check<ResponseMatches<Intake, S['Intake']>>,
  Check<ResponseMatches<Page<Intake>, S['Page_Intake']>>,
  Check<RequestFits<IntakeListQuery, Q<'list_intakes'>>>,
  Check<ResponseMatches<Evaluation, S['Evaluation']>>,
  Check<ResponseMatches<EvaluationDetail, S['EvaluationDetail']>>,
  Check<ResponseMatches<Page<Evaluation>, S['Page_Evaluation']>>,
  Check<RequestFits<EvaluationListQuery, Q<'list_evaluations'>>>,
  Check<RequestFits<EvaluationPatch, S['EvaluationChanges']>>,
  Check<RequestFits<EvaluationStatus, S['Evaluation']['status']>>,
  Check<RequestFits<Urgency, S['Evaluation']['urgency']>>,
  Check<RequestFits<RedFlag[], S['NewIntake']['red_flags']>>,
  // providers, appointments, scheduling settings
  Check<ResponseMatches<WorkingHours, S['WorkingHours']>>,
  Check<RequestFits<WorkingHours, S['WorkingHours']>>,
  Check<ResponseMatches<Provider, S['Provider']>>,
  Check<ResponseMatches<Page<Provider>, S['Page_Provider']>>,
  Check<RequestFits<NewProvider, S['NewProvider']>>,
  Check<RequestFits<ProviderPatch, S['ProviderChanges']>>,
  Check<ResponseMatches<Appointment, S['Appointment']>>,
  Check<ResponseMatches<Page<Appointment>, S['Page_Appointment']>>,
  Check<RequestFits<AppointmentStatus, S['Appointment']['status']>>,
  Check<RequestFits<AppointmentListQuery, Q<'list_appointments'>>>,
  Check<RequestFits<NewAppointment, S['NewAppointment']>>,
  Check<RequestFits<AppointmentPatch, S['AppointmentChanges']>>,
  Check<ResponseMatches<ClinicSettings, S['ClinicSettings']>>,
  Check<RequestFits<ClinicSettingsPatch, S['SettingsChanges']>>,
];

export type MessagingContractChecks = [
  Check<ResponseMatches<Conversation, S['Conversation']>>,
  Check<ResponseMatches<Page<Conversation>, S['Page_Conversation']>>,
  Check<RequestFits<ConversationStatus, S['Conversation']['status']>>,
  Check<RequestFits<ConversationListQuery, Q<'list_conversations'>>>,
  Check<RequestFits<NewConversation, S['NewConversation']>>,
  Check<RequestFits<ConversationPatch, S['ConversationChanges']>>,
  Check<ResponseMatches<Message, S['Message']>>,
  Check<ResponseMatches<Page<Message>, S['Page_Message']>>,
  Check<RequestFits<NewMessage, S['NewMessage']>>,
  Check<RequestFits<ReadReceipt, S['ReadReceipt']>>,
  Check<ResponseMatches<ReadState, S['ReadState']>>,
  Check<ResponseMatches<ReadMarker, S['ReadMarker']>>,
];

export type MailboxContractChecks = [
  Check<ResponseMatches<EmailSummary, S['EmailSummary']>>,
  Check<ResponseMatches<Page<EmailSummary>, S['Page_EmailSummary']>>,
  Check<ResponseMatches<Email, S['Email']>>,
  Check<RequestFits<EmailStatus, NonNullable<Q<'list_emails'>['status']>>>,
  Check<RequestFits<EmailListQuery, Q<'list_emails'>>>,
  Check<ResponseMatches<NotificationPreference, S['NotificationPreference']>>,
  Check<ResponseMatches<BusyTime, S['BusyTime']>>,
];

export type RecordsContractChecks = [
  Check<ResponseMatches<PatientDocument, S['Document']>>,
  Check<ResponseMatches<Page<PatientDocument>, S['Page_Document']>>,
  Check<ResponseMatches<Attachment, S['Attachment']>>,
  Check<ResponseMatches<ConsentVersion, S['ConsentVersion']>>,
  Check<ResponseMatches<ConsentType, S['ConsentType']>>,
  Check<ResponseMatches<Page<ConsentType>, S['Page_ConsentType']>>,
  Check<RequestFits<NewConsentType, S['NewConsentType']>>,
  Check<RequestFits<ConsentTypePatch, S['ConsentTypeChanges']>>,
  Check<ResponseMatches<ConsentStatus, S['ConsentStatus']>>,
  Check<ResponseMatches<Page<ConsentStatus>, S['Page_ConsentStatus']>>,
  Check<RequestFits<NewConsentDecision, S['NewConsentDecision']>>,
  Check<ResponseMatches<ConsentDecision, S['ConsentDecision']>>,
  Check<ResponseMatches<Page<ConsentDecision>, S['Page_ConsentDecision']>>,
  Check<ResponseMatches<MedicalSummary, S['MedicalSummary']>>,
  Check<ResponseMatches<TimelineEntry, S['TimelineEntry']>>,
  Check<ResponseMatches<Page<TimelineEntry>, S['Page_TimelineEntry']>>,
];
