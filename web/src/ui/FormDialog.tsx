// The one form dialog of the alert, channel and report pages: a modal
// with a labelled form, the reason a client-side check refused it, the
// server's error, and Cancel / submit (disabled while saving).
import type { ReactNode } from 'react';
import { ErrorBox, Modal } from './common';

export function FormDialog({
  title,
  label,
  onClose,
  onSubmit,
  problem,
  error,
  pending,
  submitLabel,
  children,
  wide = true,
}: {
  title: string;
  /** label is the form's accessible name ("Alert rule"). */
  label: string;
  onClose: () => void;
  onSubmit: () => void;
  /** problem is what a client-side check found (shown as an alert), or null. */
  problem?: string | null;
  /** error is the failed request's error. */
  error?: unknown;
  pending: boolean;
  submitLabel: string;
  children: ReactNode;
  wide?: boolean;
}) {
  return (
    <Modal title={title} open onClose={onClose} wide={wide}>
      <form
        className="stack"
        aria-label={label}
        onSubmit={(e) => {
          e.preventDefault();
          onSubmit();
        }}
      >
        {children}
        {problem && (
          <div className="error-box" role="alert">
            {problem}
          </div>
        )}
        <ErrorBox error={error} />
        <div className="actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={pending}>
            {submitLabel}
          </button>
        </div>
      </form>
    </Modal>
  );
}
