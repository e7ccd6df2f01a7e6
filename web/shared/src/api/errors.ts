import type { FieldProblem, ProblemDetails } from './types';

/**
 * Every failed API call rejects with an `ApiError`: a problem+json answer parsed into fields a
 * form can show (`fieldErrors`), or a synthetic problem for network failures (`status` 0) and
 * for non-problem error bodies (a proxy's 502 page, say).
 */
export class ApiError extends Error {
  /** HTTP status; 0 when the request never got an answer. */
  readonly status: number;
  readonly type: string;
  readonly title: string;
  readonly detail: string | undefined;
  /** Per-field problems in the order the server listed them. */
  readonly errors: readonly FieldProblem[];
  /** The first message for each field, keyed by field name, for forms. */
  readonly fieldErrors: Readonly<Record<string, string>>;

  constructor(status: number, problem: ProblemDetails = {}) {
    const title = problem.title ?? (status === 0 ? 'Network error' : `Request failed (${status})`);
    super(problem.detail ?? title);
    this.name = 'ApiError';
    this.status = status;
    this.type = problem.type ?? 'about:blank';
    this.title = title;
    this.detail = problem.detail;
    this.errors = Array.isArray(problem.errors)
      ? problem.errors.filter(
          (e): e is FieldProblem =>
            typeof e === 'object' && e !== null && typeof e.field === 'string' && typeof e.message === 'string',
        )
      : [];
    const byField: Record<string, string> = {};
    for (const e of this.errors) {
      if (!(e.field in byField)) byField[e.field] = e.message;
    }
    this.fieldErrors = byField;
  }

  /** The message for one form field, if the server named it. */
  fieldError(field: string): string | undefined {
    return this.fieldErrors[field];
  }

  /** What to show a user above a form: the problem's detail, else its title. */
  get userMessage(): string {
    return this.detail ?? this.title;
  }
}

export function isApiError(e: unknown): e is ApiError {
  return e instanceof ApiError;
}

/** Builds the `ApiError` for a non-2xx response, whatever its body is. */
export async function problemFromResponse(res: Response): Promise<ApiError> {
  let text = '';
  try {
    text = await res.text();
  } catch {
    // body unreadable: fall through to a status-only problem
  }
  let problem: ProblemDetails = {};
  if (text) {
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
        problem = parsed as ProblemDetails;
      }
    } catch {
      // not JSON (an HTML error page from a proxy, say)
    }
  }
  if (problem.title === undefined && res.statusText) problem = { ...problem, title: res.statusText };
  return new ApiError(res.status, problem);
}

/** The message a user should see for any error thrown by the client or the UI. */
export function errorMessage(e: unknown): string {
  if (e instanceof ApiError) return e.userMessage;
  if (e instanceof Error) return e.message;
  return String(e);
}

/**
 * The message to show above a form. When every field the server named is shown in the form
 * (its message appears under the field), a short summary avoids saying the same thing twice.
 */
export function formErrorMessage(e: unknown, formFields: readonly string[]): string {
  if (e instanceof ApiError && e.errors.length > 0 && e.errors.every((f) => formFields.includes(f.field))) {
    return 'Please correct the fields marked below.';
  }
  return errorMessage(e);
}
