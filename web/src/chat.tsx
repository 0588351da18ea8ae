/**
 * Chat: pick a served model, ask, watch the answer stream (with a stop button), read its
 * figures, ground it in pasted documents or an indexed collection, follow its citations to
 * the highlighted source, and rate it. Conversations are kept by the server.
 */

import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import {
  type AnswerFigures,
  type AnswerSource,
  type CitationSummary,
  type CollectionSummary,
  type Conversation,
  type ConversationSummary,
  getJson,
  type ServedModel,
  type StoredMessage,
  sendJson,
  streamEvents,
} from './api.js';
import { renderAnswer } from './markdown.js';

type SourceMode = 'none' | 'documents' | 'collection';

/** Pasted documents: separated by a line holding only `---`. */
export function splitDocuments(text: string): string[] {
  return text
    .split(/^\s*---\s*$/m)
    .map((part) => part.trim())
    .filter((part) => part !== '');
}

function formatMs(value: number | undefined): string {
  if (value === undefined) return '—';
  return value < 1000 ? `${value.toFixed(0)} ms` : `${(value / 1000).toFixed(2)} s`;
}

/** BM25 scores range from millionths (a word in half a tiny collection) to tens. */
function formatScore(score: number): string {
  return score !== 0 && Math.abs(score) < 0.01 ? score.toExponential(1) : score.toFixed(2);
}

function FiguresLine({ figures, model }: { figures: AnswerFigures | undefined; model?: string }) {
  if (figures === undefined) return null;
  const parts = [
    model,
    `TTFT ${formatMs(figures.ttftMs)}`,
    figures.decodeTokensPerSecond === undefined
      ? undefined
      : `${figures.decodeTokensPerSecond.toFixed(1)} tok/s`,
    figures.outputTokens === undefined
      ? undefined
      : `${figures.outputTokens} tokens (${figures.outputTokensSource ?? 'estimate'})`,
    figures.retrievalMs === undefined ? undefined : `retrieval ${formatMs(figures.retrievalMs)}`,
    figures.droppedHistoryMessages === undefined
      ? undefined
      : `${figures.droppedHistoryMessages} earlier message${figures.droppedHistoryMessages === 1 ? '' : 's'} left out to fit the context`,
  ].filter((part) => part !== undefined);
  return (
    <div class="figures" data-testid="figures">
      {parts.join(' · ')}
    </div>
  );
}

function CitationLine({ citations }: { citations: CitationSummary | undefined }) {
  if (citations === undefined) return null;
  const notes: string[] = [];
  if (citations.valid.length > 0)
    notes.push(`cites ${citations.valid.map((n) => `[${n}]`).join('')}`);
  if (citations.invalid.length > 0) {
    notes.push(`invalid ${citations.invalid.map((n) => `[${n}]`).join('')}: no such source`);
  }
  if (citations.uncited) notes.push('no citation: not grounded in the sources');
  if (citations.unused.length > 0) {
    notes.push(`sources not cited ${citations.unused.map((n) => `[${n}]`).join('')}`);
  }
  const bad = citations.invalid.length > 0 || citations.uncited;
  return (
    <div class={bad ? 'citations bad' : 'citations'} data-testid="citation-check">
      {notes.join(' · ')}
    </div>
  );
}

function Rating({
  message,
  onRated,
}: {
  message: StoredMessage;
  onRated: (message: StoredMessage) => void;
}) {
  const [comment, setComment] = useState(message.ratingComment ?? '');
  const [editing, setEditing] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const save = async (rating: 1 | -1 | null, text = comment) => {
    try {
      const updated = await sendJson<StoredMessage>(`/api/messages/${message.id}/rating`, 'POST', {
        rating,
        // Clearing the rating clears its comment too.
        comment: rating === null || text.trim() === '' ? undefined : text.trim(),
      });
      setError(undefined);
      onRated(updated);
    } catch (failure) {
      setError((failure as Error).message);
    }
  };
  return (
    <div class="rating">
      <button
        type="button"
        class={message.rating === 1 ? 'vote chosen' : 'vote'}
        aria-pressed={message.rating === 1}
        title="Good answer"
        onClick={() => {
          void save(message.rating === 1 ? null : 1);
          setEditing(true);
        }}
      >
        ▲ Good
      </button>
      <button
        type="button"
        class={message.rating === -1 ? 'vote chosen bad' : 'vote'}
        aria-pressed={message.rating === -1}
        title="Bad answer"
        onClick={() => {
          void save(message.rating === -1 ? null : -1);
          setEditing(true);
        }}
      >
        ▼ Bad
      </button>
      {message.rating !== undefined && !editing && message.ratingComment && (
        <span class="rating-comment">“{message.ratingComment}”</span>
      )}
      {message.rating !== undefined && editing && (
        <form
          class="comment-form"
          onSubmit={(event) => {
            event.preventDefault();
            void save(message.rating ?? null).then(() => setEditing(false));
          }}
        >
          <input
            value={comment}
            maxLength={2000}
            placeholder="Why? (optional)"
            onInput={(event) => setComment((event.target as HTMLInputElement).value)}
          />
          <button type="submit">Save</button>
        </form>
      )}
      {error && <span class="error-inline">{error}</span>}
    </div>
  );
}

