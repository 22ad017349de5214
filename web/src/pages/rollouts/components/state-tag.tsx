import { Tag } from 'antd';
import { useTranslation } from 'react-i18next';
import { STATE_COLOUR, type Rollout } from '../../apps/model';

/** The rollout's state, with why it paused and whether a stage waits for approval. */
export function RolloutStateTag({ rollout }: { rollout: Pick<Rollout, 'state' | 'pause_reason' | 'awaiting_approval'> }) {
  const { t } = useTranslation('rollouts');
  return (
    <span data-testid="rollout-state" data-state={rollout.state}>
      <Tag color={STATE_COLOUR[rollout.state]}>{t(`state.${rollout.state}`)}</Tag>
      {rollout.state === 'paused' && rollout.pause_reason ? <Tag color="orange">{t(`pauseReason.${rollout.pause_reason}`)}</Tag> : null}
      {rollout.awaiting_approval ? <Tag color="gold">{t('awaitingApproval')}</Tag> : null}
    </span>
  );
}
