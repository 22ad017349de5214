import { StrictMode, useCallback, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { createRoot } from 'react-dom/client';
import { formatFen, parseYuan } from '@xiaowei/money';
import { call } from '../../sdk/bridge';
import { useAppContext, usePick, useShellValue } from '../../sdk/hooks';
import type { AppContext } from '../../../src/core/bridge-protocol';
import '../../sdk/app.css';
import './cashier.css';
import {
  PayError,
  UnknownOutcome,
  clearJournal,
  expiryOk,
  getBatch,
  getQrOrder,
  getTransaction,
  journal,
  journalTotals,
  loadJournal,
  luhnOk,
  newClientId,
  pay,
  pinBlock,
  post,
  printReceipt,
  recoverInflight,
  supervisorSignOn,
  type BatchTotals,
  type CloseResult,
  type OpenBatch,
  type QrOrder,
  type TxnReply,
} from './api';
import { encodeQr, qrPath } from '../../../../shared/qr-code';
import { receiptLines, receiptRows, smsText, typeName, when, type Pick, type ReceiptInfo } from './receipt';

const loadStatus = () => call('status');

/** What an amount is asked for. */
type AmountPurpose = 'sale' | 'preauth' | 'qr' | 'scan' | 'refund' | 'completion';
/** Actions on an earlier transaction; all but completion need a supervisor. */
type FollowUp = 'void' | 'refund' | 'preauth_void' | 'completion' | 'completion_void';

type Screen =
  | { name: 'home' }
  | { name: 'amount'; purpose: AmountPurpose; original?: TxnReply }
  | { name: 'card'; purpose: 'sale' | 'preauth' | 'balance'; amount: number }
  | { name: 'pin'; purpose: 'sale' | 'preauth' | 'balance'; amount: number; pan: string; expiry: string }
  | { name: 'busy'; text: [string, string] }
  | { name: 'result'; reply: TxnReply }
  | { name: 'cancelled'; clientId: string; cause: PayError }
  | { name: 'failed'; error: PayError }
  | { name: 'receipt'; reply: TxnReply }
  | { name: 'list' }
  | { name: 'detail'; txn: TxnReply }
  | { name: 'supervisor'; action: FollowUp; original: TxnReply; amount?: number }
  | { name: 'qr'; order: QrOrder; amount: number }
  | { name: 'scan'; amount: number }
  | { name: 'batch' };

const FOLLOW_UPS: Record<FollowUp, { path: string; supervisor: boolean; label: [string, string] }> = {
  void: { path: 'void', supervisor: true, label: ['撤销', 'Void'] },
  refund: { path: 'refund', supervisor: true, label: ['退货', 'Refund'] },
  preauth_void: { path: 'preauth-void', supervisor: true, label: ['预授权撤销', 'Pre-auth void'] },
  completion: { path: 'completion', supervisor: false, label: ['预授权完成', 'Complete'] },
  completion_void: { path: 'completion-void', supervisor: true, label: ['完成撤销', 'Completion void'] },
};

/** What may follow a transaction, by its type and state. */
function followUps(txn: TxnReply): FollowUp[] {
  if (!txn.approved || (txn.status !== 'approved' && txn.status !== 'refunded')) return [];
  switch (txn.type) {
    case 'sale':
      return txn.status === 'approved' ? ['void', 'refund'] : [];
    case 'qr_sale':
      return txn.status === 'approved' ? ['refund'] : [];
    case 'preauth':
      return ['completion', 'preauth_void'];
    case 'completion':
      return txn.status === 'approved' ? ['completion_void', 'refund'] : [];
    default:
      return [];
  }
}

function Cashier() {
  const context = useAppContext();
  const status = useShellValue('status', loadStatus);
  const pick = usePick(context?.language);
  const [screen, setScreen] = useState<Screen>({ name: 'home' });
  const [notice, setNotice] = useState<string | null>(null);
  const home = useCallback(() => setScreen({ name: 'home' }), []);

  // An app closed in the middle of a payment: that payment's outcome is unknown → reversed.
  useEffect(() => {
    void recoverInflight().then((id) => {
      if (id) setNotice(id);
    });
  }, []);

  if (!context || !status) return <p className="muted">…</p>;
  const timeoutS = typeof status.params.request_timeout_s === 'number' ? status.params.request_timeout_s : 60;
  const timeoutMs = timeoutS * 1000;
  const lang = context.language;
  const info: ReceiptInfo = {
    merchant: context.terminal.merchantName ?? '—',
    serial: context.terminal.serial,
    operator: context.operator ? `${context.operator.no} ${context.operator.name ?? ''}`.trim() : '—',
    language: lang,
  };

  /** Runs a money request and shows its outcome; an unknown outcome is reversed, never "pending". */
  const run = async (path: string, body: Record<string, unknown>, text: [string, string]): Promise<void> => {
    const clientId = newClientId();
    setScreen({ name: 'busy', text });
    try {
      const reply = await pay(path, { ...body, clientId }, timeoutMs);
      setScreen({ name: 'result', reply });
    } catch (error) {
      if (error instanceof UnknownOutcome) setScreen({ name: 'cancelled', clientId: error.originalClientId, cause: error.reason });
      else
        setScreen({
          name: 'failed',
          error: error instanceof PayError ? error : new PayError('client_error', String(error), String(error)),
        });
    }
  };

  const followUp = (action: FollowUp, original: TxnReply, amount?: number): void => {
    const spec = FOLLOW_UPS[action];
    if (spec.supervisor && context.operator?.role !== 'supervisor') {
      setScreen({ name: 'supervisor', action, original, amount });
      return;
    }
    if ((action === 'refund' || action === 'completion') && amount === undefined) {
      setScreen({ name: 'amount', purpose: action, original });
      return;
    }
    void run(spec.path, { originalId: original.id, ...(amount === undefined ? {} : { amount }) }, spec.label);
  };

  const amountDone = (purpose: AmountPurpose, amount: number, original?: TxnReply): void => {
    if (purpose === 'sale' || purpose === 'preauth') setScreen({ name: 'card', purpose, amount });
    else if (purpose === 'scan') setScreen({ name: 'scan', amount });
    else if (purpose === 'qr') {
      setScreen({ name: 'busy', text: ['正在生成收款码', 'Making the QR code'] });
      post<QrOrder>('qr/orders', { clientId: newClientId(), amount }).then(
        (order) => setScreen({ name: 'qr', order, amount }),
        (error: unknown) => setScreen({ name: 'failed', error: error as PayError }),
      );
    } else if (original) followUp(purpose, original, amount);
  };

  let body: ReactNode;
  switch (screen.name) {
    case 'home':
      body = <Home pick={pick} context={context} go={setScreen} notice={notice} clearNotice={() => setNotice(null)} />;
      break;
    case 'amount':
      body = (
        <AmountPad
          pick={pick}
          title={amountTitle(pick, screen.purpose)}
          max={screen.original && screen.purpose === 'refund' ? screen.original.amount : undefined}
          onCancel={home}
          onDone={(amount) => amountDone(screen.purpose, amount, screen.original)}
        />
      );
      break;
    case 'card':
      body = (
        <CardEntry
          pick={pick}
          amount={screen.amount}
          onCancel={home}
          onDone={(pan, expiry) => setScreen({ name: 'pin', purpose: screen.purpose, amount: screen.amount, pan, expiry })}
        />
      );
      break;
    case 'pin':
      body = (
        <PinPad
          pick={pick}
          amount={screen.amount}
          pan={screen.pan}
          onCancel={home}
          onBlock={(block) => {
            const card = { pan: screen.pan, expiry: screen.expiry };
            if (screen.purpose === 'balance') void run('balance', { card, pinBlock: block }, ['余额查询', 'Balance inquiry']);
            else
              void run(
                screen.purpose,
                { amount: screen.amount, card, pinBlock: block },
                screen.purpose === 'sale' ? ['消费', 'Sale'] : ['预授权', 'Pre-authorisation'],
              );
          }}
        />
      );
      break;
    case 'busy':
      body = (
        <section className="result" data-testid="cashier-busy">
          <div className="mark">⋯</div>
          <h2>{pick(screen.text[0], screen.text[1])}</h2>
          <p className="muted">{pick('正在联系银行，请勿拔卡或离开', 'Contacting the bank, please wait')}</p>
        </section>
      );
      break;
    case 'result':
      body = (
        <Result
          pick={pick}
          reply={screen.reply}
          lang={lang}
          onReceipt={() => setScreen({ name: 'receipt', reply: screen.reply })}
          onDone={home}
        />
      );
      break;
    case 'cancelled':
      body = (
        <section className="result warn" data-testid="cashier-cancelled" data-client-id={screen.clientId}>
          <div className="mark">!</div>
          <h2>{pick('交易已取消', 'Transaction cancelled')}</h2>
          <p>
            {pick(
              '未收到银行应答，终端已自动发起冲正，本笔交易不会扣款。请重新交易。',
              'No answer from the bank: the terminal sent a reversal, so this transaction takes no money. Please try again.',
            )}
          </p>
          <p className="muted">{pick(screen.cause.zh, screen.cause.en)}</p>
          <button className="big primary" data-testid="cashier-done" onClick={home}>
            {pick('返回', 'Back')}
          </button>
        </section>
      );
      break;
    case 'failed':
      body = (
        <section className="result no" data-testid="cashier-failed" data-code={screen.error.code}>
          <div className="mark">×</div>
          <h2>{pick('交易未完成', 'Not completed')}</h2>
          <p>{pick(screen.error.zh, screen.error.en)}</p>
          <button className="big primary" data-testid="cashier-done" onClick={home}>
            {pick('返回', 'Back')}
          </button>
        </section>
      );
      break;
    case 'receipt':
      body = <Receipt pick={pick} reply={screen.reply} info={info} onDone={home} />;
      break;
    case 'list':
      body = <TxnList pick={pick} lang={lang} onOpen={(txn) => setScreen({ name: 'detail', txn })} onBack={home} />;
      break;
    case 'detail':
      body = (
        <Detail
          pick={pick}
          txn={screen.txn}
          lang={lang}
          onAction={(action) => followUp(action, screen.txn)}
          onReceipt={() => setScreen({ name: 'receipt', reply: screen.txn })}
          onBack={() => setScreen({ name: 'list' })}
        />
      );
      break;
    case 'supervisor':
      body = (
        <Supervisor
          pick={pick}
          action={pick(...FOLLOW_UPS[screen.action].label)}
          onCancel={home}
          onSignedOn={() => {
            // The context event follows; act with the supervisor now.
            const { action, original, amount } = screen;
            if ((action === 'refund' || action === 'completion') && amount === undefined)
              setScreen({ name: 'amount', purpose: action, original });
            else
              void run(
                FOLLOW_UPS[action].path,
                { originalId: original.id, ...(amount === undefined ? {} : { amount }) },
                FOLLOW_UPS[action].label,
              );
          }}
        />
      );
      break;
    case 'qr':
      body = (
        <QrScreen
          pick={pick}
          order={screen.order}
          amount={screen.amount}
          onPaid={(reply) => setScreen({ name: 'result', reply })}
          onBack={home}
        />
      );
      break;
    case 'scan':
      body = (
        <ScanCode
          pick={pick}
          amount={screen.amount}
          onCancel={home}
          onCode={(code) => void run('qr/scan', { amount: screen.amount, code }, ['扫码消费', 'QR sale'])}
        />
      );
      break;
    case 'batch':
      body = <Batch pick={pick} lang={lang} onBack={home} />;
      break;
  }
  return (
    <main data-testid="cashier-app" data-screen={screen.name}>
      {body}
    </main>
  );
}

function amountTitle(pick: Pick, purpose: AmountPurpose): string {
  switch (purpose) {
    case 'sale':
      return pick('消费金额', 'Sale amount');
    case 'preauth':
      return pick('预授权金额', 'Pre-authorisation amount');
    case 'qr':
      return pick('收款码金额', 'QR amount');
    case 'scan':
      return pick('付款码收款金额', 'Amount to collect');
    case 'refund':
      return pick('退货金额', 'Refund amount');
    case 'completion':
      return pick('完成金额', 'Completion amount');
  }
}

function Home({
  pick,
  context,
  go,
  notice,
  clearNotice,
}: {
  pick: Pick;
  context: AppContext;
  go: (s: Screen) => void;
  notice: string | null;
  clearNotice: () => void;
}) {
  const op = context.operator;
  return (
    <>
      <div className="bar">
        <h1>{pick('收银台', 'Cashier')}</h1>
        <span className="muted" data-testid="cashier-operator" data-role={op?.role ?? ''}>
          {op ? `${op.no} ${op.name ?? ''} · ${op.role === 'supervisor' ? pick('主管', 'Supervisor') : pick('收银员', 'Cashier')}` : '—'}
        </span>
      </div>
      {notice && (
        <section className="card" data-testid="cashier-recovered">
          <p>{pick('上次交易未收到应答，已自动冲正。', 'The last transaction got no answer and was reversed.')}</p>
          <button onClick={clearNotice}>{pick('知道了', 'OK')}</button>
        </section>
      )}
      <div className="tiles">
        <button className="primary" data-testid="cashier-sale" onClick={() => go({ name: 'amount', purpose: 'sale' })}>
          {pick('消费', 'Sale')}
        </button>
        <button data-testid="cashier-qr" onClick={() => go({ name: 'amount', purpose: 'qr' })}>
          {pick('收款码', 'Show QR')}
        </button>
        <button data-testid="cashier-scan" onClick={() => go({ name: 'amount', purpose: 'scan' })}>
          {pick('扫付款码', 'Scan code')}
        </button>
        <button data-testid="cashier-preauth" onClick={() => go({ name: 'amount', purpose: 'preauth' })}>
          {pick('预授权', 'Pre-auth')}
        </button>
        <button data-testid="cashier-list" onClick={() => go({ name: 'list' })}>
          {pick('撤销 / 退货', 'Void / refund')}
        </button>
        <button data-testid="cashier-balance" onClick={() => go({ name: 'card', purpose: 'balance', amount: 0 })}>
          {pick('余额查询', 'Balance')}
        </button>
        <button data-testid="cashier-batch" onClick={() => go({ name: 'batch' })}>
          {pick('结算 / 日报', 'Settle / report')}
        </button>
      </div>
    </>
  );
}

const AMOUNT_KEYS = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '.', '0', '00'] as const;

