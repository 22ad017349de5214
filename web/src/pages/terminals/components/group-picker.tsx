import { Select } from 'antd';
import type { CSSProperties } from 'react';
import { api, unwrap } from '../../../api/client';
import { useRequest } from '../../../hooks/use-request';

interface GroupPickerProps {
  value?: string;
  onChange?: (value: string | undefined) => void;
  testId: string;
  placeholder?: string;
  style?: CSSProperties;
  allowClear?: boolean;
}

/** The groups the user can see (their organisations'), by name. */
export function GroupPicker({ value, onChange, testId, placeholder, style, allowClear }: GroupPickerProps) {
  const groups = useRequest(() => unwrap(api.GET('/api/v1/terminal-groups', { params: { query: { limit: 500, offset: 0 } } })), []);
  return (
    <Select<string>
      value={value}
      onChange={(v) => onChange?.(v)}
      loading={groups.loading}
      placeholder={placeholder}
      style={style}
      allowClear={allowClear}
      data-testid={testId}
      showSearch={{ optionFilterProp: 'label' }}
      options={(groups.data?.items ?? []).map((g) => ({ value: g.id, label: `${g.name} (${g.member_count})` }))}
    />
  );
}
