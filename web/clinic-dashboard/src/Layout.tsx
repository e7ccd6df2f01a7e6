import { NavLink, Outlet } from 'react-router';
import { LiveStatus, useAuthState } from '@qivr/shared';
import { auth } from './session';
import { InboxNavLink } from './inbox';
import { AppointmentsLive } from './appointments';
import { PromsLive } from './proms';

/** Admins only; staff see neither the entries nor the pages (the API answers them 403). */
const administration = [
  { to: '/providers', label: 'Providers' },
  { to: '/scheduling', label: 'Scheduling settings' },
  { to: '/consent-types', label: 'Consent types' },
  { to: '/users', label: 'Users' },
  { to: '/audit', label: 'Audit log' },
  { to: '/identity-providers', label: 'Identity providers' },
  { to: '/mailbox', label: 'Mailbox' },
];

export function Layout() {
  const user = useAuthState(auth, (s) => s.user);
  return (
    <div className="shell">
      <nav className="shell__nav" aria-label="Main">
        <div className="shell__brand">Qivr clinic</div>
        <NavLink to="/patients">Patients</NavLink>
        <NavLink to="/evaluations">Evaluations</NavLink>
        <InboxNavLink />
        <NavLink to="/appointments">Appointments</NavLink>
        <NavLink to="/proms">PROMs</NavLink>
        {user?.role === 'admin' ? (
          <>
            <div className="shell__section" aria-hidden="true">
              Administration
            </div>
            {administration.map((item) => (
              <NavLink key={item.to} to={item.to}>
                {item.label}
              </NavLink>
            ))}
          </>
        ) : null}
      </nav>
      <div className="shell__main">
        <header className="topbar">
          <LiveStatus />
          <NavLink to="/settings" data-testid="current-user" title="My settings">
            {user?.name} <span className="muted">({user?.role})</span>
          </NavLink>
          <button type="button" className="button button--small" onClick={() => void auth.logout()}>
            Log out
          </button>
        </header>
        <main className="content">
          <Outlet />
        </main>
        <AppointmentsLive />
        <PromsLive />
      </div>
    </div>
  );
}
