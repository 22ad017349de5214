import { KeyOutlined, PlusOutlined } from '@ant-design/icons';
import { Alert, App, Button, Card, Form, Input, Modal, Radio, Select, Table, Tag, Typography } from 'antd';
import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ErrorAlert, useErrorText } from '../../../components/error-alert';
import { PageContainer } from '../../../components/page-container';
import { asApiError, useRequest } from '../../../hooks/use-request';
import { useSignedIn } from '../../../session/session-context';
import { formatMicros } from '../../../utils/time';
import { usePartyNames } from '../../terminals/components/party-names';
import {
  COMPONENT_PATTERN,
  MID_PATTERN,
  TID_PATTERN,
  PIN_MODES,
  listBdks,
  listPlatformPos,
  listPos,
  registerPos,
  rekeyPos,
  type IssuedComponent,
  type Keyed,
  type PinMode,
  type PosPin,
  type PosTerminal,
} from './model';

type KeySource = 'generate' | 'components';
interface KeyForm {
  source: KeySource;
  c1?: string;
  c2?: string;
  c3?: string;
}
interface RegisterForm extends KeyForm {
  terminal_id: string;
  tid: string;
  mid?: string;
  pin_mode?: PinMode;
  bdk?: string;
}

const componentsOf = (v: KeyForm): string[] | undefined =>
  v.source === 'generate' ? undefined : [v.c1, v.c2, v.c3].map((c) => c?.trim()).filter((c): c is string => !!c);

/** How the TMK is formed: drawn by the host (components shown once) or from the custodians' components. */
function KeySourceFields({ source }: { source: KeySource | undefined }) {
  const { t } = useTranslation('gatewayPos');
  const rule = { pattern: COMPONENT_PATTERN, message: t('componentInvalid') };
  return (
    <>
      <Form.Item name="source" label={t('keySource')} initialValue="generate">
        <Radio.Group
          optionType="button"
          options={[
            { value: 'generate', label: t('generate') },
            { value: 'components', label: t('fromComponents') },
          ]}
          data-testid="pos-key-source"
        />
      </Form.Item>
      {source === 'components' ? (
        <>
          <Form.Item name="c1" label={t('component', { n: 1 })} rules={[{ required: true, message: t('required') }, rule]}>
            <Input.Password autoComplete="off" maxLength={32} data-testid="pos-component-1" />
          </Form.Item>
          <Form.Item name="c2" label={t('component', { n: 2 })} rules={[{ required: true, message: t('required') }, rule]}>
            <Input.Password autoComplete="off" maxLength={32} data-testid="pos-component-2" />
          </Form.Item>
          <Form.Item name="c3" label={t('componentOptional', { n: 3 })} rules={[rule]}>
            <Input.Password autoComplete="off" maxLength={32} data-testid="pos-component-3" />
          </Form.Item>
        </>
      ) : (
        <Alert type="info" showIcon title={t('generateHelp')} style={{ marginBottom: 16 }} />
      )}
    </>
  );
}

