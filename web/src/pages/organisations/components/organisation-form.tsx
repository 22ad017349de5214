import { Form, Input, Modal, TreeSelect } from 'antd';
import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../../../api/client';
import type { ApiError } from '../../../api/errors';
import type { NewOrganisation, Organisation } from '../../../api/types';
import { ErrorAlert } from '../../../components/error-alert';
import { useLanguage } from '../../../hooks/use-language';
import { asApiError } from '../../../hooks/use-request';
import { buildOrgTree, childKind, type OrgNode } from './org-tree';

interface TreeOption {
  value: string;
  title: string;
  disabled: boolean;
  children?: TreeOption[];
}

interface Values {
  parent_id?: string;
  code: string;
  name: string;
  name_en?: string;
  region_code?: string;
}

interface OrganisationFormProps {
  open: boolean;
  organisations: Organisation[];
  onClose: () => void;
  onCreated: (org: Organisation) => void;
}

export function OrganisationForm({ open, organisations, onClose, onCreated }: OrganisationFormProps) {
  const { t } = useTranslation(['organisations', 'common']);
  const { pick } = useLanguage();
  const [form] = Form.useForm<Values>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError>();
  const parentId = Form.useWatch('parent_id', form);
  const parent = organisations.find((o) => o.id === parentId);
  const kind = childKind(parent?.kind);

  const treeData = useMemo(() => {
    const toTree = (nodes: OrgNode[]): TreeOption[] =>
      nodes.map((n) => ({
        value: n.id,
        title: `${pick(n.name, n.name_en)} (${n.code})`,
        disabled: childKind(n.kind) === undefined,
        ...(n.children ? { children: toTree(n.children) } : {}),
      }));
    return toTree(buildOrgTree(organisations));
  }, [organisations, pick]);

  const submit = async (values: Values) => {
    if (!kind) return;
    setBusy(true);
    setError(undefined);
    try {
      const body: NewOrganisation = {
        parent_id: values.parent_id ?? null,
        kind,
        code: values.code.trim(),
        name: values.name.trim(),
        name_en: values.name_en?.trim() || null,
        region_code: values.region_code?.trim() || null,
      };
      const created = await unwrap(api.POST('/api/v1/organisations', { body }));
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
      okButtonProps={{ 'data-testid': 'org-submit' }}
      destroyOnHidden
    >
      <ErrorAlert error={error} />
      <Form<Values> form={form} layout="vertical" onFinish={(v) => void submit(v)}>
        <Form.Item name="parent_id" label={t('parent')} extra={t('kindWillBe', { kind: kind ? t(`kind.${kind}`) : '—' })}>
          <TreeSelect treeData={treeData} allowClear treeDefaultExpandAll placeholder={t('parentNone')} data-testid="org-parent" />
        </Form.Item>
        <Form.Item name="code" label={t('code')} rules={[{ required: true, pattern: /^[A-Za-z0-9-]{1,32}$/, message: t('codeInvalid') }]}>
          <Input data-testid="org-code" />
        </Form.Item>
        <Form.Item name="name" label={t('name')} rules={[{ required: true, max: 100, message: t('nameRequired') }]}>
          <Input data-testid="org-name" />
        </Form.Item>
        <Form.Item name="name_en" label={t('nameEn')} rules={[{ max: 100 }]}>
          <Input data-testid="org-name-en" />
        </Form.Item>
        <Form.Item name="region_code" label={t('region')} rules={[{ pattern: /^[0-9]{2,12}$/, message: t('regionInvalid') }]}>
          <Input inputMode="numeric" data-testid="org-region" />
        </Form.Item>
      </Form>
    </Modal>
  );
}
