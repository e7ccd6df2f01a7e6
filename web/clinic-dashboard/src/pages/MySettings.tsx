import { NotificationSettings } from '@qivr/shared';
import { api } from '../session';

/** The signed-in clinic user's own settings. */
export function MySettingsPage() {
  return (
    <section>
      <div className="page-head">
        <h1>My settings</h1>
      </div>
      <NotificationSettings api={api} />
    </section>
  );
}
