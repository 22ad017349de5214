import { parseYuan } from '@xiaowei/money';
import { Button, Card, Descriptions, Form, Input } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { ApiError } from '../../../../api/errors';
import { ErrorAlert } from '../../../../components/error-alert';
import { Money } from '../../../../components/money';
import { mobileApi, newClientId, type DecodedQr, type TxnReply } from '../mobile-api';
import { QrScanner } from './qr-scanner';
import { TxnResult } from './txn-result';

const asApiError = (e: unknown): ApiError => e as ApiError;

/** Paste (or scan) a merchant's code, check merchant and amount, pay once. */
export function PayTab({ accountId, onPaid }: { accountId: string | undefined; onPaid: () => void }) {
  const { t } = useTranslation('mobile');
  const [payload, setPayload] = useState('');
  const [decoded, setDecoded] = useState<DecodedQr>();
  const [amountText, setAmountText] = useState('');
  const [clientId, setClientId] = useState('');
  const [reply, setReply] = useState<TxnReply>();
  const [error, setError] = useState<ApiError>();
  const [busy, setBusy] = useState(false);

  const reset = () => {
    setPayload('');
    setDecoded(undefined);
    setAmountText('');
    setReply(undefined);
    setError(undefined);
  };

  const read = async (text: string) => {
    setBusy(true);
    setError(undefined);
    try {
      setDecoded(await mobileApi<DecodedQr>('POST', '/pay/qr/decode', { payload: text.trim() }));
      // One key per confirmed payment: a retry after a lost answer pays nothing twice.
      setClientId(newClientId());
    } catch (e) {
      setError(asApiError(e));
    } finally {
      setBusy(false);
    }
  };

  const amount = decoded?.amount ?? parseYuan(amountText);
  const pay = async () => {
    if (!decoded || !accountId || amount === undefined || amount <= 0) return;
    setBusy(true);
    setError(undefined);
    try {
      const body = { clientId, payload: payload.trim(), accountId, ...(decoded.amount === null ? { amount } : {}) };
      setReply(await mobileApi<TxnReply>('POST', '/pay/qr/pay', body));
      onPaid();
    } catch (e) {
      setError(asApiError(e));
    } finally {
      setBusy(false);
    }
  };

  if (reply) return <TxnResult reply={reply} okTitle={t('approved')} failTitle={t('declined')} onAgain={reset} />;

  return (
    <Card size="small">
      <ErrorAlert error={error} testId="mobile-error" />
      {!decoded ? (
        <Form layout="vertical" onFinish={() => void read(payload)} disabled={busy}>
          <Form.Item label={t('payload')} extra={t('payloadHint')}>
            <Input.TextArea rows={4} value={payload} onChange={(e) => setPayload(e.target.value)} data-testid="mobile-payload" spellCheck={false} />
          </Form.Item>
          <QrScanner
            onCode={(text) => {
              setPayload(text);
              void read(text);
            }}
          />
          <Button type="primary" htmlType="submit" block disabled={!payload.trim()} loading={busy} data-testid="mobile-read">
            {t('read')}
          </Button>
        </Form>
      ) : (
        <>
          <Descriptions column={1} size="small" bordered>
            <Descriptions.Item label={t('merchant')}>
              <span data-testid="mobile-merchant">{decoded.merchantName}</span>
              {decoded.merchantCity ? ` · ${decoded.merchantCity}` : ''}
            </Descriptions.Item>
            {decoded.amount !== null ? (
              <Descriptions.Item label={t('fixedAmount')}>
                <Money fen={decoded.amount} testId="mobile-order-amount" />
              </Descriptions.Item>
            ) : null}
          </Descriptions>
          {decoded.amount === null ? (
            <Form.Item
              label={t('amount')}
              style={{ marginTop: 16 }}
              validateStatus={amountText && amount === undefined ? 'error' : undefined}
              help={amountText && amount === undefined ? t('amountRequired') : undefined}
            >
              <Input inputMode="decimal" prefix="¥" value={amountText} onChange={(e) => setAmountText(e.target.value)} data-testid="mobile-amount" />
            </Form.Item>
          ) : null}
          <Button
            type="primary"
            size="large"
            block
            style={{ marginTop: 16 }}
            loading={busy}
            disabled={!accountId || amount === undefined || amount <= 0}
            onClick={() => void pay()}
            data-testid="mobile-confirm"
          >
            {t('confirmPay')}
          </Button>
          <Button block type="link" onClick={reset} disabled={busy}>
            {t('cancel')}
          </Button>
        </>
      )}
    </Card>
  );
}
