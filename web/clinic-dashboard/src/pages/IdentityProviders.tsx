import { useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import {
  ApiError,
  TextField,
  errorMessage,
  formErrorMessage,
  formatDateTime,
  type IdentityProvider,
  type NewIdentityProvider,
} from '@qivr/shared';
import { api } from '../session';
import { keys } from '../queryClient';
import { AdminOnly, AdminOnlyNotice, isForbidden } from '../admin';

export const IDP_ADMIN_ONLY = 'Only clinic admins can manage identity providers.';

export function IdentityProvidersPage() {
  return (
    <AdminOnly title="Identity providers" message={IDP_ADMIN_ONLY}>
      <IdentityProviders />
    </AdminOnly>
  );
}

function IdentityProviders() {
  const providers = useQuery({
    queryKey: keys.identityProviders,
    queryFn: ({ signal }) => api.identityProviders.list(signal),
  });
  if (providers.isError && isForbidden(providers.error)) {
    return <AdminOnlyNotice title="Identity providers" message={IDP_ADMIN_ONLY} />;
  }
  const items = providers.data?.items ?? [];
  return (
    <section>
      <div className="page-head">
        <h1>Identity providers</h1>
      </div>
      <p className="muted">
        Staff can sign in with tokens from an identity provider you register here; for an Amazon Cognito user pool the
        issuer is <code>https://cognito-idp.&lt;region&gt;.amazonaws.com/&lt;pool id&gt;</code> and the audience is the
        app client id. Link each person on the <Link to="/users">Users</Link> page by their “External subject”.
      </p>
      {providers.isPending ? (
        <p className="muted">Loading identity providers…</p>
      ) : providers.isError ? (
        <div className="notice notice--error" role="alert">
          Could not load identity providers: {errorMessage(providers.error)}
        </div>
      ) : items.length === 0 ? (
        <p className="muted">No identity providers: everyone signs in with a Qivr password.</p>
      ) : (
        <table className="list" aria-label="Identity providers">
          <thead>
            <tr>
              <th scope="col">Issuer</th>
              <th scope="col">Audience</th>
              <th scope="col">JWKS URL</th>
              <th scope="col">Added</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {items.map((p) => (
              <ProviderRow key={p.id} provider={p} />
            ))}
          </tbody>
        </table>
      )}
      <AddProvider />
    </section>
  );
}

function ProviderRow({ provider: p }: { provider: IdentityProvider }) {
  const queryClient = useQueryClient();
  const [confirming, setConfirming] = useState(false);
  const remove = useMutation({
    mutationFn: () => api.identityProviders.remove(p.id),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: keys.identityProviders }),
  });
  return (
    <>
      <tr data-testid="idp-row">
        <td className="break">{p.issuer}</td>
        <td className="break">{p.audience}</td>
        <td className="break">{p.jwks_url}</td>
        <td>{formatDateTime(p.created_at)}</td>
        <td className="row-actions">
          {confirming ? (
            <>
              <button
                type="button"
                className="button button--small button--danger"
                disabled={remove.isPending}
                onClick={() => remove.mutate()}
              >
                {remove.isPending ? 'Removing…' : 'Yes, remove'}
              </button>
              <button type="button" className="button button--small" onClick={() => setConfirming(false)}>
                Cancel
              </button>
            </>
          ) : (
            <button
              type="button"
              className="button button--small"
              aria-label={`Remove ${p.issuer}`}
              onClick={() => setConfirming(true)}
            >
              Remove
            </button>
          )}
        </td>
      </tr>
      {confirming && !remove.isError ? (
        <tr>
          <td colSpan={5} className="muted">
            Tokens from this issuer will no longer be accepted.
          </td>
        </tr>
      ) : null}
      {remove.isError ? (
        <tr>
          <td colSpan={5}>
            <div className="notice notice--error" role="alert">
              Could not remove it: {errorMessage(remove.error)}
            </div>
          </td>
        </tr>
      ) : null}
    </>
  );
}

const providerFields = ['issuer', 'audience', 'jwks_url'] as const;
const emptyProvider: NewIdentityProvider = { issuer: '', audience: '', jwks_url: '' };

function AddProvider() {
  const queryClient = useQueryClient();
  const [form, setForm] = useState(emptyProvider);
  const [added, setAdded] = useState(false);
  const add = useMutation({
    mutationFn: (body: NewIdentityProvider) => api.identityProviders.create(body),
    onSuccess: () => {
      setForm(emptyProvider);
      setAdded(true);
      void queryClient.invalidateQueries({ queryKey: keys.identityProviders });
    },
  });
  const fieldErrors = add.error instanceof ApiError ? add.error.fieldErrors : {};
  const set = (k: keyof NewIdentityProvider) => (e: { target: { value: string } }) => {
    setAdded(false);
    setForm((f) => ({ ...f, [k]: e.target.value }));
  };

  function onSubmit(e: FormEvent) {
    e.preventDefault();
    add.mutate({ issuer: form.issuer.trim(), audience: form.audience.trim(), jwks_url: form.jwks_url.trim() });
  }

  return (
    <form className="card" onSubmit={onSubmit} noValidate aria-label="Add an identity provider">
      <h2>Add an identity provider</h2>
      {add.isError ? (
        <div className="notice notice--error" role="alert">
          {formErrorMessage(add.error, providerFields)}
        </div>
      ) : null}
      {added ? (
        <div className="notice notice--ok" role="status">
          Identity provider added.
        </div>
      ) : null}
      <TextField
        label="Issuer"
        placeholder="https://cognito-idp.<region>.amazonaws.com/<pool id>"
        value={form.issuer}
        onChange={set('issuer')}
        error={fieldErrors['issuer']}
        hint="Exactly the tokens' iss claim."
        required
      />
      <TextField
        label="Audience"
        placeholder="App client id"
        value={form.audience}
        onChange={set('audience')}
        error={fieldErrors['audience']}
        hint="For Cognito, the app client id (the ID tokens' aud, the access tokens' client_id)."
        required
      />
      <TextField
        label="JWKS URL"
        type="url"
        placeholder="https://…/.well-known/jwks.json"
        value={form.jwks_url}
        onChange={set('jwks_url')}
        error={fieldErrors['jwks_url']}
        hint="For Cognito, the issuer followed by /.well-known/jwks.json."
        required
      />
      <div className="form-actions">
        <button type="submit" className="button button--primary" disabled={add.isPending}>
          {add.isPending ? 'Adding…' : 'Add identity provider'}
        </button>
      </div>
    </form>
  );
}
