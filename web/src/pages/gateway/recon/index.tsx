import { useTranslation } from 'react-i18next';
import { PageContainer } from '../../../components/page-container';

/** STUB (owner: the gateway recon part). */
export default function GatewayReconPage() {
  const { t } = useTranslation('gatewayRecon');
  return <PageContainer title={t('title')}>{null}</PageContainer>;
}
