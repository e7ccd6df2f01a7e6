import { Navigate, Route, Routes, useLocation, useNavigate } from 'react-router';
import { AcceptInvitePage, LoginPage, useAuthState } from '@qivr/shared';
import { auth } from './session';
import { Layout } from './Layout';
import { PatientList } from './pages/PatientList';
import { NewPatient } from './pages/NewPatient';
import { PatientPage } from './pages/PatientPage';
import { ComingSoon } from './pages/ComingSoon';
import { AppointmentsPage } from './pages/Appointments';
import { ProvidersPage } from './pages/Providers';
import { SchedulingSettingsPage } from './pages/SchedulingSettings';
import { EvaluationsPage } from './pages/Evaluations';
import { InboxPage } from './pages/Inbox';
import { UsersPage } from './pages/Users';
import { AuditLogPage } from './pages/AuditLog';
import { IdentityProvidersPage } from './pages/IdentityProviders';
import { MailboxPage } from './pages/Mailbox';
import { MySettingsPage } from './pages/MySettings';
import { PromsPage } from './pages/Proms';
import { PromBuilderPage } from './pages/PromBuilder';
import { ConsentTypesPage } from './pages/ConsentTypes';

export function App() {
  const status = useAuthState(auth, (s) => s.status);
  const { pathname } = useLocation();
  const navigate = useNavigate();
  // The invitation link works whatever the session: accepting replaces it.
  if (pathname === '/accept-invite') {
    return (
      <AcceptInvitePage auth={auth} title="Qivr clinic dashboard" onDone={() => navigate('/', { replace: true })} />
    );
  }
  if (status === 'restoring') {
    return (
      <main className="login" aria-busy="true">
        <p className="muted">Resuming your session…</p>
      </main>
    );
  }
  if (status !== 'authenticated') {
    return <LoginPage auth={auth} title="Qivr clinic dashboard" subtitle="Sign in with your clinic account." />;
  }
  return (
    <Routes>
      <Route element={<Layout />}>
        <Route index element={<Navigate to="/patients" replace />} />
        <Route path="patients" element={<PatientList />} />
        <Route path="patients/new" element={<NewPatient />} />
        <Route path="patients/:patientId" element={<PatientPage />} />
        <Route path="evaluations/:evaluationId?" element={<EvaluationsPage />} />
        <Route path="appointments" element={<AppointmentsPage />} />
        <Route path="providers" element={<ProvidersPage />} />
        <Route path="scheduling" element={<SchedulingSettingsPage />} />
        <Route path="inbox/:conversationId?" element={<InboxPage />} />
        <Route path="proms" element={<PromsPage />} />
        <Route path="proms/templates/new" element={<PromBuilderPage />} />
        <Route path="proms/templates/:templateId" element={<PromBuilderPage />} />
        <Route path="users" element={<UsersPage />} />
        <Route path="audit" element={<AuditLogPage />} />
        <Route path="identity-providers" element={<IdentityProvidersPage />} />
        <Route path="mailbox" element={<MailboxPage />} />
        <Route path="settings" element={<MySettingsPage />} />
        <Route path="consent-types" element={<ConsentTypesPage />} />
        <Route path="*" element={<ComingSoon title="Page not found" notFound />} />
      </Route>
    </Routes>
  );
}
