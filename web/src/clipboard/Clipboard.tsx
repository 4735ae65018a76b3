import { useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { client } from '../api/client';
import { useAuth } from '../auth';
import { useNavigate } from '../router';
import { ErrorBox, fmtTime, Modal, Spinner } from '../ui/common';
import { checkDescription, copyLabel, pasteBody, pasteTargets, type Copy, type CopyResult, type PasteResult } from './clipboard';

/** CopyButton copies a saved version into the user's personal dataflow store (any role may copy). */
export function CopyButton({ flowId, number }: { flowId: string; number: number }) {
  const qc = useQueryClient();
  const [open, setOpen] = useState(false);
  const [description, setDescription] = useState('');
  const [touched, setTouched] = useState(false);
  const m = useMutation({
    mutationFn: () => client.post<CopyResult>(`/dataflows/${flowId}/versions/${number}/copy`, { description }),
    onSuccess: () => void qc.invalidateQueries({ queryKey: ['clipboard'] }),
  });
  const problem = checkDescription(description);
  const close = () => (setOpen(false), setDescription(''), setTouched(false), m.reset());
  return (
    <>
      <button type="button" onClick={() => setOpen(true)}>
        Copy…
      </button>
      <Modal title={`Copy version ${number}`} open={open} onClose={close}>
        {m.data ? (
          <div className="stack">
            <p className="success" role="status">
              Copied {m.data.sourceFlowName} v{m.data.sourceVersion} into your dataflow store. Paste it from the Dataflows page of any organisation where you are an editor.
            </p>
            {m.data.removed.length > 0 && (
              <p className="hint">
                Not copied: {m.data.removed.join('; ')}.
              </p>
            )}
            <div className="actions">
              <button type="button" className="primary" onClick={close}>
                Done
              </button>
            </div>
          </div>
        ) : (
          <form
            className="stack"
            aria-label="Copy to my dataflow store"
            onSubmit={(e) => {
              e.preventDefault();
              setTouched(true);
              if (!problem) m.mutate();
            }}
          >
            <p className="hint">The copy goes to your personal dataflow store (your last 10 copies). The trigger, the tags and any secret value are not copied; this dataflow is unchanged.</p>
            <label>
              Description <span className="req">*</span>
              <input value={description} onChange={(e) => setDescription(e.target.value)} placeholder="Move to ANB organization" aria-invalid={touched && !!problem} />
            </label>
            {touched && problem && (
              <p className="error" role="alert">
                {problem}
              </p>
            )}
            <ErrorBox error={m.error} />
            <div className="actions">
              <button type="button" onClick={close}>
                Cancel
              </button>
              <button type="submit" className="primary" disabled={m.isPending}>
                Copy
              </button>
            </div>
          </form>
        )}
      </Modal>
    </>
  );
}

/** PasteDialog lists the last 10 copies and pastes one into an organisation where the user is an editor, as a new Draft. */
export function PasteDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const { me } = useAuth();
  const qc = useQueryClient();
  const navigate = useNavigate();
  const list = useQuery({ queryKey: ['clipboard'], queryFn: () => client.get<Copy[]>('/clipboard'), enabled: open });
  const targets = pasteTargets(me?.orgs ?? [], me?.orgId ?? '');
  const [selected, setSelected] = useState('');
  const [org, setOrg] = useState('');
  const [name, setName] = useState('');
  const copies = list.data ?? [];
  const chosen = copies.find((c) => c.id === selected) ?? copies[0];
  const target = org || targets[0]?.orgId || '';
  const m = useMutation({
    // The organisation is chosen per request, so pasting into another
    // organisation needs no switch: the server checks the role there.
    mutationFn: () => client.post<PasteResult>(`/clipboard/${chosen!.id}/paste`, pasteBody(chosen!, name), { 'X-Connectplus-Org': target }),
    onSuccess: () => void qc.invalidateQueries({ queryKey: ['dataflows'] }),
  });
  const close = () => (onClose(), m.reset(), setName(''), setSelected(''), setOrg(''));
  const res = m.data;
  const here = res && res.dataflow.orgId === me?.orgId;
  return (
    <Modal title="Paste a dataflow" open={open} onClose={close} wide>
      {res ? (
        <div className="stack">
          <p className="success" role="status">
            Pasted as {res.dataflow.name}: version 1, a Draft{here ? '' : ` in ${targets.find((t) => t.orgId === res.dataflow.orgId)?.orgName ?? res.dataflow.orgId}`}.
          </p>
          {!res.valid && (
            <div className="notice" role="note">
              <strong>Fix these before submitting it</strong> (in this organisation):
              <ul className="problems" aria-label="Problems">
                {res.problems.map((p, i) => (
                  <li key={i} className="error">
                    <code>{p.path || 'document'}</code> {p.message}
                  </li>
                ))}
              </ul>
            </div>
          )}
          <div className="actions">
            <button type="button" onClick={close}>
              Done
            </button>
            {here && (
              <button type="button" className="primary" onClick={() => (close(), navigate(`/dataflows/${res.dataflow.id}`))}>
                Open the dataflow
              </button>
            )}
          </div>
        </div>
      ) : (
        <form
          className="stack"
          aria-label="Paste"
          onSubmit={(e) => {
            e.preventDefault();
            if (chosen && target) m.mutate();
          }}
        >
          <ErrorBox error={list.error} />
          {list.isLoading && <Spinner />}
          {list.data && copies.length === 0 && <p>Your dataflow store is empty: copy a version from its page first (Copy…).</p>}
          {copies.length > 0 && (
            <fieldset>
              <legend>Your dataflow store (your last 10 copies)</legend>
              <ul className="copies">
                {copies.map((c) => (
                  <li key={c.id}>
                    <label>
                      <input type="radio" name="copy" value={c.id} checked={chosen?.id === c.id} onChange={() => (setSelected(c.id), setName(''))} /> {copyLabel(c)}{' '}
                      <span className="hint">{fmtTime(c.createdAt)}</span>
                    </label>
                  </li>
                ))}
              </ul>
            </fieldset>
          )}
          {targets.length === 0 ? (
            <p className="error">You are an editor of no organisation, so you cannot paste.</p>
          ) : (
            <label>
              Into organisation
              <select value={target} onChange={(e) => setOrg(e.target.value)}>
                {targets.map((t) => (
                  <option key={t.orgId} value={t.orgId}>
                    {t.orgName || t.orgId}
                  </option>
                ))}
              </select>
            </label>
          )}
          {chosen && (
            <label>
              Name of the new dataflow
              <input value={name} placeholder={chosen.sourceFlowName} onChange={(e) => setName(e.target.value)} />
            </label>
          )}
          <ErrorBox error={m.error} title="Not pasted" />
          <div className="actions">
            <button type="button" onClick={close}>
              Cancel
            </button>
            <button type="submit" className="primary" disabled={!chosen || !target || m.isPending}>
              Paste as a Draft
            </button>
          </div>
        </form>
      )}
    </Modal>
  );
}
