import { Badge, Tag } from 'antd';
import { useTranslation } from 'react-i18next';
import { STATUS_COLOUR, type TerminalStatus } from '../model';

export function StatusTag({ status }: { status: TerminalStatus }) {
  const { t } = useTranslation('terminals');
  return (
    <Tag color={STATUS_COLOUR[status]} data-testid="terminal-status">
      {t(`status.${status}`)}
    </Tag>
  );
}

/** Online means a heartbeat within three heartbeat intervals (the server decides). */
export function OnlineBadge({ online }: { online: boolean }) {
  const { t } = useTranslation('terminals');
  return <Badge status={online ? 'success' : 'default'} text={online ? t('online') : t('offline')} />;
}
