import { App, Input, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../../../api/client';
import { useErrorText } from '../../../components/error-alert';
import { asApiError } from '../../../hooks/use-request';
import type { StatusAction } from '../model';

export interface StatusTarget {
  id: string;
  serial: string;
}

const MAX_REASON = 200;

function post(action: StatusAction, id: string, reason: string | undefined) {
  const init = { params: { path: { id } }, body: reason ? { reason } : {} };
  switch (action) {
    case 'lock':
      return unwrap(api.POST('/api/v1/terminals/{id}/lock', init));
    case 'unlock':
      return unwrap(api.POST('/api/v1/terminals/{id}/unlock', init));
    case 'retire':
      return unwrap(api.POST('/api/v1/terminals/{id}/retire', init));
  }
}

/**
 * Lock, unlock or retire terminals after a confirm dialog that also takes a reason (shown on the
 * device). Several terminals are changed one after the other; the outcome says how many failed
 * and why the first one did.
 */
export function useStatusActions(onDone: () => void): (action: StatusAction, targets: readonly StatusTarget[]) => void {
  const { t } = useTranslation('terminals');
  const { modal, message } = App.useApp();
  const errorText = useErrorText();

  return (action, targets) => {
    if (targets.length === 0) {
      void message.info(t(`action.${action}None`));
      return;
    }
    let reason = '';
    const one = targets.length === 1 ? targets[0] : undefined;
    void modal.confirm({
      title: one ? t(`action.${action}Confirm`, { serial: one.serial }) : t(`action.${action}ConfirmMany`, { count: targets.length }),
      okText: t(`action.${action}`),
      okButtonProps: { danger: action !== 'unlock', 'data-testid': 'status-confirm' },
      content: (
        <>
          <Typography.Paragraph type="secondary">{t(`action.${action}Explain`)}</Typography.Paragraph>
          <Input.TextArea
            maxLength={MAX_REASON}
            rows={2}
            placeholder={t('action.reason')}
            onChange={(e) => (reason = e.target.value)}
            data-testid="status-reason"
          />
        </>
      ),
      onOk: async () => {
        const text = reason.trim() || undefined;
        let ok = 0;
        let firstError: string | undefined;
        for (const target of targets) {
          try {
            await post(action, target.id, text);
            ok += 1;
          } catch (caught) {
            firstError ??= `${target.serial}: ${errorText(asApiError(caught))}`;
          }
        }
        if (firstError) void message.error(t('action.failed', { ok, failed: targets.length - ok, first: firstError }), 8);
        else void message.success(t(`action.${action}Done`, { count: ok }));
        onDone();
      },
    });
  };
}
