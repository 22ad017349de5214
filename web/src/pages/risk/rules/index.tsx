import { PlusOutlined } from '@ant-design/icons';
import { Button, Card, Flex, Select, Table, Tag } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate } from 'react-router-dom';
import { api, unwrap } from '../../../api/client';
import { ErrorAlert } from '../../../components/error-alert';
import { PageContainer } from '../../../components/page-container';
import { useRequest } from '../../../hooks/use-request';
import { useSignedIn } from '../../../session/session-context';
import { formatMicros } from '../../../utils/time';
import { useOrgNames } from '../components/org-names';
import { ParamsText } from '../components/params-text';
import { RuleFormModal } from '../components/rule-form-modal';
import { MODE_COLOUR, RULE_KINDS, RULE_MODES, type Rule, type RuleKind, type RuleMode } from '../model';

/** Risk rules of the user's organisations: kind, mode, current version; create a rule. */
export default function RiskRulesPage() {
  const { t } = useTranslation('risk');
  const { can } = useSignedIn();
  const navigate = useNavigate();
  const [kind, setKind] = useState<RuleKind>();
  const [mode, setMode] = useState<RuleMode>();
  const [creating, setCreating] = useState(false);
  const orgName = useOrgNames();
  const rules = useRequest(
    () => unwrap(api.GET('/api/v1/risk/rules', { params: { query: { ...(kind ? { kind } : {}), ...(mode ? { mode } : {}) } } })),
    [kind, mode],
  );

  return (
    <PageContainer
      title={t('title')}
      extra={
        can('risk:write') ? (
          <Button type="primary" icon={<PlusOutlined />} onClick={() => setCreating(true)} data-testid="rule-create">
            {t('create')}
          </Button>
        ) : null
      }
    >
      <ErrorAlert error={rules.error} />
      <Card>
        <Flex gap={12} wrap style={{ marginBottom: 16 }}>
          <Select<RuleKind>
            allowClear
            placeholder={t('kind')}
            style={{ minWidth: 180 }}
            value={kind}
            onChange={setKind}
            options={RULE_KINDS.map((k) => ({ value: k, label: t(`kinds.${k}`) }))}
          />
          <Select<RuleMode>
            allowClear
            placeholder={t('mode')}
            style={{ minWidth: 130 }}
            value={mode}
            onChange={setMode}
            options={RULE_MODES.map((m) => ({ value: m, label: t(`modes.${m}`) }))}
          />
        </Flex>
        <Table<Rule>
          rowKey="id"
          size="middle"
          loading={rules.loading}
          dataSource={rules.data?.items}
          pagination={false}
          scroll={{ x: 'max-content' }}
          data-testid="rule-table"
          columns={[
            {
              title: t('name'),
              dataIndex: 'name',
              render: (name: string, r) => (
                <Link to={`/risk/rules/${encodeURIComponent(r.id)}`} data-testid={`rule-link-${name}`}>
                  {name}
                </Link>
              ),
            },
            { title: t('kind'), dataIndex: 'kind', render: (k: RuleKind) => t(`kinds.${k}`) },
            { title: t('mode'), dataIndex: 'mode', render: (m: RuleMode) => <Tag color={MODE_COLOUR[m]}>{t(`modes.${m}`)}</Tag> },
            { title: t('version'), dataIndex: 'version', render: (v: number) => `v${v}` },
            { title: t('outcome'), dataIndex: 'outcome', render: (o: Rule['outcome']) => t(`outcomes.${o}`) },
            { title: t('params'), dataIndex: 'params', render: (p: unknown) => <ParamsText params={p} /> },
            { title: t('org'), dataIndex: 'org_id', render: (id: string) => orgName(id) },
            { title: t('updatedAt'), dataIndex: 'updated_at', render: (us: number) => formatMicros(us) },
          ]}
        />
      </Card>
      <RuleFormModal
        open={creating}
        onClose={() => setCreating(false)}
        onDone={(rule) => {
          setCreating(false);
          void navigate(`/risk/rules/${encodeURIComponent(rule.id)}`);
        }}
      />
    </PageContainer>
  );
}
