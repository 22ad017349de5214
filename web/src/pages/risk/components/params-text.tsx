import { formatFen } from '@xiaowei/money';
import { useTranslation } from 'react-i18next';

const FEN_FIELDS = new Set(['max_amount', 'max_total', 'amount_above']);

/** A rule's parameters in one line: "scope: card · max amount: ¥500.00". */
export function ParamsText({ params }: { params: unknown }) {
  const { t } = useTranslation(['risk', 'payments']);
  if (typeof params !== 'object' || params === null) return <>—</>;
  const parts = Object.entries(params as Record<string, unknown>).map(([k, v]) => {
    let text: string;
    if (FEN_FIELDS.has(k) && typeof v === 'number') text = formatFen(v);
    else if (k === 'scope' && typeof v === 'string') text = t(`scope.${v as 'card'}`, { defaultValue: v });
    else if (k === 'types' && Array.isArray(v))
      text = v.map((x: string) => t(`payments:txnType.${x as 'sale'}`, { defaultValue: x })).join('/');
    else if (Array.isArray(v)) text = v.length > 3 ? `${v.slice(0, 3).join(', ')} … (${v.length})` : v.join(', ');
    else text = String(v);
    return `${t(`param.${k as 'scope'}`, { defaultValue: k })}: ${text}`;
  });
  return <span data-testid="rule-params">{parts.join(' · ')}</span>;
}
