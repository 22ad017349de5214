import { formatFen } from '@xiaowei/money';
import { Typography } from 'antd';

interface MoneyProps {
  /** Integer fen, as the API sends it. */
  fen: number;
  /** Colour negative amounts red. */
  signed?: boolean;
  testId?: string;
}

/** An amount of fen shown as ¥1,234.56; the only place the console formats money. */
export function Money({ fen, signed = false, testId }: MoneyProps) {
  return (
    <Typography.Text className="money" type={signed && fen < 0 ? 'danger' : undefined} data-testid={testId}>
      {formatFen(fen)}
    </Typography.Text>
  );
}
