import { ScanOutlined } from '@ant-design/icons';
import { Button, Typography } from 'antd';
import { useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';

/** The Shape Detection API, where the browser has it (Chrome on Android, for one). */
interface BarcodeDetectorLike {
  detect(source: HTMLVideoElement): Promise<{ rawValue: string }[]>;
}
type DetectorClass = new (options: { formats: string[] }) => BarcodeDetectorLike;

const detectorClass = (): DetectorClass | undefined => (globalThis as unknown as { BarcodeDetector?: DetectorClass }).BarcodeDetector;

/** Reads a QR code with the camera when the browser can; otherwise says to paste the content. */
export function QrScanner({ onCode }: { onCode: (text: string) => void }) {
  const { t } = useTranslation('mobile');
  const [scanning, setScanning] = useState(false);
  const video = useRef<HTMLVideoElement>(null);
  const Detector = detectorClass();

  useEffect(() => {
    if (!scanning || !Detector) return;
    let stream: MediaStream | undefined;
    let stopped = false;
    const detector = new Detector({ formats: ['qr_code'] });
    void (async () => {
      try {
        stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } });
        if (!video.current || stopped) return;
        video.current.srcObject = stream;
        await video.current.play();
        while (!stopped) {
          const found = await detector.detect(video.current);
          if (found[0]?.rawValue) {
            onCode(found[0].rawValue);
            setScanning(false);
            return;
          }
          await new Promise((r) => setTimeout(r, 250));
        }
      } catch {
        setScanning(false);
      }
    })();
    return () => {
      stopped = true;
      stream?.getTracks().forEach((track) => track.stop());
    };
  }, [scanning, Detector, onCode]);

  if (!Detector) {
    return (
      <Typography.Paragraph type="secondary" style={{ fontSize: 12 }}>
        {t('scanUnavailable')}
      </Typography.Paragraph>
    );
  }
  return (
    <>
      {scanning ? <video ref={video} muted playsInline style={{ width: '100%', marginBottom: 8 }} /> : null}
      <Button block icon={<ScanOutlined />} onClick={() => setScanning((s) => !s)} style={{ marginBottom: 8 }}>
        {t('scan')}
      </Button>
    </>
  );
}
