import { ArrowLeftOutlined, CheckOutlined, DownloadOutlined, UploadOutlined } from '@ant-design/icons';
import { App, Button, Card, Descriptions, Popconfirm, Skeleton, Space, Table, Tag, Typography } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useNavigate, useParams } from 'react-router-dom';
import { api, unwrap } from '../../api/client';
import { ErrorAlert, useErrorText } from '../../components/error-alert';
import { PageContainer } from '../../components/page-container';
import { useLanguage } from '../../hooks/use-language';
import { asApiError, useRequest } from '../../hooks/use-request';
import { useSignedIn } from '../../session/session-context';
import { formatMicros } from '../../utils/time';
import { formatBytes, type AppVersion } from '../apps/model';
import { UploadModal } from './components/upload-modal';

/** A long hex or base64url value shown short, copyable in full. */
function Fingerprint({ value, testId }: { value: string; testId?: string }) {
  return (
    <Typography.Text code copyable={{ text: value }} title={value} data-testid={testId}>
      {value.length > 20 ? `${value.slice(0, 12)}…${value.slice(-6)}` : value}
    </Typography.Text>
  );
}

/** One app: its details and versions (digest, signature, size), upload and approval. */
export default function AppDetailPage() {
  const { t } = useTranslation(['apps', 'common']);
  const { id = '' } = useParams();
  const { pick } = useLanguage();
  const { can } = useSignedIn();
  const { message } = App.useApp();
  const errorText = useErrorText();
  const navigate = useNavigate();
  const [uploading, setUploading] = useState(false);
  const app = useRequest(() => unwrap(api.GET('/api/v1/apps/{id}', { params: { path: { id } } })), [id]);
  const versions = useRequest(() => unwrap(api.GET('/api/v1/apps/{id}/versions', { params: { path: { id } } })), [id]);
  const a = app.data;
  const writer = can('app:write');

  const approve = async (v: AppVersion) => {
    try {
      await unwrap(api.POST('/api/v1/apps/{id}/versions/{version}/approve', { params: { path: { id, version: v.version } } }));
      void message.success(t('approvedDone', { version: v.version }));
    } catch (caught) {
      void message.error(errorText(asApiError(caught)));
    }
    versions.reload();
  };

  return (
    <PageContainer
      title={
        <>
          <Button type="text" icon={<ArrowLeftOutlined />} onClick={() => void navigate('/apps')} aria-label={t('common:back')} />
          <span data-testid="app-title">{a ? pick(a.name_zh, a.name_en) : t('detailTitle')}</span>
        </>
      }
      extra={
        a && writer ? (
          <Button type="primary" icon={<UploadOutlined />} onClick={() => setUploading(true)} data-testid="app-upload">
            {t('upload.open')}
          </Button>
        ) : null
      }
    >
      <ErrorAlert error={app.error ?? versions.error} />
      <Card style={{ marginBottom: 16 }}>
        {a ? (
          <Descriptions
            column={{ xs: 1, sm: 2, lg: 3 }}
            items={[
              { key: 'code', label: t('code'), children: a.code },
              { key: 'zh', label: t('nameZh'), children: a.name_zh },
              { key: 'en', label: t('nameEn'), children: a.name_en },
              { key: 'scenario', label: t('scenarioLabel'), children: t(`scenario.${a.scenario}`) },
              { key: 'desc', label: t('description'), children: pick(a.description_zh ?? '—', a.description_en) },
              { key: 'created', label: t('createdAt'), children: formatMicros(a.created_at) },
            ]}
          />
        ) : (
          <Skeleton active />
        )}
      </Card>
      <Card title={t('versions')}>
        <Table<AppVersion>
          rowKey="id"
          size="middle"
          loading={versions.loading}
          dataSource={versions.data}
          pagination={false}
          scroll={{ x: 'max-content' }}
          data-testid="version-table"
          expandable={{
            rowExpandable: (v) => !!(v.release_notes_zh ?? v.release_notes_en),
            expandedRowRender: (v) => (
              <Typography.Paragraph style={{ whiteSpace: 'pre-wrap', margin: 0 }}>
                {pick(v.release_notes_zh ?? '', v.release_notes_en)}
              </Typography.Paragraph>
            ),
          }}
          columns={[
            { title: t('version'), dataIndex: 'version', render: (v: string) => <Typography.Text strong>{v}</Typography.Text> },
            {
              title: t('approval'),
              key: 'approved',
              render: (_: unknown, v) => (v.approved ? <Tag color="green">{t('approved')}</Tag> : <Tag>{t('notApproved')}</Tag>),
            },
            {
              title: t('digest'),
              dataIndex: 'digest',
              render: (d: string, v) => <Fingerprint value={d} testId={`version-digest-${v.version}`} />,
            },
            { title: t('signature'), dataIndex: 'signature', render: (s: string) => <Fingerprint value={s} /> },
            { title: t('size'), dataIndex: 'size', align: 'right', render: (n: number) => formatBytes(n) },
            { title: t('fileCount'), dataIndex: 'file_count', align: 'right' },
            { title: t('minShell'), dataIndex: 'min_shell_version', render: (v: string | null) => v ?? '—' },
            { title: t('createdAt'), dataIndex: 'created_at', render: (us: number) => formatMicros(us) },
            {
              title: '',
              key: 'actions',
              render: (_: unknown, v) => (
                <Space>
                  <Button
                    size="small"
                    icon={<DownloadOutlined />}
                    href={`/api/v1/apps/${encodeURIComponent(id)}/versions/${encodeURIComponent(v.version)}/bundle`}
                    download={`${a?.code ?? 'app'}-${v.version}.json`}
                  >
                    {t('download')}
                  </Button>
                  {writer && !v.approved ? (
                    <Popconfirm title={t('approveConfirm', { version: v.version })} onConfirm={() => void approve(v)}>
                      <Button size="small" type="primary" icon={<CheckOutlined />} data-testid={`version-approve-${v.version}`}>
                        {t('approve')}
                      </Button>
                    </Popconfirm>
                  ) : null}
                </Space>
              ),
            },
          ]}
        />
      </Card>
      {a ? (
        <UploadModal
          open={uploading}
          appId={a.id}
          appCode={a.code}
          canApprove={writer}
          onClose={() => setUploading(false)}
          onPublished={(published) => {
            setUploading(false);
            void message.success(
              published.created ? t('upload.done', { version: published.version }) : t('upload.same', { version: published.version }),
            );
            versions.reload();
          }}
        />
      ) : null}
    </PageContainer>
  );
}
