import { SearchOutlined } from '@ant-design/icons';
import { Button, Col, DatePicker, Form, Input, Row, Select } from 'antd';
import type { Dayjs } from 'dayjs';
import { useTranslation } from 'react-i18next';
import type { TransferCode } from '../../../api/types';
import { useLanguage } from '../../../hooks/use-language';
import { toMicros } from '../../../utils/time';

export interface TransferFilter {
  account_id?: string;
  code?: number;
  from?: number;
  to?: number;
  reference?: string;
}

interface Values {
  account_id?: string;
  code?: number;
  range?: [Dayjs | null, Dayjs | null] | null;
  reference?: string;
}

interface TransferSearchFormProps {
  codes: TransferCode[];
  initial: TransferFilter;
  onSearch: (filter: TransferFilter) => void;
}

export function TransferSearchForm({ codes, initial, onSearch }: TransferSearchFormProps) {
  const { t } = useTranslation('transfers');
  const { pick } = useLanguage();
  const finish = (v: Values) => {
    const [start, end] = v.range ?? [null, null];
    const account = v.account_id?.trim();
    const reference = v.reference?.trim();
    onSearch({
      ...(account ? { account_id: account } : {}),
      ...(v.code ? { code: v.code } : {}),
      ...(start ? { from: toMicros(start.startOf('day')) } : {}),
      ...(end ? { to: toMicros(end.endOf('day')) } : {}),
      ...(reference ? { reference } : {}),
    });
  };
  return (
    <Form<Values> layout="vertical" onFinish={finish} initialValues={{ account_id: initial.account_id }}>
      <Row gutter={12}>
        <Col xs={24} sm={12} lg={6}>
          <Form.Item name="account_id" label={t('account')}>
            <Input allowClear data-testid="transfer-search-account" />
          </Form.Item>
        </Col>
        <Col xs={24} sm={12} lg={5}>
          <Form.Item name="code" label={t('code')}>
            <Select<number> allowClear options={codes.map((c) => ({ value: c.code, label: `${c.code} · ${pick(c.zh, c.en)}` }))} />
          </Form.Item>
        </Col>
        <Col xs={24} sm={12} lg={7}>
          <Form.Item name="range" label={t('period')}>
            <DatePicker.RangePicker allowEmpty={[true, true]} style={{ width: '100%' }} />
          </Form.Item>
        </Col>
        <Col xs={24} sm={12} lg={6}>
          <Form.Item name="reference" label={t('reference')}>
            <Input allowClear maxLength={256} />
          </Form.Item>
        </Col>
      </Row>
      <Button type="primary" htmlType="submit" icon={<SearchOutlined />} data-testid="transfer-search-submit">
        {t('search')}
      </Button>
    </Form>
  );
}
