import { ArrowLeftOutlined, PlusOutlined } from '@ant-design/icons';
import { App, Button, Card, Col, Descriptions, Form, Modal, Popconfirm, Row, Segmented, Select, Skeleton, Table, Typography } from 'antd';
import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate, useParams } from 'react-router-dom';
import { api, unwrap } from '../../api/client';
import type { ApiError } from '../../api/errors';
import { ErrorAlert, useErrorText } from '../../components/error-alert';
import { PageContainer } from '../../components/page-container';
import { useLanguage } from '../../hooks/use-language';
import { asApiError, useRequest } from '../../hooks/use-request';
import { useSignedIn } from '../../session/session-context';
import { formatMicros } from '../../utils/time';
import type { Assignment, SetItem } from '../apps/model';
import { GroupPicker } from '../terminals/components/group-picker';
import { TerminalPicker } from '../terminals/components/terminal-picker';
import { useTerminalSerials } from '../terminals/components/terminal-serials';

/** `null` in the API: the app's latest approved version. */
const LATEST = '__latest__';

/** One app set: its apps (pinned or latest approved) and the terminals and groups it goes to. */
export default function AppSetDetailPage() {
  const { t } = useTranslation(['appSets', 'apps', 'common']);
  const { id = '' } = useParams();
  const { pick } = useLanguage();
  const { can } = useSignedIn();
  const { message } = App.useApp();
  const errorText = useErrorText();
  const navigate = useNavigate();
  const [putting, setPutting] = useState(false);
  const [assigning, setAssigning] = useState(false);
  const set = useRequest(() => unwrap(api.GET('/api/v1/app-sets/{id}', { params: { path: { id } } })), [id]);
  const groups = useRequest(
    () =>
      can('terminal:read')
        ? unwrap(api.GET('/api/v1/terminal-groups', { params: { query: { limit: 500, offset: 0 } } }))
        : Promise.resolve({ items: [], total: 0 }),
    [],
  );
  const s = set.data;
  const writer = can('app:write');
  const serial = useTerminalSerials(useMemo(() => (s?.assignments ?? []).map((a) => a.terminal_id), [s]));
  const groupName = (gid: string) => groups.data?.items.find((g) => g.id === gid)?.name ?? gid;

  const run = async (work: () => Promise<unknown>, done: string) => {
    try {
      await work();
      void message.success(done);
    } catch (caught) {
      void message.error(errorText(asApiError(caught)));
    }
    set.reload();
  };

  return (
    <PageContainer
      title={
        <>
          <Button type="text" icon={<ArrowLeftOutlined />} onClick={() => void navigate('/app-sets')} aria-label={t('common:back')} />
          <span data-testid="app-set-title">{s ? pick(s.name_zh, s.name_en) : t('detailTitle')}</span>
        </>
      }
    >
      <ErrorAlert error={set.error} />
      <Card style={{ marginBottom: 16 }}>
        {s ? (
          <Descriptions
            column={{ xs: 1, sm: 2, lg: 3 }}
            items={[
              { key: 'code', label: t('code'), children: s.code },
              { key: 'scenario', label: t('apps:scenarioLabel'), children: t(`apps:scenario.${s.scenario}`) },
              { key: 'assignments', label: t('assignments'), children: s.assignment_count },
              { key: 'created', label: t('createdAt'), children: formatMicros(s.created_at) },
            ]}
          />
        ) : (
          <Skeleton active />
        )}
      </Card>
      {s ? (
        <Row gutter={[16, 16]}>
          <Col xs={24} xl={12}>
            <Card
              title={t('items')}
              extra={
                writer ? (
                  <Button icon={<PlusOutlined />} onClick={() => setPutting(true)} data-testid="app-set-put-item">
                    {t('putItem')}
                  </Button>
                ) : null
              }
            >
              <Table<SetItem>
                rowKey="app_id"
                size="small"
                pagination={false}
                dataSource={s.items}
                data-testid="app-set-items"
                columns={[
                  {
                    title: t('app'),
                    dataIndex: 'app_code',
                    render: (code: string, i) => <Link to={`/apps/${encodeURIComponent(i.app_id)}`}>{code}</Link>,
                  },
                  {
                    title: t('version'),
                    dataIndex: 'version',
                    render: (v: string | null) => v ?? <Typography.Text type="secondary">{t('latest')}</Typography.Text>,
                  },
                  { title: t('updatedAt'), dataIndex: 'updated_at', render: (us: number) => formatMicros(us) },
                  ...(writer
                    ? [
                        {
                          title: '',
                          key: 'remove',
                          render: (_: unknown, i: SetItem) => (
                            <Popconfirm
                              title={t('removeItemConfirm', { app: i.app_code })}
                              onConfirm={() =>
                                void run(
                                  () =>
                                    unwrap(
                                      api.DELETE('/api/v1/app-sets/{id}/items/{appId}', { params: { path: { id, appId: i.app_id } } }),
                                    ),
                                  t('itemRemoved'),
                                )
                              }
                            >
                              <Button size="small" danger>
                                {t('remove')}
                              </Button>
                            </Popconfirm>
                          ),
                        },
                      ]
                    : []),
                ]}
              />
            </Card>
          </Col>
          <Col xs={24} xl={12}>
            <Card
              title={t('assignmentsTitle')}
              extra={
                writer ? (
                  <Button icon={<PlusOutlined />} onClick={() => setAssigning(true)} data-testid="app-set-assign">
                    {t('assign')}
                  </Button>
                ) : null
              }
            >
              <Table<Assignment>
                rowKey="id"
                size="small"
                pagination={false}
                dataSource={s.assignments}
                data-testid="app-set-assignments"
                columns={[
                  {
                    title: t('target'),
                    key: 'target',
                    render: (_: unknown, a) =>
                      a.terminal_id ? (
                        <Link to={`/terminals/${encodeURIComponent(a.terminal_id)}`}>{`${t('terminal')} ${serial(a.terminal_id)}`}</Link>
                      ) : a.group_id ? (
                        <Link to={`/terminal-groups/${encodeURIComponent(a.group_id)}`}>{`${t('group')} ${groupName(a.group_id)}`}</Link>
                      ) : (
                        '—'
                      ),
                  },
                  { title: t('createdAt'), dataIndex: 'created_at', render: (us: number) => formatMicros(us) },
                  ...(writer
                    ? [
                        {
                          title: '',
                          key: 'remove',
                          render: (_: unknown, a: Assignment) => (
                            <Popconfirm
                              title={t('unassignConfirm')}
                              onConfirm={() =>
                                void run(
                                  () =>
                                    unwrap(
                                      api.DELETE('/api/v1/app-sets/{id}/assignments/{assignmentId}', {
                                        params: { path: { id, assignmentId: a.id } },
                                      }),
                                    ),
                                  t('unassigned'),
                                )
                              }
                            >
                              <Button size="small" danger>
                                {t('unassign')}
                              </Button>
                            </Popconfirm>
                          ),
                        },
                      ]
                    : []),
                ]}
              />
            </Card>
          </Col>
        </Row>
      ) : null}
      <PutItemModal
        open={putting}
        setId={id}
        onClose={() => setPutting(false)}
        onDone={() => {
          setPutting(false);
          void message.success(t('itemSaved'));
          set.reload();
        }}
      />
      <AssignModal
        open={assigning}
        setId={id}
        onClose={() => setAssigning(false)}
        onDone={() => {
          setAssigning(false);
          void message.success(t('assigned'));
          set.reload();
        }}
      />
    </PageContainer>
  );
}

