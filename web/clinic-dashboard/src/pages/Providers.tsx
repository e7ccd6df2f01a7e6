import { useState, type FormEvent } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import {
  ApiError,
  TextField,
  WEEKDAY_NAMES,
  emptyToNull,
  errorMessage,
  formErrorMessage,
  normalizeHours,
  type NewProvider,
  type Provider,
  type ProviderPatch,
  type WorkingHours,
} from '@qivr/shared';
import { api } from '../session';
import { AdminOnly } from '../admin';
import { appointmentKeys, useProviders } from '../appointments';

export const PROVIDERS_ADMIN_ONLY = 'Only clinic admins can manage providers.';

export function ProvidersPage() {
  return (
    <AdminOnly title="Providers" message={PROVIDERS_ADMIN_ONLY}>
      <Providers />
    </AdminOnly>
  );
}

/** Weekdays Monday to Friday, 09:00–17:00: the starting point for a new provider. */
const OFFICE_HOURS: WorkingHours[] = [1, 2, 3, 4, 5].map((weekday) => ({ weekday, start: '09:00', end: '17:00' }));

function hoursSummary(hours: readonly WorkingHours[]): string {
  if (hours.length === 0) return 'No working hours';
  return normalizeHours(hours)
    .map((h) => `${WEEKDAY_NAMES[h.weekday - 1]?.slice(0, 3) ?? h.weekday} ${h.start}–${h.end}`)
    .join(', ');
}

function Providers() {
  const providers = useProviders();
  const [editing, setEditing] = useState<string | null>(null);
  const items = providers.data?.items ?? [];
  return (
    <section>
      <div className="page-head">
        <h1>Providers</h1>
      </div>
      <p className="muted">
        The clinicians appointments are booked with. Working hours are in the clinic's time zone (see Scheduling settings);
        patients booking directly can only pick times inside them. An inactive provider takes no new bookings and is hidden
        from patients; their appointments stay.
      </p>
      {providers.isPending ? (
        <p className="muted">Loading providers…</p>
      ) : providers.isError ? (
        <div className="notice notice--error" role="alert">
          Could not load providers: {errorMessage(providers.error)}
        </div>
      ) : items.length === 0 ? (
        <p className="muted">No providers yet.</p>
      ) : (
        <table className="list" aria-label="Providers">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Specialty</th>
              <th scope="col">Working hours</th>
              <th scope="col">Status</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {items.map((p) =>
              editing === p.id ? (
                <tr key={p.id} data-testid="provider-row" data-id={p.id}>
                  <td colSpan={5}>
                    <EditProvider provider={p} onDone={() => setEditing(null)} />
                  </td>
                </tr>
              ) : (
                <tr key={p.id} data-testid="provider-row" data-id={p.id}>
                  <td>
                    {p.name}
                    {p.email ? <div className="muted">{p.email}</div> : null}
                  </td>
                  <td>{p.specialty ?? '—'}</td>
                  <td className="break">{hoursSummary(p.working_hours)}</td>
                  <td>
                    <span className={p.active ? 'status status--resolved' : 'status status--disabled'}>{p.active ? 'Active' : 'Inactive'}</span>
                  </td>
                  <td className="row-actions">
                    <button type="button" className="button button--small" onClick={() => setEditing(p.id)}>
                      Edit
                    </button>
                  </td>
                </tr>
              ),
            )}
          </tbody>
        </table>
      )}
      <AddProvider />
    </section>
  );
}

/** Puts a saved provider into the cached list, then re-reads it for the server's order. */
function useProviderSaved() {
  const queryClient = useQueryClient();
  return (saved: Provider) => {
    queryClient.setQueryData<{ items: Provider[]; next_cursor: string | null }>(appointmentKeys.providers, (data) =>
      data
        ? {
            ...data,
            items: data.items.some((p) => p.id === saved.id) ? data.items.map((p) => (p.id === saved.id ? saved : p)) : [...data.items, saved],
          }
        : data,
    );
    void queryClient.invalidateQueries({ queryKey: appointmentKeys.providers });
  };
}