/** Yuan typed on a keypad; kept as text and parsed to fen with integer arithmetic (parseYuan). */
function AmountPad({
  pick,
  title,
  max,
  onCancel,
  onDone,
}: {
  pick: Pick;
  title: string;
  max?: number;
  onCancel: () => void;
  onDone: (fen: number) => void;
}) {
  const [text, setText] = useState('');
  const fen = parseYuan(text === '' ? '0' : text.endsWith('.') ? text.slice(0, -1) : text);
  const press = (key: string): void => {
    const next = text === '0' && key !== '.' ? key : text + key;
    if (/^(0|[1-9]\d{0,9})?(\.\d{0,2})?$/.test(next === '.' ? '0.' : next)) setText(next === '.' ? '0.' : next);
  };
  const tooMuch = max !== undefined && fen !== undefined && fen > max;
  return (
    <section>
      <h1>{title}</h1>
      <div className="amount" data-testid="amount-display" data-fen={fen ?? ''}>
        {formatFen(fen ?? 0)}
      </div>
      {max !== undefined && <p className={tooMuch ? 'error' : 'muted'}>{pick(`最多 ${formatFen(max)}`, `At most ${formatFen(max)}`)}</p>}
      <div className="keypad">
        {AMOUNT_KEYS.map((key) => (
          <button key={key} data-testid={`amount-key-${key}`} onClick={() => press(key)}>
            {key}
          </button>
        ))}
        <button data-testid="amount-clear" onClick={() => setText('')}>
          C
        </button>
        <button data-testid="amount-back" onClick={() => setText(text.slice(0, -1))}>
          ⌫
        </button>
        <button className="primary" data-testid="amount-ok" disabled={!fen || tooMuch} onClick={() => fen && onDone(fen)}>
          {pick('确定', 'OK')}
        </button>
      </div>
      <button className="big" onClick={onCancel}>
        {pick('取消', 'Cancel')}
      </button>
    </section>
  );
}

