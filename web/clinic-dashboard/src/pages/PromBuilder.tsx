/**
 * The template builder: sections of items (single choice with values, numeric scale, free text,
 * date; required; shown only for some answers of an earlier item), scales (sum, percentage of
 * the answered maximum, linear mean; minimum answered, mean imputation, bands, MCID) and item
 * alerts. Saving an existing template adds a version; completed responses keep theirs.
 */
import { useState, type FormEvent } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import {
  ApiError,
  errorMessage,
  type PromDefinition,
  type PromInstrument,
  type PromItem,
  type PromItemType,
  type PromMethod,
  type PromScaleRule,
} from '@qivr/shared';
import { api } from '../session';
import { promKeys } from '../proms';

const ITEM_TYPES: { value: PromItemType; label: string }[] = [
  { value: 'choice', label: 'Single choice' },
  { value: 'scale', label: 'Numeric scale' },
  { value: 'text', label: 'Free text' },
  { value: 'date', label: 'Date' },
];

const EMPTY: PromDefinition = { sections: [{ title: 'Questions', items: [] }], scales: [], alerts: [] };

/** `/proms/templates/new` and `/proms/templates/:templateId`. */
export function PromBuilderPage() {
  const { templateId } = useParams();
  const existing = useQuery({
    queryKey: promKeys.template(templateId ?? 'new'),
    queryFn: ({ signal }) => api.proms.template(templateId!, undefined, signal),
    enabled: Boolean(templateId),
  });
  if (templateId && existing.isPending) return <p className="muted">Loading template…</p>;
  if (templateId && existing.isError) return <div className="notice notice--error">{errorMessage(existing.error)}</div>;
  const t = existing.data;
  return (
    <Builder
      key={t ? `${t.id}-${t.version}` : 'new'}
      templateId={templateId}
      initial={t ? { name: t.name, description: t.description ?? '', definition: t.definition, instrument: null } : { name: '', description: '', definition: EMPTY, instrument: null }}
      version={t?.version}
    />
  );
}

interface Draft {
  name: string;
  description: string;
  definition: PromDefinition;
  instrument: PromInstrument | null;
}

