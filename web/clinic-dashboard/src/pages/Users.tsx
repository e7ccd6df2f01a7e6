import { useState, type FormEvent } from 'react';
import { useInfiniteQuery, useMutation, useQueryClient, type InfiniteData } from '@tanstack/react-query';
import {
  ApiError,
  SelectField,
  TextField,
  changedFields,
  errorMessage,
  formErrorMessage,
  formatDateTime,
  useAuthState,
  type NewUser,
  type Page,
  type StaffRole,
  type User,
  type UserPatch,
} from '@qivr/shared';
import { api, auth } from '../session';
import { keys, replaceInPages } from '../queryClient';
import { AdminOnly, AdminOnlyNotice, isForbidden } from '../admin';

export const USERS_ADMIN_ONLY = 'Only clinic admins can manage users.';
const PAGE_SIZE = 50;
const roleOptions: { value: StaffRole; label: string }[] = [
  { value: 'staff', label: 'Staff' },
  { value: 'admin', label: 'Admin' },
];

export function UsersPage() {
  return (
    <AdminOnly title="Users" message={USERS_ADMIN_ONLY}>
      <Users />
    </AdminOnly>
  );
}

function Users() {
  const query = useInfiniteQuery({
    queryKey: keys.userList,
    queryFn: ({ pageParam, signal }) => api.users.list({ cursor: pageParam, limit: PAGE_SIZE }, signal),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const users = query.data?.pages.flatMap((p) => p.items) ?? [];
  const loadMoreError = query.isFetchNextPageError ? query.error : null;

  if (query.isError && isForbidden(query.error)) return <AdminOnlyNotice title="Users" message={USERS_ADMIN_ONLY} />;
  return (
    <section>
      <div className="page-head">
        <h1>Users</h1>
      </div>
      <InviteUser />
      {query.isPending ? (
        <p className="muted">Loading users…</p>
      ) : query.isError && !query.data ? (
        <div className="notice notice--error" role="alert">
          Could not load users: {errorMessage(query.error)}
        </div>
      ) : (
        <>
          <table className="list" aria-label="Users">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Email</th>
                <th scope="col">Role</th>
                <th scope="col">Status</th>
                <th scope="col">Last sign-in</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {users.map((u) => (
                <UserRow key={u.id} user={u} />
              ))}
            </tbody>
          </table>
          <div className="list-footer">
            {query.hasNextPage ? (
              <button
                type="button"
                className="button"
                onClick={() => void query.fetchNextPage()}
                disabled={query.isFetchingNextPage}
              >
                {query.isFetchingNextPage ? 'Loading…' : 'Load more'}
              </button>
            ) : (
              <span className="muted">
                {users.length} user{users.length === 1 ? '' : 's'}
              </span>
            )}
          </div>
          {loadMoreError ? (
            <div className="notice notice--error" role="alert">
              {errorMessage(loadMoreError)}
            </div>
          ) : null}
        </>
      )}
    </section>
  );
}

const inviteFields = ['email', 'name', 'role'] as const;
const emptyInvite = { email: '', name: '', role: 'staff' as StaffRole };

function InviteUser() {
  const queryClient = useQueryClient();
  const [form, setForm] = useState(emptyInvite);
  const [sentTo, setSentTo] = useState<string | null>(null);
  const invite = useMutation({
    mutationFn: (body: NewUser) => api.users.create(body),
    onSuccess: (user) => {
      setSentTo(user.email);
      setForm(emptyInvite);
      void queryClient.invalidateQueries({ queryKey: keys.users });
    },
  });
  const fieldErrors = invite.error instanceof ApiError ? invite.error.fieldErrors : {};

  function onSubmit(e: FormEvent) {
    e.preventDefault();
    setSentTo(null);
    invite.mutate({ email: form.email.trim(), name: form.name.trim(), role: form.role });
  }

  return (
    <form className="card" onSubmit={onSubmit} noValidate aria-label="Invite a user">
      <h2>Invite a user</h2>
      <p className="muted">They get an email with a link to choose their password.</p>
      {invite.isError ? (
        <div className="notice notice--error" role="alert">
          {formErrorMessage(invite.error, inviteFields)}
        </div>
      ) : null}
      {sentTo ? (
        <div className="notice notice--ok" role="status">
          Invitation sent to {sentTo}.
        </div>
      ) : null}
      <div className="form-grid">
        <TextField
          label="Email"
          type="email"
          autoComplete="off"
          value={form.email}
          onChange={(e) => setForm((f) => ({ ...f, email: e.target.value }))}
          error={fieldErrors['email']}
          required
        />
        <TextField
          label="Name"
          autoComplete="off"
          value={form.name}
          onChange={(e) => setForm((f) => ({ ...f, name: e.target.value }))}
          error={fieldErrors['name']}
          required
        />
        <SelectField
          label="Role"
          options={roleOptions}
          value={form.role}
          onChange={(e) => setForm((f) => ({ ...f, role: e.target.value as StaffRole }))}
          error={fieldErrors['role']}
        />
      </div>
      <div className="form-actions">
        <button type="submit" className="button button--primary" disabled={invite.isPending}>
          {invite.isPending ? 'Sending…' : 'Send invitation'}
        </button>
      </div>
    </form>
  );
}

function useUserUpdate(userId: string, onDone?: () => void) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (patch: UserPatch) => api.users.update(userId, patch),
    onSuccess: (updated) => {
      queryClient.setQueryData<InfiniteData<Page<User>>>(keys.userList, (data) => replaceInPages(data, updated));
      onDone?.();
    },
  });
}

