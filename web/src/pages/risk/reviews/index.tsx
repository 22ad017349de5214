import { App, Button, Card, Form, Input, Modal, Radio, Segmented, Table, Tag } from 'antd';
import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router-dom';
import { api, unwrap } from '../../../api/client';
import { ErrorAlert, useErrorText } from '../../../components/error-alert';
import { Money } from '../../../components/money';
import { PageContainer } from '../../../components/page-container';
import { useLanguage } from '../../../hooks/use-language';
import { asApiError, useRequest } from '../../../hooks/use-request';
import { useSignedIn } from '../../../session/session-context';
import { formatMicros } from '../../../utils/time';
import { usePartyNames } from '../../terminals/components/party-names';
import { TxnTypeText } from '../../payments/components/txn-tags';
import type { TxnType } from '../../payments/model';
import { REVIEW_STATUSES, type Review, type ReviewStatus } from '../model';

type Decision = 'approve' | 'decline';
const MAX_NOTE = 500;

/**
 * Transactions the rules held for review (card sales, QR payments, customer transfers); a reviewer
 * approves (posts the hold) or declines (releases it) with a note.
 */
export default function RiskReviewsPage() {
  const { t } = useTranslation('risk');
  const { can } = useSignedIn();
  const { pick } = useLanguage();
  const { message } = App.useApp();
  const errorText = useErrorText();
  const [status, setStatus] = useState<ReviewStatus>('pending');
  const [deciding, setDeciding] = useState<Review>();
  const [busy, setBusy] = useState(false);
  const [form] = Form.useForm<{ decision: Decision; note: string }>();
  const list = useRequest(() => unwrap(api.GET('/api/v1/risk/reviews', { params: { query: { status, limit: 500 } } })), [status]);
  const merchant = usePartyNames(useMemo(() => (list.data?.items ?? []).map((r) => r.merchant_party_id), [list.data]));
  const writer = can('risk:write');

  const decide = async (v: { decision: Decision; note: string }) => {
    if (!deciding) return;
    setBusy(true);
    try {
      await unwrap(
        api.POST('/api/v1/risk/reviews/{id}/decision', {
          params: { path: { id: deciding.id } },
          body: { decision: v.decision, note: v.note.trim() },
        }),
      );
      void message.success(t(v.decision === 'approve' ? 'review.approved' : 'review.declined'));
      setDeciding(undefined);
      list.reload();
    } catch (caught) {
      void message.error(errorText(asApiError(caught)));
    } finally {
      setBusy(false);
    }
  };

  return (
    <PageContainer title={t('review.title')}>
      <ErrorAlert error={list.error} />
      <Card>
        <Segmented<ReviewStatus>
          value={status}
          onChange={setStatus}
          options={REVIEW_STATUSES.map((s) => ({ value: s, label: t(`review.status.${s}`) }))}
          style={{ marginBottom: 16 }}
          data-testid="review-status"
        />
        <Table<Review>
          rowKey="id"
          size="middle"
          loading={list.loading}
          dataSource={list.data?.items}
          scroll={{ x: 'max-content' }}
          data-testid="review-table"
          columns={[
            { title: t('review.at'), dataIndex: 'created_at', render: (us: number) => formatMicros(us) },
            {
              title: t('review.txn'),
              key: 'txn',
              render: (_: unknown, r) => (
                <Link to={`/payments/transactions?txn=${encodeURIComponent(r.id)}`}>
                  <TxnTypeText type={r.type as TxnType} />
                </Link>
              ),
            },
            { title: t('review.amount'), dataIndex: 'amount', align: 'right', render: (fen: number) => <Money fen={fen} /> },
            { title: t('review.merchant'), dataIndex: 'merchant_party_id', render: (id: string | null) => (id ? merchant(id) : '—') },
            { title: t('review.card'), dataIndex: 'card_last4', render: (v: string | null) => (v ? `**** ${v}` : '—') },
            {
              // Card sales and QR payments name the payer's account; a transfer also its payee.
              title: t('review.accounts'),
              key: 'accounts',
              render: (_: unknown, r: Review) => (
                <span data-testid={`review-accounts-${r.id}`}>
                  {r.account_id ? <Link to={`/accounts/${encodeURIComponent(r.account_id)}`}>{r.account_id}</Link> : '—'}
                  {r.counter_account_id ? (
                    <>
                      {' → '}
                      <Link to={`/accounts/${encodeURIComponent(r.counter_account_id)}`}>{r.counter_account_id}</Link>
                    </>
                  ) : null}
                </span>
              ),
            },
            {
              title: t('review.hits'),
              key: 'hits',
              render: (_: unknown, r) => (
                <>
                  {(r.risk?.hits ?? []).map((h) => (
                    <div key={`${h.rule_id}:${h.version}`}>{pick(h.reason.zh, h.reason.en)}</div>
                  ))}
                </>
              ),
            },
            ...(status === 'pending'
              ? writer
                ? [
                    {
                      title: '',
                      key: 'decide',
                      render: (_: unknown, r: Review) => (
                        <Button
                          size="small"
                          type="primary"
                          onClick={() => {
                            form.resetFields();
                            setDeciding(r);
                          }}
                          data-testid={`review-decide-${r.id}`}
                        >
                          {t('review.decide')}
                        </Button>
                      ),
                    },
                  ]
                : []
              : [
                  {
                    title: t('review.decision'),
                    key: 'decision',
                    render: (_: unknown, r: Review) =>
                      r.review ? (
                        <>
                          <Tag color={r.review.decision === 'approve' ? 'green' : 'red'}>{t(`review.decisions.${r.review.decision}`)}</Tag>
                          {`${r.review.actor_name} · ${r.review.note} · ${formatMicros(r.review.decided_at)}`}
                        </>
                      ) : (
                        '—'
                      ),
                  },
                ]),
          ]}
        />
      </Card>
      {writer ? (
        <Modal
          open={!!deciding}
          title={t('review.decide')}
          onCancel={() => setDeciding(undefined)}
          onOk={() => form.submit()}
          confirmLoading={busy}
          okButtonProps={{ 'data-testid': 'review-submit' }}
          forceRender
        >
          <Form form={form} layout="vertical" onFinish={(v) => void decide(v)}>
            <Form.Item name="decision" label={t('review.decision')} rules={[{ required: true }]}>
              <Radio.Group
                optionType="button"
                options={[
                  { value: 'approve', label: t('review.decisions.approve') },
                  { value: 'decline', label: t('review.decisions.decline') },
                ]}
                data-testid="review-decision"
              />
            </Form.Item>
            <Form.Item name="note" label={t('review.note')} rules={[{ required: true, whitespace: true, max: MAX_NOTE }]}>
              <Input.TextArea rows={3} maxLength={MAX_NOTE} data-testid="review-note" />
            </Form.Item>
          </Form>
        </Modal>
      ) : null}
    </PageContainer>
  );
}
