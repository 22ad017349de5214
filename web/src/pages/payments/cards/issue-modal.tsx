import { App, Alert, Button, Form, Input, Modal, Select, Typography } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { formatFen, parseYuan } from '@xiaowei/money';
import { api, unwrap } from '../../../api/client';
import { useErrorText } from '../../../components/error-alert';
import { asApiError, useRequest } from '../../../hooks/use-request';
import { CustomerPicker } from '../components/customer-picker';
import { groupPan, type IssuedCard } from '../model';

/** Deposit accounts (code 2001) are what a card draws on. */
const DEPOSIT = 2001;
export const PIN_PATTERN = /^\d{4,6}$/;

interface Values {
  party_id: string;
  account_id: string;
  pin: string;
  pin2: string;
  per_txn_limit: string;
  daily_limit: string;
}

export const yuanValidator = (message: string) => async (_: unknown, v: string | undefined) => {
  const fen = parseYuan(v ?? '');
  if (fen === undefined || fen <= 0) throw new Error(message);
};

/**
 * Issues a card: cardholder, one of its deposit accounts, the PIN the customer types twice, limits.
 * The answer carries the full PAN this once; the modal shows it with a warning and forgets it.
 */
export function IssueModal({ open, onClose, onDone }: { open: boolean; onClose: () => void; onDone: () => void }) {
  const { t } = useTranslation('payments');
  const { message } = App.useApp();
  const errorText = useErrorText();
  const [form] = Form.useForm<Values>();
  const party = Form.useWatch('party_id', form);
  const [busy, setBusy] = useState(false);
  const [issued, setIssued] = useState<IssuedCard>();
  // One key per card being issued: a retry after a lost answer gets the same card, not a second one.
  const [requestKey, setRequestKey] = useState(() => crypto.randomUUID());
  const accounts = useRequest(
    async () =>
      party
        ? (await unwrap(api.GET('/api/v1/accounts', { params: { query: { owner_id: party, code: DEPOSIT, limit: 50, offset: 0 } } }))).items
        : [],
    [party],
  );

  const submit = async (v: Values) => {
    setBusy(true);
    try {
      const card = await unwrap(
        api.POST('/api/v1/cards', {
          params: { header: { 'idempotency-key': requestKey } },
          body: {
            party_id: v.party_id,
            account_id: v.account_id,
            pin: v.pin,
            per_txn_limit: parseYuan(v.per_txn_limit),
            daily_limit: parseYuan(v.daily_limit),
          },
        }),
      );
      form.resetFields();
      setRequestKey(crypto.randomUUID());
      setIssued(card);
      onDone();
    } catch (caught) {
      void message.error(errorText(asApiError(caught)));
    } finally {
      setBusy(false);
    }
  };
  const close = () => {
    setIssued(undefined);
    onClose();
  };

  if (issued)
    return (
      <Modal
        open={open}
        title={t('card.issued')}
        closable={false}
        maskClosable={false}
        footer={
          <Button type="primary" onClick={close} data-testid="card-pan-done">
            {t('card.panDone')}
          </Button>
        }
      >
        <Alert type="warning" showIcon title={t('card.panWarning')} style={{ marginBottom: 16 }} />
        <Typography.Title level={3} style={{ fontFamily: 'monospace', textAlign: 'center' }} data-testid="card-pan">
          {groupPan(issued.pan)}
        </Typography.Title>
        <Typography.Paragraph style={{ textAlign: 'center' }}>
          {t('card.expiry')}: <span data-testid="card-expiry">{issued.expiry}</span>
        </Typography.Paragraph>
      </Modal>
    );

  return (
    <Modal
      open={open}
      title={t('card.issue')}
      onCancel={close}
      onOk={() => form.submit()}
      confirmLoading={busy}
      okButtonProps={{ 'data-testid': 'card-issue-submit' }}
      forceRender
    >
      <Form<Values>
        form={form}
        layout="vertical"
        onFinish={(v) => void submit(v)}
        initialValues={{ per_txn_limit: '20000.00', daily_limit: '50000.00' }}
      >
        <Form.Item name="party_id" label={t('card.holder')} rules={[{ required: true }]}>
          <CustomerPicker testId="card-issue-party" />
        </Form.Item>
        <Form.Item name="account_id" label={t('card.account')} rules={[{ required: true }]}>
          <Select<string>
            loading={accounts.loading}
            disabled={!party}
            data-testid="card-issue-account"
            options={(accounts.data ?? []).map((a) => ({ value: a.id, label: `${a.name ?? a.id} · ${formatFen(a.balance)}` }))}
          />
        </Form.Item>
        <Form.Item
          name="pin"
          label={t('card.pin')}
          extra={t('card.pinHelp')}
          rules={[{ required: true, pattern: PIN_PATTERN, message: t('card.pinInvalid') }]}
        >
          <Input.Password maxLength={6} inputMode="numeric" autoComplete="new-password" data-testid="card-issue-pin" />
        </Form.Item>
        <Form.Item
          name="pin2"
          label={t('card.pinAgain')}
          dependencies={['pin']}
          rules={[
            { required: true, message: t('card.pinMismatch') },
            ({ getFieldValue }) => ({
              validator: async (_: unknown, v: string | undefined) => {
                if (v !== getFieldValue('pin')) throw new Error(t('card.pinMismatch'));
              },
            }),
          ]}
        >
          <Input.Password maxLength={6} inputMode="numeric" autoComplete="new-password" data-testid="card-issue-pin2" />
        </Form.Item>
        <Form.Item name="per_txn_limit" label={t('card.perTxnLimit')} rules={[{ validator: yuanValidator(t('yuanInvalid')) }]}>
          <Input prefix="¥" inputMode="decimal" data-testid="card-issue-per-txn" />
        </Form.Item>
        <Form.Item name="daily_limit" label={t('card.dailyLimit')} rules={[{ validator: yuanValidator(t('yuanInvalid')) }]}>
          <Input prefix="¥" inputMode="decimal" data-testid="card-issue-daily" />
        </Form.Item>
      </Form>
    </Modal>
  );
}
