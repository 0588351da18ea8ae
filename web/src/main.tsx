/**
 * tandem's web app: one page per view, chosen by the URL hash, all talking to the server
 * that served it.
 */

import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ChatPage } from './chat.js';
import { ComparePage } from './compare.js';
import './styles.css';

interface View {
  hash: string;
  label: string;
  render: () => preact.JSX.Element;
}

const VIEWS: readonly View[] = [
  { hash: '#/chat', label: 'Chat', render: () => <ChatPage /> },
  { hash: '#/compare', label: 'Compare', render: () => <ComparePage /> },
];

function currentView(): View {
  return VIEWS.find((view) => view.hash === location.hash) ?? (VIEWS[0] as View);
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
      <main class="view">{view.render()}</main>
    </div>
  );
}

render(<App />, document.getElementById('app') as HTMLElement);
