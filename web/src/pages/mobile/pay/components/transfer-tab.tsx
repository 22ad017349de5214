import { parseYuan } from '@xiaowei/money';
import { Button, Card, Form, Input } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { ApiError } from '../../../../api/errors';
import { ErrorAlert } from '../../../../components/error-alert';
import { mobileApi, newClientId, type TxnReply } from '../mobile-api';
import { TxnResult } from './txn-result';

interface Values {
  toAccountId: string;
  amount: string;
  memo?: string;
}

/** Account-to-account transfer to any customer deposit account of the bank. */
export function TransferTab({ accountId, onDone }: { accountId: string | undefined; onDone: () => void }) {
  const { t } = useTranslation('mobile');
  const [form] = Form.useForm<Values>();
  // Kept until the customer starts a new transfer: pressing again after a lost answer is a retry.
  const [clientId, setClientId] = useState(newClientId);
  const [reply, setReply] = useState<TxnReply>();
  const [error, setError] = useState<ApiError>();
  const [busy, setBusy] = useState(false);

  const submit = async (values: Values) => {
    const amount = parseYuan(values.amount);
    if (!accountId || amount === undefined) return;
    setBusy(true);
    setError(undefined);
    try {
      const memo = values.memo?.trim();
      setReply(await mobileApi<TxnReply>('POST', '/pay/transfers', { clientId, fromAccountId: accountId, toAccountId: values.toAccountId.trim(), amount, ...(memo ? { memo } : {}) }));
      onDone();
    } catch (e) {
      setError(e as ApiError);
    } finally {
      setBusy(false);
    }
  };

  if (reply) {
    return (
      <TxnResult
        reply={reply}
        okTitle={t('transferDone')}
        failTitle={t('transferFailed')}
        onAgain={() => {
          form.resetFields();
          setReply(undefined);
          setClientId(newClientId());
        }}
      />
    );
  }
  return (
    <Card size="small">
      <ErrorAlert error={error} testId="mobile-error" />
      <Form<Values> form={form} layout="vertical" onFinish={(v) => void submit(v)} disabled={busy} requiredMark={false}>
        <Form.Item name="toAccountId" label={t('toAccount')} rules={[{ required: true, whitespace: true, message: t('toAccountRequired') }]}>
          <Input autoComplete="off" data-testid="mobile-to-account" />
        </Form.Item>
        <Form.Item
          name="amount"
          label={t('amount')}
          rules={[{ validator: async (_r, v: string | undefined) => ((parseYuan(v ?? '') ?? 0) > 0 ? undefined : Promise.reject(new Error(t('amountRequired')))) }]}
        >
          <Input inputMode="decimal" prefix="¥" data-testid="mobile-transfer-amount" />
        </Form.Item>
        <Form.Item name="memo" label={t('memo')}>
          <Input maxLength={60} data-testid="mobile-memo" />
        </Form.Item>
        <Button type="primary" htmlType="submit" block size="large" loading={busy} disabled={!accountId} data-testid="mobile-transfer-submit">
          {t('transfer')}
        </Button>
      </Form>
    </Card>
  );
}
