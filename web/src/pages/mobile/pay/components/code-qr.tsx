import { useMemo } from 'react';
// The cashier app's small QR encoder (ISO/IEC 18004, no dependency). Shared by path until it
// moves to a module both apps own (see the QR part's report).
import { encodeQr, qrPath } from '../../../../../shared/qr-code';

/** A payment code as a QR symbol, for the cashier's scanner. */
export function CodeQr({ text }: { text: string }) {
  const { path, viewSize } = useMemo(() => qrPath(encodeQr(text)), [text]);
  return (
    <svg viewBox={`0 0 ${viewSize} ${viewSize}`} width={200} height={200} role="img" aria-label={text} data-testid="mobile-code-qr" shapeRendering="crispEdges">
      <rect width={viewSize} height={viewSize} fill="#fff" />
      <path d={path} fill="#000" />
    </svg>
  );
}
