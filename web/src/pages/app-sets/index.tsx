import { PlusOutlined } from '@ant-design/icons';
import { App, Button, Card, Form, Input, Modal, Select, Space, Table, Tag } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate } from 'react-router-dom';
import { api, unwrap } from '../../api/client';
import type { ApiError } from '../../api/errors';
import { ErrorAlert } from '../../components/error-alert';
import { PageContainer } from '../../components/page-container';
import { useLanguage } from '../../hooks/use-language';
import { asApiError, useRequest } from '../../hooks/use-request';
import { useSignedIn } from '../../session/session-context';
import { SCENARIOS, type AppSet, type NewAppSet, type Scenario, type SetItem } from '../apps/model';

/** Scenario app sets: which apps (and versions) the terminals of a scenario run. */
export default function AppSetsPage() {
  const { t } = useTranslation(['appSets', 'apps', 'common']);
  const { pick } = useLanguage();
  const { can } = useSignedIn();
  const { message } = App.useApp();
  const navigate = useNavigate();
  const [adding, setAdding] = useState(false);
  const sets = useRequest(() => unwrap(api.GET('/api/v1/app-sets')), []);

  return (
    <PageContainer
      title={t('title')}
      extra={
        can('app:write') ? (
          <Button type="primary" icon={<PlusOutlined />} onClick={() => setAdding(true)} data-testid="app-set-add">
            {t('add')}
          </Button>
        ) : null
      }
    >
      <ErrorAlert error={sets.error} />
      <Card>
        <Table<AppSet>
          rowKey="id"
          size="middle"
          loading={sets.loading}
          dataSource={sets.data}
          pagination={false}
          scroll={{ x: 'max-content' }}
          data-testid="app-set-table"
          columns={[
            {
              title: t('name'),
              key: 'name',
              render: (_: unknown, s) => (
                <Link to={`/app-sets/${encodeURIComponent(s.id)}`} data-testid={`app-set-link-${s.code}`}>
                  {pick(s.name_zh, s.name_en)}
                </Link>
              ),
            },
            { title: t('code'), dataIndex: 'code' },
            { title: t('apps:scenarioLabel'), dataIndex: 'scenario', render: (sc: Scenario) => t(`apps:scenario.${sc}`) },
            {
              title: t('items'),
              dataIndex: 'items',
              render: (items: SetItem[]) =>
                items.length ? (
                  <Space size={[0, 4]} wrap>
                    {items.map((i) => (
                      <Tag key={i.app_id}>{`${i.app_code} ${i.version ?? t('latest')}`}</Tag>
                    ))}
                  </Space>
                ) : (
                  '—'
                ),
            },
            { title: t('assignments'), dataIndex: 'assignment_count', align: 'right' },
          ]}
        />
      </Card>
      <AppSetForm
        open={adding}
        onClose={() => setAdding(false)}
        onCreated={(set) => {
          setAdding(false);
          void message.success(t('created', { name: pick(set.name_zh, set.name_en) }));
          void navigate(`/app-sets/${encodeURIComponent(set.id)}`);
        }}
      />
    </PageContainer>
  );
}

function AppSetForm({ open, onClose, onCreated }: { open: boolean; onClose: () => void; onCreated: (set: AppSet) => void }) {
  const { t } = useTranslation(['appSets', 'apps', 'common']);
  const [form] = Form.useForm<NewAppSet>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError>();

  const submit = async (values: NewAppSet) => {
    setBusy(true);
    setError(undefined);
    try {
      const created = await unwrap(
        api.POST('/api/v1/app-sets', {
          body: { code: values.code.trim(), name_zh: values.name_zh.trim(), name_en: values.name_en.trim(), scenario: values.scenario },
        }),
      );
      form.resetFields();
      onCreated(created);
    } catch (caught) {
      setError(asApiError(caught));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal
      open={open}
      title={t('addTitle')}
      okText={t('common:save')}
      cancelText={t('common:cancel')}
      confirmLoading={busy}
      onOk={() => form.submit()}
      onCancel={onClose}
      okButtonProps={{ 'data-testid': 'app-set-submit' }}
      destroyOnHidden
    >
      <ErrorAlert error={error} />
      <Form<NewAppSet> form={form} layout="vertical" onFinish={(v) => void submit(v)} initialValues={{ scenario: 'convenience_store' }}>
        <Form.Item
          name="code"
          label={t('code')}
          extra={t('codeHint')}
          rules={[{ required: true, pattern: /^[a-z][a-z0-9_]{1,39}$/, message: t('codeInvalid') }]}
        >
          <Input autoComplete="off" spellCheck={false} />
        </Form.Item>
        <Form.Item name="name_zh" label={t('apps:nameZh')} rules={[{ required: true, whitespace: true, max: 100 }]}>
          <Input />
        </Form.Item>
        <Form.Item name="name_en" label={t('apps:nameEn')} rules={[{ required: true, whitespace: true, max: 100 }]}>
          <Input />
        </Form.Item>
        <Form.Item name="scenario" label={t('apps:scenarioLabel')} rules={[{ required: true }]}>
          <Select<Scenario> options={SCENARIOS.map((s) => ({ value: s, label: t(`apps:scenario.${s}`) }))} />
        </Form.Item>
      </Form>
    </Modal>
  );
}
