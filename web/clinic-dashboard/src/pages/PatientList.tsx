import { useEffect, useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { useInfiniteQuery } from '@tanstack/react-query';
import { errorMessage, formatDate } from '@qivr/shared';
import { api } from '../session';
import { keys } from '../queryClient';

const PAGE_SIZE = 25;

export function PatientList() {
  const [params, setParams] = useSearchParams();
  const q = params.get('q') ?? '';
  const [draft, setDraft] = useState(q);

  // Typing updates the URL (and so the query) after a short pause.
  useEffect(() => {
    if (draft.trim() === q) return;
    const t = setTimeout(() => {
      const next = new URLSearchParams(params);
      if (draft.trim()) next.set('q', draft.trim());
      else next.delete('q');
      setParams(next, { replace: true });
    }, 300);
    return () => clearTimeout(t);
  }, [draft, q, params, setParams]);

  const query = useInfiniteQuery({
    queryKey: keys.patientList(q),
    queryFn: ({ pageParam, signal }) => api.patients.list({ q, cursor: pageParam, limit: PAGE_SIZE }, signal),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const patients = query.data?.pages.flatMap((p) => p.items) ?? [];
  const loadMoreError = query.isFetchNextPageError ? query.error : null;

  return (
    <section>
      <div className="page-head">
        <h1>Patients</h1>
        <Link className="button button--primary" to="/patients/new">
          New patient
        </Link>
      </div>
      <form className="search" role="search" onSubmit={(e) => e.preventDefault()}>
        <label htmlFor="patient-search" className="visually-hidden">
          Search patients
        </label>
        <input
          id="patient-search"
          type="search"
          placeholder="Search by name, email or phone"
          value={draft}
          onChange={(e) => setDraft(e.target.value)}
        />
      </form>
      {query.isPending ? (
        <p className="muted">Loading patients…</p>
      ) : query.isError ? (
        <div className="notice notice--error" role="alert">
          Could not load patients: {errorMessage(query.error)}
        </div>
      ) : patients.length === 0 ? (
        <p className="muted">{q ? `No patients match “${q}”.` : 'No patients yet.'}</p>
      ) : (
        <>
          <table className="list" aria-label="Patients">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Date of birth</th>
                <th scope="col">Email</th>
                <th scope="col">Phone</th>
              </tr>
            </thead>
            <tbody>
              {patients.map((p) => (
                <tr key={p.id} data-testid="patient-row">
                  <td>
                    <Link to={`/patients/${p.id}`}>
                      {p.last_name}, {p.first_name}
                    </Link>
                  </td>
                  <td>{formatDate(p.date_of_birth)}</td>
                  <td>{p.email ?? '—'}</td>
                  <td>{p.phone ?? '—'}</td>
                </tr>
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
                {patients.length} patient{patients.length === 1 ? '' : 's'}
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
