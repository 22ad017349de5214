import { PlusOutlined } from '@ant-design/icons';
import { parseYuan } from '@xiaowei/money';
import { Button, Card, Col, Form, Input, Row, Select } from 'antd';
import { useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useSearchParams } from 'react-router-dom';
import { api, unwrap } from '../../api/client';
import type { ApiError } from '../../api/errors';
import type { NewTransfer, TransferCodeNumber } from '../../api/types';
import { AccountPicker } from '../../components/account-picker';
import { Money } from '../../components/money';
import { PageContainer } from '../../components/page-container';
import { useChart } from '../../hooks/use-chart';
import { useLanguage } from '../../hooks/use-language';
import { asApiError, useRequest } from '../../hooks/use-request';
import { newIdempotencyKey } from '../../utils/idempotency';
import { TransferOutcome, type Posted } from './components/transfer-outcome';

interface Values {
  debit_account_id: string;
  credit_account_id: string;
  amount: string;
  code: TransferCodeNumber;
  reference?: string;
}

/** A definite answer from the ledger: the key is spent, an edited form must get a new one. */
function settles(error: ApiError): boolean {
  return error.code === 'transfer_rejected' || error.code === 'transfer_exists_with_different_fields';
}

/**
 * A staff transfer. The Idempotency-Key is made once per form fill and sent again on every retry
 * of it (double click, lost answer), so the ledger posts the transfer at most once. A new key is
 * made only when the ledger has answered definitely and the user then changes the form, or when
 * they start a new transfer.
 */
export default function NewTransferPage() {
  const { t } = useTranslation('transfers');
  const { pick } = useLanguage();
  const [params] = useSearchParams();
  const [form] = Form.useForm<Values>();
  const chart = useChart();
  const accounts = useRequest(() => unwrap(api.GET('/api/v1/accounts', { params: { query: { limit: 500, offset: 0 } } })), []);
  const key = useRef(newIdempotencyKey());
  const inFlight = useRef(false);
  const [busy, setBusy] = useState(false);
  const [posted, setPosted] = useState<Posted>();
  const [error, setError] = useState<ApiError>();
  const settled = posted !== undefined || (error !== undefined && settles(error));
  const amountText = Form.useWatch('amount', form);
  const amountFen = typeof amountText === 'string' ? parseYuan(amountText) : undefined;

  const submit = async (values: Values) => {
    if (inFlight.current) return;
    inFlight.current = true;
    setBusy(true);
    setError(undefined);
    try {
      const amount = parseYuan(values.amount);
      if (amount === undefined) return;
      const reference = values.reference?.trim();
      const body: NewTransfer = {
        debit_account_id: values.debit_account_id.trim(),
        credit_account_id: values.credit_account_id.trim(),
        amount,
        code: values.code,
        ...(reference ? { reference } : {}),
      };
      const reply = await unwrap(api.POST('/api/v1/transfers', { body, params: { header: { 'idempotency-key': key.current } } }));
      setPosted(reply);
    } catch (caught) {
      setPosted(undefined);
      setError(asApiError(caught));
    } finally {
      inFlight.current = false;
      setBusy(false);
    }
  };

  const startNew = (keepValues: boolean) => {
    key.current = newIdempotencyKey();
    setPosted(undefined);
    setError(undefined);
    if (!keepValues) form.resetFields();
  };

  return (
    <PageContainer
      title={t('newTitle')}
      extra={
        <Button icon={<PlusOutlined />} onClick={() => startNew(false)} data-testid="transfer-new">
          {t('startNew')}
        </Button>
      }
    >
      <Row gutter={16}>
        <Col xs={24} xl={16}>
          <Card>
            <TransferOutcome posted={posted} error={error} codeName={chart.transferCode} />
            <Form<Values>
              form={form}
              layout="vertical"
              requiredMark={false}
              onFinish={(v) => void submit(v)}
              onValuesChange={() => {
                if (settled) startNew(true);
              }}
              initialValues={{ credit_account_id: params.get('credit') ?? undefined, debit_account_id: params.get('debit') ?? undefined }}
            >
              <Row gutter={16}>
                <Col xs={24} md={12}>
                  <Form.Item
                    name="debit_account_id"
                    label={t('debit')}
                    extra={t('debitHint')}
                    rules={[{ required: true, message: t('accountRequired') }]}
                  >
                    <AccountPicker
                      accounts={accounts.data?.items ?? []}
                      typeName={chart.accountType}
                      placeholder={t('accountPlaceholder')}
                      testId="transfer-debit"
                    />
                  </Form.Item>
                </Col>
                <Col xs={24} md={12}>
                  <Form.Item
                    name="credit_account_id"
                    label={t('credit')}
                    extra={t('creditHint')}
                    dependencies={['debit_account_id']}
                    rules={[
                      { required: true, message: t('accountRequired') },
                      ({ getFieldValue }) => ({
                        validator: (_, value: string | undefined) =>
                          value && value === getFieldValue('debit_account_id')
                            ? Promise.reject(new Error(t('sameAccount')))
                            : Promise.resolve(),
                      }),
                    ]}
                  >
                    <AccountPicker
                      accounts={accounts.data?.items ?? []}
                      typeName={chart.accountType}
                      placeholder={t('accountPlaceholder')}
                      testId="transfer-credit"
                    />
                  </Form.Item>
                </Col>
                <Col xs={24} md={12}>
                  <Form.Item
                    name="amount"
                    label={t('amountYuan')}
                    extra={
                      amountFen ? (
                        <span data-testid="transfer-amount-preview">
                          <Money fen={amountFen} />
                        </span>
                      ) : (
                        t('amountHint')
                      )
                    }
                    rules={[
                      {
                        validator: (_, value: string | undefined) => {
                          const fen = value ? parseYuan(value) : undefined;
                          return fen !== undefined && fen > 0 ? Promise.resolve() : Promise.reject(new Error(t('amountInvalid')));
                        },
                      },
                    ]}
                  >
                    <Input prefix="¥" inputMode="decimal" autoComplete="off" data-testid="transfer-amount" />
                  </Form.Item>
                </Col>
                <Col xs={24} md={12}>
                  <Form.Item name="code" label={t('code')} rules={[{ required: true, message: t('codeRequired') }]}>
                    <Select<TransferCodeNumber>
                      data-testid="transfer-code"
                      placeholder={t('codePlaceholder')}
                      options={(chart.data?.transfer_codes ?? []).map((c) => ({ value: c.code, label: `${c.code} · ${pick(c.zh, c.en)}` }))}
                    />
                  </Form.Item>
                </Col>
                <Col xs={24}>
                  <Form.Item name="reference" label={t('reference')} rules={[{ max: 256 }]}>
                    <Input maxLength={256} data-testid="transfer-reference" />
                  </Form.Item>
                </Col>
              </Row>
              <Button type="primary" htmlType="submit" size="large" loading={busy} data-testid="transfer-submit">
                {t('submit')}
              </Button>
            </Form>
          </Card>
        </Col>
      </Row>
    </PageContainer>
  );
}
