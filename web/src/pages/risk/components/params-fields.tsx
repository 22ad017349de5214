import { Checkbox, Form, Input, InputNumber, Select } from 'antd';
import { useTranslation } from 'react-i18next';
import { ASSESSED_TYPES, KIND_FIELDS, SCOPES, type RuleKind } from '../model';

const HHMM = /^([01]\d|2[0-3]):[0-5]\d$/;

/** The parameter fields of one rule kind (names as in server/src/payments/risk-rules.ts). */
export function ParamsFields({ kind }: { kind: RuleKind }) {
  const { t } = useTranslation(['risk', 'payments']);
  const has = (f: string) => KIND_FIELDS[kind].includes(f);
  const required = { required: true, message: t('required') };
  const yuan = { pattern: /^\d{1,13}(\.\d{1,2})?$/, message: t('payments:yuanInvalid') };
  const ids = (name: 'ids' | 'cards' | 'terminals' | 'merchants') =>
    has(name) ? (
      <Form.Item name={name} label={t(`param.${name}`)} extra={t('param.idsHelp')}>
        <Input.TextArea rows={2} data-testid={`rule-param-${name}`} />
      </Form.Item>
    ) : null;
  const integer = (name: 'max_count' | 'window_minutes' | 'radius_m' | 'factor_pct' | 'days' | 'min_samples', min: number, max: number) =>
    has(name) ? (
      <Form.Item
        name={name}
        label={t(`param.${name}`)}
        extra={t(`param.${name}Help`, { defaultValue: '' }) || undefined}
        rules={[required]}
      >
        <InputNumber min={min} max={max} precision={0} style={{ width: 200 }} data-testid={`rule-param-${name}`} />
      </Form.Item>
    ) : null;

  return (
    <>
      {has('scope') ? (
        <Form.Item name="scope" label={t('param.scope')} rules={[required]}>
          <Select options={SCOPES.map((s) => ({ value: s, label: t(`scope.${s}`) }))} data-testid="rule-param-scope" />
        </Form.Item>
      ) : null}
      {has('max_amount') ? (
        <Form.Item name="max_amount" label={t('param.max_amount')} rules={[required, yuan]}>
          <Input prefix="¥" inputMode="decimal" data-testid="rule-param-max_amount" />
        </Form.Item>
      ) : null}
      {has('max_total') ? (
        <Form.Item name="max_total" label={t('param.max_total')} rules={[required, yuan]}>
          <Input prefix="¥" inputMode="decimal" data-testid="rule-param-max_total" />
        </Form.Item>
      ) : null}
      {integer('max_count', 1, 1_000_000)}
      {integer('window_minutes', 1, 10_080)}
      {has('from') ? (
        <Form.Item name="from" label={t('param.from')} rules={[required, { pattern: HHMM, message: t('param.hhmm') }]}>
          <Input placeholder="00:00" maxLength={5} data-testid="rule-param-from" />
        </Form.Item>
      ) : null}
      {has('to') ? (
        <Form.Item name="to" label={t('param.to')} rules={[required, { pattern: HHMM, message: t('param.hhmm') }]}>
          <Input placeholder="05:00" maxLength={5} data-testid="rule-param-to" />
        </Form.Item>
      ) : null}
      {has('amount_above') ? (
        <Form.Item name="amount_above" label={t('param.amount_above')} rules={[yuan]}>
          <Input prefix="¥" inputMode="decimal" data-testid="rule-param-amount_above" />
        </Form.Item>
      ) : null}
      {integer('radius_m', 10, 20_000_000)}
      {has('require_location') ? (
        <Form.Item name="require_location" valuePropName="checked">
          <Checkbox>{t('param.require_location')}</Checkbox>
        </Form.Item>
      ) : null}
      {integer('factor_pct', 100, 100_000)}
      {has('statistic') ? (
        <Form.Item name="statistic" label={t('param.statistic')} rules={[required]}>
          <Select options={(['median', 'mean'] as const).map((s) => ({ value: s, label: t(`statistic.${s}`) }))} />
        </Form.Item>
      ) : null}
      {integer('days', 1, 365)}
      {integer('min_samples', 1, 100_000)}
      {ids('ids')}
      {ids('cards')}
      {ids('terminals')}
      {ids('merchants')}
      {has('types') ? (
        <Form.Item name="types" label={t('param.types')} extra={t('param.typesHelp')}>
          <Select mode="multiple" allowClear options={ASSESSED_TYPES.map((x) => ({ value: x, label: t(`payments:txnType.${x}`) }))} />
        </Form.Item>
      ) : null}
    </>
  );
}
