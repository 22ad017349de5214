import { Select } from 'antd';
import { api, unwrap } from '../../../api/client';
import { useRequest } from '../../../hooks/use-request';
import { formatRate } from '../model';

interface FeePlanSelectProps {
  value?: string;
  onChange?: (value: string) => void;
  testId: string;
}

/** The active fee plans (and the current one), shown with their rate. */
export function FeePlanSelect({ value, onChange, testId }: FeePlanSelectProps) {
  const plans = useRequest(() => unwrap(api.GET('/api/v1/fee-plans')), []);
  return (
    <Select<string>
      value={value}
      onChange={onChange}
      loading={plans.loading}
      data-testid={testId}
      options={(plans.data?.items ?? [])
        .filter((p) => p.status === 'active' || p.id === value)
        .map((p) => ({ value: p.id, label: `${p.name} · ${formatRate(p.rate_bp)}` }))}
    />
  );
}
