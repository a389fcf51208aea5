// Recent jobs, newest first, each a link to its page.
import { useEffect, useState } from 'preact/hooks';
import { api, type JobSummary } from '../api';
import { navigate } from '../router';

export function JobsList() {
  const [jobs, setJobs] = useState<JobSummary[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    void api.GET('/v1/jobs', { params: { query: { limit: 20 } } }).then(({ data, response }) => {
      if (data === undefined)
        setError(
          response.status === 401
            ? 'An API key is needed to list jobs.'
            : `Error ${response.status}`,
        );
      else setJobs(data.jobs);
    });
  }, []);
  return (
    <section class="panel" aria-labelledby="jobs-title">
      <h2 id="jobs-title">Recent jobs</h2>
      {error !== null ? (
        <p>{error}</p>
      ) : jobs === null ? (
        <p>Loading…</p>
      ) : jobs.length === 0 ? (
        <p>No jobs yet.</p>
      ) : (
        <ul class="jobs">
          {jobs.map((job) => (
            <li key={job.id}>
              <a
                href={`/jobs/${encodeURIComponent(job.id)}`}
                onClick={(event) => {
                  event.preventDefault();
                  navigate(`/jobs/${encodeURIComponent(job.id)}`);
                }}
              >
                <code>{job.id}</code>
              </a>{' '}
              {job.status}, {job.progress.done}/{job.progress.total} done ({job.progress.failed}{' '}
              failed), {new Date(job.createdAt).toLocaleString()}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
