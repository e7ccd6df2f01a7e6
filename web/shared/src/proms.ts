/**
 * PROMs (patient-reported outcome measures) for both apps: the REST types, taken straight from
 * the generated OpenAPI schemas (the Rust types in `api/src/proms` and `api/src/routes/proms.rs`),
 * and the small rules the forms and the chart share with the server.
 */
import type { components } from './api/openapi.gen';

type Schemas = components['schemas'];

export type PromDefinition = Schemas['PromDefinition'];
export type PromSection = Schemas['PromSection'];
export type PromItem = Schemas['PromItem'];
export type PromItemType = Schemas['PromItemType'];
export type PromScaleRule = Schemas['PromScaleRule'];
export type PromMethod = Schemas['PromMethod'];
export type PromBand = Schemas['PromBand'];
export type PromAlertRule = Schemas['PromAlertRule'];
export type PromScaleScore = Schemas['PromScaleScore'];
export type PromLatestScore = Schemas['PromLatestScore'];
export type PromChange = Schemas['PromChange'];
export type PromInstrument = Schemas['PromInstrument'];
export type PromStandardInstrument = Schemas['PromStandardInstrument'];
export type PromTemplate = Schemas['PromTemplate'];
export type PromTemplateSummary = Schemas['PromTemplateSummary'];
export type PromTemplateVersion = Schemas['PromTemplateVersion'];
export type NewPromTemplate = Schemas['PromNewTemplate'];
export type NewPromAssignment = Schemas['PromNewAssignment'];
export type PromAssignment = Schemas['PromAssignment'];
export type PromInstanceSummary = Schemas['PromInstanceSummary'];
export type PromInstance = Schemas['PromInstance'];
export type PromAlert = Schemas['PromAlert'];
export type PromTrend = Schemas['PromTrend'];
export type PromScaleTrend = Schemas['PromScaleTrend'];
export type PromTrendPoint = Schemas['PromTrendPoint'];
export type PromTemplateStats = Schemas['PromTemplateStats'];

/** Answers keyed by item id: option values and scale numbers, text, `YYYY-MM-DD` dates. */
export type PromAnswers = Record<string, number | string>;

export interface PromInstanceQuery {
  patient_id?: string | undefined;
  status?: string | undefined;
  overdue?: boolean | undefined;
  cursor?: string | undefined;
  limit?: number | undefined;
}

/** Whether an item is asked given the answers so far (the server's `Definition::is_shown`). */
export function isShown(item: PromItem, answers: PromAnswers): boolean {
  if (!item.show_if) return true;
  const value = answers[item.show_if.item];
  return typeof value === 'number' && item.show_if.any_of.includes(value);
}

/** Drops answers to items their condition hides, as the server does on submit. */
export function visibleAnswers(definition: PromDefinition, answers: PromAnswers): PromAnswers {
  const kept: PromAnswers = {};
  for (const section of definition.sections) {
    for (const item of section.items) {
      const value = answers[item.id];
      if (value !== undefined && value !== '' && isShown(item, answers)) kept[item.id] = value;
    }
  }
  return kept;
}

/** Bands as ranges: each from just above the previous band's max (or `floor`) to its own max. */
export function bandRanges(bands: readonly PromBand[], floor = 0): { from: number; to: number; label: string }[] {
  return bands.map((band, i) => ({ from: i === 0 ? floor : bands[i - 1]!.max, to: band.max, label: band.label }));
}

export const CHANGE_LABELS: Record<PromChange, string> = {
  improved: 'Improved',
  worsened: 'Worsened',
  no_meaningful_change: 'No meaningful change',
};

/** "6 (High)", "Insufficient answers", or "—". */
export function scoreText(score: PromScaleScore): string {
  if (score.insufficient) return 'Insufficient answers';
  if (score.score === null || score.score === undefined) return '—';
  return score.band ? `${score.score} (${score.band})` : String(score.score);
}

/** What a patient sees of an instance's state. */
export function instanceStateLabel(i: Pick<PromInstanceSummary, 'status' | 'overdue' | 'available'>): string {
  if (i.status === 'completed') return 'Completed';
  if (i.overdue) return 'Overdue';
  if (i.status === 'in_progress') return 'In progress';
  return i.available ? 'Due' : 'Upcoming';
}
