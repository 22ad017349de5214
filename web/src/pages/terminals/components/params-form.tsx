import { formatFen, parseYuan } from '@xiaowei/money';
import { Button, Col, Form, Input, InputNumber, Row } from 'antd';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { ApiError } from '../../../api/errors';
import { ErrorAlert } from '../../../components/error-alert';
import { asApiError } from '../../../hooks/use-request';
import { PARAM_SPECS, type EffectiveParams, type ParamName, type ParamSpec, type TerminalParams } from '../model';

/** Form values: text as typed (yuan for money), numbers for seconds; empty means "inherit". */
type Values = Partial<Record<ParamName, string | number | null>>;

interface ParamsFormProps {
  /** The set being edited (a terminal's or a group's own parameters). */
  own: TerminalParams;
  /** What applies when a field is left empty, shown as its placeholder. */
  inherited?: Partial<EffectiveParams>;
  disabled?: boolean;
  testId: string;
  onSave: (params: TerminalParams) => Promise<void>;
}

/** C0 controls and DEL, which the server refuses in receipt headers. */
function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c <= 0x1f || c === 0x7f) return true;
  }
  return false;
}

function toValues(own: TerminalParams): Values {
  const values: Values = {};
  for (const spec of PARAM_SPECS) {
    const v = own[spec.name];
    if (v === undefined) continue;
    values[spec.name] = spec.type === 'fen' && typeof v === 'number' ? formatFen(v, '').replace(/,/g, '') : v;
  }
  return values;
}

function placeholder(spec: ParamSpec, inherited: Partial<EffectiveParams> | undefined): string | undefined {
  const v = inherited?.[spec.name];
  if (v === undefined) return undefined;
  return spec.type === 'fen' && typeof v === 'number' ? formatFen(v) : String(v);
}

/**
 * Edits a whole own parameter set: what is filled in overrides, what is empty inherits (from the
 * groups, then the defaults). Saving replaces the set, as the API does.
 */
export function ParamsForm({ own, inherited, disabled, testId, onSave }: ParamsFormProps) {
  const { t } = useTranslation(['terminals', 'common']);
  const [form] = Form.useForm<Values>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError>();

  useEffect(() => {
    form.resetFields();
    form.setFieldsValue(toValues(own));
  }, [form, own]);

  const submit = async (values: Values) => {
    const params: Record<string, string | number> = {};
    for (const spec of PARAM_SPECS) {
      const v = values[spec.name];
      if (v === undefined || v === null || v === '') continue;
      if (spec.type === 'fen') params[spec.name] = parseYuan(String(v)) ?? 0;
      else if (spec.type === 'text') params[spec.name] = String(v).trim();
      else params[spec.name] = Number(v);
    }
    setBusy(true);
    setError(undefined);
    try {
      await onSave(params);
    } catch (caught) {
      setError(asApiError(caught));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Form<Values> form={form} layout="vertical" disabled={disabled} onFinish={(v) => void submit(v)} data-testid={testId}>
      <ErrorAlert error={error} testId={`${testId}-error`} />
      <Row gutter={16}>
        {PARAM_SPECS.map((spec) => (
          <Col key={spec.name} xs={24} md={12} xl={8}>
            <Form.Item
              name={spec.name}
              label={t(`param.${spec.name}`)}
              rules={
                spec.type === 'fen'
                  ? [
                      {
                        validator: async (_: unknown, v: string | null | undefined) => {
                          if (v === undefined || v === null || String(v).trim() === '') return;
                          const fen = parseYuan(String(v));
                          if (fen === undefined || fen < spec.min || fen > spec.max)
                            throw new Error(t('paramFenInvalid', { max: formatFen(spec.max) }));
                        },
                      },
                    ]
                  : spec.type === 'text'
                    ? [
                        {
                          validator: async (_: unknown, v: string | null | undefined) => {
                            if (v && (v.length > spec.max || hasControl(v))) throw new Error(t('paramTextInvalid', { max: spec.max }));
                          },
                        },
                      ]
                    : [{ type: 'number', min: spec.min, max: spec.max, message: t('paramRange', { min: spec.min, max: spec.max }) }]
              }
            >
              {spec.type === 'seconds' ? (
                <InputNumber<number>
                  min={spec.min}
                  max={spec.max}
                  precision={0}
                  style={{ width: '100%' }}
                  placeholder={placeholder(spec, inherited)}
                  suffix={t('seconds')}
                />
              ) : (
                <Input
                  placeholder={placeholder(spec, inherited)}
                  prefix={spec.type === 'fen' ? '¥' : undefined}
                  data-testid={`${testId}-${spec.name}`}
                />
              )}
            </Form.Item>
          </Col>
        ))}
      </Row>
      {disabled ? null : (
        <Button type="primary" htmlType="submit" loading={busy} data-testid={`${testId}-save`}>
          {t('common:save')}
        </Button>
      )}
    </Form>
  );
}
