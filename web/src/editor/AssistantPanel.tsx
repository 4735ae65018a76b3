import { useState, type FormEvent } from 'react';
import { useMutation, useQuery } from '@tanstack/react-query';
import { client } from '../api/client';
import { ErrorBox } from '../ui/common';

// The assistant chat panel of the canvas (issue 24): one chat turn is
// POST /api/v1/assistant; a proposal (a validated document, never saved by
// the turn) is shown with its diff, and Accept saves it as a Draft
// (POST /api/v1/assistant/accept) while Reject only forgets it.

export interface AssistantStatus {
  configured: boolean;
  model?: string;
  baseUrl?: string;
  message: string;
}

export interface Proposal {
  kind: string;
  flowId?: string;
  version?: number;
  revision?: number;
  name: string;
  description?: string;
  tags?: string[];
  document: string;
  warnings?: { path: string; message: string }[];
}

interface TurnResponse {
  reply: string;
  proposal?: Proposal;
  diff?: string;
  repairs: number;
  steps?: { tool: string; ok: boolean; error?: string }[];
  model: string;
}

export interface AcceptResult {
  flowId: string;
  name: string;
  version: number;
  state: string;
  revision: number;
}

interface Message {
  role: 'user' | 'assistant';
  text: string;
}

/** history is what the server gets of the earlier turns: their texts. */
export function history(msgs: Message[]): { role: string; text: string }[] {
  return msgs.filter((m) => m.text.trim()).map((m) => ({ role: m.role, text: m.text }));
}

export function AssistantPanel({ flowId, canAccept, dirty, onAccepted }: { flowId: string; canAccept: boolean; dirty: boolean; onAccepted: (r: AcceptResult) => void }) {
  const [open, setOpen] = useState(false);
  const status = useQuery({ queryKey: ['assistant'], queryFn: () => client.get<AssistantStatus>('/assistant'), enabled: open });
  const [msgs, setMsgs] = useState<Message[]>([]);
  const [prompt, setPrompt] = useState('');
  const [mode, setMode] = useState('chat');
  const [pending, setPending] = useState<{ proposal: Proposal; diff?: string } | null>(null);
  const turn = useMutation({
    mutationFn: (p: string) => client.post<TurnResponse>('/assistant', { prompt: p, flowId, mode, history: history(msgs) }),
    onSuccess: (r, p) => {
      setMsgs((m) => [...m, { role: 'user', text: p }, { role: 'assistant', text: r.reply }]);
      setPending(r.proposal ? { proposal: r.proposal, diff: r.diff } : null);
      setPrompt('');
    },
  });
  const accept = useMutation({
    mutationFn: (p: Proposal) => client.post<AcceptResult>('/assistant/accept', p),
    onSuccess: (r) => {
      setPending(null);
      setMsgs((m) => [...m, { role: 'assistant', text: `Saved as the Draft of “${r.name}” (version ${r.version}).` }]);
      onAccepted(r);
    },
  });
  const send = (e: FormEvent) => {
    e.preventDefault();
    if (prompt.trim()) turn.mutate(prompt.trim());
  };
  if (!open) {
    return (
      <button type="button" className="assistant-toggle primary" onClick={() => setOpen(true)} aria-expanded={false}>
        Assistant
      </button>
    );
  }
  const st = status.data;
  return (
    <section className="assistant-panel card" aria-label="Assistant">
      <header className="assistant-head">
        <h2>Assistant</h2>
        <button type="button" className="icon" aria-label="Close the assistant" aria-expanded={true} onClick={() => setOpen(false)}>
          ×
        </button>
      </header>
      <ErrorBox error={status.error} />
      {st && !st.configured && (
        <p className="notice assistant-off" role="status">
          The assistant is not configured, so it cannot answer. {st.message}
        </p>
      )}
      {st?.configured && (
        <>
          <p className="hint">Model {st.model}. Proposals are checked and shown here; nothing is saved until you accept.</p>
          <ol className="assistant-log" aria-label="Conversation" aria-live="polite">
            {msgs.map((m, i) => (
              <li key={i} className={'msg-' + m.role}>
                <span className="visually-hidden">{m.role === 'user' ? 'You: ' : 'Assistant: '}</span>
                {m.text}
              </li>
            ))}
          </ol>
          {pending && (
            <div className="assistant-proposal" aria-label="Proposal" role="region">
              <p>
                Proposal: {pending.proposal.kind === 'create' ? 'a new dataflow' : 'a change to this Draft'} “{pending.proposal.name}”
              </p>
              {pending.proposal.warnings && pending.proposal.warnings.length > 0 && (
                <ul className="problems">
                  {pending.proposal.warnings.map((w, i) => (
                    <li key={i} className="warning">
                      <code>{w.path}</code> {w.message}
                    </li>
                  ))}
                </ul>
              )}
              <pre className="diff" tabIndex={0} aria-label="Changes">
                {pending.diff || pending.proposal.document}
              </pre>
              {dirty && pending.proposal.kind !== 'create' && <p className="hint">Accepting replaces the canvas's unsaved changes.</p>}
              <ErrorBox error={accept.error} title="Not saved" />
              <div className="actions">
                <button type="button" onClick={() => (setPending(null), setMsgs((m) => [...m, { role: 'assistant', text: 'Proposal rejected.' }]))}>
                  Reject
                </button>
                <button type="button" className="primary" disabled={!canAccept || accept.isPending} onClick={() => accept.mutate(pending.proposal)}>
                  Accept
                </button>
              </div>
            </div>
          )}
          <ErrorBox error={turn.error} title="The assistant did not answer" />
          <form className="stack" onSubmit={send}>
            <label>
              Mode
              <select value={mode} onChange={(e) => setMode(e.target.value)}>
                <option value="chat">Chat</option>
                <option value="draft">Change this Draft</option>
                <option value="explain">Explain this dataflow</option>
              </select>
            </label>
            <label>
              Message
              <textarea rows={3} value={prompt} onChange={(e) => setPrompt(e.target.value)} placeholder="e.g. add a filter that drops rows without a mobile number" />
            </label>
            <div className="actions">
              <button type="submit" className="primary" disabled={turn.isPending || !prompt.trim()}>
                {turn.isPending ? 'Thinking…' : 'Send'}
              </button>
            </div>
          </form>
        </>
      )}
    </section>
  );
}
