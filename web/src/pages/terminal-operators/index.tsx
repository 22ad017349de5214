import { PlusOutlined } from '@ant-design/icons';
import { App, Button, Card, Empty, Flex, Form, Input, Modal, Popconfirm, Select, Table, Tag, Typography } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useSearchParams } from 'react-router-dom';
import { api, unwrap } from '../../api/client';
import type { ApiError } from '../../api/errors';
import type { paths } from '../../api/schema';
import { ErrorAlert, useErrorText } from '../../components/error-alert';
import { PageContainer } from '../../components/page-container';
import { asApiError, useRequest } from '../../hooks/use-request';
import { useSignedIn } from '../../session/session-context';
import { formatMicros } from '../../utils/time';
import { PartyPicker } from '../terminals/components/party-picker';

type Operator = paths['/api/v1/terminal-operators']['get']['responses'][200]['content']['application/json']['items'][number];
type NewOperator = paths['/api/v1/terminal-operators']['post']['requestBody']['content']['application/json'];
type OperatorRole = Operator['role'];
const OPERATOR_ROLES: OperatorRole[] = ['cashier', 'supervisor'];

/**
 * The people who sign on at a merchant's terminals (operator number and password, typed at the
 * counter): add, disable, enable. Staff pick the merchant; a merchant user sees its own.
 */
export default function TerminalOperatorsPage() {
  const { t } = useTranslation(['operators', 'common']);
  const { can, me } = useSignedIn();
  const { message } = App.useApp();
  const errorText = useErrorText();
  const [params, setParams] = useSearchParams();
  const owner = me.merchant_id ?? params.get('owner') ?? undefined;
  const [adding, setAdding] = useState(false);
  const writer = can('terminal:write') && me.merchant_id === null;
  const operators = useRequest(
    () =>
      owner
        ? unwrap(api.GET('/api/v1/terminal-operators', { params: { query: { owner_party_id: owner } } }))
        : Promise.resolve({ items: [] }),
    [owner],
  );

  const toggle = async (operator: Operator) => {
    const init = { params: { path: { id: operator.id } } };
    try {
      if (operator.disabled) await unwrap(api.POST('/api/v1/terminal-operators/{id}/enable', init));
      else await unwrap(api.POST('/api/v1/terminal-operators/{id}/disable', init));
      void message.success(
        operator.disabled ? t('enabled', { no: operator.operator_no }) : t('disabledDone', { no: operator.operator_no }),
      );
    } catch (caught) {
      void message.error(errorText(asApiError(caught)));
    }
    operators.reload();
  };

  return (
    <PageContainer
      title={t('title')}
      extra={
        writer && owner ? (
          <Button type="primary" icon={<PlusOutlined />} onClick={() => setAdding(true)} data-testid="operator-add">
            {t('add')}
          </Button>
        ) : null
      }
    >
      <ErrorAlert error={operators.error} />
      <Card>
        {me.merchant_id === null ? (
          <Flex gap={12} align="center" wrap style={{ marginBottom: 16 }}>
            <Typography.Text>{t('merchant')}</Typography.Text>
            <PartyPicker
              value={owner}
              onChange={(v) => setParams(v ? { owner: v } : {}, { replace: true })}
              placeholder={t('merchantPlaceholder')}
              style={{ minWidth: 360 }}
              testId="operator-merchant"
            />
          </Flex>
        ) : null}
        {owner ? (
          <Table<Operator>
            rowKey="id"
            size="middle"
            loading={operators.loading}
            dataSource={operators.data?.items}
            pagination={false}
            scroll={{ x: 'max-content' }}
            data-testid="operator-table"
            columns={[
              { title: t('operatorNo'), dataIndex: 'operator_no' },
              { title: t('name'), dataIndex: 'name' },
              { title: t('role'), dataIndex: 'role', render: (r: OperatorRole) => t(`roleName.${r}`) },
              {
                title: t('status'),
                key: 'status',
                render: (_: unknown, o) =>
                  o.disabled ? (
                    <Tag>{t('disabled')}</Tag>
                  ) : o.locked ? (
                    <Tag color="red">{t('locked')}</Tag>
                  ) : (
                    <Tag color="green">{t('active')}</Tag>
                  ),
              },
              { title: t('createdAt'), dataIndex: 'created_at', render: (us: number) => formatMicros(us) },
              ...(writer
                ? [
                    {
                      title: '',
                      key: 'actions',
                      render: (_: unknown, o: Operator) => (
                        <Popconfirm
                          title={o.disabled ? t('enableConfirm', { no: o.operator_no }) : t('disableConfirm', { no: o.operator_no })}
                          onConfirm={() => void toggle(o)}
                        >
                          <Button size="small" danger={!o.disabled} data-testid={`operator-toggle-${o.operator_no}`}>
                            {o.disabled ? t('enable') : t('disable')}
                          </Button>
                        </Popconfirm>
                      ),
                    },
                  ]
                : []),
            ]}
          />
        ) : (
          <Empty description={t('pickMerchant')} />
        )}
      </Card>
      {owner ? (
        <OperatorForm
          open={adding}
          ownerPartyId={owner}
          onClose={() => setAdding(false)}
          onCreated={(o) => {
            setAdding(false);
            void message.success(t('created', { no: o.operator_no, name: o.name }));
            operators.reload();
          }}
        />
      ) : null}
    </PageContainer>
  );
}