const providerFields = ['name', 'specialty', 'email', 'active', 'working_hours'];
const knownField = (f: string) => providerFields.includes(f) || f.startsWith('working_hours[');

function EditProvider({ provider, onDone }: { provider: Provider; onDone: () => void }) {
  const saved = useProviderSaved();
  const [name, setName] = useState(provider.name);
  const [specialty, setSpecialty] = useState(provider.specialty ?? '');
  const [active, setActive] = useState(provider.active);
  const [hours, setHours] = useState(() => normalizeHours(provider.working_hours));
  const save = useMutation({
    mutationFn: (patch: ProviderPatch) => api.providers.update(provider.id, patch),
    onSuccess: (p) => {
      saved(p);
      onDone();
    },
  });
  const errors = save.error instanceof ApiError ? save.error.fieldErrors : {};

  function onSubmit(e: FormEvent) {
    e.preventDefault();
    const patch: ProviderPatch = {};
    if (name.trim() !== provider.name) patch.name = name.trim();
    if (emptyToNull(specialty) !== provider.specialty) patch.specialty = emptyToNull(specialty);
    if (active !== provider.active) patch.active = active;
    if (JSON.stringify(normalizeHours(hours)) !== JSON.stringify(normalizeHours(provider.working_hours))) patch.working_hours = normalizeHours(hours);
    if (Object.keys(patch).length === 0) return onDone();
    save.mutate(patch);
  }

  return (
    <form onSubmit={onSubmit} noValidate aria-label={`Edit ${provider.name}`}>
      {save.isError ? (
        <div className="notice notice--error" role="alert">
          {save.error instanceof ApiError && save.error.errors.every((f) => knownField(f.field)) && save.error.errors.length > 0
            ? 'Please correct the fields marked below.'
            : formErrorMessage(save.error, providerFields)}
        </div>
      ) : null}
      <div className="form-grid">
        <TextField label="Name" value={name} onChange={(e) => setName(e.target.value)} error={errors['name']} required />
        <TextField label="Specialty" value={specialty} onChange={(e) => setSpecialty(e.target.value)} error={errors['specialty']} />
      </div>
      <label className="choice">
        <input type="checkbox" checked={active} onChange={(e) => setActive(e.target.checked)} /> Active (takes new bookings)
      </label>
      <HoursEditor hours={hours} onChange={setHours} errors={errors} />
      <div className="form-actions">
        <button type="submit" className="button button--primary" disabled={save.isPending}>
          {save.isPending ? 'Saving…' : 'Save provider'}
        </button>
        <button type="button" className="button" onClick={onDone}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function AddProvider() {
  const saved = useProviderSaved();
  const [name, setName] = useState('');
  const [specialty, setSpecialty] = useState('');
  const [email, setEmail] = useState('');
  const [hours, setHours] = useState<WorkingHours[]>(OFFICE_HOURS);
  const [added, setAdded] = useState<string | null>(null);
  const create = useMutation({
    mutationFn: (body: NewProvider) => api.providers.create(body),
    onSuccess: (p) => {
      saved(p);
      setAdded(p.name);
      setName('');
      setSpecialty('');
      setEmail('');
      setHours(OFFICE_HOURS);
    },
  });
  const errors = create.error instanceof ApiError ? create.error.fieldErrors : {};

  function onSubmit(e: FormEvent) {
    e.preventDefault();
    setAdded(null);
    create.mutate({
      name: name.trim(),
      specialty: emptyToNull(specialty) ?? undefined,
      email: emptyToNull(email) ?? undefined,
      working_hours: normalizeHours(hours),
    });
  }

  return (
    <form className="card" onSubmit={onSubmit} noValidate aria-label="Add provider">
      <h2>Add provider</h2>
      {create.isError ? (
        <div className="notice notice--error" role="alert">
          {create.error instanceof ApiError && create.error.errors.length > 0 && create.error.errors.every((f) => knownField(f.field))
            ? 'Please correct the fields marked below.'
            : formErrorMessage(create.error, providerFields)}
        </div>
      ) : null}
      {added ? (
        <div className="notice notice--ok" role="status">
          {added} added.
        </div>
      ) : null}
      <div className="form-grid">
        <TextField label="Name" value={name} onChange={(e) => setName(e.target.value)} error={errors['name']} required />
        <TextField label="Specialty" value={specialty} onChange={(e) => setSpecialty(e.target.value)} error={errors['specialty']} />
        <TextField label="Email" type="email" value={email} onChange={(e) => setEmail(e.target.value)} error={errors['email']} />
      </div>
      <HoursEditor hours={hours} onChange={setHours} errors={errors} />
      <div className="form-actions">
        <button type="submit" className="button button--primary" disabled={create.isPending}>
          {create.isPending ? 'Adding…' : 'Add provider'}
        </button>
      </div>
    </form>
  );
}

/** Weekly blocks of working time: a weekday, a start and an end each; several per day allowed. */
function HoursEditor({
  hours,
  onChange,
  errors,
}: {
  hours: WorkingHours[];
  onChange: (hours: WorkingHours[]) => void;
  errors: Readonly<Record<string, string>>;
}) {
  const set = (i: number, change: Partial<WorkingHours>) => onChange(hours.map((h, j) => (j === i ? { ...h, ...change } : h)));
  return (
    <fieldset className="choices hours-editor">
      <legend>Working hours</legend>
      {errors['working_hours'] ? (
        <div className="field__error" role="alert">
          {errors['working_hours']}
        </div>
      ) : null}
      {hours.length === 0 ? <p className="muted">No working hours: patients cannot book this provider directly.</p> : null}
      {hours.map((h, i) => {
        const error = errors[`working_hours[${i}].weekday`] ?? errors[`working_hours[${i}].end`] ?? errors[`working_hours[${i}].start`];
        return (
          <div key={i} className="hours-row" data-testid="hours-row">
            <select
              aria-label={`Day of block ${i + 1}`}
              value={h.weekday}
              onChange={(e) => set(i, { weekday: Number(e.target.value) })}
              aria-invalid={Boolean(errors[`working_hours[${i}].weekday`]) || undefined}
            >
              {WEEKDAY_NAMES.map((d, k) => (
                <option key={d} value={k + 1}>
                  {d}
                </option>
              ))}
            </select>
            <input type="time" aria-label={`Start of block ${i + 1}`} value={h.start} onChange={(e) => set(i, { start: e.target.value })} />
            <span aria-hidden="true">–</span>
            <input
              type="time"
              aria-label={`End of block ${i + 1}`}
              value={h.end}
              onChange={(e) => set(i, { end: e.target.value })}
              aria-invalid={Boolean(errors[`working_hours[${i}].end`]) || undefined}
            />
            <button type="button" className="button button--small" aria-label={`Remove block ${i + 1}`} onClick={() => onChange(hours.filter((_, j) => j !== i))}>
              Remove
            </button>
            {error ? (
              <span className="field__error" role="alert">
                {error}
              </span>
            ) : null}
          </div>
        );
      })}
      <div className="form-actions">
        <button
          type="button"
          className="button button--small"
          onClick={() => {
            const last = hours[hours.length - 1];
            onChange([...hours, last ? { ...last, weekday: (last.weekday % 7) + 1 } : { weekday: 1, start: '09:00', end: '17:00' }]);
          }}
        >
          Add hours
        </button>
        <button type="button" className="button button--small" onClick={() => onChange(OFFICE_HOURS)}>
          Mon–Fri 09:00–17:00
        </button>
      </div>
    </fieldset>
  );
}
