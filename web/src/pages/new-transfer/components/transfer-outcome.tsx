import { Alert, Descriptions } from 'antd';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router-dom';
import type { ApiError } from '../../../api/errors';
import type { Transfer } from '../../../api/types';
import { useErrorText } from '../../../components/error-alert';
import { Money } from '../../../components/money';
import { formatMicros } from '../../../utils/time';

export interface Posted {
  transfer: Transfer;
  replayed: boolean;
}

/** What happened to the submitted transfer: posted, replayed (not paid twice), or rejected. */
export function TransferOutcome({ posted, error, codeName }: { posted?: Posted; error?: ApiError; codeName: (code: number) => string }) {
  const { t } = useTranslation('transfers');
  const errorText = useErrorText();
  if (posted) {
    const tr = posted.transfer;
    return (
      <Alert
        type={posted.replayed ? 'info' : 'success'}
        showIcon
        data-testid="transfer-result"
        data-replayed={posted.replayed ? 'true' : 'false'}
        title={posted.replayed ? t('replayed') : t('posted')}
        description={
          <Descriptions
            size="small"
            column={1}
            items={[
              { key: 'id', label: t('transferId'), children: <span data-testid="transfer-result-id">{tr.id}</span> },
              { key: 'amount', label: t('amount'), children: <Money fen={tr.amount} testId="transfer-result-amount" /> },
              { key: 'code', label: t('code'), children: codeName(tr.code) },
              { key: 'ts', label: t('time'), children: formatMicros(tr.ts) },
              {
                key: 'links',
                label: t('statements'),
                children: (
                  <>
                    <Link to={`/accounts/${encodeURIComponent(tr.debit_account_id)}`}>{tr.debit_account_id}</Link>
                    {' → '}
                    <Link to={`/accounts/${encodeURIComponent(tr.credit_account_id)}`} data-testid="transfer-result-credit-link">
                      {tr.credit_account_id}
                    </Link>
                  </>
                ),
              },
            ]}
          />
        }
        style={{ marginBottom: 16 }}
      />
    );
  }
  if (!error) return null;
  const result = typeof error.data?.result === 'string' ? error.data.result : undefined;
  let description: string | undefined;
  if (result) description = `${t(`result.${result}` as 'result.exceeds_credits', { defaultValue: errorText(error) })} (${result})`;
  else if (error.outcomeUnknown) description = t('outcomeUnknown');
  else if (error.code === 'transfer_exists_with_different_fields') description = t('keyReused');
  return (
    <Alert
      type={error.outcomeUnknown ? 'warning' : 'error'}
      showIcon
      data-testid="transfer-error"
      data-code={error.code}
      title={result ? t('rejected') : errorText(error)}
      description={description}
      style={{ marginBottom: 16 }}
    />
  );
}
