import { useTranslation } from 'react-i18next';
import { PageContainer } from '../../../components/page-container';

/** STUB (owner: the gateway switch part). */
export default function GatewaySwitchPage() {
  const { t } = useTranslation('gatewaySwitch');
  return <PageContainer title={t('title')}>{null}</PageContainer>;
}
