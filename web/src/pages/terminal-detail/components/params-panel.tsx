import { formatFen } from '@xiaowei/money';
import { App, Col, Row, Table, Tag, Typography } from 'antd';
import { useMemo } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router-dom';
import { api, unwrap } from '../../../api/client';
import { ErrorAlert } from '../../../components/error-alert';
import { useRequest } from '../../../hooks/use-request';
import { ParamsForm } from '../../terminals/components/params-form';
import { PARAM_SPECS, type EffectiveParams, type ParamName, type TerminalParams } from '../../terminals/model';

interface ParamsPanelProps {
  terminalId: string;
  groups: { id: string; name: string }[];
  canWrite: boolean;
}

interface ParamRow {
  name: ParamName;
  value: EffectiveParams[ParamName];
  source: string;
}

/** Effective parameters with where each comes from, and the terminal's own overrides to edit. */
export function ParamsPanel({ terminalId, groups, canWrite }: ParamsPanelProps) {
  const { t } = useTranslation(['terminals', 'common']);
  const { message } = App.useApp();
  const params = useRequest(
    () => unwrap(api.GET('/api/v1/terminals/{id}/effective-params', { params: { path: { id: terminalId } } })),
    [terminalId],
  );
  const data = params.data;

  const rows = useMemo<ParamRow[]>(
    () =>
      data ? PARAM_SPECS.map((s) => ({ name: s.name, value: data.effective[s.name], source: data.sources[s.name] ?? 'default' })) : [],
    [data],
  );
  const inherited = useMemo(() => {
    const out: Partial<Record<ParamName, EffectiveParams[ParamName]>> = {};
    for (const r of rows) if (r.source !== 'terminal') out[r.name] = r.value;
    return out as Partial<EffectiveParams>;
  }, [rows]);

  const sourceLabel = (source: string) => {
    if (source === 'terminal') return <Tag color="blue">{t('paramSource.terminal')}</Tag>;
    if (source.startsWith('group:')) {
      const id = source.slice('group:'.length);
      const name = groups.find((g) => g.id === id)?.name ?? id;
      return (
        <Tag color="purple">
          <Link to={`/terminal-groups/${encodeURIComponent(id)}`}>{t('paramSource.group', { name })}</Link>
        </Tag>
      );
    }
    return <Tag>{t('paramSource.default')}</Tag>;
  };

  const save = async (own: TerminalParams) => {
    const reply = await unwrap(api.PUT('/api/v1/terminals/{id}/params', { params: { path: { id: terminalId } }, body: own }));
    void message.success(reply.changed_terminals ? t('paramsSavedSent') : t('paramsSaved'));
    params.reload();
  };

  return (
    <>
      <ErrorAlert error={params.error} />
      <Row gutter={[24, 16]}>
        <Col xs={24} xl={10}>
          <Typography.Title level={5}>{t('paramsEffective')}</Typography.Title>
          <Table<ParamRow>
            rowKey="name"
            size="small"
            loading={params.loading}
            dataSource={rows}
            pagination={false}
            data-testid="effective-params"
            columns={[
              { title: t('paramName'), dataIndex: 'name', render: (n: ParamName) => t(`param.${n}`) },
              {
                title: t('paramValue'),
                key: 'value',
                render: (_: unknown, r) =>
                  r.name === 'txn_limit_fen' && typeof r.value === 'number' ? formatFen(r.value) : String(r.value),
              },
              { title: t('paramSourceLabel'), dataIndex: 'source', render: sourceLabel },
            ]}
          />
        </Col>
        <Col xs={24} xl={14}>
          <Typography.Title level={5}>{t('paramsOwn')}</Typography.Title>
          <Typography.Paragraph type="secondary">{t('paramsOwnHint')}</Typography.Paragraph>
          {data ? <ParamsForm own={data.own} inherited={inherited} disabled={!canWrite} testId="terminal-params" onSave={save} /> : null}
        </Col>
      </Row>
    </>
  );
}
