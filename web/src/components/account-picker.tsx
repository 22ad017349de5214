import { AutoComplete, Input } from 'antd';
import { useMemo } from 'react';
import type { Account } from '../api/types';
import { formatFen } from '@xiaowei/money';

interface AccountPickerProps {
  value?: string;
  onChange?: (value: string) => void;
  accounts: Account[];
  typeName: (code: number) => string;
  placeholder?: string;
  testId: string;
}

/**
 * An account id field that suggests the accounts the user can see (by id, name or type) and
 * still takes any id typed in full.
 */
export function AccountPicker({ value, onChange, accounts, typeName, placeholder, testId }: AccountPickerProps) {
  const options = useMemo(
    () =>
      accounts.map((a) => ({
        value: a.id,
        label: `${a.id} · ${typeName(a.code)}${a.name ? ` · ${a.name}` : ''} · ${formatFen(a.balance)}`,
      })),
    [accounts, typeName],
  );
  return (
    <AutoComplete
      value={value}
      onChange={(v: string) => onChange?.(v.trim())}
      options={options}
      showSearch={{ filterOption: (input, option) => (option?.label ?? '').toLowerCase().includes(input.trim().toLowerCase()) }}
      popupMatchSelectWidth={false}
    >
      <Input placeholder={placeholder} autoComplete="off" spellCheck={false} data-testid={testId} />
    </AutoComplete>
  );
}
