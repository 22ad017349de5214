import { CloseCircleOutlined, KeyOutlined, ReloadOutlined, SendOutlined } from '@ant-design/icons';
import { Alert, App, Button, Card, Col, Descriptions, Form, Input, Modal, Row, Segmented, Space, Table, Tag, Typography } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ErrorAlert, useErrorText } from '../../../components/error-alert';
import { Money } from '../../../components/money';
import { PageContainer } from '../../../components/page-container';
import { asApiError, useRequest } from '../../../hooks/use-request';
import { useSignedIn } from '../../../session/session-context';
import { formatMicros } from '../../../utils/time';
import {
  COMPONENT_PATTERN,
  SAF_STATES,
  closeSaf,
  getStatus,
  importZmk,
  isOpenException,
  listSaf,
  retrySaf,
  type LinkState,
  type SafEntry,
  type SafException,
  type SafState,
} from './model';

const STATE_COLOR: Record<LinkState, string> = {
  signed_on: 'green',
  connecting: 'blue',
  no_zmk: 'orange',
  down: 'red',
  closed: 'default',
  not_configured: 'default',
};
const SAF_COLOR: Record<SafState, string> = {
  queued: 'blue',
  failed: 'red',
  held: 'default',
  acknowledged: 'green',
  rejected: 'red',
  dropped: 'default',
  closed: 'default',
};
const EXCEPTION_COLOR: Record<SafException, string> = { refused: 'red', retries: 'orange' };

type Filter = SafState | 'exceptions' | 'all';
interface ZmkForm {
  c1: string;
  c2: string;
  c3?: string;
}

const kcv = (v: string | null) => (v ? <Typography.Text code>{v}</Typography.Text> : '—');

/** The zone master key ceremony: 2–3 custodians each type a component; only the check value comes back. */
function ZmkCeremony({ onImported }: { onImported: () => void }) {
  const { t } = useTranslation('gatewaySwitch');
  const { message } = App.useApp();
  const errorText = useErrorText();
  const [form] = Form.useForm<ZmkForm>();
  const [busy, setBusy] = useState(false);
  const [imported, setImported] = useState<string>();
  const rule = { pattern: COMPONENT_PATTERN, message: t('zmk.componentInvalid') };

  const submit = async (v: ZmkForm) => {
    setBusy(true);
    try {
      const components = [v.c1, v.c2, v.c3].map((c) => c?.trim()).filter((c): c is string => !!c);
      const out = await importZmk(components);
      setImported(out.kcv);
      void message.success(t('zmk.imported'));
      onImported();
    } catch (caught) {
      void message.error(errorText(asApiError(caught)));
    } finally {
      // The components are not kept in the page, whatever happened.
      form.resetFields();
      setBusy(false);
    }
  };

  return (
    <Card title={t('zmk.title')} data-testid="switch-zmk">
      <Alert type="info" showIcon title={t('zmk.help')} style={{ marginBottom: 16 }} />
      <Form form={form} layout="vertical" onFinish={(v) => void submit(v)} autoComplete="off">
        <Form.Item name="c1" label={t('zmk.component', { n: 1 })} rules={[{ required: true, message: t('zmk.required') }, rule]}>
          <Input.Password autoComplete="off" maxLength={32} data-testid="switch-zmk-1" />
        </Form.Item>
        <Form.Item name="c2" label={t('zmk.component', { n: 2 })} rules={[{ required: true, message: t('zmk.required') }, rule]}>
          <Input.Password autoComplete="off" maxLength={32} data-testid="switch-zmk-2" />
        </Form.Item>
        <Form.Item name="c3" label={t('zmk.componentOptional', { n: 3 })} rules={[rule]}>
          <Input.Password autoComplete="off" maxLength={32} data-testid="switch-zmk-3" />
        </Form.Item>
        <Button type="primary" htmlType="submit" icon={<KeyOutlined />} loading={busy} data-testid="switch-zmk-submit">
          {t('zmk.submit')}
        </Button>
      </Form>
      {imported ? (
        <Alert
          type="success"
          showIcon
          style={{ marginTop: 16 }}
          title={
            <>
              {t('zmk.kcvIs')} <Typography.Text code data-testid="switch-zmk-kcv">{imported}</Typography.Text>
            </>
          }
          description={t('zmk.compare')}
        />
      ) : null}
    </Card>
  );
}