function UserRow({ user }: { user: User }) {
  const myId = useAuthState(auth, (s) => s.user?.id);
  const isMe = user.id === myId;
  const [editing, setEditing] = useState(false);
  const update = useUserUpdate(user.id);
  const staffRole = user.role === 'admin' || user.role === 'staff';

  return (
    <>
      <tr data-testid="user-row">
        <td>
          {user.name}
          {isMe ? <span className="muted"> (you)</span> : null}
        </td>
        <td>{user.email}</td>
        <td>
          {staffRole ? (
            <select
              aria-label={`Role of ${user.name}`}
              value={user.role}
              disabled={isMe || update.isPending}
              title={isMe ? 'You cannot change your own role.' : undefined}
              onChange={(e) => update.mutate({ role: e.target.value as StaffRole })}
            >
              {roleOptions.map((o) => (
                <option key={o.value} value={o.value}>
                  {o.label}
                </option>
              ))}
            </select>
          ) : (
            user.role
          )}
        </td>
        <td>
          <UserStatus user={user} />
        </td>
        <td>{formatDateTime(user.last_login_at)}</td>
        <td className="row-actions">
          <button
            type="button"
            className="button button--small"
            aria-expanded={editing}
            aria-label={`Edit ${user.name}`}
            onClick={() => setEditing((v) => !v)}
          >
            Edit
          </button>
          {isMe ? null : (
            <button
              type="button"
              className="button button--small"
              disabled={update.isPending}
              aria-label={`${user.disabled ? 'Enable' : 'Disable'} ${user.name}`}
              onClick={() => update.mutate({ disabled: !user.disabled })}
            >
              {user.disabled ? 'Enable' : 'Disable'}
            </button>
          )}
        </td>
      </tr>
      {update.isError ? (
        <tr>
          <td colSpan={6}>
            <div className="notice notice--error" role="alert">
              Could not change {user.name}: {errorMessage(update.error)}
            </div>
          </td>
        </tr>
      ) : null}
      {editing ? (
        <tr>
          <td colSpan={6}>
            <EditUser user={user} onClose={() => setEditing(false)} />
          </td>
        </tr>
      ) : null}
    </>
  );
}

function UserStatus({ user }: { user: User }) {
  return (
    <span className="status-list">
      {user.disabled ? <span className="status status--disabled">disabled</span> : null}
      {!user.has_password ? <span className="status status--invited">invited</span> : null}
      {!user.disabled && user.has_password ? <span className="status status--resolved">active</span> : null}
      {user.external_subject ? (
        <span className="status" title={`External subject: ${user.external_subject}`}>
          external sign-in
        </span>
      ) : null}
    </span>
  );
}

const editFields = ['name', 'external_subject'] as const;

function EditUser({ user, onClose }: { user: User; onClose: () => void }) {
  const original = { name: user.name, external_subject: user.external_subject };
  const [form, setForm] = useState({ name: user.name, external_subject: user.external_subject ?? '' });
  const update = useUserUpdate(user.id, onClose);
  const fieldErrors = update.error instanceof ApiError ? update.error.fieldErrors : {};

  function onSubmit(e: FormEvent) {
    e.preventDefault();
    const patch = changedFields(original, form, ['name']);
    if (Object.keys(patch).length === 0) {
      onClose();
      return;
    }
    update.mutate(patch as UserPatch);
  }

  return (
    <form onSubmit={onSubmit} noValidate aria-label={`Edit ${user.name}`}>
      {update.isError ? (
        <div className="notice notice--error" role="alert">
          {formErrorMessage(update.error, editFields)}
        </div>
      ) : null}
      <div className="form-grid">
        <TextField
          label="Name"
          value={form.name}
          onChange={(e) => setForm((f) => ({ ...f, name: e.target.value }))}
          error={fieldErrors['name']}
          required
        />
        <TextField
          label="External subject"
          value={form.external_subject}
          onChange={(e) => setForm((f) => ({ ...f, external_subject: e.target.value }))}
          error={fieldErrors['external_subject']}
          hint="The sub claim of this user's tokens at the clinic's identity provider (for Cognito, the user's sub). Leave blank to unlink."
          autoComplete="off"
        />
      </div>
      <div className="form-actions">
        <button type="submit" className="button button--primary button--small" disabled={update.isPending}>
          {update.isPending ? 'Saving…' : 'Save'}
        </button>
        <button type="button" className="button button--small" onClick={onClose}>
          Cancel
        </button>
      </div>
    </form>
  );
}
