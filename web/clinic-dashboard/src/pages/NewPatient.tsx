import { useState, type FormEvent } from 'react';
import { Link, useNavigate } from 'react-router';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { ApiError, TextField, formErrorMessage, type NewPatient as NewPatientBody } from '@qivr/shared';
import { api } from '../session';
import { keys } from '../queryClient';

const empty = { first_name: '', last_name: '', date_of_birth: '', email: '', phone: '' };

export function NewPatient() {
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [form, setForm] = useState(empty);
  /** Blank required fields, caught before asking the server (which names one bad field at a time when a body does not parse). */
  const [missing, setMissing] = useState<Record<string, string>>({});
  const create = useMutation({
    mutationFn: (body: NewPatientBody) => api.patients.create(body),
    onSuccess: (patient) => {
      void queryClient.invalidateQueries({ queryKey: keys.patients });
      queryClient.setQueryData(keys.patient(patient.id), patient);
      navigate(`/patients/${patient.id}`);
    },
  });
  const fieldErrors = { ...(create.error instanceof ApiError ? create.error.fieldErrors : {}), ...missing };
  const set = (k: keyof typeof empty) => (e: { target: { value: string } }) =>
    setForm((f) => ({ ...f, [k]: e.target.value }));

  function onSubmit(e: FormEvent) {
    e.preventDefault();
    const blank: Record<string, string> = {};
    for (const k of ['first_name', 'last_name', 'date_of_birth'] as const) {
      if (!form[k].trim()) blank[k] = 'Required';
    }
    setMissing(blank);
    if (Object.keys(blank).length > 0) {
      create.reset();
      return;
    }
    const body: NewPatientBody = {
      first_name: form.first_name.trim(),
      last_name: form.last_name.trim(),
      date_of_birth: form.date_of_birth,
    };
    if (form.email.trim()) body.email = form.email.trim();
    if (form.phone.trim()) body.phone = form.phone.trim();
    create.mutate(body);
  }

  return (
    <section>
      <div className="page-head">
        <h1>New patient</h1>
        <Link to="/patients">Back to patients</Link>
      </div>
      <form className="card" onSubmit={onSubmit} noValidate aria-label="New patient">
        {create.isError ? (
          <div className="notice notice--error" role="alert">
            {formErrorMessage(create.error, Object.keys(empty))}
          </div>
        ) : null}
        <div className="form-grid">
          <TextField label="First name" value={form.first_name} onChange={set('first_name')} error={fieldErrors['first_name']} required />
          <TextField label="Last name" value={form.last_name} onChange={set('last_name')} error={fieldErrors['last_name']} required />
          <TextField label="Date of birth" type="date" value={form.date_of_birth} onChange={set('date_of_birth')} error={fieldErrors['date_of_birth']} required />
          <TextField label="Email" type="email" value={form.email} onChange={set('email')} error={fieldErrors['email']} />
          <TextField label="Phone" type="tel" value={form.phone} onChange={set('phone')} error={fieldErrors['phone']} />
        </div>
        <div className="form-actions">
          <button type="submit" className="button button--primary" disabled={create.isPending}>
            {create.isPending ? 'Saving…' : 'Create patient'}
          </button>
        </div>
      </form>
    </section>
  );
}
