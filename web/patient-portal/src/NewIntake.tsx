import { useId, useState, type FormEvent } from 'react';
import { Link, useNavigate } from 'react-router';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import {
  ApiError,
  PAIN_AREAS,
  RED_FLAGS,
  TextAreaField,
  TextField,
  emptyToNull,
  formErrorMessage,
  type Intake,
  type NewIntake,
  type Page,
  type RedFlag,
} from '@qivr/shared';
import { api } from './session';
import { keys } from './queryClient';

interface IntakeForm {
  chief_complaint: string;
  /** '' until the patient picks a level. */
  pain_level: string;
  pain_areas: string[];
  onset: string;
  duration: string;
  history: string;
  medications: string;
  allergies: string;
  goals: string;
  red_flags: Partial<Record<RedFlag, boolean>>;
}

const emptyForm: IntakeForm = {
  chief_complaint: '',
  pain_level: '',
  pain_areas: [],
  onset: '',
  duration: '',
  history: '',
  medications: '',
  allergies: '',
  goals: '',
  red_flags: {},
};

const formFields = [
  'chief_complaint',
  'pain_level',
  'pain_areas',
  'onset',
  'duration',
  'history',
  'medications',
  'allergies',
  'goals',
  'red_flags',
];

/** `pain_areas[2]` → `pain_areas`: the server names list items, the form shows the list. */
const baseField = (field: string) => field.replace(/\[\d+\]$/, '');

/** What must be filled in before sending; the server checks again. */
function problems(form: IntakeForm): Record<string, string> {
  const p: Record<string, string> = {};
  if (!form.chief_complaint.trim()) p['chief_complaint'] = 'Please tell us what the problem is.';
  if (form.pain_level === '') p['pain_level'] = 'Please choose how bad the pain is, from 0 to 10.';
  if (RED_FLAGS.some((f) => form.red_flags[f.key] === undefined)) p['red_flags'] = 'Please answer every question.';
  return p;
}

