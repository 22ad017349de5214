import { Select } from 'antd';
import { useEffect, useRef, useState, type CSSProperties } from 'react';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../../../api/client';
import type { Party, PartyRole } from '../../../api/types';

/** Parties that may own a terminal or operators: merchants, service-point agents and buyers. */
const OWNER_ROLES: readonly PartyRole[] = ['merchant', 'agent', 'buyer'];
const SEARCH_LIMIT = 30;

interface PartyPickerProps {
  value?: string;
  onChange?: (value: string) => void;
  testId: string;
  placeholder?: string;
  style?: CSSProperties;
}

/** Finds an owner party by name (server search); shows name, roles and id. */
export function PartyPicker({ value, onChange, testId, placeholder, style }: PartyPickerProps) {
  const { t } = useTranslation(['parties']);
  const [search, setSearch] = useState('');
  const [options, setOptions] = useState<Party[]>([]);
  const [loading, setLoading] = useState(false);
  const generation = useRef(0);

  useEffect(() => {
    const mine = ++generation.current;
    setLoading(true);
    const query = { limit: SEARCH_LIMIT, offset: 0, ...(search ? { search } : {}) };
    unwrap(api.GET('/api/v1/parties', { params: { query } }))
      .then((page) => {
        if (mine !== generation.current) return;
        setOptions(page.items.filter((p) => p.roles.some((r) => OWNER_ROLES.includes(r))));
      })
      .catch(() => {
        if (mine === generation.current) setOptions([]);
      })
      .finally(() => {
        if (mine === generation.current) setLoading(false);
      });
  }, [search]);

  return (
    <Select<string>
      value={value}
      onChange={onChange}
      loading={loading}
      placeholder={placeholder}
      style={style}
      data-testid={testId}
      showSearch={{ filterOption: false, onSearch: (text) => setSearch(text.trim().slice(0, 50)) }}
      options={options.map((p) => ({
        value: p.id,
        label: `${p.name} · ${p.roles.map((r) => t(`role.${r}`)).join('/')} · ${p.id}`,
      }))}
      allowClear
    />
  );
}