/** No card reader in a browser: PAN and expiry typed (a reader plugs in here later). */
function CardEntry({
  pick,
  amount,
  onCancel,
  onDone,
}: {
  pick: Pick;
  amount: number;
  onCancel: () => void;
  onDone: (pan: string, expiry: string) => void;
}) {
  const [pan, setPan] = useState('');
  const [expiry, setExpiry] = useState('');
  const panOk = luhnOk(pan);
  const expOk = expiryOk(expiry);
  return (
    <section>
      <h1>{pick('请输入卡号', 'Card number')}</h1>
      {amount > 0 && <div className="amount">{formatFen(amount)}</div>}
      <label className="field">
        <span>{pick('卡号', 'Card number')}</span>
        <input
          className="big-input"
          data-testid="card-pan"
          inputMode="numeric"
          autoComplete="off"
          maxLength={19}
          value={pan}
          onChange={(e) => setPan(e.target.value.replace(/\D/g, ''))}
        />
      </label>
      {pan.length >= 13 && !panOk && <p className="error">{pick('卡号有误，请核对', 'Invalid card number')}</p>}
      <label className="field">
        <span>{pick('有效期（年年月月）', 'Expiry (YYMM)')}</span>
        <input
          className="big-input"
          data-testid="card-expiry"
          inputMode="numeric"
          autoComplete="off"
          maxLength={4}
          value={expiry}
          onChange={(e) => setExpiry(e.target.value.replace(/\D/g, ''))}
        />
      </label>
      <div className="row2">
        <button className="big" onClick={onCancel}>
          {pick('取消', 'Cancel')}
        </button>
        <button className="big primary" data-testid="card-ok" disabled={!panOk || !expOk} onClick={() => onDone(pan, expiry)}>
          {pick('下一步', 'Next')}
        </button>
      </div>
    </section>
  );
}