export function NewIntakePage() {
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [form, setForm] = useState<IntakeForm>(emptyForm);
  const [localProblems, setLocalProblems] = useState<Record<string, string>>({});
  const submit = useMutation({
    mutationFn: (body: NewIntake) => api.intakes.create(body),
    onSuccess: (intake) => {
      queryClient.setQueryData<Page<Intake>>(keys.intakes, (page) =>
        page ? { ...page, items: [intake, ...page.items.filter((i) => i.id !== intake.id)] } : page,
      );
      void navigate('/intakes', { state: { submitted: intake.id } });
    },
  });

  const serverErrors: Record<string, string> = {};
  if (submit.error instanceof ApiError) {
    for (const e of submit.error.errors) {
      const f = baseField(e.field);
      if (!(f in serverErrors)) serverErrors[f] = e.message;
    }
  }
  const errors = { ...serverErrors, ...localProblems };
  const anyYes = RED_FLAGS.some((f) => form.red_flags[f.key] === true);

  function set<K extends keyof IntakeForm>(key: K, value: IntakeForm[K]) {
    setForm((f) => ({ ...f, [key]: value }));
    if (localProblems[key]) setLocalProblems(({ [key]: _, ...rest }) => rest);
  }

  function onSubmit(e: FormEvent) {
    e.preventDefault();
    const p = problems(form);
    setLocalProblems(p);
    if (Object.keys(p).length > 0) return;
    submit.mutate({
      chief_complaint: form.chief_complaint.trim(),
      pain_level: Number(form.pain_level),
      pain_areas: form.pain_areas,
      onset: emptyToNull(form.onset),
      duration: emptyToNull(form.duration),
      history: emptyToNull(form.history),
      medications: emptyToNull(form.medications),
      allergies: emptyToNull(form.allergies),
      goals: emptyToNull(form.goals),
      red_flags: RED_FLAGS.filter((f) => form.red_flags[f.key] === true).map((f) => f.key),
    });
  }

  const summary =
    Object.keys(localProblems).length > 0
      ? 'Please complete the fields marked below.'
      : submit.isError
        ? formErrorMessage(
            submit.error,
            submit.error instanceof ApiError
              ? submit.error.errors.map((e) => e.field).filter((f) => formFields.includes(baseField(f)))
              : [],
          )
        : null;

  return (
    <section>
      <div className="page-head">
        <h1>New intake form</h1>
        <Link to="/intakes">Back to my intakes</Link>
      </div>
      <p className="muted">
        Tell your clinic about the problem you would like help with. A clinician reads every form; urgent answers are
        seen first.
      </p>
      <form onSubmit={onSubmit} noValidate aria-label="Intake form">
        {summary ? (
          <div className="notice notice--error" role="alert">
            {summary}
          </div>
        ) : null}
        <div className="card">
          <h2>Your problem</h2>
          <TextAreaField
            label="What is the main problem?"
            value={form.chief_complaint}
            onChange={(e) => set('chief_complaint', e.target.value)}
            error={errors['chief_complaint']}
            maxLength={500}
            required
          />
          <PainLevel value={form.pain_level} onChange={(v) => set('pain_level', v)} error={errors['pain_level']} />
          <fieldset className="choices" aria-describedby={errors['pain_areas'] ? 'pain-areas-error' : undefined}>
            <legend>Where is the pain? (tick all that apply)</legend>
            <div className="choice-grid">
              {PAIN_AREAS.map((area) => (
                <label key={area} className="choice">
                  <input
                    type="checkbox"
                    checked={form.pain_areas.includes(area)}
                    onChange={(e) =>
                      set(
                        'pain_areas',
                        e.target.checked ? [...form.pain_areas, area] : form.pain_areas.filter((a) => a !== area),
                      )
                    }
                  />
                  {area}
                </label>
              ))}
            </div>
            {errors['pain_areas'] ? (
              <div id="pain-areas-error" className="field__error" role="alert">
                {errors['pain_areas']}
              </div>
            ) : null}
          </fieldset>
          <div className="form-grid">
            <TextField
              label="When did it start?"
              value={form.onset}
              onChange={(e) => set('onset', e.target.value)}
              error={errors['onset']}
              hint="For example: three weeks ago, after gardening"
            />
            <TextField
              label="How long does it last?"
              value={form.duration}
              onChange={(e) => set('duration', e.target.value)}
              error={errors['duration']}
              hint="For example: constant, or a few hours at a time"
            />
          </div>
        </div>

        <div className="card">
          <h2>About you</h2>
          <TextAreaField
            label="Anything else we should know about this problem or your health?"
            value={form.history}
            onChange={(e) => set('history', e.target.value)}
            error={errors['history']}
            hint="Earlier injuries, operations, what makes it better or worse"
          />
          <div className="form-grid">
            <TextAreaField
              label="Medications you take"
              value={form.medications}
              onChange={(e) => set('medications', e.target.value)}
              error={errors['medications']}
            />
            <TextAreaField
              label="Allergies"
              value={form.allergies}
              onChange={(e) => set('allergies', e.target.value)}
              error={errors['allergies']}
            />
          </div>
          <TextAreaField
            label="What would you like to be able to do again?"
            value={form.goals}
            onChange={(e) => set('goals', e.target.value)}
            error={errors['goals']}
          />
        </div>

        <fieldset className="card choices" aria-describedby={errors['red_flags'] ? 'red-flags-error' : undefined}>
          <legend className="visually-hidden">Important questions</legend>
          <h2>Important questions</h2>
          <p className="muted">These help us see quickly who needs care first.</p>
          {RED_FLAGS.map((flag) => (
            <YesNo
              key={flag.key}
              question={flag.question}
              value={form.red_flags[flag.key]}
              onChange={(v) => set('red_flags', { ...form.red_flags, [flag.key]: v })}
            />
          ))}
          {errors['red_flags'] ? (
            <div id="red-flags-error" className="field__error" role="alert">
              {errors['red_flags']}
            </div>
          ) : null}
          {anyYes ? (
            <div className="notice notice--error" role="status">
              Please also call your clinic today. If you suddenly cannot control your bladder or bowels, or your legs
              become weak, go to an emergency department now.
            </div>
          ) : null}
        </fieldset>

        <div className="form-actions">
          <button type="submit" className="button button--primary" disabled={submit.isPending}>
            {submit.isPending ? 'Sending…' : 'Send to my clinic'}
          </button>
          <Link className="button" to="/intakes">
            Cancel
          </Link>
        </div>
      </form>
    </section>
  );
}

function PainLevel({ value, onChange, error }: { value: string; onChange: (v: string) => void; error?: string | undefined }) {
  const id = useId();
  const errorId = `${id}-error`;
  return (
    <div className={error ? 'field field--invalid' : 'field'}>
      <label htmlFor={id}>Pain level right now (0 = no pain, 10 = worst imaginable)</label>
      <div className="pain-scale">
        <input
          type="range"
          min={0}
          max={10}
          step={1}
          aria-hidden="true"
          tabIndex={-1}
          value={value === '' ? 0 : value}
          onChange={(e) => onChange(e.target.value)}
        />
        <input
          id={id}
          type="number"
          min={0}
          max={10}
          step={1}
          inputMode="numeric"
          value={value}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? errorId : undefined}
          onChange={(e) => onChange(e.target.value === '' ? '' : String(Math.max(0, Math.min(10, Math.round(Number(e.target.value))))))}
        />
      </div>
      {error ? (
        <div id={errorId} className="field__error" role="alert">
          {error}
        </div>
      ) : null}
    </div>
  );
}

function YesNo({ question, value, onChange }: { question: string; value: boolean | undefined; onChange: (v: boolean) => void }) {
  const name = useId();
  return (
    <div className="question" role="radiogroup" aria-label={question}>
      <span className="question__text">{question}</span>
      <span className="question__answers">
        <label className="choice">
          <input type="radio" name={name} checked={value === true} onChange={() => onChange(true)} /> Yes
        </label>
        <label className="choice">
          <input type="radio" name={name} checked={value === false} onChange={() => onChange(false)} /> No
        </label>
      </span>
    </div>
  );
}
