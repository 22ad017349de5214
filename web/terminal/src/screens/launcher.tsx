import { AppstoreOutlined, LogoutOutlined, MailOutlined, SettingOutlined } from '@ant-design/icons';
import { Badge, Button, Empty, Spin, Tag, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { StatusBar } from '../components/status-bar';
import { usePick } from '../components/use-pick';
import { useRuntime, useSnapshot } from '../runtime/context';
import type { LauncherApp } from '../runtime/types';

export type View = { kind: 'launcher' } | { kind: 'app'; code: string } | { kind: 'messages' } | { kind: 'settings' };

function AppTile({ app, onOpen }: { app: LauncherApp; onOpen: () => void }) {
  const { t } = useTranslation('launcher');
  const pick = usePick();
  const openable = app.installedVersion !== null;
  return (
    <button
      type="button"
      className="app-tile"
      disabled={!openable}
      onClick={onOpen}
      data-testid={`app-tile-${app.code}`}
      data-version={app.installedVersion ?? ''}
      data-state={app.state}
    >
      <span className="app-icon">{app.state === 'installing' ? <Spin /> : pick(app.nameZh, app.nameEn).slice(0, 1)}</span>
      <span className="app-name">{pick(app.nameZh, app.nameEn)}</span>
      <span className="app-version">{app.installedVersion ?? app.targetVersion}</span>
      {app.state === 'installing' && <Tag color="processing">{t('installing')}</Tag>}
      {app.state === 'failed' && (
        <Tag color="error" title={app.error ?? undefined} data-testid={`app-failed-${app.code}`}>
          {t('failed')}
        </Tag>
      )}
      {app.state === 'waiting' && <Tag>{t('waiting')}</Tag>}
    </button>
  );
}

/** The launcher: the apps authorised for this terminal, and the way to messages and settings. */
export function Launcher({ onNavigate }: { onNavigate: (view: View) => void }) {
  const { t } = useTranslation('launcher');
  const operatorT = useTranslation('operator').t;
  const runtime = useRuntime();
  const snapshot = useSnapshot();
  const unread = snapshot.messages.filter((m) => m.readAt === null).length;
  return (
    <div className="shell-page" data-testid="launcher">
      <header className="shell-header">
        <div>
          <Typography.Text strong data-testid="launcher-merchant">
            {snapshot.device?.merchantName ?? snapshot.device?.serial}
          </Typography.Text>
          {snapshot.operator && (
            <Typography.Text type="secondary" data-testid="launcher-operator">
              {' · '}
              {snapshot.operator.no} {snapshot.operator.name ?? ''}
            </Typography.Text>
          )}
        </div>
        <StatusBar />
      </header>
      <main className="shell-main">
        <Typography.Title level={5}>
          <AppstoreOutlined /> {t('title')}
        </Typography.Title>
        {snapshot.apps.length === 0 ? (
          <Empty description={t('empty')} />
        ) : (
          <div className="app-grid">
            {snapshot.apps.map((app) => (
              <AppTile key={app.code} app={app} onOpen={() => onNavigate({ kind: 'app', code: app.code })} />
            ))}
          </div>
        )}
      </main>
      <footer className="shell-footer">
        <Badge count={unread} size="small">
          <Button icon={<MailOutlined />} onClick={() => onNavigate({ kind: 'messages' })} data-testid="nav-messages" data-unread={unread}>
            {t('messages')}
          </Button>
        </Badge>
        <Button icon={<SettingOutlined />} onClick={() => onNavigate({ kind: 'settings' })} data-testid="nav-settings">
          {t('settings')}
        </Button>
        <Button icon={<LogoutOutlined />} onClick={() => void runtime.operatorSignOff()} data-testid="operator-sign-off">
          {operatorT('signOff')}
        </Button>
      </footer>
    </div>
  );
}