function shuffledDigits(): string[] {
  const digits = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
  const random = crypto.getRandomValues(new Uint32Array(digits.length));
  for (let i = digits.length - 1; i > 0; i--) {
    const j = random[i]! % (i + 1);
    [digits[i], digits[j]] = [digits[j]!, digits[i]!];
  }
  return digits;
}

/**
 * The PIN pad: keys in a random order each time (shoulder surfing), digits shown as dots. The PIN
 * lives in a ref only (never React state, storage or a log) and becomes an ISO 9564 format 4
 * block under the session PIN key in the shell at once; then the ref is emptied.
 */
function PinPad({
  pick,
  amount,
  pan,
  onCancel,
  onBlock,
}: {
  pick: Pick;
  amount: number;
  pan: string;
  onCancel: () => void;
  onBlock: (block: string) => void;
}) {
  const pin = useRef('');
  const [count, setCount] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const layout = useMemo(shuffledDigits, []);
  useEffect(
    () => () => {
      pin.current = '';
    },
    [],
  );
  const press = (digit: string): void => {
    if (pin.current.length >= 12) return;
    pin.current += digit;
    setCount(pin.current.length);
  };
  const clear = (): void => {
    pin.current = '';
    setCount(0);
  };
  const confirm = async (): Promise<void> => {
    setBusy(true);
    try {
      const block = await pinBlock(pin.current, pan);
      clear();
      onBlock(block);
    } catch (e) {
      clear();
      setError(e instanceof PayError ? pick(e.zh, e.en) : String(e));
      setBusy(false);
    }
  };
  return (
    <section>
      <h1>{pick('请持卡人输入密码', 'Cardholder: enter PIN')}</h1>
      <p className="muted">
        {amount > 0 ? formatFen(amount) : ''} · **** {pan.slice(-4)}
      </p>
      <div className="dots" data-testid="pin-dots" data-count={count}>
        {'●'.repeat(count) || ' '}
      </div>
      {error && <p className="error">{error}</p>}
      <div className="keypad" data-testid="pin-pad">
        {layout.slice(0, 9).map((d) => (
          <button key={d} data-testid={`pin-key-${d}`} onClick={() => press(d)}>
            {d}
          </button>
        ))}
        <button data-testid="pin-clear" onClick={clear}>
          {pick('清除', 'Clear')}
        </button>
        <button data-testid={`pin-key-${layout[9]}`} onClick={() => press(layout[9]!)}>
          {layout[9]}
        </button>
        <button className="primary" data-testid="pin-ok" disabled={count < 4 || busy} onClick={() => void confirm()}>
          {pick('确认', 'OK')}
        </button>
      </div>
      <button className="big" onClick={onCancel}>
        {pick('取消', 'Cancel')}
      </button>
    </section>
  );
}

