import { LockOutlined, StopOutlined } from '@ant-design/icons';
import { Button, Result } from 'antd';
import { useTranslation } from 'react-i18next';
import { StatusBar } from '../components/status-bar';
import { useRuntime } from '../runtime/context';

/** Locked remotely: nothing works until the bank unlocks it (the shell keeps checking). */
export function LockedScreen() {
  const { t } = useTranslation('locked');
  return (
    <div className="centered" data-testid="locked-screen">
      <StatusBar />
      <Result status="warning" icon={<LockOutlined />} title={t('title')} subTitle={t('body')} />
    </div>
  );
}

/** Retired: final. The device identity is gone; a new activation code makes it a terminal again. */
export function RetiredScreen() {
  const { t } = useTranslation('retired');
  const runtime = useRuntime();
  return (
    <div className="centered" data-testid="retired-screen">
      <Result
        status="error"
        icon={<StopOutlined />}
        title={t('title')}
        subTitle={t('body')}
        extra={
          <Button type="primary" onClick={() => runtime.startOver()}>
            {t('again')}
          </Button>
        }
      />
    </div>
  );
}