function MessageView({
  message,
  streaming,
  onCitation,
  onRated,
}: {
  message: StoredMessage;
  streaming: boolean;
  onCitation: (message: StoredMessage, number: number) => void;
  onRated: (message: StoredMessage) => void;
}) {
  const numbers = useMemo(
    () => new Set((message.sources ?? []).map((source) => source.number)),
    [message.sources],
  );
  const answer = useRef<HTMLDivElement>(null);
  // Citation buttons are made by renderAnswer, inside the sanitized HTML: one listener for all.
  useEffect(() => {
    const element = answer.current;
    if (element === null) return;
    const onClick = (event: MouseEvent) => {
      const number = (event.target as HTMLElement).dataset.citation;
      if (number !== undefined) onCitation(message, Number(number));
    };
    element.addEventListener('click', onClick);
    return () => element.removeEventListener('click', onClick);
  }, [message, onCitation]);
  if (message.role === 'user') {
    return (
      <div class="message user" data-testid="user-message">
        <div class="bubble">{message.content}</div>
      </div>
    );
  }
  const html = renderAnswer(message.content, message.sources === undefined ? undefined : numbers);
  return (
    <div class="message assistant" data-testid="assistant-message" data-message-id={message.id}>
      {/* Sanitized by renderAnswer: DOMPurify keeps plain formatting only. */}
      <div ref={answer} class="answer" dangerouslySetInnerHTML={{ __html: html }} />
      {streaming && <span class="cursor" aria-hidden="true" />}
      {message.error && <div class="error-inline">{message.error}</div>}
      {message.finish === 'aborted' && <div class="note">Stopped.</div>}
      {message.figures?.demo && (
        <div class="note">
          Random-weight model (a demo model or a shape twin): its text is noise. Serve a real model
          (for example <code>tandem serve phi-4-mini</code>) for real answers.
        </div>
      )}
      <FiguresLine figures={message.figures} {...(message.model ? { model: message.model } : {})} />
      <CitationLine citations={message.citations} />
      {!streaming && message.id > 0 && <Rating message={message} onRated={onRated} />}
    </div>
  );
}

function SourcesPanel({
  sources,
  highlighted,
}: {
  sources: AnswerSource[] | undefined;
  highlighted: number | undefined;
}) {
  const refs = useRef(new Map<number, HTMLElement>());
  useEffect(() => {
    if (highlighted !== undefined) {
      refs.current.get(highlighted)?.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
    }
  }, [highlighted]);
  if (sources === undefined) return null;
  if (sources.length === 0) {
    return <p class="muted">No source matched the question: the model was not asked.</p>;
  }
  return (
    <ol class="sources" data-testid="sources">
      {sources.map((source) => (
        <li
          key={source.number}
          ref={(element) => {
            if (element) refs.current.set(source.number, element);
          }}
          class={source.number === highlighted ? 'source highlighted' : 'source'}
          data-testid="source"
          data-number={source.number}
        >
          <div class="source-head">
            <span class="source-number">[{source.number}]</span> {source.label}
            <span class="score" title="BM25 score (higher is better)">
              score {formatScore(source.score)}
            </span>
          </div>
          <blockquote class="excerpt">
            {source.excerpt}
            {source.truncated && ' …'}
          </blockquote>
        </li>
      ))}
    </ol>
  );
}

