import { Button, Descriptions, Result } from 'antd';
import { useTranslation } from 'react-i18next';
import { Money } from '../../../../components/money';
import { useLanguage } from '../../../../hooks/use-language';
import type { TxnReply } from '../mobile-api';

/**
 * The outcome of a payment or transfer, with the bank's own wording of the response code. One a
 * risk rule held for the bank's review ('09') is neither paid nor refused yet: the amount is
 * reserved until a reviewer decides.
 */
export function TxnResult({ reply, okTitle, failTitle, onAgain }: { reply: TxnReply; okTitle: string; failTitle: string; onAgain: () => void }) {
  const { t } = useTranslation('mobile');
  const { pick } = useLanguage();
  const held = reply.status === 'held';
  return (
    <Result
      status={reply.approved ? 'success' : held ? 'info' : 'error'}
      title={<span data-testid="mobile-result-title">{reply.approved ? okTitle : held ? t('held') : failTitle}</span>}
      subTitle={
        <span data-testid="mobile-result-message">
          {pick(reply.message.zh, reply.message.en)}
          {held ? <span data-testid="mobile-result-held">{` ${t('heldHint')}`}</span> : null}
        </span>
      }
      extra={
        <Button type="primary" onClick={onAgain} data-testid="mobile-again">
          {t('another')}
        </Button>
      }
    >
      <Descriptions column={1} size="small">
        <Descriptions.Item label={t('amount')}>
          <Money fen={reply.amount} testId="mobile-result-amount" />
        </Descriptions.Item>
        <Descriptions.Item label={t('responseCode')}>
          <span data-testid="mobile-result-code">{reply.responseCode}</span>
        </Descriptions.Item>
        {reply.authCode ? <Descriptions.Item label={t('authCode')}>{reply.authCode}</Descriptions.Item> : null}
      </Descriptions>
    </Result>
  );
}
