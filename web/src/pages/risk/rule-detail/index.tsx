import { App, Button, Card, Descriptions, Segmented, Statistic, Table, Tag, Flex } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useParams } from 'react-router-dom';
import { api, unwrap } from '../../../api/client';
import { ErrorAlert, useErrorText } from '../../../components/error-alert';
import { PageContainer } from '../../../components/page-container';
import { asApiError, useRequest } from '../../../hooks/use-request';
import { useSignedIn } from '../../../session/session-context';
import { formatMicros } from '../../../utils/time';
import { useOrgNames } from '../components/org-names';
import { ParamsText } from '../components/params-text';
import { RuleFormModal } from '../components/rule-form-modal';
import { MODE_COLOUR, RULE_MODES, type Rule, type RuleMode, type RuleVersion } from '../model';

/** One rule: its current definition, mode switch, hit summary (what shadow mode would have done), version history. */
export default function RiskRuleDetailPage() {
  const { id = '' } = useParams();
  const { t } = useTranslation('risk');
  const { can } = useSignedIn();
  const { modal, message } = App.useApp();
  const errorText = useErrorText();
  const path = { params: { path: { id } } };
  const rule = useRequest(() => unwrap(api.GET('/api/v1/risk/rules/{id}', path)), [id]);
  const summary = useRequest(() => unwrap(api.GET('/api/v1/risk/rules/{id}/summary', path)), [id, rule.data?.version, rule.data?.mode]);
  const [versioning, setVersioning] = useState(false);
  const orgName = useOrgNames();
  const r = rule.data;
  const writer = can('risk:write');

  const switchMode = (mode: RuleMode) =>
    void modal.confirm({
      title: t('modeConfirm', { mode: t(`modes.${mode}`) }),
      content: t(`modeExplain.${mode}`),
      okButtonProps: { 'data-testid': 'rule-mode-confirm' },
      onOk: async () => {
        try {
          await unwrap(api.POST('/api/v1/risk/rules/{id}/mode', { ...path, body: { mode } }));
          rule.reload();
        } catch (caught) {
          void message.error(errorText(asApiError(caught)));
        }
      },
    });

  return (
    <PageContainer
      title={<span data-testid="rule-title">{r?.name ?? id}</span>}
      extra={
        r && writer ? (
          <>
            <Segmented<RuleMode>
              value={r.mode}
              onChange={switchMode}
              options={RULE_MODES.map((m) => ({ value: m, label: t(`modes.${m}`) }))}
              data-testid="rule-mode-switch"
            />
            <Button onClick={() => setVersioning(true)} data-testid="rule-new-version">
              {t('newVersion')}
            </Button>
          </>
        ) : null
      }
    >
      <ErrorAlert error={rule.error} />
      {r ? (
        <>
          <Card style={{ marginBottom: 16 }}>
            <Descriptions column={{ xs: 1, sm: 2, lg: 3 }} size="small" data-testid="rule-fields">
              <Descriptions.Item label={t('kind')}>{t(`kinds.${r.kind}`)}</Descriptions.Item>
              <Descriptions.Item label={t('mode')}>
                <Tag color={MODE_COLOUR[r.mode]} data-testid="rule-mode">
                  {t(`modes.${r.mode}`)}
                </Tag>
              </Descriptions.Item>
              <Descriptions.Item label={t('version')}>
                <span data-testid="rule-version">v{r.version}</span>
              </Descriptions.Item>
              <Descriptions.Item label={t('outcome')}>{t(`outcomes.${r.outcome}`)}</Descriptions.Item>
              <Descriptions.Item label={t('org')}>{orgName(r.org_id)}</Descriptions.Item>
              <Descriptions.Item label={t('updatedAt')}>{formatMicros(r.updated_at)}</Descriptions.Item>
              <Descriptions.Item label={t('params')} span={3}>
                <ParamsText params={r.params} />
              </Descriptions.Item>
            </Descriptions>
          </Card>
          <Card title={t('summary')} style={{ marginBottom: 16 }}>
            <ErrorAlert error={summary.error} />
            <Flex gap={32} wrap data-testid="rule-summary">
              <Statistic title={t('wouldDecline')} value={summary.data?.would_decline ?? 0} />
              <Statistic title={t('wouldReview')} value={summary.data?.would_review ?? 0} />
              <Statistic title={t('declined')} value={summary.data?.declined ?? 0} />
              <Statistic title={t('reviewed')} value={summary.data?.reviewed ?? 0} />
            </Flex>
          </Card>
          <Card title={t('history')}>
            <Table<RuleVersion>
              rowKey="version"
              size="small"
              pagination={false}
              dataSource={r.versions ?? [r]}
              scroll={{ x: 'max-content' }}
              data-testid="rule-versions"
              columns={[
                { title: t('version'), dataIndex: 'version', render: (v: number) => `v${v}` },
                { title: t('name'), dataIndex: 'name' },
                { title: t('outcome'), dataIndex: 'outcome', render: (o: Rule['outcome']) => t(`outcomes.${o}`) },
                { title: t('params'), dataIndex: 'params', render: (p: unknown) => <ParamsText params={p} /> },
                { title: t('note'), dataIndex: 'note', render: (n: string | null) => n ?? '—' },
                { title: t('createdAt'), dataIndex: 'created_at', render: (us: number) => formatMicros(us) },
              ]}
            />
          </Card>
        </>
      ) : null}
      <RuleFormModal
        open={versioning}
        rule={r}
        onClose={() => setVersioning(false)}
        onDone={() => {
          setVersioning(false);
          rule.reload();
        }}
      />
    </PageContainer>
  );
}
