/**
 * tandem's web app: one page per view, chosen by the URL hash, all talking to the server
 * that served it.
 */

import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { KEY_NEEDED_EVENT, storeApiKey } from './api.js';
import { ChatPage } from './chat.js';
import { ComparePage } from './compare.js';
import { InBrowserPage } from './in-browser.js';
import './styles.css';

interface View {
  hash: string;
  label: string;
  render: () => preact.JSX.Element;
}

const VIEWS: readonly View[] = [
  { hash: '#/chat', label: 'Chat', render: () => <ChatPage /> },
  { hash: '#/compare', label: 'Compare', render: () => <ComparePage /> },
  { hash: '#/browser', label: 'In the browser', render: () => <InBrowserPage /> },
];

function currentView(): View {
  return VIEWS.find((view) => view.hash === location.hash) ?? (VIEWS[0] as View);
}

/**
 * Shown when the server answers 401 (it runs with --api-key): the key is kept for this tab
 * and sent with every request; the page reloads to fetch what failed.
 */
function ApiKeyBar() {
  const [needed, setNeeded] = useState(false);
  const [key, setKey] = useState('');
  useEffect(() => {
    const onNeeded = () => setNeeded(true);
    addEventListener(KEY_NEEDED_EVENT, onNeeded);
    return () => removeEventListener(KEY_NEEDED_EVENT, onNeeded);
  }, []);
  if (!needed) return null;
  return (
    <form
      class="key-bar"
      data-testid="api-key-form"
      onSubmit={(event) => {
        event.preventDefault();
        if (key.trim() === '') return;
        storeApiKey(key.trim());
        location.reload();
      }}
    >
      <label>
        This server needs its API key (the one given to <code>tandem serve --api-key</code>):{' '}
        <input
          type="password"
          autocomplete="off"
          value={key}
          onInput={(event) => setKey((event.target as HTMLInputElement).value)}
        />
      </label>{' '}
      <button type="submit" class="send">
        Use key
      </button>
    </form>
  );
}

function App() {
  const [view, setView] = useState(currentView);
  useEffect(() => {
    const onHash = () => setView(currentView());
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);
  return (
    <div class="app">
      <header class="topbar">
        <span class="brand">tandem</span>
        <nav>
          {VIEWS.map((entry) => (
            <a
              key={entry.hash}
              href={entry.hash}
              class={entry.hash === view.hash ? 'active' : undefined}
            >
              {entry.label}
            </a>
          ))}
        </nav>
      </header>
      <ApiKeyBar />
      <main class="view">{view.render()}</main>
    </div>
  );
}

render(<App />, document.getElementById('app') as HTMLElement);
