import type { ReactNode } from 'react';

/** A labelled input with its error line; the shell's two forms do not need a form library. */
export function Field({ label, error, children }: { label: string; error: string | null; children: ReactNode }) {
  return (
    <label className={`field${error ? ' field-error' : ''}`}>
      <span className="field-label">{label}</span>
      {children}
      <span className="field-message" role={error ? 'alert' : undefined}>
        {error ?? ''}
      </span>
    </label>
  );
}
