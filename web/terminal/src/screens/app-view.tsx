import { ArrowLeftOutlined } from '@ant-design/icons';
import { Alert, Button, Spin, Typography } from 'antd';
import { useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { StatusBar } from '../components/status-bar';
import { usePick } from '../components/use-pick';
import { useRuntime, useSnapshot } from '../runtime/context';

/**
 * An installed app in a sandboxed frame: its page is built from the stored bundle (srcdoc), it
 * gets an opaque origin (no access to the shell's storage or keys) and no network; it talks to
 * the shell only through the bridge. Opening another version (after an upgrade) rebuilds it.
 */
export function AppView({ code, onBack }: { code: string; onBack: () => void }) {
  const { t } = useTranslation('appView');
  const common = useTranslation().t;
  const pick = usePick();
  const runtime = useRuntime();
  const snapshot = useSnapshot();
  const app = snapshot.apps.find((a) => a.code === code);
  const version = app?.installedVersion ?? null;
  const frame = useRef<HTMLIFrameElement>(null);
  const [doc, setDoc] = useState<{ version: string; html: string } | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (!version) return;
    let live = true;
    setDoc(null);
    setError(null);
    runtime.appDocument(code, version).then(
      (html) => live && setDoc({ version, html }),
      (e: unknown) => live && setError(t('loadFailed', { detail: e instanceof Error ? e.message : String(e) })),
    );
    return () => {
      live = false;
    };
  }, [runtime, code, version, t]);

  useEffect(() => {
    const element = frame.current;
    if (!element || !doc) return;
    return runtime.attachBridge(element, { code, version: doc.version }, {
      onClose: onBack,
      onNavigatedAway: () => setError(t('navigatedAway')),
    });
  }, [runtime, code, doc, onBack, t]);

  return (
    <div className="shell-page app-view">
      <header className="shell-header">
        <Button icon={<ArrowLeftOutlined />} onClick={onBack} data-testid="app-back">
          {common('back')}
        </Button>
        <Typography.Text strong>{app ? pick(app.nameZh, app.nameEn) : code}</Typography.Text>
        <StatusBar />
      </header>
      {error && <Alert type="error" showIcon title={error} />}
      {!doc && !error && <Spin style={{ margin: 48 }} />}
      {doc && !error && (
        <iframe
          key={doc.version}
          ref={frame}
          className="app-frame"
          title={code}
          sandbox="allow-scripts allow-forms"
          srcDoc={doc.html}
          data-testid={`app-frame-${code}`}
          data-version={doc.version}
        />
      )}
    </div>
  );
}