function PutItemModal({ open, setId, onClose, onDone }: { open: boolean; setId: string; onClose: () => void; onDone: () => void }) {
  const { t } = useTranslation(['appSets', 'common']);
  const { pick } = useLanguage();
  const [form] = Form.useForm<{ app_id: string; version: string }>();
  const appId = Form.useWatch('app_id', form);
  const apps = useRequest(() => (open ? unwrap(api.GET('/api/v1/apps', { params: { query: {} } })) : Promise.resolve([])), [open]);
  const versions = useRequest(
    () => (appId ? unwrap(api.GET('/api/v1/apps/{id}/versions', { params: { path: { id: appId } } })) : Promise.resolve([])),
    [appId],
  );
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError>();

  const submit = async (values: { app_id: string; version: string }) => {
    setBusy(true);
    setError(undefined);
    try {
      await unwrap(
        api.PUT('/api/v1/app-sets/{id}/items/{appId}', {
          params: { path: { id: setId, appId: values.app_id } },
          body: { version: values.version === LATEST ? null : values.version },
        }),
      );
      form.resetFields();
      onDone();
    } catch (caught) {
      setError(asApiError(caught));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal
      open={open}
      title={t('putItem')}
      okText={t('common:save')}
      cancelText={t('common:cancel')}
      confirmLoading={busy}
      onOk={() => form.submit()}
      onCancel={onClose}
      destroyOnHidden
    >
      <ErrorAlert error={error} />
      <Form form={form} layout="vertical" onFinish={(v) => void submit(v)} initialValues={{ version: LATEST }}>
        <Form.Item name="app_id" label={t('app')} rules={[{ required: true }]}>
          <Select
            loading={apps.loading}
            showSearch={{ optionFilterProp: 'label' }}
            options={(apps.data ?? []).map((a) => ({ value: a.id, label: `${pick(a.name_zh, a.name_en)} (${a.code})` }))}
          />
        </Form.Item>
        <Form.Item name="version" label={t('version')} rules={[{ required: true }]}>
          <Select
            loading={versions.loading}
            options={[
              { value: LATEST, label: t('latest') },
              ...(versions.data ?? []).map((v) => ({
                value: v.version,
                label: v.approved ? v.version : `${v.version} (${t('notApproved')})`,
              })),
            ]}
          />
        </Form.Item>
      </Form>
    </Modal>
  );
}

type AssignKind = 'group' | 'terminal';

function AssignModal({ open, setId, onClose, onDone }: { open: boolean; setId: string; onClose: () => void; onDone: () => void }) {
  const { t } = useTranslation(['appSets', 'common']);
  const [kind, setKind] = useState<AssignKind>('group');
  const [form] = Form.useForm<{ target: string }>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError>();

  const submit = async ({ target }: { target: string }) => {
    setBusy(true);
    setError(undefined);
    try {
      await unwrap(
        api.POST('/api/v1/app-sets/{id}/assignments', {
          params: { path: { id: setId } },
          body: kind === 'group' ? { group_id: target } : { terminal_id: target },
        }),
      );
      form.resetFields();
      onDone();
    } catch (caught) {
      setError(asApiError(caught));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal
      open={open}
      title={t('assign')}
      okText={t('assign')}
      cancelText={t('common:cancel')}
      confirmLoading={busy}
      onOk={() => form.submit()}
      onCancel={onClose}
      destroyOnHidden
    >
      <ErrorAlert error={error} />
      <Segmented<AssignKind>
        value={kind}
        onChange={(k) => {
          setKind(k);
          form.resetFields();
        }}
        options={[
          { value: 'group', label: t('group') },
          { value: 'terminal', label: t('terminal') },
        ]}
        style={{ marginBottom: 16 }}
      />
      <Form form={form} layout="vertical" onFinish={(v) => void submit(v)}>
        <Form.Item name="target" label={kind === 'group' ? t('group') : t('terminal')} rules={[{ required: true }]}>
          {kind === 'group' ? (
            <GroupPicker testId="assign-group" />
          ) : (
            <TerminalPicker testId="assign-terminal" placeholder={t('terminalSearch')} />
          )}
        </Form.Item>
      </Form>
    </Modal>
  );
}
