import { Checkbox, Col, Form, Input, InputNumber, Modal, Row, Select, Switch } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../../../api/client';
import type { ApiError } from '../../../api/errors';
import { ErrorAlert } from '../../../components/error-alert';
import { useLanguage } from '../../../hooks/use-language';
import { asApiError, useRequest } from '../../../hooks/use-request';
import { parseStages, type NewRollout, type Rollout } from '../../apps/model';
import { GroupPicker } from '../../terminals/components/group-picker';

interface Values {
  app_id: string;
  version: string;
  group_id: string;
  name?: string;
  stages: string;
  success_threshold: number;
  error_threshold: number;
  auto_advance: boolean;
  stage_deadline_h: number;
  ignore_maintenance_window: boolean;
}

interface RolloutFormProps {
  open: boolean;
  /** Preselected app (from an app's page). */
  appId?: string;
  onClose: () => void;
  onCreated: (rollout: Rollout) => void;
}

/** Plans a rollout of one version to a group in stages; it starts when approved. */
export function RolloutForm({ open, appId, onClose, onCreated }: RolloutFormProps) {
  const { t } = useTranslation(['rollouts', 'common']);
  const { pick } = useLanguage();
  const [form] = Form.useForm<Values>();
  const chosenApp = Form.useWatch('app_id', form);
  const apps = useRequest(() => (open ? unwrap(api.GET('/api/v1/apps', { params: { query: {} } })) : Promise.resolve([])), [open]);
  const versions = useRequest(
    () => (chosenApp ? unwrap(api.GET('/api/v1/apps/{id}/versions', { params: { path: { id: chosenApp } } })) : Promise.resolve([])),
    [chosenApp],
  );
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError>();

  const submit = async (values: Values) => {
    const stages = parseStages(values.stages);
    if (!stages) return;
    setBusy(true);
    setError(undefined);
    try {
      const name = values.name?.trim();
      const body: NewRollout = {
        app_id: values.app_id,
        version: values.version,
        group_id: values.group_id,
        ...(name ? { name } : {}),
        stages,
        success_threshold: values.success_threshold,
        error_threshold: values.error_threshold,
        auto_advance: values.auto_advance,
        stage_deadline_s: Math.round(values.stage_deadline_h * 3_600),
        ignore_maintenance_window: values.ignore_maintenance_window,
      };
      const created = await unwrap(api.POST('/api/v1/rollouts', { body }));
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
      width={640}
      title={t('addTitle')}
      okText={t('create')}
      cancelText={t('common:cancel')}
      confirmLoading={busy}
      onOk={() => form.submit()}
      onCancel={onClose}
      okButtonProps={{ 'data-testid': 'rollout-submit' }}
      destroyOnHidden
    >
      <ErrorAlert error={error} testId="rollout-form-error" />
      <Form<Values>
        form={form}
        layout="vertical"
        onFinish={(v) => void submit(v)}
        initialValues={{
          app_id: appId,
          stages: '1, 10, 100',
          success_threshold: 95,
          error_threshold: 5,
          auto_advance: true,
          stage_deadline_h: 72,
          ignore_maintenance_window: false,
        }}
      >
        <Row gutter={12}>
          <Col span={14}>
            <Form.Item name="app_id" label={t('app')} rules={[{ required: true, message: t('appRequired') }]}>
              <Select
                loading={apps.loading}
                data-testid="rollout-app"
                showSearch={{ optionFilterProp: 'label' }}
                onChange={() => form.setFieldValue('version', undefined)}
                options={(apps.data ?? []).map((a) => ({ value: a.id, label: `${pick(a.name_zh, a.name_en)} (${a.code})` }))}
              />
            </Form.Item>
          </Col>
          <Col span={10}>
            <Form.Item name="version" label={t('version')} rules={[{ required: true, message: t('versionRequired') }]}>
              <Select
                loading={versions.loading}
                data-testid="rollout-version"
                options={(versions.data ?? []).map((v) => ({
                  value: v.version,
                  label: v.approved ? v.version : `${v.version} (${t('notApproved')})`,
                }))}
              />
            </Form.Item>
          </Col>
        </Row>
        <Form.Item name="group_id" label={t('group')} extra={t('groupHint')} rules={[{ required: true, message: t('groupRequired') }]}>
          <GroupPicker testId="rollout-group" />
        </Form.Item>
        <Form.Item name="name" label={t('name')} rules={[{ max: 100 }]}>
          <Input placeholder={t('namePlaceholder')} data-testid="rollout-name" />
        </Form.Item>
        <Form.Item
          name="stages"
          label={t('stages')}
          extra={t('stagesHint')}
          rules={[
            {
              validator: async (_: unknown, v: string | undefined) => {
                if (!v || !parseStages(v)) throw new Error(t('stagesInvalid'));
              },
            },
          ]}
        >
          <Input data-testid="rollout-stages" />
        </Form.Item>
        <Row gutter={12}>
          <Col span={8}>
            <Form.Item
              name="success_threshold"
              label={t('successThreshold')}
              rules={[{ required: true, type: 'number', min: 1, max: 100 }]}
            >
              <InputNumber<number> min={1} max={100} precision={0} suffix="%" style={{ width: '100%' }} />
            </Form.Item>
          </Col>
          <Col span={8}>
            <Form.Item name="error_threshold" label={t('errorThreshold')} rules={[{ required: true, type: 'number', min: 0, max: 100 }]}>
              <InputNumber<number> min={0} max={100} precision={0} suffix="%" style={{ width: '100%' }} />
            </Form.Item>
          </Col>
          <Col span={8}>
            <Form.Item name="stage_deadline_h" label={t('stageDeadline')} rules={[{ required: true, type: 'number', min: 1, max: 720 }]}>
              <InputNumber<number> min={1} max={720} precision={0} suffix={t('hours')} style={{ width: '100%' }} />
            </Form.Item>
          </Col>
        </Row>
        <Row gutter={12}>
          <Col span={12}>
            <Form.Item name="auto_advance" label={t('autoAdvance')} valuePropName="checked" extra={t('autoAdvanceHint')}>
              <Switch />
            </Form.Item>
          </Col>
          <Col span={12}>
            <Form.Item name="ignore_maintenance_window" valuePropName="checked" label=" ">
              <Checkbox>{t('ignoreWindow')}</Checkbox>
            </Form.Item>
          </Col>
        </Row>
      </Form>
    </Modal>
  );
}
