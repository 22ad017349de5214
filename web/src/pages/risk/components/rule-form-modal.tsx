import { App, Form, Input, Modal, Radio, Select } from 'antd';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../../../api/client';
import { useErrorText } from '../../../components/error-alert';
import { asApiError } from '../../../hooks/use-request';
import {
  RULE_KINDS,
  RULE_MODES,
  buildParams,
  outcomesOf,
  paramsToValues,
  type ParamValues,
  type Rule,
  type RuleKind,
  type RuleMode,
  type RuleOutcome,
} from '../model';
import { ParamsFields } from './params-fields';

interface Values extends ParamValues {
  name: string;
  kind: RuleKind;
  mode: RuleMode;
  outcome: RuleOutcome;
  note?: string;
}

interface RuleFormModalProps {
  open: boolean;
  /** A rule to add a version to; none to create a rule. */
  rule?: Rule;
  onClose: () => void;
  onDone: (rule: Rule) => void;
}

/** Creates a rule (kind, mode, outcome, kind-specific params) or adds a version to one. */
export function RuleFormModal({ open, rule, onClose, onDone }: RuleFormModalProps) {
  const { t } = useTranslation('risk');
  const { message } = App.useApp();
  const errorText = useErrorText();
  const [form] = Form.useForm<Values>();
  const [busy, setBusy] = useState(false);
  const kind = Form.useWatch('kind', form) ?? rule?.kind ?? 'amount_limit';

  useEffect(() => {
    if (!open) return;
    form.resetFields();
    if (rule) form.setFieldsValue({ name: rule.name, kind: rule.kind, outcome: rule.outcome, ...paramsToValues(rule.params) });
  }, [open, rule, form]);
  useEffect(() => {
    const allowed = outcomesOf(kind);
    if (!allowed.includes(form.getFieldValue('outcome') as RuleOutcome)) form.setFieldValue('outcome', allowed[0]);
  }, [kind, form]);

  const submit = async (v: Values) => {
    const built = buildParams(v.kind, v);
    if ('invalid' in built) {
      form.setFields([{ name: built.invalid as keyof Values, errors: [t('invalidParam')] }]);
      return;
    }
    const note = v.note?.trim() || undefined;
    setBusy(true);
    try {
      const saved = rule
        ? await unwrap(
            api.POST('/api/v1/risk/rules/{id}/versions', {
              params: { path: { id: rule.id } },
              body: { name: v.name.trim(), outcome: v.outcome, params: built.params, ...(note ? { note } : {}) },
            }),
          )
        : await unwrap(
            api.POST('/api/v1/risk/rules', {
              body: {
                name: v.name.trim(),
                kind: v.kind,
                mode: v.mode,
                outcome: v.outcome,
                params: built.params,
                ...(note ? { note } : {}),
              },
            }),
          );
      void message.success(t('saved'));
      onDone(saved);
    } catch (caught) {
      void message.error(errorText(asApiError(caught)));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal
      open={open}
      title={rule ? t('newVersion') : t('create')}
      onCancel={onClose}
      onOk={() => form.submit()}
      confirmLoading={busy}
      okButtonProps={{ 'data-testid': 'rule-submit' }}
      forceRender
    >
      <Form<Values>
        form={form}
        layout="vertical"
        onFinish={(v) => void submit({ ...v, kind })}
        initialValues={{ kind: 'amount_limit', mode: 'shadow', outcome: 'decline', scope: 'card' }}
      >
        <Form.Item name="name" label={t('name')} rules={[{ required: true, whitespace: true, max: 100 }]}>
          <Input maxLength={100} data-testid="rule-name" />
        </Form.Item>
        <Form.Item name="kind" label={t('kind')} rules={[{ required: true }]}>
          <Select<RuleKind>
            disabled={!!rule}
            options={RULE_KINDS.map((k) => ({ value: k, label: t(`kinds.${k}`) }))}
            data-testid="rule-kind"
          />
        </Form.Item>
        {rule ? null : (
          <Form.Item name="mode" label={t('mode')} extra={t('modeHelp')}>
            <Radio.Group
              optionType="button"
              options={RULE_MODES.map((m) => ({ value: m, label: t(`modes.${m}`) }))}
              data-testid="rule-mode"
            />
          </Form.Item>
        )}
        <Form.Item name="outcome" label={t('outcome')}>
          <Radio.Group options={outcomesOf(kind).map((o) => ({ value: o, label: t(`outcomes.${o}`) }))} data-testid="rule-outcome" />
        </Form.Item>
        <ParamsFields kind={kind} />
        <Form.Item name="note" label={t('note')}>
          <Input.TextArea rows={2} maxLength={500} />
        </Form.Item>
      </Form>
    </Modal>
  );
}
