import { Tag, Tooltip } from 'antd';
import { useTranslation } from 'react-i18next';
import { RESPONSE_CODES, type ResponseCode } from '../../../../../server/src/payments/contracts';
import { useLanguage } from '../../../hooks/use-language';
import { STATUS_COLOUR, type TxnStatus, type TxnType } from '../model';

export function TxnStatusTag({ status }: { status: TxnStatus }) {
  const { t } = useTranslation('payments');
  return (
    <Tag color={STATUS_COLOUR[status]} data-testid="txn-status">
      {t(`txnStatus.${status}`)}
    </Tag>
  );
}

export function TxnTypeText({ type }: { type: TxnType }) {
  const { t } = useTranslation('payments');
  return <>{t(`txnType.${type}`)}</>;
}

/** A response code with its text in the console's language (one table: server contracts.ts). */
export function ResponseCodeText({ code }: { code: string }) {
  const { pick } = useLanguage();
  const entry = (RESPONSE_CODES as Record<string, { zh: string; en: string } | undefined>)[code as ResponseCode];
  const text = entry ? pick(entry.zh, entry.en) : '';
  return (
    <Tooltip title={code}>
      <span data-testid="txn-code">
        {code} {text}
      </span>
    </Tooltip>
  );
}
