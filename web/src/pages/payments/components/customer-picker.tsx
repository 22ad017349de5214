import { Select } from 'antd';
import { useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../../../api/client';
import type { Party } from '../../../api/types';

interface CustomerPickerProps {
  value?: string;
  onChange?: (value: string) => void;
  testId: string;
}

/** Finds a cardholder party (customer or farmer) by name, server-side. */
export function CustomerPicker({ value, onChange, testId }: CustomerPickerProps) {
  const { t } = useTranslation('parties');
  const [search, setSearch] = useState('');
  const [options, setOptions] = useState<Party[]>([]);
  const generation = useRef(0);
  useEffect(() => {
    const mine = ++generation.current;
    unwrap(api.GET('/api/v1/parties', { params: { query: { limit: 30, offset: 0, ...(search ? { search } : {}) } } }))
      .then((page) => {
        if (mine === generation.current) setOptions(page.items.filter((p) => p.roles.some((r) => r === 'customer' || r === 'farmer')));
      })
      .catch(() => {
        if (mine === generation.current) setOptions([]);
      });
  }, [search]);
  return (
    <Select<string>
      value={value}
      onChange={onChange}
      data-testid={testId}
      allowClear
      showSearch={{ filterOption: false, onSearch: (text) => setSearch(text.trim().slice(0, 50)) }}
      options={options.map((p) => ({ value: p.id, label: `${p.name} · ${p.roles.map((r) => t(`role.${r}`)).join('/')} · ${p.id}` }))}
    />
  );
}