function Result({
  pick,
  reply,
  lang,
  onReceipt,
  onDone,
}: {
  pick: Pick;
  reply: TxnReply;
  lang: string;
  onReceipt: () => void;
  onDone: () => void;
}) {
  const held = reply.status === 'held';
  const cls = reply.approved ? 'ok' : held ? 'warn' : 'no';
  return (
    <section
      className={`result ${cls}`}
      data-testid="cashier-result"
      data-approved={String(reply.approved)}
      data-code={reply.responseCode}
      data-txn-id={reply.id}
      data-status={reply.status}
    >
      <div className="mark">{reply.approved ? '✓' : held ? '…' : '×'}</div>
      <h2>
        {typeName(pick, reply.type)} {reply.approved ? pick('成功', 'approved') : held ? pick('待审核', 'held') : pick('失败', 'declined')}
      </h2>
      <p className="amount" style={{ textAlign: 'center' }}>
        {formatFen(reply.amount)}
      </p>
      <p data-testid="cashier-result-text">
        {reply.responseCode} {pick(reply.message.zh, reply.message.en)}
      </p>
      {reply.balance !== undefined && (
        <p data-testid="cashier-balance-value">
          {pick('可用余额', 'Available balance')}: {formatFen(reply.balance)}
        </p>
      )}
      <p className="muted">
        {when(reply.at, lang)}
        {reply.authCode ? ` · ${pick('授权码', 'Auth')} ${reply.authCode}` : ''}
      </p>
      <div className="row2">
        <button className="big" data-testid="cashier-receipt" disabled={!reply.approved || reply.type === 'balance'} onClick={onReceipt}>
          {pick('打印小票', 'Receipt')}
        </button>
        <button className="big primary" data-testid="cashier-done" onClick={onDone}>
          {pick('完成', 'Done')}
        </button>
      </div>
    </section>
  );
}

function Receipt({ pick, reply, info, onDone }: { pick: Pick; reply: TxnReply; info: ReceiptInfo; onDone: () => void }) {
  const rows = receiptRows(pick, reply, info);
  const sms = smsText(pick, reply, info);
  const [printError, setPrintError] = useState<string | null>(null);
  return (
    <section>
      <div className="no-print bar">
        <h1>{pick('签购单', 'Receipt')}</h1>
      </div>
      {[pick('商户存根', 'MERCHANT COPY'), pick('持卡人存根', 'CUSTOMER COPY')].map((copy, i) => (
        <article className="receipt" data-testid={i === 0 ? 'receipt-merchant' : 'receipt-customer'} key={copy}>
          <h3>{pick('银行卡签购单', 'Card sales slip')}</h3>
          <div className="copy">{copy}</div>
          <hr />
          <dl>
            {rows.map(([label, value]) =>
              label === pick('金额', 'Amount') ? null : [<dt key={`${label}-k`}>{label}</dt>, <dd key={`${label}-v`}>{value}</dd>],
            )}
          </dl>
          <hr />
          <div className="total">
            {pick('金额', 'Amount')}: {formatFen(reply.amount, 'RMB ')}
          </div>
          {i === 0 && <p>{pick('持卡人签名：', 'Cardholder signature:')}</p>}
        </article>
      ))}
      <div className="no-print card">
        <h2>{pick('短信凭证', 'SMS receipt')}</h2>
        <textarea className="sms" data-testid="receipt-sms" readOnly value={sms} onFocus={(e) => e.currentTarget.select()} />
        {printError && <p className="error">{printError}</p>}
        <div className="row2">
          <button
            className="big"
            data-testid="receipt-print"
            onClick={() =>
              void printReceipt(receiptLines(pick, reply, info)).catch((e: unknown) =>
                setPrintError(e instanceof Error ? e.message : String(e)),
              )
            }
          >
            {pick('打印', 'Print')}
          </button>
          <button className="big primary" data-testid="receipt-done" onClick={onDone}>
            {pick('完成', 'Done')}
          </button>
        </div>
      </div>
    </section>
  );
}

function useBatch(): { batch: OpenBatch | null; error: PayError | null; reload: () => void } {
  const [batch, setBatch] = useState<OpenBatch | null>(null);
  const [error, setError] = useState<PayError | null>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    getBatch().then(
      (b) => live && (setBatch(b), setError(null)),
      (e: unknown) => live && setError(e as PayError),
    );
    return () => {
      live = false;
    };
  }, [tick]);
  return { batch, error, reload: () => setTick((t) => t + 1) };
}

function TxnRow({ pick, txn, lang, onClick }: { pick: Pick; txn: TxnReply; lang: string; onClick: () => void }) {
  return (
    <button className="txn" data-testid={`txn-${txn.id}`} data-type={txn.type} data-status={txn.status} onClick={onClick}>
      <span>
        {typeName(pick, txn.type)} {txn.cardLast4 ? `*${txn.cardLast4}` : ''}
        <br />
        <small className="muted">
          {when(txn.at, lang)} · {pick('凭证', 'Trace')} {txn.traceNo ?? '—'} · {statusName(pick, txn)}
        </small>
      </span>
      <span className="amt">{formatFen(txn.amount)}</span>
    </button>
  );
}