function Builder({ templateId, initial, version }: { templateId: string | undefined; initial: Draft; version: number | undefined }) {
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [draft, setDraft] = useState<Draft>(initial);
  const instruments = useQuery({ queryKey: promKeys.instruments, queryFn: ({ signal }) => api.proms.instruments(signal), enabled: !templateId });
  const def = draft.definition;
  const setDef = (definition: PromDefinition) => setDraft({ ...draft, definition });
  const items = def.sections.flatMap((s) => s.items);
  const numericItems = items.filter((i) => i.type === 'choice' || i.type === 'scale');

  const save = useMutation({
    mutationFn: () => {
      const body = { name: draft.name, description: draft.description || null, definition: def };
      return templateId ? api.proms.updateTemplate(templateId, body) : api.proms.createTemplate({ ...body, instrument: draft.instrument });
    },
    onSuccess: (saved) => {
      void queryClient.invalidateQueries({ queryKey: promKeys.templates });
      queryClient.setQueryData(promKeys.template(saved.id), saved);
      navigate('/proms', { state: { saved: `${saved.name} saved as version ${saved.version}.` } });
    },
  });
  const fieldErrors = save.error instanceof ApiError ? Object.entries(save.error.fieldErrors) : [];

  const updateItem = (s: number, i: number, patch: Partial<PromItem>) =>
    setDef({
      ...def,
      sections: def.sections.map((section, si) =>
        si === s ? { ...section, items: section.items.map((item, ii) => (ii === i ? { ...item, ...patch } : item)) } : section,
      ),
    });
  const addItem = (s: number) => {
    const id = `q${items.length + 1}`;
    const item: PromItem = { id, text: '', type: 'choice', required: true, options: [{ label: '', value: 0 }, { label: '', value: 1 }] };
    setDef({ ...def, sections: def.sections.map((section, si) => (si === s ? { ...section, items: [...section.items, item] } : section)) });
  };
  const removeItem = (s: number, i: number) =>
    setDef({ ...def, sections: def.sections.map((section, si) => (si === s ? { ...section, items: section.items.filter((_, ii) => ii !== i) } : section)) });
  const updateScale = (n: number, patch: Partial<PromScaleRule>) =>
    setDef({ ...def, scales: (def.scales ?? []).map((scale, k) => (k === n ? { ...scale, ...patch } : scale)) });

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate();
  };

  return (
    <form className="prom-builder" onSubmit={onSubmit} noValidate>
      <div className="page-head">
        <h1>{templateId ? `Edit template (version ${version} → ${(version ?? 0) + 1})` : 'New PROM template'}</h1>
        <Link to="/proms">Back to PROMs</Link>
      </div>
      {templateId ? (
        <p className="notice notice--info">Saving creates a new version. Completed responses keep the version they answered, and their scores.</p>
      ) : (
        <label className="field">
          Start from a standard instrument
          <select
            aria-label="Standard instrument"
            value={draft.instrument ?? ''}
            onChange={(e) => {
              const chosen = instruments.data?.items.find((i) => i.instrument === e.target.value);
              setDraft(chosen ? { ...draft, instrument: chosen.instrument, name: chosen.name, definition: chosen.definition } : { ...draft, instrument: null, definition: EMPTY });
            }}
          >
            <option value="">Custom questionnaire</option>
            {instruments.data?.items.map((i) => (
              <option key={i.instrument} value={i.instrument}>
                {i.name}
                {i.ships_items ? '' : ' (enter your licensed item wording)'}
              </option>
            ))}
          </select>
        </label>
      )}
      <section className="card">
        <label className="field">
          Template name
          <input aria-label="Template name" value={draft.name} onChange={(e) => setDraft({ ...draft, name: e.target.value })} />
        </label>
        <label className="field">
          Description
          <input aria-label="Description" value={draft.description} onChange={(e) => setDraft({ ...draft, description: e.target.value })} />
        </label>
      </section>

      {def.sections.map((section, s) => (
        <fieldset key={s} className="card">
          <legend>Section {s + 1}</legend>
          <label className="field">
            Section title
            <input aria-label={`Section ${s + 1} title`} value={section.title} onChange={(e) => setDef({ ...def, sections: def.sections.map((x, k) => (k === s ? { ...x, title: e.target.value } : x)) })} />
          </label>
          {section.items.map((item, i) => {
            const n = items.indexOf(item) + 1;
            const earlier = numericItems.filter((x) => items.indexOf(x) < n - 1);
            return (
              <div key={i} className="prom-builder__item" data-testid="builder-item">
                <div className="prom-builder__row">
                  <label>
                    Id <input aria-label={`Item ${n} id`} size={8} value={item.id} onChange={(e) => updateItem(s, i, { id: e.target.value })} />
                  </label>
                  <label className="grow">
                    Text <input aria-label={`Item ${n} text`} value={item.text} onChange={(e) => updateItem(s, i, { text: e.target.value })} />
                  </label>
                  <label>
                    Type{' '}
                    <select
                      aria-label={`Item ${n} type`}
                      value={item.type}
                      onChange={(e) => {
                        const type = e.target.value as PromItemType;
                        updateItem(s, i, {
                          type,
                          options: type === 'choice' ? (item.options?.length ? item.options : [{ label: '', value: 0 }, { label: '', value: 1 }]) : [],
                          min: type === 'scale' ? (item.min ?? 0) : null,
                          max: type === 'scale' ? (item.max ?? 10) : null,
                        });
                      }}
                    >
                      {ITEM_TYPES.map((t) => (
                        <option key={t.value} value={t.value}>
                          {t.label}
                        </option>
                      ))}
                    </select>
                  </label>
                  <label>
                    <input type="checkbox" aria-label={`Item ${n} required`} checked={item.required ?? false} onChange={(e) => updateItem(s, i, { required: e.target.checked })} /> Required
                  </label>
                  <button type="button" className="button button--small" onClick={() => removeItem(s, i)}>
                    Remove item
                  </button>
                </div>
                {item.type === 'choice' ? (
                  <div className="prom-builder__options">
                    {(item.options ?? []).map((o, k) => (
                      <div key={k} className="prom-builder__row">
                        <input aria-label={`Item ${n} option ${k + 1} label`} placeholder="Label" value={o.label} onChange={(e) => updateItem(s, i, { options: item.options!.map((x, j) => (j === k ? { ...x, label: e.target.value } : x)) })} />
                        <input aria-label={`Item ${n} option ${k + 1} value`} type="number" step="any" size={5} value={o.value} onChange={(e) => updateItem(s, i, { options: item.options!.map((x, j) => (j === k ? { ...x, value: Number(e.target.value) } : x)) })} />
                        <button type="button" className="button button--small" aria-label={`Remove option ${k + 1} of item ${n}`} onClick={() => updateItem(s, i, { options: item.options!.filter((_, j) => j !== k) })}>
                          ×
                        </button>
                      </div>
                    ))}
                    <button type="button" className="button button--small" onClick={() => updateItem(s, i, { options: [...(item.options ?? []), { label: '', value: (item.options?.length ?? 0) }] })}>
                      Add option to item {n}
                    </button>
                  </div>
                ) : null}
                {item.type === 'scale' ? (
                  <div className="prom-builder__row">
                    <label>
                      From <input aria-label={`Item ${n} minimum`} type="number" size={4} value={item.min ?? 0} onChange={(e) => updateItem(s, i, { min: Number(e.target.value) })} />
                    </label>
                    <label>
                      to <input aria-label={`Item ${n} maximum`} type="number" size={4} value={item.max ?? 10} onChange={(e) => updateItem(s, i, { max: Number(e.target.value) })} />
                    </label>
                  </div>
                ) : null}
                {earlier.length > 0 ? (
                  <div className="prom-builder__row">
                    <label>
                      Ask only if{' '}
                      <select
                        aria-label={`Item ${n} condition item`}
                        value={item.show_if?.item ?? ''}
                        onChange={(e) => updateItem(s, i, { show_if: e.target.value ? { item: e.target.value, any_of: item.show_if?.any_of ?? [] } : null })}
                      >
                        <option value="">(always asked)</option>
                        {earlier.map((x) => (
                          <option key={x.id} value={x.id}>
                            {x.id}
                          </option>
                        ))}
                      </select>
                    </label>
                    {item.show_if ? (
                      <label>
                        is one of{' '}
                        <input
                          aria-label={`Item ${n} condition values`}
                          placeholder="1, 2"
                          defaultValue={item.show_if.any_of.join(', ')}
                          onChange={(e) => updateItem(s, i, { show_if: { item: item.show_if!.item, any_of: numberList(e.target.value) } })}
                        />
                      </label>
                    ) : null}
                  </div>
                ) : null}
              </div>
            );
          })}
          <button type="button" className="button button--small" onClick={() => addItem(s)}>
            Add item
          </button>
        </fieldset>
      ))}
      <button type="button" className="button button--small" onClick={() => setDef({ ...def, sections: [...def.sections, { title: '', items: [] }] })}>
        Add section
      </button>

      <fieldset className="card">
        <legend>Scoring</legend>
        {(def.scales ?? []).map((scale, n) => (
          <ScaleEditor key={n} n={n} scale={scale} numericItems={numericItems} onChange={(patch) => updateScale(n, patch)} onRemove={() => setDef({ ...def, scales: (def.scales ?? []).filter((_, k) => k !== n) })} />
        ))}
        <button
          type="button"
          className="button button--small"
          onClick={() =>
            setDef({
              ...def,
              scales: [...(def.scales ?? []), { id: (def.scales ?? []).length ? `scale${(def.scales ?? []).length + 1}` : 'total', label: 'Total', items: numericItems.map((i) => i.id), method: { kind: 'sum' }, bands: [] }],
            })
          }
        >
          Add scale
        </button>
      </fieldset>

      <fieldset className="card">
        <legend>Item alerts</legend>
        <p className="muted">Staff are alerted at once, and the response is marked for review, when an answer is above the threshold.</p>
        {(def.alerts ?? []).map((alert, n) => (
          <div key={n} className="prom-builder__row">
            <select aria-label={`Alert ${n + 1} item`} value={alert.item} onChange={(e) => setDef({ ...def, alerts: (def.alerts ?? []).map((a, k) => (k === n ? { ...a, item: e.target.value } : a)) })}>
              {numericItems.map((x) => (
                <option key={x.id} value={x.id}>
                  {x.id}
                </option>
              ))}
            </select>
            <label>
              above <input aria-label={`Alert ${n + 1} threshold`} type="number" step="any" size={4} value={alert.above} onChange={(e) => setDef({ ...def, alerts: (def.alerts ?? []).map((a, k) => (k === n ? { ...a, above: Number(e.target.value) } : a)) })} />
            </label>
            <input className="grow" aria-label={`Alert ${n + 1} message`} placeholder="What staff are told" value={alert.message} onChange={(e) => setDef({ ...def, alerts: (def.alerts ?? []).map((a, k) => (k === n ? { ...a, message: e.target.value } : a)) })} />
            <button type="button" className="button button--small" onClick={() => setDef({ ...def, alerts: (def.alerts ?? []).filter((_, k) => k !== n) })}>
              Remove alert
            </button>
          </div>
        ))}
        <button type="button" className="button button--small" disabled={numericItems.length === 0} onClick={() => setDef({ ...def, alerts: [...(def.alerts ?? []), { item: numericItems[0]!.id, above: 0, message: '' }] })}>
          Add alert
        </button>
      </fieldset>

      {save.isError ? (
        <div className="notice notice--error" role="alert" data-testid="builder-errors">
          {fieldErrors.length ? (
            <ul>
              {fieldErrors.map(([field, message]) => (
                <li key={field}>
                  <code>{field}</code>: {message}
                </li>
              ))}
            </ul>
          ) : (
            errorMessage(save.error)
          )}
        </div>
      ) : null}
      <div className="form-actions">
        <button type="submit" className="button button--primary" disabled={save.isPending}>
          {templateId ? 'Save new version' : 'Save template'}
        </button>
      </div>
    </form>
  );
}

