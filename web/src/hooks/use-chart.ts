import { useCallback } from 'react';
import { api, unwrapAs } from '../api/client';
import type { Chart } from '../api/types';
import { useLanguage } from './use-language';
import { useRequest, type RequestState } from './use-request';

let cached: Promise<Chart> | undefined;

/** The chart of account types and transfer codes: reference data, fetched once per page load. */
export function loadChart(): Promise<Chart> {
  cached ??= unwrapAs<Chart>(api.GET('/api/v1/chart')).catch((error: unknown) => {
    cached = undefined;
    throw error;
  });
  return cached;
}

export interface ChartNames {
  accountType: (code: number) => string;
  transferCode: (code: number) => string;
}

/** The chart plus functions naming an account type or transfer code in the console's language. */
export function useChart(): RequestState<Chart> & ChartNames {
  const state = useRequest(loadChart, []);
  const { pick } = useLanguage();
  const chart = state.data;
  const accountType = useCallback(
    (code: number) => {
      const t = chart?.account_types.find((a) => a.code === code);
      return t ? pick(t.zh, t.en) : String(code);
    },
    [chart, pick],
  );
  const transferCode = useCallback(
    (code: number) => {
      const t = chart?.transfer_codes.find((c) => c.code === code);
      return t ? pick(t.zh, t.en) : String(code);
    },
    [chart, pick],
  );
  return { ...state, accountType, transferCode };
}
