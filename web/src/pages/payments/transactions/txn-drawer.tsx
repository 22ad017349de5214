import { Descriptions, Drawer, Empty, List, Spin, Table, Tag, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router-dom';
import { api, unwrap } from '../../../api/client';
import { ErrorAlert } from '../../../components/error-alert';
import { Money } from '../../../components/money';
import { useLanguage } from '../../../hooks/use-language';
import { useRequest } from '../../../hooks/use-request';
import { formatMicros } from '../../../utils/time';
import { usePartyNames } from '../../terminals/components/party-names';
import { ResponseCodeText, TxnStatusTag, TxnTypeText } from '../components/txn-tags';
import type { RiskHit, Txn } from '../model';

interface TxnDrawerProps {
  id: string | null;
  onClose: () => void;
  /** Opens a related transaction in the same drawer. */
  onOpen: (id: string) => void;
}

function AccountLink({ id }: { id: string | null }) {
  if (!id) return <>—</>;
  return <Link to={`/accounts/${encodeURIComponent(id)}`}>{id}</Link>;
}

/** One transaction: its fields, the risk rules that hit it, related voids/refunds, ledger ids. */
export function TxnDrawer({ id, onClose, onOpen }: TxnDrawerProps) {
  const { t } = useTranslation('payments');
  const { pick } = useLanguage();
  const detail = useRequest(
    async () => (id ? unwrap(api.GET('/api/v1/payments/transactions/{id}', { params: { path: { id } } })) : undefined),
    [id],
  );
  const x = id ? detail.data : undefined;
  const partyName = usePartyNames([x?.merchant_party_id]);
  return (
    <Drawer open={!!id} onClose={onClose} size="large" title={t('txn.detail')} data-testid="txn-drawer" destroyOnHidden>
      <ErrorAlert error={detail.error} />
      {detail.loading && !x ? <Spin /> : null}
      {x ? (
        <>
          <Descriptions column={{ xs: 1, sm: 2 }} size="small" bordered data-testid="txn-fields">
            <Descriptions.Item label={t('txn.id')}>
              <Typography.Text copyable>{x.id}</Typography.Text>
            </Descriptions.Item>
            <Descriptions.Item label={t('txn.type')}>
              <TxnTypeText type={x.type} />
            </Descriptions.Item>
            <Descriptions.Item label={t('txn.status')}>
              <TxnStatusTag status={x.status} />
            </Descriptions.Item>
            <Descriptions.Item label={t('txn.code')}>
              <ResponseCodeText code={x.response_code} />
            </Descriptions.Item>
            <Descriptions.Item label={t('txn.amount')}>
              <Money fen={x.amount} testId="txn-amount" />
            </Descriptions.Item>
            <Descriptions.Item label={t('txn.fee')}>
              <Money fen={x.fee} />
            </Descriptions.Item>
            {x.refunded_amount > 0 ? (
              <Descriptions.Item label={t('txn.refunded')}>
                <Money fen={x.refunded_amount} /> ({t('txn.fee')} <Money fen={x.refunded_fee} />)
              </Descriptions.Item>
            ) : null}
            <Descriptions.Item label={t('txn.card')}>{x.card_last4 ? `**** ${x.card_last4}` : '—'}</Descriptions.Item>
            <Descriptions.Item label={t('txn.merchant')}>
              {x.merchant_party_id ? (
                <Link to={`/payments/merchants/${encodeURIComponent(x.merchant_party_id)}`}>{partyName(x.merchant_party_id)}</Link>
              ) : (
                '—'
              )}
            </Descriptions.Item>
            <Descriptions.Item label={t('txn.terminal')}>
              {x.terminal_id ? <Link to={`/terminals/${encodeURIComponent(x.terminal_id)}`}>{x.terminal_id}</Link> : '—'}
            </Descriptions.Item>
            <Descriptions.Item label={t('txn.account')}>
              <AccountLink id={x.account_id} />
            </Descriptions.Item>
            {x.counter_account_id ? (
              <Descriptions.Item label={t('txn.counterAccount')}>
                <AccountLink id={x.counter_account_id} />
              </Descriptions.Item>
            ) : null}
            <Descriptions.Item label={t('txn.trace')}>{x.trace_no ?? '—'}</Descriptions.Item>
            <Descriptions.Item label={t('txn.authCode')}>{x.auth_code ?? '—'}</Descriptions.Item>
            <Descriptions.Item label={t('txn.clientId')}>{x.client_id}</Descriptions.Item>
            <Descriptions.Item label={t('txn.date')}>{x.business_date}</Descriptions.Item>
            <Descriptions.Item label={t('txn.at')}>{formatMicros(x.created_at)}</Descriptions.Item>
            <Descriptions.Item label={t('txn.settlement')}>
              {x.settlement_id ? <Link to={`/payments/settlements/${encodeURIComponent(x.settlement_id)}`}>{x.settlement_id}</Link> : '—'}
            </Descriptions.Item>
            {x.original_id ? (
              <Descriptions.Item label={t('txn.original')}>
                <Typography.Link onClick={() => onOpen(x.original_id!)}>{x.original_id}</Typography.Link>
              </Descriptions.Item>
            ) : null}
          </Descriptions>

          <Typography.Title level={5} style={{ marginTop: 24 }}>
            {t('txn.riskHits')}
          </Typography.Title>
          {x.risk && x.risk.hits.length > 0 ? (
            <Table<RiskHit>
              rowKey={(h) => `${h.rule_id}:${h.version}`}
              size="small"
              pagination={false}
              dataSource={x.risk.hits}
              data-testid="txn-risk-hits"
              columns={[
                {
                  title: t('txn.rule'),
                  dataIndex: 'name',
                  render: (name: string, h) => <Link to={`/risk/rules/${encodeURIComponent(h.rule_id)}`}>{`${name} v${h.version}`}</Link>,
                },
                {
                  title: t('txn.outcome'),
                  dataIndex: 'outcome',
                  render: (o: RiskHit['outcome'], h) => (
                    <>
                      {t(`riskOutcome.${o as 'decline'}`, { defaultValue: o })}
                      {h.shadow ? <Tag style={{ marginLeft: 8 }}>{t('txn.shadow')}</Tag> : null}
                    </>
                  ),
                },
                { title: t('txn.reason'), dataIndex: 'reason', render: (r: RiskHit['reason']) => pick(r.zh, r.en) },
              ]}
            />
          ) : (
            <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('txn.noRiskHits')} />
          )}

          <Typography.Title level={5} style={{ marginTop: 24 }}>
            {t('txn.related')}
          </Typography.Title>
          <List<Txn>
            size="small"
            dataSource={x.related}
            locale={{ emptyText: t('txn.noRelated') }}
            data-testid="txn-related"
            renderItem={(r) => (
              <List.Item>
                <Typography.Link onClick={() => onOpen(r.id)}>
                  <TxnTypeText type={r.type} />
                </Typography.Link>
                <Money fen={r.amount} />
                <TxnStatusTag status={r.status} />
                <span>{formatMicros(r.created_at)}</span>
              </List.Item>
            )}
          />

          <Typography.Title level={5} style={{ marginTop: 24 }}>
            {t('txn.transfers')}
          </Typography.Title>
          <List<string>
            size="small"
            dataSource={x.ledger_transfer_ids}
            locale={{ emptyText: t('txn.noTransfers') }}
            data-testid="txn-transfers"
            renderItem={(tid) => (
              <List.Item>
                <Typography.Text copyable code>
                  {tid}
                </Typography.Text>
                {x.account_id ? <Link to={`/transfers?account=${encodeURIComponent(x.account_id)}`}>{t('txn.inLedger')}</Link> : null}
              </List.Item>
            )}
          />
        </>
      ) : null}
    </Drawer>
  );
}