interface Values {
  operator_no: string;
  name: string;
  role: OperatorRole;
  password: string;
}

function OperatorForm({
  open,
  ownerPartyId,
  onClose,
  onCreated,
}: {
  open: boolean;
  ownerPartyId: string;
  onClose: () => void;
  onCreated: (o: Operator) => void;
}) {
  const { t } = useTranslation(['operators', 'common']);
  const [form] = Form.useForm<Values>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError>();

  const submit = async (values: Values) => {
    setBusy(true);
    setError(undefined);
    try {
      const body: NewOperator = {
        owner_party_id: ownerPartyId,
        operator_no: values.operator_no,
        name: values.name.trim(),
        role: values.role,
        password: values.password,
      };
      const created = await unwrap(api.POST('/api/v1/terminal-operators', { body }));
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
      okButtonProps={{ 'data-testid': 'operator-submit' }}
      destroyOnHidden
    >
      <ErrorAlert error={error} />
      <Form<Values> form={form} layout="vertical" onFinish={(v) => void submit(v)} initialValues={{ role: 'cashier' }}>
        <Form.Item
          name="operator_no"
          label={t('operatorNo')}
          extra={t('operatorNoHint')}
          rules={[{ required: true, pattern: /^(0[1-9]|[1-9][0-9])$/, message: t('operatorNoInvalid') }]}
        >
          <Input maxLength={2} style={{ width: 120 }} data-testid="operator-no" />
        </Form.Item>
        <Form.Item name="name" label={t('name')} rules={[{ required: true, whitespace: true, max: 50, message: t('nameRequired') }]}>
          <Input data-testid="operator-name" />
        </Form.Item>
        <Form.Item name="role" label={t('role')} rules={[{ required: true }]}>
          <Select<OperatorRole>
            options={OPERATOR_ROLES.map((r) => ({ value: r, label: t(`roleName.${r}`) }))}
            data-testid="operator-role"
          />
        </Form.Item>
        <Form.Item
          name="password"
          label={t('password')}
          extra={t('passwordHint')}
          rules={[
            { required: true, min: 6, max: 32, message: t('passwordInvalid') },
            {
              // The server also refuses one repeated digit and runs like 123456.
              validator: async (_: unknown, v: string | undefined) => {
                if (v && (/^(\d)\1*$/.test(v) || '0123456789012345678901234567890123'.includes(v))) throw new Error(t('passwordWeak'));
              },
            },
          ]}
        >
          <Input.Password autoComplete="new-password" data-testid="operator-password" />
        </Form.Item>
      </Form>
    </Modal>
  );
}
