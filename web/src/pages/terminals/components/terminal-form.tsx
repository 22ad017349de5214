import { Col, Form, Input, Modal, Row, Select } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../../../api/client';
import type { ApiError } from '../../../api/errors';
import { ErrorAlert } from '../../../components/error-alert';
import { asApiError } from '../../../hooks/use-request';
import { TERMINAL_KINDS, parseE6, type NewTerminal, type Terminal, type TerminalKind } from '../model';
import { PartyPicker } from './party-picker';

interface Values {
  serial: string;
  model: string;
  kind: TerminalKind;
  owner_party_id: string;
  region_code?: string;
  lat?: string;
  lng?: string;
  tags?: string[];
}

interface TerminalFormProps {
  open: boolean;
  onClose: () => void;
  onCreated: (terminal: Terminal) => void;
}

const SERIAL = /^[A-Za-z0-9][A-Za-z0-9._-]{3,39}$/;
const TAG = /^[\p{L}\p{N}][\p{L}\p{N}_.:-]{0,31}$/u;

/** Registers one terminal; it becomes active when a device activates with a code. */
export function TerminalForm({ open, onClose, onCreated }: TerminalFormProps) {
  const { t } = useTranslation(['terminals', 'common']);
  const [form] = Form.useForm<Values>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError>();

  const submit = async (values: Values) => {
    setBusy(true);
    setError(undefined);
    try {
      const region = values.region_code?.trim();
      const lat = values.lat?.trim() ? parseE6(values.lat) : undefined;
      const lng = values.lng?.trim() ? parseE6(values.lng) : undefined;
      const body: NewTerminal = {
        serial: values.serial.trim(),
        model: values.model.trim(),
        kind: values.kind,
        owner_party_id: values.owner_party_id,
        ...(region ? { region_code: region } : {}),
        ...(lat !== undefined && lng !== undefined ? { lat_e6: lat, lng_e6: lng } : {}),
        ...(values.tags?.length ? { tags: values.tags } : {}),
      };
      const created = await unwrap(api.POST('/api/v1/terminals', { body }));
      form.resetFields();
      onCreated(created);
    } catch (caught) {
      setError(asApiError(caught));
    } finally {
      setBusy(false);
    }
  };

  const degrees = (max: number, message: string) => ({
    validator: async (_: unknown, v: string | undefined) => {
      if (!v?.trim()) return;
      const e6 = parseE6(v);
      if (e6 === undefined || Math.abs(e6) > max * 1_000_000) throw new Error(message);
    },
  });

  return (
    <Modal
      open={open}
      title={t('addTitle')}
      okText={t('common:save')}
      cancelText={t('common:cancel')}
      confirmLoading={busy}
      onOk={() => form.submit()}
      onCancel={onClose}
      okButtonProps={{ 'data-testid': 'terminal-submit' }}
      destroyOnHidden
    >
      <ErrorAlert error={error} testId="terminal-form-error" />
      <Form<Values> form={form} layout="vertical" onFinish={(v) => void submit(v)} initialValues={{ kind: 'smart_pos' }}>
        <Form.Item
          name="serial"
          label={t('serial')}
          extra={t('serialHint')}
          rules={[{ required: true, pattern: SERIAL, message: t('serialInvalid') }]}
        >
          <Input autoComplete="off" spellCheck={false} data-testid="terminal-serial" />
        </Form.Item>
        <Row gutter={12}>
          <Col span={14}>
            <Form.Item name="model" label={t('model')} rules={[{ required: true, max: 64, whitespace: true, message: t('modelRequired') }]}>
              <Input data-testid="terminal-model" />
            </Form.Item>
          </Col>
          <Col span={10}>
            <Form.Item name="kind" label={t('kindLabel')} rules={[{ required: true }]}>
              <Select<TerminalKind>
                data-testid="terminal-kind"
                options={TERMINAL_KINDS.map((k) => ({ value: k, label: t(`kind.${k}`) }))}
              />
            </Form.Item>
          </Col>
        </Row>
        <Form.Item
          name="owner_party_id"
          label={t('owner')}
          extra={t('ownerHint')}
          rules={[{ required: true, message: t('ownerRequired') }]}
        >
          <PartyPicker testId="terminal-owner" placeholder={t('ownerPlaceholder')} />
        </Form.Item>
        <Form.Item name="region_code" label={t('region')} rules={[{ pattern: /^[0-9]{4,12}$/, message: t('regionInvalid') }]}>
          <Input data-testid="terminal-region" />
        </Form.Item>
        <Row gutter={12}>
          <Col span={12}>
            <Form.Item
              name="lat"
              label={t('lat')}
              dependencies={['lng']}
              rules={[degrees(90, t('latInvalid')), pairRule('lng', t('coordsTogether'))]}
            >
              <Input placeholder="36.067108" data-testid="terminal-lat" />
            </Form.Item>
          </Col>
          <Col span={12}>
            <Form.Item
              name="lng"
              label={t('lng')}
              dependencies={['lat']}
              rules={[degrees(180, t('lngInvalid')), pairRule('lat', t('coordsTogether'))]}
            >
              <Input placeholder="120.382640" data-testid="terminal-lng" />
            </Form.Item>
          </Col>
        </Row>
        <Form.Item
          name="tags"
          label={t('tags')}
          rules={[
            {
              validator: async (_: unknown, tags: string[] | undefined) => {
                if (tags && (tags.length > 16 || tags.some((tag) => !TAG.test(tag)))) throw new Error(t('tagsInvalid'));
              },
            },
          ]}
        >
          <Select mode="tags" tokenSeparators={[',', ';', ' ']} open={false} data-testid="terminal-tags" />
        </Form.Item>
      </Form>
    </Modal>
  );
}

/** Latitude and longitude come together or not at all. */
function pairRule(other: string, message: string) {
  return ({ getFieldValue }: { getFieldValue: (name: string) => unknown }) => ({
    validator: async (_: unknown, v: string | undefined) => {
      const mine = !!v?.trim();
      const theirs = !!(getFieldValue(other) as string | undefined)?.trim();
      if (mine !== theirs) throw new Error(message);
    },
  });
}
