import { Navigate, NavLink, Route, Routes, useLocation, useNavigate } from 'react-router';
import { AcceptInvitePage, LiveStatus, LoginPage, useAuthState } from '@qivr/shared';
import { auth } from './session';
import { MyDetails } from './MyDetails';
import { MyIntakes } from './MyIntakes';
import { NewIntakePage } from './NewIntake';
import { MyAppointments } from './MyAppointments';
import { MyProms, PromFormPage } from './MyProms';
import { ConversationPage, MessagesNavLink, MessagesPage, NewMessagePage } from './Messages';
import { MyConsents, MyDocuments, RequiredConsents } from './MyRecords';

export function App() {
  const status = useAuthState(auth, (s) => s.status);
  const user = useAuthState(auth, (s) => s.user);
  const { pathname } = useLocation();
  const navigate = useNavigate();
  // The invitation link works whatever the session: accepting replaces it.
  if (pathname === '/accept-invite') {
    return <AcceptInvitePage auth={auth} title="Qivr patient portal" onDone={() => navigate('/', { replace: true })} />;
  }
  if (status === 'restoring') {
    return (
      <main className="login" aria-busy="true">
        <p className="muted">Resuming your session…</p>
      </main>
    );
  }
  if (status !== 'authenticated') {
    return <LoginPage auth={auth} title="Qivr patient portal" subtitle="Sign in to see your details." />;
  }
  return (
    <div className="shell">
      <nav className="shell__nav" aria-label="Main">
        <div className="shell__brand">Qivr</div>
        <NavLink to="/appointments">My appointments</NavLink>
        <NavLink to="/intakes" end={false}>
          My intakes
        </NavLink>
        <NavLink to="/proms" end={false}>
          My questionnaires
        </NavLink>
        <MessagesNavLink />
        <NavLink to="/documents">My documents</NavLink>
        <NavLink to="/consents">My consents</NavLink>
        <NavLink to="/me">My details</NavLink>
      </nav>
      <div className="shell__main">
        <header className="topbar">
          <LiveStatus />
          <span data-testid="current-user">{user?.name}</span>
          <button type="button" className="button button--small" onClick={() => void auth.logout()}>
            Log out
          </button>
        </header>
        <main className="content">
          <RequiredConsents>
            <Routes>
              <Route path="/me" element={<MyDetails />} />
              <Route path="/appointments" element={<MyAppointments />} />
              <Route path="/intakes" element={<MyIntakes />} />
              <Route path="/intakes/new" element={<NewIntakePage />} />
              <Route path="/proms" element={<MyProms />} />
              <Route path="/proms/:instanceId" element={<PromFormPage />} />
              <Route path="/messages" element={<MessagesPage />} />
              <Route path="/messages/new" element={<NewMessagePage />} />
              <Route path="/messages/:conversationId" element={<ConversationPage />} />
              <Route path="/documents" element={<MyDocuments />} />
              <Route path="/consents" element={<MyConsents />} />
              <Route path="*" element={<Navigate to="/me" replace />} />
            </Routes>
          </RequiredConsents>
        </main>
      </div>
    </div>
  );
}