/** The card-switch link: its state and settlement date, the zone key ceremony, and the store-and-forward queue. */
export default function GatewaySwitchPage() {
  const { t } = useTranslation('gatewaySwitch');
  const { can } = useSignedIn();
  const { message } = App.useApp();
  const errorText = useErrorText();
  const writer = can('gateway:write');
  const [filter, setFilter] = useState<Filter>('queued');
  const [cursor, setCursor] = useState<string[]>([]);
  const [retrying, setRetrying] = useState<string>();
  const [closing, setClosing] = useState<SafEntry>();
  const [note, setNote] = useState('');
  const [closeBusy, setCloseBusy] = useState(false);

  const status = useRequest(() => getStatus(), []);
  const before = cursor[cursor.length - 1];
  const saf = useRequest(() => listSaf(filter === 'all' ? undefined : filter, before), [filter, before]);
  const s = status.data;

  const reload = () => {
    status.reload();
    saf.reload();
  };

  const retry = async (entry: SafEntry) => {
    setRetrying(entry.id);
    try {
      const out = await retrySaf(entry.id);
      void message.info(t('saf.retried', { state: t(`saf.states.${out.state}`) }));
      reload();
    } catch (caught) {
      void message.error(errorText(asApiError(caught)));
    } finally {
      setRetrying(undefined);
    }
  };

  const close = async () => {
    if (!closing || !note.trim()) return;
    setCloseBusy(true);
    try {
      await closeSaf(closing.id, note.trim());
      void message.success(t('saf.closed'));
      setClosing(undefined);
      setNote('');
      reload();
    } catch (caught) {
      void message.error(errorText(asApiError(caught)));
    } finally {
      setCloseBusy(false);
    }
  };

  const openExceptions = s ? s.saf_exceptions.refused + s.saf_exceptions.retries : 0;

  return (
    <PageContainer
      title={t('title')}
      extra={
        <Button icon={<ReloadOutlined />} onClick={reload} data-testid="switch-reload">
          {t('reload')}
        </Button>
      }
    >
      <ErrorAlert error={status.error ?? saf.error} />
      <Row gutter={[16, 16]}>
        <Col xs={24} lg={writer ? 14 : 24}>
          <Card title={t('status.title')} loading={status.loading && !s} data-testid="switch-status">
            {s ? (
              <Descriptions
                column={1}
                size="small"
                items={[
                  {
                    key: 'state',
                    label: t('status.state'),
                    children: (
                      <Tag color={STATE_COLOR[s.state]} data-testid="switch-state">
                        {t(`states.${s.state}`)}
                      </Tag>
                    ),
                  },
                  { key: 'date', label: t('status.settlementDate'), children: <span data-testid="switch-settlement-date">{s.settlement_date ?? '—'}</span> },
                  { key: 'peer', label: t('status.peer'), children: s.peer ?? '—' },
                  { key: 'acquirer', label: t('status.acquirerId'), children: s.acquirer_id },
                  { key: 'zmk', label: t('status.zmkKcv'), children: <span data-testid="switch-zmk-kcv-status">{kcv(s.zmk_kcv)}</span> },
                  { key: 'zpk', label: t('status.zpkKcv'), children: kcv(s.zpk_kcv) },
                  { key: 'zak', label: t('status.zakKcv'), children: kcv(s.zak_kcv) },
                  { key: 'signedOn', label: t('status.signedOnAt'), children: s.signed_on_at ? formatMicros(s.signed_on_at) : '—' },
                  { key: 'echo', label: t('status.lastEcho'), children: s.last_echo_at ? formatMicros(s.last_echo_at) : '—' },
                  { key: 'outstanding', label: t('status.outstanding'), children: s.outstanding },
                  {
                    key: 'saf',
                    label: t('status.saf'),
                    children: (
                      <span data-testid="switch-saf-counts">
                        {SAF_STATES.map((st) => `${t(`saf.states.${st}`)} ${s.saf_counts[st] ?? 0}`).join(' · ')}
                      </span>
                    ),
                  },
                  {
                    key: 'exceptions',
                    label: t('status.safExceptions'),
                    children: (
                      <span data-testid="switch-saf-exceptions">
                        {t('status.safExceptionCounts', { refused: s.saf_exceptions.refused, retries: s.saf_exceptions.retries })}
                      </span>
                    ),
                  },
                ]}
              />
            ) : null}
            {openExceptions > 0 ? <Alert type="error" showIcon title={t('status.exceptionsHelp', { n: openExceptions })} style={{ marginTop: 16 }} /> : null}
            {s?.state === 'no_zmk' ? <Alert type="warning" showIcon title={t('status.noZmkHelp')} style={{ marginTop: 16 }} /> : null}
            {s?.state === 'not_configured' ? <Alert type="info" showIcon title={t('status.notConfiguredHelp')} style={{ marginTop: 16 }} /> : null}
          </Card>
        </Col>
        {writer ? (
          <Col xs={24} lg={10}>
            <ZmkCeremony onImported={() => setTimeout(() => status.reload(), 500)} />
          </Col>
        ) : null}
      </Row>

      <Card title={t('saf.title')} style={{ marginTop: 16 }}>
        <Typography.Paragraph type="secondary">{t('saf.help')}</Typography.Paragraph>
        <Segmented<Filter>
          value={filter}
          onChange={(v) => {
            setFilter(v);
            setCursor([]);
          }}
          options={[
            { value: 'exceptions', label: t('saf.exceptions') },
            ...SAF_STATES.map((st) => ({ value: st, label: t(`saf.states.${st}`) })),
            { value: 'all', label: t('saf.all') },
          ]}
          style={{ marginBottom: 16 }}
          data-testid="switch-saf-filter"
        />
        <Table<SafEntry>
          rowKey="id"
          size="middle"
          loading={saf.loading}
          dataSource={saf.data?.items}
          scroll={{ x: 'max-content' }}
          pagination={false}
          data-testid="switch-saf-table"
          columns={[
            { title: t('saf.createdAt'), dataIndex: 'created_at', render: (us: number) => formatMicros(us) },
            { title: t('saf.kind'), dataIndex: 'kind', render: (k: SafEntry['kind']) => t(`saf.kinds.${k}`) },
            { title: t('saf.reason'), dataIndex: 'reason', render: (r: string | null) => (r ? t(`saf.reasons.${r === '98' ? 'timeout' : 'cancelled'}`) : '—') },
            { title: t('saf.rrn'), dataIndex: 'rrn', render: (v: string) => <Typography.Text code>{v}</Typography.Text> },
            { title: t('saf.card'), dataIndex: 'pan_masked', render: (v: string | null) => v ?? '—' },
            { title: t('saf.amount'), dataIndex: 'amount', align: 'right', render: (fen: number) => <Money fen={fen} /> },
            {
              title: t('saf.state'),
              dataIndex: 'state',
              render: (st: SafState, e) => (
                <Space size={4} wrap>
                  <Tag color={SAF_COLOR[st]} data-testid={`switch-saf-state-${e.id}`}>
                    {t(`saf.states.${st}`)}
                  </Tag>
                  {e.exception ? (
                    <Tag color={isOpenException(e) ? EXCEPTION_COLOR[e.exception] : 'default'} data-testid={`switch-saf-exception-${e.id}`}>
                      {t(`saf.exceptionKinds.${e.exception}`)}
                    </Tag>
                  ) : null}
                </Space>
              ),
            },
            { title: t('saf.attempts'), dataIndex: 'attempts' },
            {
              title: t('saf.next'),
              dataIndex: 'next_attempt_at',
              render: (us: number, e) => (e.state === 'queued' ? formatMicros(us) : '—'),
            },
            {
              title: t('saf.answer'),
              key: 'answer',
              render: (_: unknown, e) => [e.response_code, e.last_error].filter(Boolean).join(' · ') || '—',
            },
            { title: t('saf.settlementDate'), dataIndex: 'settlement_date', render: (v: string | null) => v ?? '—' },
            {
              title: t('saf.note'),
              key: 'note',
              render: (_: unknown, e: SafEntry) => (e.note ? `${e.note}${e.closed_at ? ` (${formatMicros(e.closed_at)})` : ''}` : '—'),
            },
            ...(writer
              ? [
                  {
                    title: '',
                    key: 'retry',
                    render: (_: unknown, e: SafEntry) => (
                      <Space size={4}>
                        {e.state === 'queued' || e.state === 'failed' ? (
                          <Button size="small" icon={<SendOutlined />} loading={retrying === e.id} onClick={() => void retry(e)} data-testid={`switch-saf-retry-${e.id}`}>
                            {t('saf.retry')}
                          </Button>
                        ) : null}
                        {isOpenException(e) ? (
                          <Button size="small" danger icon={<CloseCircleOutlined />} onClick={() => setClosing(e)} data-testid={`switch-saf-close-${e.id}`}>
                            {t('saf.close')}
                          </Button>
                        ) : null}
                      </Space>
                    ),
                  },
                ]
              : []),
          ]}
        />
        <div style={{ marginTop: 16, display: 'flex', gap: 8 }}>
          <Button disabled={cursor.length === 0} onClick={() => setCursor((c) => c.slice(0, -1))} data-testid="switch-saf-newer">
            {t('saf.newer')}
          </Button>
          <Button
            disabled={!saf.data?.next_before}
            onClick={() => {
              const next = saf.data?.next_before;
              if (next) setCursor((c) => [...c, next]);
            }}
            data-testid="switch-saf-older"
          >
            {t('saf.older')}
          </Button>
        </div>
      </Card>
      <Modal
        open={closing !== undefined}
        title={t('saf.closeTitle')}
        okText={t('saf.close')}
        okButtonProps={{ danger: true, disabled: !note.trim(), loading: closeBusy, ...({ 'data-testid': 'switch-saf-close-ok' } as object) }}
        onOk={() => void close()}
        onCancel={() => {
          setClosing(undefined);
          setNote('');
        }}
        destroyOnHidden
      >
        <Typography.Paragraph>{t('saf.closeHelp')}</Typography.Paragraph>
        <Input.TextArea
          value={note}
          onChange={(ev) => setNote(ev.target.value)}
          maxLength={500}
          rows={3}
          placeholder={t('saf.notePlaceholder')}
          data-testid="switch-saf-close-note"
        />
      </Modal>
    </PageContainer>
  );
}
