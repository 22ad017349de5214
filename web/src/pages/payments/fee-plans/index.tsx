import { PlusOutlined } from '@ant-design/icons';
import { App, Button, Card, Form, Input, Modal, Table, Tag } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { parseYuan } from '@xiaowei/money';
import { api, unwrap } from '../../../api/client';
import { ErrorAlert, useErrorText } from '../../../components/error-alert';
import { Money } from '../../../components/money';
import { PageContainer } from '../../../components/page-container';
import { asApiError, useRequest } from '../../../hooks/use-request';
import { useSignedIn } from '../../../session/session-context';
import { fenToYuanText, formatRate, parseRate, type FeePlan } from '../model';

interface Values {
  name: string;
  rate: string;
  min_fee: string;
  max_fee?: string;
  fixed_fee: string;
}

const yuanRule = (message: string, optional = false) => ({
  validator: async (_: unknown, v: string | undefined) => {
    if (optional && !v?.trim()) return;
    if (parseYuan(v ?? '') === undefined) throw new Error(message);
  },
});

/** Fee plans (merchant discount rates): rate in per cent, fees typed in yuan and sent as fen. */
export default function FeePlansPage() {
  const { t } = useTranslation('payments');
  const { can } = useSignedIn();
  const { message, modal } = App.useApp();
  const errorText = useErrorText();
  const plans = useRequest(() => unwrap(api.GET('/api/v1/fee-plans')).then((r) => r.items), []);
  const [editing, setEditing] = useState<FeePlan | 'new' | null>(null);
  const [busy, setBusy] = useState(false);
  const [form] = Form.useForm<Values>();
  const writer = can('payment:write');

  const open = (plan: FeePlan | 'new') => {
    form.setFieldsValue(
      plan === 'new'
        ? { name: '', rate: '', min_fee: '0.00', max_fee: '', fixed_fee: '0.00' }
        : {
            name: plan.name,
            rate: formatRate(plan.rate_bp).replace('%', ''),
            min_fee: fenToYuanText(plan.min_fee),
            max_fee: plan.max_fee === null ? '' : fenToYuanText(plan.max_fee),
            fixed_fee: fenToYuanText(plan.fixed_fee),
          },
    );
    setEditing(plan);
  };
  const submit = async (v: Values) => {
    const body = {
      name: v.name.trim(),
      rate_bp: parseRate(v.rate)!,
      min_fee: parseYuan(v.min_fee)!,
      max_fee: v.max_fee?.trim() ? parseYuan(v.max_fee)! : null,
      fixed_fee: parseYuan(v.fixed_fee)!,
    };
    setBusy(true);
    try {
      if (editing === 'new') await unwrap(api.POST('/api/v1/fee-plans', { body }));
      else if (editing) await unwrap(api.PATCH('/api/v1/fee-plans/{id}', { params: { path: { id: editing.id } }, body }));
      void message.success(t('saved'));
      setEditing(null);
      plans.reload();
    } catch (caught) {
      void message.error(errorText(asApiError(caught)));
    } finally {
      setBusy(false);
    }
  };
  const retire = (plan: FeePlan) =>
    void modal.confirm({
      title: t('feePlan.retireConfirm', { name: plan.name }),
      okButtonProps: { danger: true, 'data-testid': 'fee-plan-retire-confirm' },
      onOk: async () => {
        try {
          await unwrap(api.PATCH('/api/v1/fee-plans/{id}', { params: { path: { id: plan.id } }, body: { status: 'retired' } }));
          plans.reload();
        } catch (caught) {
          void message.error(errorText(asApiError(caught)));
        }
      },
    });

  return (
    <PageContainer
      title={t('feePlan.title')}
      extra={
        writer ? (
          <Button type="primary" icon={<PlusOutlined />} onClick={() => open('new')} data-testid="fee-plan-add">
            {t('feePlan.add')}
          </Button>
        ) : null
      }
    >
      <ErrorAlert error={plans.error} />
      <Card>
        <Table<FeePlan>
          rowKey="id"
          size="middle"
          loading={plans.loading}
          dataSource={plans.data}
          pagination={false}
          scroll={{ x: 'max-content' }}
          data-testid="fee-plan-table"
          columns={[
            { title: t('feePlan.name'), dataIndex: 'name' },
            { title: t('feePlan.rate'), dataIndex: 'rate_bp', align: 'right', render: (bp: number) => formatRate(bp) },
            { title: t('feePlan.minFee'), dataIndex: 'min_fee', align: 'right', render: (fen: number) => <Money fen={fen} /> },
            {
              title: t('feePlan.maxFee'),
              dataIndex: 'max_fee',
              align: 'right',
              render: (fen: number | null) => (fen === null ? t('feePlan.noCap') : <Money fen={fen} />),
            },
            { title: t('feePlan.fixedFee'), dataIndex: 'fixed_fee', align: 'right', render: (fen: number) => <Money fen={fen} /> },
            {
              title: t('feePlan.status'),
              dataIndex: 'status',
              render: (s: FeePlan['status']) => <Tag color={s === 'active' ? 'green' : 'default'}>{t(`feePlanStatus.${s}`)}</Tag>,
            },
            ...(writer
              ? [
                  {
                    title: '',
                    key: 'actions',
                    render: (_: unknown, plan: FeePlan) =>
                      plan.status === 'active' ? (
                        <>
                          <Button type="link" onClick={() => open(plan)} data-testid={`fee-plan-edit-${plan.name}`}>
                            {t('edit')}
                          </Button>
                          <Button type="link" danger onClick={() => retire(plan)}>
                            {t('feePlan.retire')}
                          </Button>
                        </>
                      ) : null,
                  },
                ]
              : []),
          ]}
        />
      </Card>
      <Modal
        open={editing !== null}
        title={editing === 'new' ? t('feePlan.add') : t('edit')}
        onCancel={() => setEditing(null)}
        onOk={() => form.submit()}
        confirmLoading={busy}
        okButtonProps={{ 'data-testid': 'fee-plan-submit' }}
        forceRender
      >
        <Form<Values> form={form} layout="vertical" onFinish={(v) => void submit(v)}>
          <Form.Item name="name" label={t('feePlan.name')} rules={[{ required: true, whitespace: true, max: 64 }]}>
            <Input maxLength={64} data-testid="fee-plan-name" />
          </Form.Item>
          <Form.Item
            name="rate"
            label={t('feePlan.rate')}
            extra={t('feePlan.rateHelp')}
            rules={[
              {
                validator: async (_: unknown, v: string | undefined) => {
                  if (parseRate(v ?? '') === undefined) throw new Error(t('feePlan.rateInvalid'));
                },
              },
            ]}
          >
            <Input suffix="%" inputMode="decimal" data-testid="fee-plan-rate" />
          </Form.Item>
          <Form.Item name="min_fee" label={t('feePlan.minFee')} rules={[yuanRule(t('yuanInvalid'))]}>
            <Input prefix="¥" inputMode="decimal" data-testid="fee-plan-min" />
          </Form.Item>
          <Form.Item
            name="max_fee"
            label={t('feePlan.maxFee')}
            extra={t('feePlan.maxHelp')}
            dependencies={['min_fee']}
            rules={[
              yuanRule(t('yuanInvalid'), true),
              ({ getFieldValue }) => ({
                validator: async (_: unknown, v: string | undefined) => {
                  const max = v?.trim() ? parseYuan(v) : undefined;
                  const min = parseYuan(String(getFieldValue('min_fee') ?? ''));
                  if (max !== undefined && min !== undefined && max < min) throw new Error(t('feePlan.maxBelowMin'));
                },
              }),
            ]}
          >
            <Input prefix="¥" inputMode="decimal" data-testid="fee-plan-max" />
          </Form.Item>
          <Form.Item name="fixed_fee" label={t('feePlan.fixedFee')} rules={[yuanRule(t('yuanInvalid'))]}>
            <Input prefix="¥" inputMode="decimal" data-testid="fee-plan-fixed" />
          </Form.Item>
        </Form>
      </Modal>
    </PageContainer>
  );
}
