import { AutoComplete, Input } from 'antd';
import { api, unwrap } from '../../../api/client';
import { useLanguage } from '../../../hooks/use-language';
import { useRequest } from '../../../hooks/use-request';
import type { MerchantCategory } from '../model';

let cached: Promise<MerchantCategory[]> | undefined;
/** The server's list of common MCCs (reference data), fetched once per page load. */
function loadCategories(): Promise<MerchantCategory[]> {
  cached ??= unwrap(api.GET('/api/v1/merchant-categories')).then(
    (r) => r.items,
    (error: unknown) => {
      cached = undefined;
      throw error;
    },
  );
  return cached;
}

interface MccInputProps {
  value?: string;
  onChange?: (value: string) => void;
  testId: string;
}

/** A four-digit MCC: pick a common one or type any code. */
export function MccInput({ value, onChange, testId }: MccInputProps) {
  const { pick } = useLanguage();
  const categories = useRequest(loadCategories, []);
  return (
    <AutoComplete
      value={value}
      onChange={(v: string) => onChange?.(v.trim())}
      options={(categories.data ?? []).map((m) => ({ value: m.mcc, label: `${m.mcc} · ${pick(m.zh, m.en)}` }))}
      showSearch={{ filterOption: (input, option) => (option?.label ?? '').toLowerCase().includes(input.trim().toLowerCase()) }}
      popupMatchSelectWidth={false}
    >
      <Input maxLength={4} inputMode="numeric" data-testid={testId} />
    </AutoComplete>
  );
}

/** "5411 · 超市、杂货店" for a merchant with a known category, else the code. */
export function useMccText(): (mcc: string, name: { zh: string; en: string } | null) => string {
  const { pick } = useLanguage();
  return (mcc, name) => (name ? `${mcc} · ${pick(name.zh, name.en)}` : mcc);
}
