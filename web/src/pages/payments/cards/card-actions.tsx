import { App, Button, Dropdown, Form, Input, Modal } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { parseYuan } from '@xiaowei/money';
import { api, unwrap } from '../../../api/client';
import { useErrorText } from '../../../components/error-alert';
import { asApiError } from '../../../hooks/use-request';
import { CARD_ACTIONS, fenToYuanText, type Card, type CardStatus } from '../model';
import { PIN_PATTERN, yuanValidator } from './issue-modal';

type Dialog = 'limits' | 'pin' | null;

/** The actions on one card: status change (confirmed), limits, PIN reset. */
export function CardActions({ card, onDone }: { card: Card; onDone: () => void }) {
  const { t } = useTranslation('payments');
  const { message, modal } = App.useApp();
  const errorText = useErrorText();
  const [dialog, setDialog] = useState<Dialog>(null);
  const [form] = Form.useForm<{ per_txn_limit?: string; daily_limit?: string; pin?: string }>();

  const run = async (call: () => Promise<unknown>) => {
    try {
      await call();
      void message.success(t('saved'));
      setDialog(null);
      onDone();
    } catch (caught) {
      void message.error(errorText(asApiError(caught)));
    }
  };
  const setStatus = (status: CardStatus) =>
    void modal.confirm({
      title: t('card.statusConfirm', { last4: card.last4, status: t(`cardStatus.${status}`) }),
      okButtonProps: { danger: status !== 'active', 'data-testid': 'card-status-confirm' },
      onOk: () => run(() => unwrap(api.PATCH('/api/v1/cards/{id}', { params: { path: { id: card.id } }, body: { status } }))),
    });
  const actions = CARD_ACTIONS[card.status];
  if (card.status === 'closed') return null;

  return (
    <>
      <Dropdown
        trigger={['click']}
        menu={{
          items: [
            ...actions.map((s) => ({
              key: `status:${s}`,
              label: t(`cardAction.${s}`),
              danger: s !== 'active',
              'data-testid': `card-action-${s}`,
            })),
            { type: 'divider' as const },
            { key: 'limits', label: t('card.limits'), 'data-testid': 'card-action-limits' },
            { key: 'pin', label: t('card.pinReset'), 'data-testid': 'card-action-pin' },
          ],
          onClick: ({ key }) => {
            if (key.startsWith('status:')) setStatus(key.slice(7) as CardStatus);
            else setDialog(key as Dialog);
          },
        }}
      >
        <Button size="small" data-testid={`card-actions-${card.last4}`}>
          {t('actions')}
        </Button>
      </Dropdown>
      {/* Mounted only while open: a list of cards keeps no hidden dialogs. */}
      {dialog === null ? null : (
        <Modal
          open
          title={dialog === 'pin' ? t('card.pinReset') : t('card.limits')}
          onCancel={() => setDialog(null)}
          onOk={() => form.submit()}
          okButtonProps={{ 'data-testid': 'card-dialog-submit' }}
        >
          <Form
            form={form}
            layout="vertical"
            initialValues={{ per_txn_limit: fenToYuanText(card.per_txn_limit), daily_limit: fenToYuanText(card.daily_limit) }}
            onFinish={(v) =>
              void run(() =>
                dialog === 'pin'
                  ? unwrap(api.POST('/api/v1/cards/{id}/pin', { params: { path: { id: card.id } }, body: { pin: v.pin ?? '' } }))
                  : unwrap(
                      api.PATCH('/api/v1/cards/{id}', {
                        params: { path: { id: card.id } },
                        body: { per_txn_limit: parseYuan(v.per_txn_limit ?? ''), daily_limit: parseYuan(v.daily_limit ?? '') },
                      }),
                    ),
              )
            }
          >
            {dialog === 'pin' ? (
              <Form.Item
                name="pin"
                label={t('card.newPin')}
                extra={t('card.pinResetHelp')}
                rules={[{ required: true, pattern: PIN_PATTERN, message: t('card.pinInvalid') }]}
              >
                <Input.Password maxLength={6} inputMode="numeric" autoComplete="new-password" data-testid="card-reset-pin" />
              </Form.Item>
            ) : (
              <>
                <Form.Item name="per_txn_limit" label={t('card.perTxnLimit')} rules={[{ validator: yuanValidator(t('yuanInvalid')) }]}>
                  <Input prefix="¥" inputMode="decimal" />
                </Form.Item>
                <Form.Item name="daily_limit" label={t('card.dailyLimit')} rules={[{ validator: yuanValidator(t('yuanInvalid')) }]}>
                  <Input prefix="¥" inputMode="decimal" />
                </Form.Item>
              </>
            )}
          </Form>
        </Modal>
      )}
    </>
  );
}