/** Conventional POS terminals (ISO 8583): registration with a master key, the key check values, sign-on state, re-keying. */
export default function GatewayPosPage() {
  const { t } = useTranslation('gatewayPos');
  const { can } = useSignedIn();
  const { message } = App.useApp();
  const errorText = useErrorText();
  const writer = can('gateway:write');
  const [page, setPage] = useState({ current: 1, size: 20 });
  const [tid, setTid] = useState<string>();
  const [registering, setRegistering] = useState(false);
  const [rekeying, setRekeying] = useState<PosTerminal>();
  const [issued, setIssued] = useState<{ tid: string; kcv: string; components: IssuedComponent[] }>();
  const [busy, setBusy] = useState(false);
  const [registerForm] = Form.useForm<RegisterForm>();
  const [rekeyForm] = Form.useForm<KeyForm>();
  const registerSource = Form.useWatch('source', registerForm);
  const rekeySource = Form.useWatch('source', rekeyForm);
  const registerPinMode = Form.useWatch('pin_mode', registerForm);
  const bdks = useRequest(() => (writer ? listBdks() : Promise.resolve({ items: [] })), [writer]);

  const list = useRequest(() => listPos(page.size, (page.current - 1) * page.size, tid), [page, tid]);
  const platform = useRequest(() => listPlatformPos(), []);
  const owner = usePartyNames(useMemo(() => (list.data?.items ?? []).map((p) => p.owner_party_id), [list.data]));
  const serialOf = useMemo(() => new Map((platform.data?.items ?? []).map((p) => [p.id, p.serial])), [platform.data]);
  const registered = useMemo(() => new Set((list.data?.items ?? []).map((p) => p.terminal_id)), [list.data]);

  const done = (out: Keyed, okText: string) => {
    if (out.issued_components) setIssued({ tid: out.tid, kcv: out.tmk_kcv, components: out.issued_components });
    else void message.success(`${okText} · KCV ${out.tmk_kcv}`);
    list.reload();
  };

  const submitRegister = async (v: RegisterForm) => {
    setBusy(true);
    try {
      const comps = componentsOf(v);
      const mid = v.mid?.trim();
      const pin = v.pin_mode && v.pin_mode !== 'tpk' ? { pin_mode: v.pin_mode, bdk: v.bdk } : {};
      const out = await registerPos({ terminal_id: v.terminal_id, tid: v.tid.trim(), ...(mid ? { mid } : {}), ...(comps ? { tmk_components: comps } : {}), ...pin });
      setRegistering(false);
      registerForm.resetFields();
      done(out, t('registered'));
    } catch (caught) {
      void message.error(errorText(asApiError(caught)));
    } finally {
      setBusy(false);
    }
  };

  const submitRekey = async (v: KeyForm) => {
    if (!rekeying) return;
    setBusy(true);
    try {
      const out = await rekeyPos(rekeying.terminal_id, componentsOf(v));
      setRekeying(undefined);
      rekeyForm.resetFields();
      done(out, t('rekeyed'));
    } catch (caught) {
      void message.error(errorText(asApiError(caught)));
    } finally {
      setBusy(false);
    }
  };

  return (
    <PageContainer
      title={t('title')}
      extra={
        writer ? (
          <Button type="primary" icon={<PlusOutlined />} onClick={() => setRegistering(true)} data-testid="pos-register">
            {t('register')}
          </Button>
        ) : null
      }
    >
      <ErrorAlert error={list.error} />
      <Card>
        <Input.Search
          allowClear
          placeholder={t('tidFilter')}
          style={{ maxWidth: 240, marginBottom: 16 }}
          maxLength={8}
          onSearch={(value) => {
            setTid(value.trim() || undefined);
            setPage((p) => ({ ...p, current: 1 }));
          }}
          data-testid="pos-tid-filter"
        />
        <Table<PosTerminal>
          rowKey="terminal_id"
          size="middle"
          loading={list.loading}
          dataSource={list.data?.items}
          scroll={{ x: 'max-content' }}
          data-testid="pos-table"
          pagination={{
            current: page.current,
            pageSize: page.size,
            total: list.data?.total ?? 0,
            onChange: (current, size) => setPage({ current, size }),
          }}
          columns={[
            { title: t('tid'), dataIndex: 'tid', render: (v: string) => <Typography.Text code>{v}</Typography.Text> },
            { title: t('mid'), dataIndex: 'mid' },
            { title: t('terminal'), dataIndex: 'terminal_id', render: (id: string) => serialOf.get(id) ?? id },
            { title: t('owner'), dataIndex: 'owner_party_id', render: (id: string) => owner(id) },
            { title: t('kcv'), dataIndex: 'tmk_kcv', render: (v: string) => <Typography.Text code>{v}</Typography.Text> },
            {
              title: t('pinMode'),
              key: 'pin_mode',
              render: (_: unknown, p: PosTerminal & PosPin) => (
                <span data-testid={`pos-pin-mode-${p.tid}`}>
                  {t(`pinModes.${p.pin_mode ?? 'tpk'}`)}
                  {p.bdk ? <Typography.Text code>{p.bdk}</Typography.Text> : null}
                </span>
              ),
            },
            {
              title: t('session'),
              key: 'session',
              render: (_: unknown, p) =>
                p.session ? (
                  <>
                    <Tag color="green">{t('signedOn')}</Tag>
                    {t('batch', { no: String(p.session.batch_no).padStart(6, '0') })} · {formatMicros(p.session.signed_on_at)}
                  </>
                ) : (
                  <Tag>{t('notSignedOn')}</Tag>
                ),
            },
            { title: t('status'), dataIndex: 'status', render: (s: PosTerminal['status']) => <Tag color={s === 'active' ? 'blue' : 'default'}>{t(`statuses.${s}`)}</Tag> },
            { title: t('createdAt'), dataIndex: 'created_at', render: (us: number) => formatMicros(us) },
            ...(writer
              ? [
                  {
                    title: '',
                    key: 'rekey',
                    render: (_: unknown, p: PosTerminal) => (
                      <Button
                        size="small"
                        icon={<KeyOutlined />}
                        onClick={() => {
                          rekeyForm.resetFields();
                          setRekeying(p);
                        }}
                        data-testid={`pos-rekey-${p.tid}`}
                      >
                        {t('rekey')}
                      </Button>
                    ),
                  },
                ]
              : []),
          ]}
        />
      </Card>

      {writer ? (
        <Modal
          open={registering}
          title={t('register')}
          onCancel={() => setRegistering(false)}
          onOk={() => registerForm.submit()}
          confirmLoading={busy}
          okButtonProps={{ 'data-testid': 'pos-register-submit' }}
          forceRender
        >
          <Form form={registerForm} layout="vertical" onFinish={(v) => void submitRegister(v)}>
            <Form.Item name="terminal_id" label={t('terminal')} rules={[{ required: true, message: t('required') }]} extra={t('terminalHelp')}>
              <Select
                showSearch
                optionFilterProp="label"
                loading={platform.loading}
                options={(platform.data?.items ?? [])
                  .filter((p) => p.status !== 'retired' && !registered.has(p.id))
                  .map((p) => ({ value: p.id, label: `${p.serial} · ${p.model}` }))}
                data-testid="pos-terminal-picker"
              />
            </Form.Item>
            <Form.Item name="tid" label={t('tid')} rules={[{ required: true, message: t('required') }, { pattern: TID_PATTERN, message: t('tidInvalid') }]}>
              <Input maxLength={8} data-testid="pos-tid" />
            </Form.Item>
            <Form.Item name="mid" label={t('mid')} rules={[{ pattern: MID_PATTERN, message: t('midInvalid') }]} extra={t('midHelp')}>
              <Input maxLength={15} data-testid="pos-mid" />
            </Form.Item>
            <KeySourceFields source={registerSource} />
            <Form.Item name="pin_mode" label={t('pinMode')} initialValue="tpk" extra={t('pinModeHelp')}>
              <Select options={PIN_MODES.map((m) => ({ value: m, label: t(`pinModes.${m}`) }))} data-testid="pos-pin-mode" />
            </Form.Item>
            {registerPinMode && registerPinMode !== 'tpk' ? (
              <Form.Item name="bdk" label={t('bdk')} rules={[{ required: true, message: t('required') }]}>
                <Select
                  loading={bdks.loading}
                  options={(bdks.data?.items ?? [])
                    .filter((b) => b.scheme === (registerPinMode === 'dukpt-tdes' ? 'tdes' : 'aes'))
                    .map((b) => ({ value: b.name, label: `${b.name} · ${b.algorithm} · KCV ${b.kcv}` }))}
                  data-testid="pos-bdk"
                />
              </Form.Item>
            ) : null}
          </Form>
        </Modal>
      ) : null}

      {writer ? (
        <Modal
          open={!!rekeying}
          title={t('rekeyTitle', { tid: rekeying?.tid ?? '' })}
          onCancel={() => setRekeying(undefined)}
          onOk={() => rekeyForm.submit()}
          confirmLoading={busy}
          okButtonProps={{ 'data-testid': 'pos-rekey-submit' }}
          forceRender
        >
          <Alert type="warning" showIcon title={t('rekeyWarning')} style={{ marginBottom: 16 }} />
          <Form form={rekeyForm} layout="vertical" onFinish={(v) => void submitRekey(v)}>
            <KeySourceFields source={rekeySource} />
          </Form>
        </Modal>
      ) : null}

      <Modal
        open={!!issued}
        destroyOnHidden
        title={t('componentsTitle', { tid: issued?.tid ?? '' })}
        closable={false}
        maskClosable={false}
        keyboard={false}
        footer={
          <Button type="primary" onClick={() => setIssued(undefined)} data-testid="pos-components-done">
            {t('componentsDone')}
          </Button>
        }
      >
        <Alert type="warning" showIcon title={t('componentsWarning')} style={{ marginBottom: 16 }} />
        {(issued?.components ?? []).map((c, i) => (
          <div key={c.kcv + String(i)} style={{ marginBottom: 12 }}>
            <Typography.Text strong>{t('component', { n: i + 1 })}</Typography.Text>
            <div>
              <Typography.Text code copyable data-testid={`pos-issued-${i + 1}`}>
                {c.component}
              </Typography.Text>
            </div>
            <Typography.Text type="secondary">
              {t('kcv')} <span data-testid={`pos-issued-kcv-${i + 1}`}>{c.kcv}</span>
            </Typography.Text>
          </div>
        ))}
        <Typography.Text>
          {t('tmkKcv')}{' '}
          <Typography.Text code data-testid="pos-issued-tmk-kcv">
            {issued?.kcv}
          </Typography.Text>
        </Typography.Text>
      </Modal>
    </PageContainer>
  );
}
