/**
 * The patient page's PROMs: assign a questionnaire (once or on a schedule), the patient's
 * questionnaires, and a chart per scale with bands and MCID changes. A submission refreshes the
 * chart live (`PromsLive` invalidates this patient's trends on `prom.submitted`).
 */
import { Fragment, useState, type FormEvent } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { ApiError, CHANGE_LABELS, errorMessage, formatDateTime, instanceStateLabel, scoreText, type PromInstance } from '@qivr/shared';
import { api } from './session';
import { PromChart, promKeys } from './proms';

export function PatientProms({ patientId }: { patientId: string }) {
  const trends = useQuery({ queryKey: promKeys.trends(patientId), queryFn: ({ signal }) => api.proms.trends(patientId, signal) });
  const query = { patient_id: patientId, limit: 100 };
  const instances = useQuery({ queryKey: promKeys.instanceList(query), queryFn: ({ signal }) => api.proms.instances(query, signal) });
  const [open, setOpen] = useState<string | null>(null);
  return (
    <section className="card" aria-labelledby="proms-title">
      <h2 id="proms-title">PROMs</h2>
      <AssignProm patientId={patientId} />
      <h3>Scores over time</h3>
      {trends.isPending ? (
        <p className="muted">Loading scores…</p>
      ) : trends.isError ? (
        <div className="notice notice--error">{errorMessage(trends.error)}</div>
      ) : trends.data.items.length === 0 ? (
        <p className="muted" data-testid="prom-no-scores">
          No scored questionnaires yet.
        </p>
      ) : (
        trends.data.items.map((t) =>
          t.scales.map((scale) => (
            <div key={`${t.template_id}-${scale.scale}`} data-testid="prom-trend" data-template={t.template_name}>
              <PromChart trend={scale} title={t.template_name} />
              {scale.change_from_baseline ? (
                <p className="muted">
                  Since the first completion: <strong>{CHANGE_LABELS[scale.change_from_baseline]}</strong>
                </p>
              ) : null}
            </div>
          )),
        )
      )}
      <h3>Questionnaires</h3>
      {instances.isPending ? (
        <p className="muted">Loading…</p>
      ) : instances.isError ? (
        <div className="notice notice--error">{errorMessage(instances.error)}</div>
      ) : instances.data.items.length === 0 ? (
        <p className="muted">None assigned.</p>
      ) : (
        <table className="list" aria-label="Patient questionnaires">
          <thead>
            <tr>
              <th scope="col">Questionnaire</th>
              <th scope="col">Due</th>
              <th scope="col">Status</th>
              <th scope="col">Score</th>
              <th scope="col">
                <span className="visually-hidden">Answers</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {instances.data.items.map((i) => (
              <Fragment key={i.id}>
                <tr data-testid="patient-prom" data-status={i.status}>
                  <td>
                    {i.template_name} <span className="muted">v{i.template_version}</span>
                  </td>
                  <td>{formatDateTime(i.due_at)}</td>
                  <td>
                    {instanceStateLabel(i)}
                    {i.review_status === 'needs_review' ? <span className="status status--active"> needs review</span> : null}
                  </td>
                  <td>{i.scores?.map((s) => `${s.label}: ${scoreText(s)}`).join('; ') || '—'}</td>
                  <td>
                    {i.status === 'completed' ? (
                      <button
                        type="button"
                        className="link-button"
                        aria-expanded={open === i.id}
                        onClick={() => setOpen(open === i.id ? null : i.id)}
                      >
                        Answers
                      </button>
                    ) : null}
                  </td>
                </tr>
                {open === i.id ? (
                  <tr>
                    <td colSpan={5}>
                      <ResponseAnswers instanceId={i.id} />
                    </td>
                  </tr>
                ) : null}
              </Fragment>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function AssignProm({ patientId }: { patientId: string }) {
  const queryClient = useQueryClient();
  const templates = useQuery({ queryKey: promKeys.templates, queryFn: ({ signal }) => api.proms.templates(signal) });
  const [templateId, setTemplateId] = useState('');
  const [schedule, setSchedule] = useState<'once' | 'repeat'>('once');
  const [firstDue, setFirstDue] = useState('');
  const [everyDays, setEveryDays] = useState('14');
  const [occurrences, setOccurrences] = useState('6');
  const [done, setDone] = useState<string | null>(null);
  const assign = useMutation({
    mutationFn: () =>
      api.proms.assign({
        patient_id: patientId,
        template_id: templateId,
        first_due_at: firstDue ? new Date(firstDue).toISOString() : null,
        every_days: schedule === 'repeat' ? Number(everyDays) : null,
        occurrences: schedule === 'repeat' ? Number(occurrences) : 1,
      }),
    onSuccess: (a) => {
      setDone(`Assigned: ${a.instances.length} questionnaire${a.instances.length === 1 ? '' : 's'}.`);
      void queryClient.invalidateQueries({ queryKey: promKeys.instances });
    },
  });
  const errors = assign.error instanceof ApiError ? assign.error.fieldErrors : {};
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    setDone(null);
    assign.mutate();
  };
  return (
    <form className="prom-assign" onSubmit={onSubmit} aria-label="Assign a questionnaire">
      <div className="prom-builder__row">
        <label>
          Questionnaire{' '}
          <select aria-label="Questionnaire to assign" value={templateId} onChange={(e) => setTemplateId(e.target.value)} required>
            <option value="">Choose…</option>
            {templates.data?.items.map((t) => (
              <option key={t.id} value={t.id}>
                {t.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          <input type="radio" name="schedule" checked={schedule === 'once'} onChange={() => setSchedule('once')} /> Once
        </label>
        <label>
          <input type="radio" name="schedule" aria-label="On a schedule" checked={schedule === 'repeat'} onChange={() => setSchedule('repeat')} /> On a schedule
        </label>
        <label>
          First due <input type="datetime-local" aria-label="First due" value={firstDue} onChange={(e) => setFirstDue(e.target.value)} />
        </label>
        {schedule === 'repeat' ? (
          <>
            <label>
              every <input aria-label="Every days" type="number" size={3} min={1} value={everyDays} onChange={(e) => setEveryDays(e.target.value)} /> days,
            </label>
            <label>
              <input aria-label="Occurrences" type="number" size={3} min={1} value={occurrences} onChange={(e) => setOccurrences(e.target.value)} /> times
            </label>
          </>
        ) : null}
        <button type="submit" className="button button--small button--primary" disabled={!templateId || assign.isPending}>
          Assign
        </button>
      </div>
      {assign.isError ? (
        <div className="field__error" role="alert">
          {Object.keys(errors).length ? Object.entries(errors).map(([f, m]) => `${f}: ${m}`).join('; ') : errorMessage(assign.error)}
        </div>
      ) : null}
      {done ? (
        <div className="notice notice--ok" role="status">
          {done}
        </div>
      ) : null}
    </form>
  );
}

/** A completed response's answers, in the words of the version the patient answered, and its FHIR export. */
function ResponseAnswers({ instanceId }: { instanceId: string }) {
  const instance = useQuery({ queryKey: promKeys.instance(instanceId), queryFn: ({ signal }) => api.proms.instance(instanceId, signal) });
  const [exportError, setExportError] = useState<string | null>(null);
  if (instance.isPending) return <p className="muted">Loading the answers…</p>;
  if (instance.isError) return <div className="notice notice--error">{errorMessage(instance.error)}</div>;
  async function downloadFhir() {
    setExportError(null);
    try {
      const resource = await api.proms.instanceFhir(instanceId);
      const url = URL.createObjectURL(new Blob([JSON.stringify(resource, null, 2)], { type: 'application/fhir+json' }));
      const link = document.createElement('a');
      link.href = url;
      link.download = `QuestionnaireResponse-${instanceId}.json`;
      link.click();
      URL.revokeObjectURL(url);
    } catch (e) {
      setExportError(errorMessage(e));
    }
  }
  return (
    <div data-testid="prom-answers">
      <dl className="details">
        {answeredItems(instance.data).map(({ id, text, answer }) => (
          <Fragment key={id}>
            <dt>{text}</dt>
            <dd>{answer}</dd>
          </Fragment>
        ))}
      </dl>
      <button type="button" className="button button--small" onClick={() => void downloadFhir()}>
        Download FHIR QuestionnaireResponse
      </button>
      {exportError ? <div className="notice notice--error">{exportError}</div> : null}
    </div>
  );
}

/** Each item with its answer as the patient saw it (a choice's label, not its value). */
function answeredItems(instance: PromInstance): { id: string; text: string; answer: string }[] {
  const answers = instance.answers as Record<string, unknown>;
  return instance.definition.sections.flatMap((section) =>
    section.items.map((item) => {
      const value = answers[item.id];
      const option = item.options?.find((o) => o.value === value);
      return { id: item.id, text: item.text, answer: value === undefined ? '—' : (option?.label ?? String(value)) };
    }),
  );
}
