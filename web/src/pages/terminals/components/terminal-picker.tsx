import { Select } from 'antd';
import { useEffect, useRef, useState, type CSSProperties } from 'react';
import { api, unwrap } from '../../../api/client';
import type { Terminal } from '../model';

interface TerminalPickerProps {
  value?: string;
  onChange?: (value: string) => void;
  testId: string;
  placeholder?: string;
  style?: CSSProperties;
}

/** Finds a terminal by part of its serial (server search); the value is the terminal id. */
export function TerminalPicker({ value, onChange, testId, placeholder, style }: TerminalPickerProps) {
  const [search, setSearch] = useState('');
  const [options, setOptions] = useState<Terminal[]>([]);
  const [loading, setLoading] = useState(false);
  const generation = useRef(0);

  useEffect(() => {
    const mine = ++generation.current;
    setLoading(true);
    unwrap(api.GET('/api/v1/terminals', { params: { query: { limit: 30, offset: 0, ...(search ? { search } : {}) } } }))
      .then((page) => {
        if (mine === generation.current) setOptions(page.items);
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
      showSearch={{ filterOption: false, onSearch: (text) => setSearch(text.trim().slice(0, 40)) }}
      options={options.map((x) => ({ value: x.id, label: `${x.serial} · ${x.model}` }))}
    />
  );
}
