import { ArrowLeftOutlined } from '@ant-design/icons';
import { Button, Empty, Tag, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { StatusBar } from '../components/status-bar';
import { usePick } from '../components/use-pick';
import { useRuntime, useSnapshot } from '../runtime/context';

/** `message` commands from the bank; "read" sends the acknowledgement through the outbox. */
export function MessagesView({ onBack }: { onBack: () => void }) {
  const { t, i18n } = useTranslation('messages');
  const common = useTranslation().t;
  const pick = usePick();
  const runtime = useRuntime();
  const snapshot = useSnapshot();
  return (
    <div className="shell-page" data-testid="messages-view">
      <header className="shell-header">
        <Button icon={<ArrowLeftOutlined />} onClick={onBack} data-testid="messages-back">
          {common('back')}
        </Button>
        <Typography.Text strong>{t('title')}</Typography.Text>
        <StatusBar />
      </header>
      <main className="shell-main">
        {snapshot.messages.length === 0 ? (
          <Empty description={t('empty')} />
        ) : (
          <ul className="message-list">
            {snapshot.messages.map((m) => (
              <li key={m.id} className="message-item" data-testid="message-item" data-id={m.id}>
                <div className="message-body">
                  <Typography.Text data-testid="message-text">{pick(m.zh, m.en)}</Typography.Text>
                  <Typography.Text type="secondary">{new Date(m.receivedAt).toLocaleString(i18n.language, { hour12: false })}</Typography.Text>
                </div>
                {m.readAt === null ? (
                  <Button type="primary" onClick={() => void runtime.markRead(m.id)} data-testid="message-read">
                    {t('markRead')}
                  </Button>
                ) : m.receiptQueued ? (
                  <Tag color="processing" data-testid="message-receipt-queued">
                    {t('receiptQueued')}
                  </Tag>
                ) : (
                  <Tag color="success" data-testid="message-receipt-sent">
                    {t('read')}
                  </Tag>
                )}
              </li>
            ))}
          </ul>
        )}
      </main>
    </div>
  );
}
