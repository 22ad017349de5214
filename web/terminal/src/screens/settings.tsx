import { ArrowLeftOutlined } from '@ant-design/icons';
import { Button, Card, Descriptions, Segmented, Space, Tag, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import type { Language } from '../core/bridge-protocol';
import { StatusBar } from '../components/status-bar';
import { usePick } from '../components/use-pick';
import { changeLanguage, normaliseLanguage } from '../locales';
import { useRuntime, useSnapshot } from '../runtime/context';

function when(ms: number | null | undefined, language: string): string {
  return ms ? new Date(ms).toLocaleString(language, { hour12: false }) : '—';
}

/** Language, what this terminal is, its versions and its update history. */
export function SettingsView({ onBack }: { onBack: () => void }) {
  const { t, i18n } = useTranslation('settings');
  const common = useTranslation().t;
  const pick = usePick();
  const runtime = useRuntime();
  const snapshot = useSnapshot();
  const language = normaliseLanguage(i18n.language);
  const device = snapshot.device;
  const versions = [
    { code: 'shell', name: t('shell'), version: snapshot.shellVersion },
    ...snapshot.apps.map((a) => ({ code: a.code, name: pick(a.nameZh, a.nameEn), version: a.installedVersion ?? '—' })),
  ];
  return (
    <div className="shell-page" data-testid="settings-view">
      <header className="shell-header">
        <Button icon={<ArrowLeftOutlined />} onClick={onBack} data-testid="settings-back">
          {common('back')}
        </Button>
        <Typography.Text strong>{t('title')}</Typography.Text>
        <StatusBar />
      </header>
      <main className="shell-main">
        <Card size="small" title={common('language')}>
          <Segmented<Language>
            value={language}
            options={[
              { label: '中文', value: 'zh-CN' },
              { label: 'English', value: 'en-US' },
            ]}
            onChange={(value) => void changeLanguage(value).then(() => runtime.languageChanged())}
            data-testid="settings-language"
          />
        </Card>
        <Card size="small" title={t('terminal')}>
          <Descriptions size="small" column={1}>
            <Descriptions.Item label={t('terminalId')}>{device?.terminalId}</Descriptions.Item>
            <Descriptions.Item label={t('serial')}>
              <span data-testid="settings-serial">{device?.serial}</span>
            </Descriptions.Item>
            <Descriptions.Item label={t('merchant')}>{device?.merchantName ?? '—'}</Descriptions.Item>
            <Descriptions.Item label={t('org')}>{device?.orgName ?? '—'}</Descriptions.Item>
            <Descriptions.Item label={t('activatedAt')}>{when(device?.activatedAt, language)}</Descriptions.Item>
          </Descriptions>
        </Card>
        <Card size="small" title={t('session')}>
          <Descriptions size="small" column={1}>
            <Descriptions.Item label={t('batchNo')}>
              <span data-testid="settings-batch">{snapshot.session?.batchNo ?? '—'}</span>
            </Descriptions.Item>
            <Descriptions.Item label={t('signedOnAt')}>{when(snapshot.session?.openedAt, language)}</Descriptions.Item>
            <Descriptions.Item label={t('heartbeat')}>{when(snapshot.lastHeartbeatAt, language)}</Descriptions.Item>
          </Descriptions>
          <Space wrap>
            <Button onClick={() => void runtime.signOn()} loading={snapshot.busy}>
              {t('signOnAgain')}
            </Button>
            <Button onClick={() => void runtime.checkUpdates()} data-testid="settings-check-updates">
              {t('checkUpdates')}
            </Button>
          </Space>
        </Card>
        <Card size="small" title={t('versions')}>
          <Descriptions size="small" column={1} data-testid="settings-versions">
            {versions.map((v) => (
              <Descriptions.Item key={v.code} label={`${v.name} (${v.code})`}>
                <span data-testid={`version-${v.code}`}>{v.version}</span>
              </Descriptions.Item>
            ))}
          </Descriptions>
        </Card>
        <Card size="small" title={t('updates')}>
          {snapshot.updateLog.length === 0 ? (
            <Typography.Text type="secondary">{t('noUpdates')}</Typography.Text>
          ) : (
            <ul className="update-log" data-testid="update-log">
              {snapshot.updateLog.map((u, i) => (
                <li key={`${u.at}-${i}`}>
                  <Tag color={u.status === 'installed' ? 'success' : u.status === 'failed' ? 'error' : 'processing'}>{t(`status.${u.status}`)}</Tag>
                  {u.app} {u.version} {u.detail && <Typography.Text type="secondary">({u.detail})</Typography.Text>}{' '}
                  <Typography.Text type="secondary">{when(u.at, language)}</Typography.Text>
                </li>
              ))}
            </ul>
          )}
        </Card>
      </main>
    </div>
  );
}