function statusName(pick: Pick, txn: TxnReply): string {
  const names: Record<TxnReply['status'], [string, string]> = {
    approved: ['成功', 'approved'],
    declined: ['失败', 'declined'],
    held: ['待审核', 'held'],
    voided: ['已撤销', 'voided'],
    reversed: ['已冲正', 'reversed'],
    expired: ['已过期', 'expired'],
    completed: ['已完成', 'completed'],
    refunded: ['已退货', 'refunded'],
  };
  return pick(...names[txn.status]);
}

/** The day's list (the open batch, as the host has it) and a look-up by transaction id. */
function TxnList({ pick, lang, onOpen, onBack }: { pick: Pick; lang: string; onOpen: (t: TxnReply) => void; onBack: () => void }) {
  const { batch, error } = useBatch();
  const [id, setId] = useState('');
  const [findError, setFindError] = useState<string | null>(null);
  const find = (): void => {
    setFindError(null);
    getTransaction(id.trim()).then(onOpen, (e: unknown) => setFindError(e instanceof PayError ? pick(e.zh, e.en) : String(e)));
  };
  const items = batch ? [...batch.transactions].sort((a, b) => b.at - a.at) : [];
  return (
    <section>
      <div className="bar">
        <h1>{pick('当日交易', 'Today’s transactions')}</h1>
        <button onClick={onBack}>{pick('返回', 'Back')}</button>
      </div>
      <div className="card">
        <label className="field">
          <span>{pick('按交易号查找（可查往日交易）', 'Find by transaction id (earlier days too)')}</span>
          <input className="big-input" data-testid="find-id" value={id} onChange={(e) => setId(e.target.value)} />
        </label>
        <button className="big" data-testid="find-submit" disabled={id.trim() === ''} onClick={find}>
          {pick('查找', 'Find')}
        </button>
        {findError && <p className="error">{findError}</p>}
      </div>
      {error && <p className="error">{pick(error.zh, error.en)}</p>}
      {!batch && !error && <p className="muted">…</p>}
      {batch && items.length === 0 && <p className="empty">{pick('本批次暂无交易', 'No transactions in this batch')}</p>}
      <div data-testid="txn-list">
        {items.map((t) => (
          <TxnRow key={t.id} pick={pick} txn={t} lang={lang} onClick={() => onOpen(t)} />
        ))}
      </div>
    </section>
  );
}

function Detail({
  pick,
  txn,
  lang,
  onAction,
  onReceipt,
  onBack,
}: {
  pick: Pick;
  txn: TxnReply;
  lang: string;
  onAction: (a: FollowUp) => void;
  onReceipt: () => void;
  onBack: () => void;
}) {
  return (
    <section data-testid="txn-detail" data-txn-id={txn.id}>
      <div className="bar">
        <h1>{typeName(pick, txn.type)}</h1>
        <button onClick={onBack}>{pick('返回', 'Back')}</button>
      </div>
      <div className="card">
        <dl className="rows">
          <dt>{pick('金额', 'Amount')}</dt>
          <dd>{formatFen(txn.amount)}</dd>
          <dt>{pick('状态', 'Status')}</dt>
          <dd>{statusName(pick, txn)}</dd>
          <dt>{pick('卡号', 'Card')}</dt>
          <dd>{txn.cardLast4 ? `**** ${txn.cardLast4}` : '—'}</dd>
          <dt>{pick('批次/凭证', 'Batch/trace')}</dt>
          <dd>
            {txn.batchNo ?? '—'} / {txn.traceNo ?? '—'}
          </dd>
          <dt>{pick('授权码', 'Auth code')}</dt>
          <dd>{txn.authCode ?? '—'}</dd>
          <dt>{pick('时间', 'Time')}</dt>
          <dd>{when(txn.at, lang)}</dd>
          <dt>{pick('交易号', 'Id')}</dt>
          <dd>{txn.id}</dd>
        </dl>
      </div>
      {followUps(txn).map((a) => (
        <button key={a} className="big primary" data-testid={`action-${a}`} onClick={() => onAction(a)}>
          {pick(...FOLLOW_UPS[a].label)}
          {FOLLOW_UPS[a].supervisor ? pick('（需主管）', ' (supervisor)') : ''}
        </button>
      ))}
      {txn.approved && (
        <button className="big" data-testid="detail-receipt" onClick={onReceipt}>
          {pick('重打小票', 'Reprint receipt')}
        </button>
      )}
    </section>
  );
}

