/**
 * The patient's questionnaires: what is due (live: `prom.assigned` / `prom.submitted` on
 * `user:<id>`), the form (answers are saved as a draft, so it can be finished later), and the
 * results of completed ones.
 */
import { useRef, useState, type FormEvent } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import {
  ApiError,
  channels,
  errorMessage,
  formatDateTime,
  instanceStateLabel,
  isShown,
  scoreText,
  useAuthState,
  useLiveCache,
  visibleAnswers,
  type PromAnswers,
  type PromInstance,
  type PromItem,
} from '@qivr/shared';
import { api, auth } from './session';
import { keys } from './queryClient';

export function MyProms() {
  const userId = useAuthState(auth, (s) => s.user?.id ?? null);
  const list = useQuery({ queryKey: keys.proms, queryFn: ({ signal }) => api.proms.instances({ limit: 100 }, signal) });
  useLiveCache(userId ? channels.user(userId) : null, {
    refetch: [keys.proms],
    apply: (event, queryClient) => {
      if (event.kind === 'prom.assigned' || event.kind === 'prom.submitted') void queryClient.invalidateQueries({ queryKey: keys.proms });
    },
  });
  const items = list.data?.items ?? [];
  const open = items.filter((i) => i.status !== 'completed' && i.available).sort((a, b) => a.due_at.localeCompare(b.due_at));
  const upcoming = items.filter((i) => i.status !== 'completed' && !i.available).sort((a, b) => a.due_at.localeCompare(b.due_at));
  const completed = items.filter((i) => i.status === 'completed');
  return (
    <section>
      <h1>My questionnaires</h1>
      {list.isPending ? <p className="muted">Loading…</p> : null}
      {list.isError ? <div className="notice notice--error">{errorMessage(list.error)}</div> : null}
      <section className="card" aria-labelledby="due-title">
        <h2 id="due-title">To complete</h2>
        {open.length === 0 ? (
          <p className="muted">Nothing to complete right now.</p>
        ) : (
          <ul>
            {open.map((i) => (
              <li key={i.id} data-testid="prom-due" data-id={i.id}>
                <Link to={`/proms/${i.id}`}>{i.template_name}</Link> — {instanceStateLabel(i)}, due {formatDateTime(i.due_at)}
              </li>
            ))}
          </ul>
        )}
        {upcoming.length ? (
          <p className="muted">
            Coming up: {upcoming.map((i) => `${i.template_name} (${formatDateTime(i.due_at)})`).join(', ')}
          </p>
        ) : null}
      </section>
      <section className="card" aria-labelledby="done-title">
        <h2 id="done-title">Completed</h2>
        {completed.length === 0 ? (
          <p className="muted">None yet.</p>
        ) : (
          <table className="list" aria-label="Completed questionnaires">
            <thead>
              <tr>
                <th scope="col">Questionnaire</th>
                <th scope="col">Completed</th>
                <th scope="col">Result</th>
              </tr>
            </thead>
            <tbody>
              {completed.map((i) => (
                <tr key={i.id} data-testid="prom-completed">
                  <td>{i.template_name}</td>
                  <td>{formatDateTime(i.submitted_at)}</td>
                  <td>{i.scores?.map((s) => `${s.label}: ${scoreText(s)}`).join('; ') || '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </section>
  );
}

/** `/proms/:instanceId`: the form, resumed from the saved draft. */
export function PromFormPage() {
  const { instanceId = '' } = useParams();
  const instance = useQuery({ queryKey: keys.prom(instanceId), queryFn: ({ signal }) => api.proms.instance(instanceId, signal) });
  if (instance.isPending) return <p className="muted">Loading questionnaire…</p>;
  if (instance.isError) {
    const notFound = instance.error instanceof ApiError && instance.error.status === 404;
    return (
      <section className="card">
        <h1>{notFound ? 'Questionnaire not found' : 'Could not load the questionnaire'}</h1>
        <Link to="/proms">Back to my questionnaires</Link>
      </section>
    );
  }
  return <PromForm key={instance.data.id} instance={instance.data} />;
}

function PromForm({ instance }: { instance: PromInstance }) {
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [answers, setAnswers] = useState<PromAnswers>(instance.answers as PromAnswers);
  const [saved, setSaved] = useState<string | null>(null);
  const saveTimer = useRef<number | null>(null);
  const version = instance.template_version;

  const save = useMutation({
    mutationFn: (current: PromAnswers) => api.proms.saveAnswers(instance.id, version, visibleAnswers(instance.definition, current)),
    onSuccess: () => setSaved('Your answers are saved; you can finish later.'),
  });
  const submit = useMutation({
    mutationFn: () => api.proms.submit(instance.id, version, visibleAnswers(instance.definition, answers)),
    onSuccess: (done) => {
      queryClient.setQueryData(keys.prom(done.id), done);
      void queryClient.invalidateQueries({ queryKey: keys.proms });
    },
  });
  const errors = submit.error instanceof ApiError ? submit.error.fieldErrors : {};

  if (instance.status === 'completed' || submit.isSuccess) {
    const done = submit.data ?? instance;
    return (
      <section className="card" data-testid="prom-result">
        <h1>{done.template_name}</h1>
        <p className="notice notice--ok" role="status">
          Thank you — your answers were sent to your clinic.
        </p>
        {done.scores?.length ? (
          <ul>
            {done.scores.map((s) => (
              <li key={s.scale} data-testid="prom-score">
                {s.label}: {scoreText(s)}
              </li>
            ))}
          </ul>
        ) : null}
        <Link to="/proms">Back to my questionnaires</Link>
      </section>
    );
  }

  const change = (item: PromItem, value: number | string | undefined) => {
    const next = { ...answers };
    if (value === undefined || value === '') delete next[item.id];
    else next[item.id] = value;
    setAnswers(next);
    setSaved(null);
    // Saved a moment after the last change, so leaving the page loses nothing.
    if (saveTimer.current !== null) window.clearTimeout(saveTimer.current);
    saveTimer.current = window.setTimeout(() => save.mutate(next), 600);
  };
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    if (saveTimer.current !== null) window.clearTimeout(saveTimer.current);
    submit.mutate();
  };

  return (
    <form onSubmit={onSubmit} noValidate aria-label={instance.template_name}>
      <div className="page-head">
        <h1>{instance.template_name}</h1>
        <Link to="/proms">Back to my questionnaires</Link>
      </div>
      {instance.definition.sections.map((section, s) => (
        <section key={s} className="card">
          {section.title ? <h2>{section.title}</h2> : null}
          {section.items.filter((item) => isShown(item, answers)).map((item) => (
            <Question key={item.id} item={item} value={answers[item.id]} error={errors[`answers.${item.id}`]} onChange={(v) => change(item, v)} />
          ))}
        </section>
      ))}
      {submit.isError ? (
        <div className="notice notice--error" role="alert">
          {Object.keys(errors).length ? 'Please check the answers marked above.' : errorMessage(submit.error)}
        </div>
      ) : null}
      {saved ? (
        <div className="notice notice--ok" role="status" data-testid="prom-saved">
          {saved}
        </div>
      ) : null}
      <div className="form-actions">
        <button type="button" className="button" disabled={save.isPending} onClick={() => save.mutate(answers, { onSuccess: () => navigate('/proms') })}>
          Save and finish later
        </button>
        <button type="submit" className="button button--primary" disabled={submit.isPending}>
          Submit
        </button>
      </div>
    </form>
  );
}

function Question({ item, value, error, onChange }: { item: PromItem; value: number | string | undefined; error: string | undefined; onChange: (v: number | string | undefined) => void }) {
  const label = `${item.text}${item.required ? ' *' : ''}`;
  return (
    <fieldset className={error ? 'prom-question field--invalid' : 'prom-question'} data-testid="prom-question" data-item={item.id}>
      <legend>{label}</legend>
      {item.type === 'choice'
        ? (item.options ?? []).map((o) => (
            <label key={o.value}>
              <input type="radio" name={item.id} checked={value === o.value} onChange={() => onChange(o.value)} /> {o.label}
            </label>
          ))
        : null}
      {item.type === 'scale' ? (
        <input
          type="number"
          aria-label={item.text}
          min={item.min ?? undefined}
          max={item.max ?? undefined}
          value={value ?? ''}
          onChange={(e) => onChange(e.target.value === '' ? undefined : Number(e.target.value))}
        />
      ) : null}
      {item.type === 'scale' ? (
        <span className="muted">
          {' '}
          {item.min} to {item.max}
        </span>
      ) : null}
      {item.type === 'text' ? <textarea aria-label={item.text} value={(value as string | undefined) ?? ''} onChange={(e) => onChange(e.target.value)} /> : null}
      {item.type === 'date' ? <input type="date" aria-label={item.text} value={(value as string | undefined) ?? ''} onChange={(e) => onChange(e.target.value)} /> : null}
      {error ? (
        <div className="field__error" role="alert">
          {error}
        </div>
      ) : null}
    </fieldset>
  );
}
