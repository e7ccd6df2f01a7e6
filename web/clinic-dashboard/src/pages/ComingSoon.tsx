import { Link } from 'react-router';

export function ComingSoon({ title, notFound = false }: { title: string; notFound?: boolean }) {
  return (
    <section className="card">
      <h1>{title}</h1>
      {notFound ? (
        <p>
          There is nothing here. <Link to="/patients">Go to patients</Link>.
        </p>
      ) : (
        <p className="muted">Coming soon: this screen arrives in a later release.</p>
      )}
    </section>
  );
}
