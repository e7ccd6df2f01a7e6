import type { ApiClient } from './client';
import type {
  Condition,
  ConditionPatch,
  LoginRequest,
  Me,
  NewCondition,
  NewPatient,
  Page,
  PageQuery,
  Patient,
  PatientListQuery,
  PatientPatch,
  TokenResponse,
  Uuid,
} from './types';

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
      conditions: {
        list: (patientId: Uuid, query: PageQuery = {}, signal?: AbortSignal) =>
          client.get<Page<Condition>>(`/patients/${id(patientId)}/conditions`, { query: { ...query }, signal }),
        create: (patientId: Uuid, body: NewCondition) =>
          client.post<Condition>(`/patients/${id(patientId)}/conditions`, body),
        update: (patientId: Uuid, conditionId: Uuid, patch: ConditionPatch) =>
          client.patch<Condition>(`/patients/${id(patientId)}/conditions/${id(conditionId)}`, patch),
      },
    },
  };
}

export type QivrApi = ReturnType<typeof createQivrApi>;
