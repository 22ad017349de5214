/** Receipt and SMS texts (zh-CN first, en). Card numbers appear as the last four digits only. */
import { formatFen } from '@xiaowei/money';
import type { TxnReply, TxnType } from './api';

export type Pick = <T>(zh: T, en: T) => T;

export const TYPE_NAMES: Record<TxnType, [string, string]> = {
  balance: ['余额查询', 'Balance inquiry'],
  sale: ['消费', 'Sale'],
  void: ['消费撤销', 'Void'],
  refund: ['退货', 'Refund'],
  preauth: ['预授权', 'Pre-authorisation'],
  preauth_void: ['预授权撤销', 'Pre-auth void'],
  completion: ['预授权完成', 'Completion'],
  completion_void: ['预授权完成撤销', 'Completion void'],
  reversal: ['冲正', 'Reversal'],
  qr_sale: ['扫码消费', 'QR sale'],
  transfer: ['转账', 'Transfer'],
};

export const typeName = (pick: Pick, type: TxnType): string => pick(...TYPE_NAMES[type]);

export function when(ms: number, language: string): string {
  return new Date(ms).toLocaleString(language, {
    hour12: false,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
}

const pad = (n: number | null, width: number): string => (n === null ? '—' : String(n).padStart(width, '0'));

export interface ReceiptInfo {
  merchant: string;
  serial: string;
  operator: string;
  language: string;
}

/** The receipt's lines (label, value), in the order printed. */
export function receiptRows(pick: Pick, reply: TxnReply, info: ReceiptInfo): [string, string][] {
  return [
    [pick('商户名称', 'Merchant'), info.merchant],
    [pick('终端号', 'Terminal'), info.serial],
    [pick('操作员', 'Operator'), info.operator],
    [pick('卡号', 'Card'), reply.cardLast4 ? `**** **** **** ${reply.cardLast4}` : '—'],
    [pick('交易类型', 'Type'), typeName(pick, reply.type)],
    [pick('批次号', 'Batch'), pad(reply.batchNo, 6)],
    [pick('凭证号', 'Trace'), pad(reply.traceNo, 6)],
    [pick('授权码', 'Auth code'), reply.authCode ?? '—'],
    [pick('参考号', 'Reference'), reply.id],
    [pick('日期时间', 'Date/time'), when(reply.at, info.language)],
    [pick('金额', 'Amount'), formatFen(reply.amount, 'RMB ')],
  ];
}

/** Plain text lines for the shell's printer: both copies, 32 columns (58 mm). */
export function receiptLines(pick: Pick, reply: TxnReply, info: ReceiptInfo): string[] {
  const lines: string[] = [];
  for (const copy of [pick('商户存根', 'MERCHANT COPY'), pick('持卡人存根', 'CUSTOMER COPY')]) {
    lines.push(pick('银行卡签购单', 'CARD SALES SLIP'), copy, '-'.repeat(32));
    for (const [label, value] of receiptRows(pick, reply, info)) lines.push(`${label}: ${value}`);
    lines.push(
      '-'.repeat(32),
      copy.startsWith(pick('商户', 'MERCHANT'))
        ? pick('持卡人签名：', 'Cardholder signature:')
        : pick('请妥善保管', 'Please keep this receipt'),
      '',
      '',
    );
  }
  return lines;
}

/** A short SMS the cashier can copy to the customer. */
export function smsText(pick: Pick, reply: TxnReply, info: ReceiptInfo): string {
  const card = reply.cardLast4 ? pick(`尾号${reply.cardLast4}的卡`, `card ending ${reply.cardLast4}`) : '';
  return pick(
    `【${info.merchant}】您${card ? `的${card}` : ''}于${when(reply.at, 'zh-CN')}${typeName(pick, reply.type)}${formatFen(reply.amount)}，授权码${reply.authCode ?? '—'}，凭证号${pad(reply.traceNo, 6)}。`,
    `[${info.merchant}] ${typeName(pick, reply.type)} ${formatFen(reply.amount)}${card ? ` on ${card}` : ''} at ${when(reply.at, 'en-US')}, auth code ${reply.authCode ?? '—'}, trace ${pad(reply.traceNo, 6)}.`,
  );
}