/** A supervisor authorises: signs on at this terminal (the shell's operator sign-on) and stays signed on. */
function Supervisor({ pick, action, onCancel, onSignedOn }: { pick: Pick; action: string; onCancel: () => void; onSignedOn: () => void }) {
  const [no, setNo] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (): Promise<void> => {
    setBusy(true);
    setError(null);
    try {
      await supervisorSignOn(no, password);
      setPassword('');
      onSignedOn();
    } catch (e) {
      setError(e instanceof PayError ? pick(e.zh, e.en) : String(e));
      setBusy(false);
    }
  };
  return (
    <section data-testid="supervisor">
      <h1>{pick('主管授权', 'Supervisor authorisation')}</h1>
      <p>{pick(`「${action}」需要主管登录。`, `“${action}” needs a supervisor to sign on.`)}</p>
      <label className="field">
        <span>{pick('主管编号', 'Supervisor no.')}</span>
        <input
          className="big-input"
          data-testid="supervisor-no"
          inputMode="numeric"
          maxLength={2}
          value={no}
          onChange={(e) => setNo(e.target.value)}
        />
      </label>
      <label className="field">
        <span>{pick('密码', 'Password')}</span>
        <input
          className="big-input"
          data-testid="supervisor-password"
          type="password"
          autoComplete="off"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
      </label>
      {error && (
        <p className="error" data-testid="supervisor-error">
          {error}
        </p>
      )}
      <div className="row2">
        <button className="big" onClick={onCancel}>
          {pick('取消', 'Cancel')}
        </button>
        <button
          className="big primary"
          data-testid="supervisor-submit"
          disabled={busy || no === '' || password === ''}
          onClick={() => void submit()}
        >
          {pick('授权', 'Authorise')}
        </button>
      </div>
    </section>
  );
}

function QrCode({ text }: { text: string }) {
  const { path, viewSize } = useMemo(() => qrPath(encodeQr(text)), [text]);
  return (
    <svg viewBox={`0 0 ${viewSize} ${viewSize}`} shapeRendering="crispEdges" role="img" data-testid="qr-svg">
      <rect width={viewSize} height={viewSize} fill="#fff" />
      <path d={path} fill="#000" />
    </svg>
  );
}

/** The dynamic QR code for an amount; polls its order until paid, expired or cancelled. */
function QrScreen({
  pick,
  order,
  amount,
  onPaid,
  onBack,
}: {
  pick: Pick;
  order: QrOrder;
  amount: number;
  onPaid: (t: TxnReply) => void;
  onBack: () => void;
}) {
  const [state, setState] = useState<'open' | 'paid' | 'expired' | 'cancelled'>('open');
  // The parent passes a new function at every render; the polling must not restart for that.
  const paidRef = useRef(onPaid);
  paidRef.current = onPaid;
  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout>;
    const poll = (): void => {
      getQrOrder(order.orderId).then(
        (s) => {
          if (!live) return;
          setState(s.status);
          // Paid by the customer: the answer came by polling, not through pay(), so journal it here.
          if (s.status === 'paid' && s.transaction) {
            const txn = s.transaction;
            void journal(txn).then(() => live && paidRef.current(txn));
          } else if (s.status === 'open') timer = setTimeout(poll, 2000);
        },
        () => live && (timer = setTimeout(poll, 3000)),
      );
    };
    timer = setTimeout(poll, 1500);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [order.orderId]);
  return (
    <section data-testid="qr-screen" data-order-id={order.orderId} data-state={state}>
      <h1>{pick('请顾客扫码付款', 'Customer: scan to pay')}</h1>
      <div className="amount" style={{ textAlign: 'center' }}>
        {formatFen(amount)}
      </div>
      <div className="qr">
        <QrCode text={order.payload} />
      </div>
      <p className="muted" data-testid="qr-state">
        {state === 'open'
          ? pick('等待付款…', 'Waiting for payment…')
          : state === 'expired'
            ? pick('收款码已过期', 'The QR code expired')
            : state === 'cancelled'
              ? pick('已取消', 'Cancelled')
              : pick('已付款', 'Paid')}
      </p>
      <textarea className="sms no-print" data-testid="qr-payload" readOnly value={order.payload} />
      <button className="big" onClick={onBack}>
        {pick('返回', 'Back')}
      </button>
    </section>
  );
}

/** The customer's one-time payment code: scanned by a scanner that types, or typed. */
function ScanCode({
  pick,
  amount,
  onCancel,
  onCode,
}: {
  pick: Pick;
  amount: number;
  onCancel: () => void;
  onCode: (code: string) => void;
}) {
  const [code, setCode] = useState('');
  return (
    <section>
      <h1>{pick('扫描顾客付款码', 'Scan the customer’s code')}</h1>
      <div className="amount">{formatFen(amount)}</div>
      <label className="field">
        <span>{pick('付款码', 'Payment code')}</span>
        <input
          className="big-input"
          data-testid="scan-code"
          autoFocus
          autoComplete="off"
          value={code}
          onChange={(e) => setCode(e.target.value.trim())}
          onKeyDown={(e) => e.key === 'Enter' && code && onCode(code)}
        />
      </label>
      <div className="row2">
        <button className="big" onClick={onCancel}>
          {pick('取消', 'Cancel')}
        </button>
        <button className="big primary" data-testid="scan-ok" disabled={code === ''} onClick={() => onCode(code)}>
          {pick('收款', 'Collect')}
        </button>
      </div>
    </section>
  );
}