export function ChatPage() {
  const [models, setModels] = useState<ServedModel[]>([]);
  const [model, setModel] = useState<string>('');
  const [collections, setCollections] = useState<CollectionSummary[]>([]);
  const [conversations, setConversations] = useState<ConversationSummary[]>([]);
  const [conversation, setConversation] = useState<Conversation | undefined>();
  const [pending, setPending] = useState<StoredMessage[]>([]);
  const [input, setInput] = useState('');
  const [mode, setMode] = useState<SourceMode>('none');
  const [documents, setDocuments] = useState('');
  const [collection, setCollection] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [streaming, setStreaming] = useState(false);
  const [shown, setShown] = useState<{ messageId: number; number?: number } | undefined>();
  const controller = useRef<AbortController | undefined>(undefined);
  const bottom = useRef<HTMLDivElement>(null);

  const refreshConversations = () =>
    getJson<{ data: ConversationSummary[] }>('/api/conversations')
      .then((body) => setConversations(body.data))
      .catch((failure: Error) => setError(failure.message));

  useEffect(() => {
    getJson<{ data: ServedModel[] }>('/api/models')
      .then((body) => {
        setModels(body.data);
        setModel((current) => current || (body.data[0]?.name ?? ''));
      })
      .catch((failure: Error) => setError(failure.message));
    getJson<{ data: CollectionSummary[] }>('/api/collections')
      .then((body) => {
        setCollections(body.data);
        setCollection((current) => current || (body.data[0]?.name ?? ''));
      })
      .catch((failure: Error) => setError(failure.message));
    void refreshConversations();
  }, []);

  const messages = [...(conversation?.messages ?? []), ...pending];
  useEffect(() => {
    bottom.current?.scrollIntoView({ block: 'end' });
  }, [messages.length, pending[1]?.content]);

  /**
   * Shows a stored conversation. After a stop, the server may still be storing the answer:
   * wait (briefly) until message `settling` is no longer marked streaming.
   */
  const open = async (id: number, settling?: number) => {
    try {
      let loaded = await getJson<Conversation>(`/api/conversations/${id}`);
      for (let attempt = 0; settling !== undefined && attempt < 30; attempt++) {
        const message = loaded.messages.find((entry) => entry.id === settling);
        if (message?.finish !== 'streaming') break;
        await new Promise((resolve) => setTimeout(resolve, 100));
        loaded = await getJson<Conversation>(`/api/conversations/${id}`);
      }
      setConversation(loaded);
      setPending([]);
      setShown(undefined);
      setError(undefined);
    } catch (failure) {
      setError((failure as Error).message);
    }
  };

  const shownMessage =
    shown === undefined
      ? [...messages].reverse().find((message) => message.sources !== undefined)
      : messages.find((message) => message.id === shown.messageId);

  const send = async () => {
    const question = input.trim();
    if (question === '' || streaming) return;
    if (model === '') {
      setError('No model is served: start tandem serve with a model.');
      return;
    }
    const pastedDocuments = splitDocuments(documents);
    if (mode === 'documents' && pastedDocuments.length === 0) {
      setError('Paste at least one document, or choose "No sources".');
      return;
    }
    if (mode === 'collection' && collection === '') {
      setError('No collection is indexed: index one with tandem rag index, or paste documents.');
      return;
    }
    setError(undefined);
    setInput('');
    const user: StoredMessage = { id: -1, role: 'user', content: question };
    let answer: StoredMessage = { id: -2, role: 'assistant', content: '', model };
    setPending([user, answer]);
    setShown(undefined);
    setStreaming(true);
    const abort = new AbortController();
    controller.current = abort;
    let conversationId = conversation?.id;
    let failed: string | undefined;
    const update = (patch: Partial<StoredMessage>) => {
      answer = { ...answer, ...patch };
      setPending([user, answer]);
    };
    try {
      await streamEvents(
        '/api/chat',
        {
          model,
          question,
          ...(conversationId === undefined ? {} : { conversationId }),
          ...(mode === 'documents' ? { documents: pastedDocuments } : {}),
          ...(mode === 'collection' ? { collection } : {}),
        },
        ({ event, data }) => {
          const body = data as Record<string, unknown>;
          if (event === 'start') {
            conversationId = body.conversationId as number;
            update({ id: body.assistantMessageId as number });
          } else if (event === 'sources') {
            update({ sources: body.sources as AnswerSource[] });
          } else if (event === 'delta') {
            update({ content: answer.content + (body.text as string) });
          } else if (event === 'done' || event === 'error') {
            update(body.message as StoredMessage);
          }
        },
        abort.signal,
      );
    } catch (failure) {
      if ((failure as Error).name !== 'AbortError') failed = (failure as Error).message;
    } finally {
      controller.current = undefined;
      if (conversationId !== undefined && answer.id > 0) await open(conversationId, answer.id);
      else setPending([]);
      if (failed !== undefined) {
        // The request was refused before anything was stored: keep the question to retry.
        setError(failed);
        if (answer.id < 0) setInput(question);
      }
      setStreaming(false);
      await refreshConversations();
    }
  };

  const replaceMessage = (updated: StoredMessage) => {
    if (conversation === undefined) return;
    setConversation({
      ...conversation,
      messages: conversation.messages.map((message) =>
        message.id === updated.id ? updated : message,
      ),
    });
  };

  const selected = models.find((entry) => entry.name === model);

  return (
    <div class="chat-layout">
      <aside class="sidebar">
        <button
          type="button"
          class="new-chat"
          disabled={streaming}
          onClick={() => {
            setConversation(undefined);
            setPending([]);
            setShown(undefined);
          }}
        >
          + New chat
        </button>
        <ul class="conversations" data-testid="conversations">
          {conversations.map((entry) => (
            <li key={entry.id}>
              <button
                type="button"
                class={entry.id === conversation?.id ? 'conversation active' : 'conversation'}
                disabled={streaming}
                onClick={() => void open(entry.id)}
                title={entry.title}
              >
                {entry.title || 'Untitled'}
                <span class="muted small">{entry.messageCount} messages</span>
              </button>
            </li>
          ))}
          {conversations.length === 0 && <li class="muted small">No conversations yet.</li>}
        </ul>
      </aside>
      <section class="thread">
        <div class="toolbar">
          <label>
            Model{' '}
            <select
              value={model}
              data-testid="model-picker"
              onChange={(event) => setModel((event.target as HTMLSelectElement).value)}
            >
              {models.map((entry) => (
                <option key={entry.name} value={entry.name}>
                  {entry.name} ({entry.engine}
                  {entry.demo ? ', demo' : ''})
                </option>
              ))}
            </select>
          </label>
          {selected?.demo && <span class="badge">random weights</span>}
        </div>
        <div class="messages">
          {messages.length === 0 && (
            <p class="muted empty">
              Ask a question. To ground the answer, paste reference documents or choose an indexed
              collection on the right; the answer then cites its sources as [1], [2]…
            </p>
          )}
          {messages.map((message, index) => (
            <MessageView
              key={`${message.id}-${index}`}
              message={message}
              streaming={streaming && index === messages.length - 1}
              onCitation={(owner, number) => setShown({ messageId: owner.id, number })}
              onRated={replaceMessage}
            />
          ))}
          <div ref={bottom} />
        </div>
        {error && (
          <div class="error" role="alert">
            {error}
          </div>
        )}
        <form
          class="composer"
          onSubmit={(event) => {
            event.preventDefault();
            void send();
          }}
        >
          <textarea
            value={input}
            rows={2}
            placeholder="Ask something…"
            data-testid="prompt"
            onInput={(event) => setInput((event.target as HTMLTextAreaElement).value)}
            onKeyDown={(event) => {
              if (event.key === 'Enter' && !event.shiftKey) {
                event.preventDefault();
                void send();
              }
            }}
          />
          {streaming ? (
            <button
              type="button"
              class="stop"
              data-testid="stop"
              onClick={() => controller.current?.abort()}
            >
              Stop
            </button>
          ) : (
            <button type="submit" class="send" data-testid="send" disabled={input.trim() === ''}>
              Send
            </button>
          )}
        </form>
      </section>
      <aside class="sources-panel">
        <h2>Sources</h2>
        <div class="source-mode" role="radiogroup">
          {(
            [
              ['none', 'No sources'],
              ['documents', 'Paste documents'],
              ['collection', 'Collection'],
            ] as const
          ).map(([value, label]) => (
            <label key={value}>
              <input
                type="radio"
                name="source-mode"
                value={value}
                checked={mode === value}
                onChange={() => setMode(value)}
              />{' '}
              {label}
            </label>
          ))}
        </div>
        {mode === 'documents' && (
          <textarea
            class="documents"
            data-testid="documents"
            rows={8}
            value={documents}
            placeholder={
              'Paste reference documents here.\nSeparate documents with a line holding only ---'
            }
            onInput={(event) => setDocuments((event.target as HTMLTextAreaElement).value)}
          />
        )}
        {mode === 'collection' &&
          (collections.length === 0 ? (
            <p class="muted">
              No collection is indexed yet: <code>tandem rag index ./docs</code>.
            </p>
          ) : (
            <select
              value={collection}
              onChange={(event) => setCollection((event.target as HTMLSelectElement).value)}
            >
              {collections.map((entry) => (
                <option key={entry.name} value={entry.name}>
                  {entry.name} ({entry.documentCount} documents)
                </option>
              ))}
            </select>
          ))}
        <SourcesPanel sources={shownMessage?.sources} highlighted={shown?.number} />
      </aside>
    </div>
  );
}
