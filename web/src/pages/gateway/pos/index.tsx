import { useTranslation } from 'react-i18next';
import { PageContainer } from '../../../components/page-container';

/** STUB (owner: the gateway pos part). */
export default function GatewayPosPage() {
  const { t } = useTranslation('gatewayPos');
  return <PageContainer title={t('title')}>{null}</PageContainer>;
}