function TotalsRows({ pick, totals, testid }: { pick: Pick; totals: BatchTotals; testid: string }) {
  return (
    <dl
      className="rows"
      data-testid={testid}
      data-sale-count={totals.saleCount}
      data-sale-amount={totals.saleAmount}
      data-refund-count={totals.refundCount}
      data-refund-amount={totals.refundAmount}
    >
      <dt>{pick('消费笔数/金额', 'Sales')}</dt>
      <dd>
        {totals.saleCount} / {formatFen(totals.saleAmount)}
      </dd>
      <dt>{pick('退货笔数/金额', 'Refunds')}</dt>
      <dd>
        {totals.refundCount} / {formatFen(totals.refundAmount)}
      </dd>
      <dt>{pick('净额', 'Net')}</dt>
      <dd>{formatFen(totals.saleAmount - totals.refundAmount)}</dd>
    </dl>
  );
}

/** The day's report and batch close with the terminal's own totals; a mismatch uploads the journal. */
function Batch({ pick, lang, onBack }: { pick: Pick; lang: string; onBack: () => void }) {
  const { batch, error, reload } = useBatch();
  const [local, setLocal] = useState<TxnReply[] | null>(null);
  const [closed, setClosed] = useState<CloseResult | null>(null);
  const [uploaded, setUploaded] = useState<{ exceptions: number } | null>(null);
  const [busy, setBusy] = useState(false);
  const [closeError, setCloseError] = useState<PayError | null>(null);
  useEffect(() => {
    void loadJournal().then((j) => setLocal(batch && j.batchNo !== null && j.batchNo !== batch.batchNo ? [] : j.txns));
  }, [batch]);
  const close = async (): Promise<void> => {
    if (!local || !batch) return;
    setBusy(true);
    setCloseError(null);
    try {
      const result = await post<CloseResult>('batch/close', { clientId: newClientId(), totals: journalTotals(local) });
      setClosed(result);
      if (result.result === 'mismatch') {
        const lines = local.map((t) => ({ clientId: t.clientId, type: t.type, amount: t.amount }));
        const up = await post<{ exceptions: number }>('batch/upload', {
          clientId: newClientId(),
          batchNo: result.batchNo,
          transactions: lines,
        });
        setUploaded(up);
      }
      await clearJournal(result.nextBatchNo);
    } catch (e) {
      setCloseError(e as PayError);
    } finally {
      setBusy(false);
    }
  };
  const items = batch ? [...batch.transactions].sort((a, b) => a.at - b.at) : [];
  return (
    <section data-testid="batch">
      <div className="bar">
        <h1>{pick('结算 / 日报', 'Settlement / day report')}</h1>
        <button data-testid="batch-back" onClick={onBack}>
          {pick('返回', 'Back')}
        </button>
      </div>
      {error && <p className="error">{pick(error.zh, error.en)}</p>}
      {batch && (
        <>
          <div className="card">
            <h2>
              {pick('批次', 'Batch')} <span data-testid="batch-no">{batch.batchNo}</span> · {pick('开始于', 'opened')}{' '}
              {when(batch.openedAt, lang)}
            </h2>
            <h2>{pick('银行统计', 'Host totals')}</h2>
            <TotalsRows pick={pick} totals={batch.totals} testid="batch-host" />
            <h2 style={{ marginTop: 12 }}>{pick('终端统计', 'Terminal totals')}</h2>
            {local ? <TotalsRows pick={pick} totals={journalTotals(local)} testid="batch-local" /> : <p className="muted">…</p>}
          </div>
          {closed ? (
            <section
              className={`result ${closed.result === 'balanced' ? 'ok' : 'warn'}`}
              data-testid="batch-result"
              data-result={closed.result}
              data-uploaded={uploaded ? 'true' : 'false'}
            >
              <div className="mark">{closed.result === 'balanced' ? '✓' : '!'}</div>
              <h2>
                {closed.result === 'balanced' ? pick('结算平账', 'Balanced') : pick('结算不平，已上送明细', 'Mismatch: details uploaded')}
              </h2>
              {uploaded && (
                <p>
                  {pick(
                    `差错 ${uploaded.exceptions} 笔，银行将核对处理。`,
                    `${uploaded.exceptions} exception(s); the bank will reconcile.`,
                  )}
                </p>
              )}
              <p className="muted">{pick(`新批次号 ${closed.nextBatchNo}`, `Next batch ${closed.nextBatchNo}`)}</p>
              <button className="big" data-testid="batch-next" onClick={() => (setClosed(null), setUploaded(null), reload())}>
                {pick('查看新批次', 'Show the new batch')}
              </button>
            </section>
          ) : (
            <button className="big primary" data-testid="batch-close" disabled={busy || !local} onClick={() => void close()}>
              {pick('结算（批结）', 'Close batch')}
            </button>
          )}
          {closeError && <p className="error">{pick(closeError.zh, closeError.en)}</p>}
          <div className="card" style={{ marginTop: 12 }}>
            <h2>{pick('交易明细', 'Transactions')}</h2>
            {items.length === 0 && <p className="empty">{pick('暂无交易', 'None')}</p>}
            <ul className="list" data-testid="batch-report">
              {items.map((t) => (
                <li key={t.id}>
                  <span>
                    {typeName(pick, t.type)} · {statusName(pick, t)} · {t.traceNo ?? '—'}
                  </span>
                  <span>{formatFen(t.amount)}</span>
                </li>
              ))}
            </ul>
          </div>
        </>
      )}
    </section>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <Cashier />
  </StrictMode>,
);
