import { StrictMode, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { ShellError, call } from '../../sdk/bridge';
import { useAppContext, usePick, useShellValue } from '../../sdk/hooks';
import '../../sdk/app.css';

const loadMessages = () => call('messages.list');

/** The bank's messages to this terminal; reading one sends a read receipt (queued when offline). */
function Messages() {
  const context = useAppContext();
  const messages = useShellValue('messages', loadMessages);
  const pick = usePick(context?.language);
  const [error, setError] = useState<string | null>(null);
  if (!context || !messages) return <p className="muted">…</p>;

  async function read(id: string): Promise<void> {
    setError(null);
    try {
      await call('messages.read', { id });
    } catch (e) {
      setError(e instanceof ShellError ? pick(e.error.zh, e.error.en) : String(e));
    }
  }

  return (
    <main data-testid="messages-app">
      <h1>{pick('消息中心', 'Messages')}</h1>
      {error && <p className="tag off">{error}</p>}
      <section className="card">
        {messages.length === 0 ? (
          <p className="empty">{pick('暂无消息', 'No messages')}</p>
        ) : (
          <ul className="list">
            {messages.map((m) => (
              <li key={m.id} data-testid="messages-item">
                <div>
                  <div>{pick(m.zh, m.en || m.zh)}</div>
                  <small className="muted">{new Date(m.receivedAt).toLocaleString(context.language, { hour12: false })}</small>
                </div>
                {m.readAt ? (
                  <span className={`tag ${m.receiptQueued ? 'warn' : 'ok'}`}>{m.receiptQueued ? pick('回执待发送', 'Receipt queued') : pick('已读', 'Read')}</span>
                ) : (
                  <button className="primary" onClick={() => void read(m.id)}>
                    {pick('已读', 'Mark read')}
                  </button>
                )}
              </li>
            ))}
          </ul>
        )}
      </section>
    </main>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <Messages />
  </StrictMode>,
);
