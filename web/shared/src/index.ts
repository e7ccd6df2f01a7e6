/**
 * `@qivr/shared`: what both web apps share.
 *
 * - `api/`: the REST contract's types, the fetch client and typed endpoint calls, `ApiError`.
 * - `auth/`: the session store (login, silent refresh, logout, idle logoff, role gate).
 * - `components/`: the login and accept-invitation pages, form fields.
 * - `realtime/`: the WebSocket client of protocol v1, and React bindings that keep the Query cache live.
 */
export * from './api/types';
export * from './api/records';
export * from './records/react';
export { ApiError, isApiError, errorMessage, formErrorMessage, problemFromResponse } from './api/errors';
export { ApiClient, type ApiClientOptions, type RequestOptions, type QueryValue } from './api/client';
export { createQivrApi, type QivrApi } from './api/endpoints';
export {
  createAuth,
  refreshLeadMs,
  RoleRefusedError,
  DEFAULT_IDLE_MINUTES,
  INACTIVITY_NOTICE,
  EXPIRED_NOTICE,
  type Auth,
  type AuthConfig,
  type AuthState,
  type AuthStatus,
  type SignedOutReason,
  type MinimalStorage,
} from './auth/session';
export { startIdleTimer, DEFAULT_ACTIVITY_EVENTS, type IdleTimer, type IdleTimerOptions } from './auth/idle';
export { useAuthState } from './auth/react';
export { inviteTokenFromHash, newPasswordProblems, MIN_PASSWORD_LENGTH } from './auth/invitation';
export { LoginPage, type LoginPageProps } from './components/LoginPage';
export { NotificationSettings } from './components/NotificationSettings';
export { AcceptInvitePage, INVALID_INVITATION, type AcceptInvitePageProps } from './components/AcceptInvitePage';
export {
  TextField,
  TextAreaField,
  SelectField,
  type TextFieldProps,
  type TextAreaFieldProps,
  type SelectFieldProps,
} from './components/Field';
export { emptyToNull, changedFields, todayIso, formatDate, formatDateTime } from './forms';
export {
  auditQueryFromFilters,
  auditFilterProblems,
  auditFiltersFromParams,
  auditFiltersToParams,
  NO_AUDIT_FILTERS,
  type AuditFilters,
} from './auditFilters';
export {
  RealtimeClient,
  RealtimeError,
  type RealtimeClientOptions,
  type RealtimeStatus,
  type ChannelHandlers,
  type BackoffOptions,
  type WebSocketLike,
  type WebSocketFactory,
} from './realtime/client';
export {
  CloseCode,
  channels,
  compareOffsets,
  type StreamPosition,
  type RealtimeEvent,
  type PresenceUser,
  type EventFrame,
  type PresenceFrame,
  type SubscribedFrame,
  type ServerFrame,
  type ClientFrame,
  type ErrorCode as RealtimeErrorCode,
} from './realtime/protocol';
export { createRealtimeForAuth } from './realtime/auth';
export {
  RealtimeProvider,
  useRealtimeClient,
  useRealtimeStatus,
  useRealtime,
  useLiveCache,
  usePresence,
  LiveStatus,
  type LiveCacheOptions,
} from './realtime/react';
export { upsertIntoLists, upsertInList, mergeIntoDetail, isNotOlder, type UpsertOptions } from './realtime/cache';
export {
  RED_FLAGS,
  PAIN_AREAS,
  EVALUATION_STATUSES,
  STATUS_LABELS,
  PATIENT_STATUS_LABELS,
  URGENCIES,
  URGENCY_LABELS,
  STATUS_TRANSITIONS,
  redFlagLabel,
  statusLabel,
} from './evaluations';
export {
  APPOINTMENT_STATUSES,
  APPOINTMENT_STATUS_LABELS,
  APPOINTMENT_TRANSITIONS,
  APPOINTMENT_ACTION_LABELS,
  APPOINTMENT_KINDS,
  SELF_BOOKING_LABELS,
  WEEKDAY_NAMES,
  appointmentStatusLabel,
  appointmentKindLabel,
  canTransition,
  holdsTime,
  patientCanCancel,
  splitUpcoming,
  byStart,
  appointmentInRange,
  collectPages,
  parseClock,
  formatClock,
  addDays,
  isoWeekday,
  startOfWeek,
  dateRange,
  isIsoDate,
  safeTimeZone,
  zonedParts,
  zonedInstant,
  todayIn,
  daysRange,
  formatInZone,
  clockInZone,
  formatDay,
  normalizeHours,
  blocksOn,
  withinHours,
  gridColumns,
  layoutGrid,
  assignLanes,
  gridBounds,
  freeSlots,
  type AppointmentRange,
  type GridColumn,
  type PlacedAppointment,
  type Slot,
  type FreeSlotOptions,
} from './appointments';
export {
  messagingKeys,
  NO_CONVERSATION_FILTERS,
  UNREAD_TOTAL_LIMIT,
  conversationQuery,
  matchesConversationFilters,
  byRecentActivity,
  conversationFromInboxEvent,
  conversationFromPatientEvent,
  placeConversation,
  applyConversation,
  applyUnreadCount,
  unreadTotal,
  unreadBadgeText,
  type ConversationFilters,
} from './messaging/conversations';
export {
  buildThread,
  setPending,
  newClientId,
  newestFirst as messagesNewestFirst,
  isOtherSide,
  seenMessageId,
  furtherRead,
  readMarkTarget,
  type PendingMessage,
  type ThreadItem,
  type DeliveryState,
  type Me as ChatUser,
} from './messaging/thread';
export {
  TypingThrottle,
  TYPING_THROTTLE_MS,
  TYPING_EXPIRY_MS,
  applyTyping,
  stopTyping,
  activeTypists,
  nextTypingExpiry,
  typingText,
  type TypingState,
} from './messaging/typing';
export {
  ChatView,
  UnreadBadge,
  useConversationEvents,
  useUnreadTotal,
  useDocumentVisible,
  type ChatViewProps,
} from './messaging/react';
export {
  isShown,
  visibleAnswers,
  bandRanges,
  scoreText,
  instanceStateLabel,
  CHANGE_LABELS,
  type PromDefinition,
  type PromSection,
  type PromItem,
  type PromItemType,
  type PromScaleRule,
  type PromMethod,
  type PromBand,
  type PromAlertRule,
  type PromScaleScore,
  type PromLatestScore,
  type PromChange,
  type PromInstrument,
  type PromStandardInstrument,
  type PromTemplate,
  type PromTemplateSummary,
  type PromTemplateVersion,
  type NewPromTemplate,
  type NewPromAssignment,
  type PromAssignment,
  type PromInstanceSummary,
  type PromInstance,
  type PromAlert,
  type PromTrend,
  type PromScaleTrend,
  type PromTrendPoint,
  type PromTemplateStats,
  type PromAnswers,
  type PromInstanceQuery,
} from './proms';
