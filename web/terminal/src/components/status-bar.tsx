import { CloudOutlined, DisconnectOutlined, SyncOutlined } from '@ant-design/icons';
import { Tag, Tooltip } from 'antd';
import { useTranslation } from 'react-i18next';
import { useSnapshot } from '../runtime/context';

/** The offline indicator and the outbox count, on every screen after activation. */
export function StatusBar() {
  const { t } = useTranslation();
  const snapshot = useSnapshot();
  return (
    <div className="status-bar">
      <Tooltip title={snapshot.online ? undefined : t('offlineHint')}>
        <Tag
          data-testid="net-status"
          data-online={String(snapshot.online)}
          color={snapshot.online ? 'success' : 'error'}
          icon={snapshot.online ? <CloudOutlined /> : <DisconnectOutlined />}
        >
          {snapshot.online ? t('online') : t('offline')}
        </Tag>
      </Tooltip>
      {snapshot.online && !snapshot.pushConnected && <Tag color="warning">{t('pushOff')}</Tag>}
      <Tag data-testid="outbox-count" data-count={snapshot.outboxPending} color={snapshot.outboxPending > 0 ? 'processing' : 'default'} icon={snapshot.outboxPending > 0 ? <SyncOutlined spin /> : undefined}>
        {t('queued', { count: snapshot.outboxPending })}
      </Tag>
    </div>
  );
}
