// The results page: submit a list, follow the job live, sort and filter its results, open one
// to see its headers, certificate and timing waterfall, export the lot.
import { render } from 'preact';
import { JobsList } from './components/JobsList';
import { JobView } from './components/JobView';
import { SubmitForm } from './components/SubmitForm';
import { navigate, useRoute } from './router';
import './style.css';

function App() {
  const route = useRoute();
  return (
    <>
      <header class="top">
        <a
          href="/"
          class="brand"
          onClick={(event) => {
            event.preventDefault();
            navigate('/');
          }}
        >
          headprobe
        </a>
        <nav aria-label="Service">
          <a href="/docs">API docs</a>
        </nav>
      </header>
      <main>
        {route.page === 'home' ? (
          <>
            <SubmitForm />
            <JobsList />
          </>
        ) : (
          <JobView id={route.id} key={route.id} />
        )}
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