function ScaleEditor({
  n,
  scale,
  numericItems,
  onChange,
  onRemove,
}: {
  n: number;
  scale: PromScaleRule;
  numericItems: PromItem[];
  onChange: (patch: Partial<PromScaleRule>) => void;
  onRemove: () => void;
}) {
  const label = `Scale ${n + 1}`;
  const setMethod = (kind: PromMethod['kind']) =>
    onChange({ method: kind === 'linear_mean' ? { kind, slope: 25, intercept: -25 } : { kind }, impute_mean: kind === 'sum' ? scale.impute_mean : false });
  return (
    <div className="prom-builder__item" data-testid="builder-scale">
      <div className="prom-builder__row">
        <label>
          Id <input aria-label={`${label} id`} size={8} value={scale.id} onChange={(e) => onChange({ id: e.target.value })} />
        </label>
        <label className="grow">
          Label <input aria-label={`${label} label`} value={scale.label} onChange={(e) => onChange({ label: e.target.value })} />
        </label>
        <label>
          Method{' '}
          <select aria-label={`${label} method`} value={scale.method.kind} onChange={(e) => setMethod(e.target.value as PromMethod['kind'])}>
            <option value="sum">Sum</option>
            <option value="percent_of_answered_max">% of answered maximum</option>
            <option value="linear_mean">Mean, transformed linearly</option>
          </select>
        </label>
        <button type="button" className="button button--small" onClick={onRemove}>
          Remove scale
        </button>
      </div>
      {scale.method.kind === 'linear_mean' ? (
        <div className="prom-builder__row">
          score = <input aria-label={`${label} intercept`} type="number" step="any" size={5} value={scale.method.intercept} onChange={(e) => scale.method.kind === 'linear_mean' && onChange({ method: { ...scale.method, intercept: Number(e.target.value) } })} /> +{' '}
          <input aria-label={`${label} slope`} type="number" step="any" size={5} value={scale.method.slope} onChange={(e) => scale.method.kind === 'linear_mean' && onChange({ method: { ...scale.method, slope: Number(e.target.value) } })} /> × mean
        </div>
      ) : null}
      <div className="prom-builder__row">
        Items:
        {numericItems.map((item) => (
          <label key={item.id}>
            <input
              type="checkbox"
              aria-label={`${label} scores ${item.id}`}
              checked={scale.items.includes(item.id)}
              onChange={(e) => onChange({ items: e.target.checked ? [...scale.items, item.id] : scale.items.filter((x) => x !== item.id) })}
            />{' '}
            {item.id}
          </label>
        ))}
      </div>
      <div className="prom-builder__row">
        <label>
          Minimum answered{' '}
          <input aria-label={`${label} minimum answered`} type="number" size={4} placeholder="all" value={scale.min_answered ?? ''} onChange={(e) => onChange({ min_answered: e.target.value === '' ? null : Number(e.target.value) })} />
        </label>
        {scale.method.kind === 'sum' ? (
          <label>
            <input type="checkbox" aria-label={`${label} impute mean`} checked={scale.impute_mean ?? false} onChange={(e) => onChange({ impute_mean: e.target.checked })} /> Missing items count as the mean
          </label>
        ) : null}
        <label>
          MCID <input aria-label={`${label} MCID`} type="number" step="any" size={4} value={scale.mcid ?? ''} onChange={(e) => onChange({ mcid: e.target.value === '' ? null : Number(e.target.value) })} />
        </label>
        <label>
          <input type="checkbox" aria-label={`${label} higher is better`} checked={scale.higher_is_better ?? false} onChange={(e) => onChange({ higher_is_better: e.target.checked })} /> Higher is better
        </label>
      </div>
      <div className="prom-builder__options">
        Bands (ascending; a score falls in the first band whose maximum is at least it):
        {(scale.bands ?? []).map((band, k) => (
          <div key={k} className="prom-builder__row">
            up to <input aria-label={`${label} band ${k + 1} maximum`} type="number" step="any" size={5} value={band.max} onChange={(e) => onChange({ bands: (scale.bands ?? []).map((b, j) => (j === k ? { ...b, max: Number(e.target.value) } : b)) })} />
            <input aria-label={`${label} band ${k + 1} label`} placeholder="Label" value={band.label} onChange={(e) => onChange({ bands: (scale.bands ?? []).map((b, j) => (j === k ? { ...b, label: e.target.value } : b)) })} />
            <button type="button" className="button button--small" onClick={() => onChange({ bands: (scale.bands ?? []).filter((_, j) => j !== k) })}>
              ×
            </button>
          </div>
        ))}
        <button type="button" className="button button--small" onClick={() => onChange({ bands: [...(scale.bands ?? []), { max: ((scale.bands ?? []).at(-1)?.max ?? 0) + 5, label: '' }] })}>
          Add band to {label.toLowerCase()}
        </button>
      </div>
    </div>
  );
}

function numberList(text: string): number[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(Number)
    .filter((v) => Number.isFinite(v));
}
