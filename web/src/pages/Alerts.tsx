// Alerts configuration (issue 17, spec §6.6–§6.7): the organisation's rules
// (the default ones and custom ones made from presets or a metric) and the
// notification channels (email, Slack, webhook) with a test-send button.
import { useEffect, useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { client } from '../api/client';
import type { ApiEndpoint, Channel, ChannelInput, ChannelKind, MetricInfo, Notification, Preset, Rule } from '../api/obs';
import type { ConfigView, Dataflow, Page } from '../api/types';
import { useCan } from '../hooks';
import { Breadcrumbs, ErrorBox, fmtTime, Modal, Spinner } from '../ui/common';
import { DataTable } from '../ui/DataTable';
import { FormDialog } from '../ui/FormDialog';
import { Link } from '../router';
import { COMPARATORS, condition, createBody, emptyForm, endpointChoices, formError, fromPreset, fromRule, scopeText, splitList, unitOf, updateBody, type RuleForm } from '../obs/alerts';
import { fmtDuration } from '../obs/format';
import '../obs/obs.css';

function useAlertData() {
  const metrics = useQuery({ queryKey: ['alert-metrics'], queryFn: () => client.get<MetricInfo[]>('/alert-metrics'), staleTime: Infinity });
  const presets = useQuery({ queryKey: ['alert-presets'], queryFn: () => client.get<Preset[]>('/alert-presets'), staleTime: Infinity });
  const channels = useQuery({ queryKey: ['alert-channels'], queryFn: () => client.get<Channel[]>('/alert-channels') });
  const flows = useQuery({ queryKey: ['dataflows', 'all-names'], queryFn: () => client.get<Page<Dataflow>>('/dataflows?limit=200') });
  return { metrics, presets, channels, flows };
}

export default function AlertsPage() {
  const canEdit = useCan('editor');
  const qc = useQueryClient();
  const { metrics, presets, channels, flows } = useAlertData();
  const rules = useQuery({ queryKey: ['alert-rules'], queryFn: () => client.get<Rule[]>('/alert-rules') });
  const [dialog, setDialog] = useState<{ rule: Rule | null } | null>(null);
  const [confirmDelete, setConfirmDelete] = useState<Rule | null>(null);
  const flowName = (id: string) => flows.data?.items.find((f) => f.id === id)?.name ?? id;
  const chName = (id: string) => channels.data?.find((c) => c.id === id)?.name ?? id;
  const toggle = useMutation({
    mutationFn: (r: Rule) => client.post<Rule>(`/alert-rules/${r.id}/${r.enabled ? 'disable' : 'enable'}`),
    // The answer is the stored rule: put it in the list at once, so the
    // toggle does not flip back while the list is fetched again.
    onSuccess: (saved) => {
      qc.setQueryData<Rule[]>(['alert-rules'], (xs) => xs?.map((x) => (x.id === saved.id ? saved : x)));
      void qc.invalidateQueries({ queryKey: ['alert-rules'] });
    },
  });
  // The toggle shows the state asked for from the click on (a state set in
  // the click handler renders before the event ends; the mutation's own
  // pending flag arrives a tick later) until the server answers; an error
  // puts the stored state back and is shown above the table.
  const [asked, setAsked] = useState<{ id: string; enabled: boolean } | null>(null);
  const shownEnabled = (r: Rule) => (asked?.id === r.id ? asked.enabled : r.enabled);
  const flip = (r: Rule) => {
    setAsked({ id: r.id, enabled: !r.enabled });
    toggle.mutate(r, { onError: () => setAsked(null) });
  };
  // Until the list shows the state asked for: clearing it on the answer
  // alone could render the old list for a tick (the cache update is batched).
  useEffect(() => {
    if (asked && rules.data?.find((x) => x.id === asked.id)?.enabled === asked.enabled) setAsked(null);
  }, [asked, rules.data]);
  const del = useMutation({
    mutationFn: (r: Rule) => client.del(`/alert-rules/${r.id}`),
    onSuccess: () => {
      setConfirmDelete(null);
      void qc.invalidateQueries({ queryKey: ['alert-rules'] });
    },
  });
  const ready = metrics.data && presets.data;
  return (
    <div>
      <Breadcrumbs items={[{ label: 'Alerts' }]} />
      <div className="row">
        <h1>Alerts</h1>
        <span className="spacer" />
        <Link to="/issues">Issues</Link>
        {canEdit && (
          <button type="button" className="primary" disabled={!ready} onClick={() => setDialog({ rule: null })}>
            New alert rule
          </button>
        )}
      </div>
      <p className="hint">
        The default rules watch every dataflow with no setup; add rules from the presets or on any metric. A rule's platform, metric, scope and API filter are fixed once it
        exists; its thresholds, window and notification can be edited.
      </p>
      <h2>Rules</h2>
      <ErrorBox error={rules.error} />
      <ErrorBox error={toggle.error} />
      {rules.isLoading && <Spinner />}
      {rules.data && (
        <DataTable
          label="Alert rules"
          rows={rules.data}
          rowKey={(r) => r.id}
          rowAttrs={(r) => ({ 'data-rule': r.name })}
          columns={[
            {
              key: 'rule',
              header: 'Rule',
              cell: (r) => (
                <>
                  {r.name} {r.default ? <span className="badge">default</span> : <span className="badge">custom</span>}
                  <div className="hint">
                    changed by {r.updatedBy} {fmtTime(r.updatedAt)}
                  </div>
                </>
              ),
            },
            {
              key: 'scope',
              header: 'Scope',
              cell: (r) => (
                <>
                  {r.flowId ? <Link to={`/dataflows/${r.flowId}`}>{flowName(r.flowId)}</Link> : 'All dataflows'}
                  {r.endpoint && (
                    <div className="hint" title={scopeText(r, flowName)}>
                      API <code>{r.endpoint}</code>
                    </div>
                  )}
                </>
              ),
            },
            { key: 'cond', header: 'Condition', className: 'cond', cell: (r) => condition(r, metrics.data) },
            { key: 'channels', header: 'Channels', cell: (r) => (r.channels.length ? r.channels.map(chName).join(', ') : <span className="hint">channels for all alerts</span>) },
            { key: 'intervals', header: 'Re-notify / auto-close', cell: (r) => `${fmtDuration(r.renotifyEvery)} / ${fmtDuration(r.autoCloseAfter)}` },
            {
              key: 'enabled',
              header: 'Enabled',
              cell: (r) => (
                <label className="inline">
                  <input type="checkbox" checked={shownEnabled(r)} disabled={!canEdit || asked !== null} onChange={() => flip(r)} aria-label={`${r.name} enabled: ${shownEnabled(r) ? 'on' : 'off'}`} />
                  {shownEnabled(r) ? 'on' : 'off'}
                </label>
              ),
            },
            {
              key: 'actions',
              header: 'Actions',
              cell: (r) => (
                <div className="row">
                  <button type="button" disabled={!canEdit || !ready} onClick={() => setDialog({ rule: r })} aria-label={`Edit ${r.name}`}>
                    Edit
                  </button>
                  {!r.default && (
                    <button type="button" className="danger" disabled={!canEdit} onClick={() => setConfirmDelete(r)} aria-label={`Delete ${r.name}`}>
                      Delete
                    </button>
                  )}
                </div>
              ),
            },
          ]}
        />
      )}
      <ChannelsSection />
      {dialog && ready && (
        <RuleDialog
          rule={dialog.rule}
          metrics={metrics.data!}
          presets={presets.data!}
          channels={channels.data ?? []}
          flows={flows.data?.items ?? []}
          sameMetric={(m) => rules.data?.find((r) => r.metric === m)}
          onClose={() => setDialog(null)}
        />
      )}
      <Modal title="Delete the rule?" open={confirmDelete !== null} onClose={() => setConfirmDelete(null)}>
        <div className="stack">
          <p>
            Delete <strong>{confirmDelete?.name}</strong>? Its issues are kept.
          </p>
          <ErrorBox error={del.error} />
          <div className="actions">
            <button type="button" onClick={() => setConfirmDelete(null)}>
              Cancel
            </button>
            <button type="button" className="danger" disabled={del.isPending} onClick={() => confirmDelete && del.mutate(confirmDelete)}>
              Delete
            </button>
          </div>
        </div>
      </Modal>
    </div>
  );
}

const PLACEHOLDERS = '{{rule}} {{dataflow}} {{metric}} {{value}} {{threshold}} {{priority}} {{window}} {{unit}} {{endpoint}}';

function RuleDialog({
  rule,
  metrics,
  presets,
  channels,
  flows,
  sameMetric,
  onClose,
}: {
  rule: Rule | null;
  metrics: MetricInfo[];
  presets: Preset[];
  channels: Channel[];
  flows: Dataflow[];
  sameMetric: (m: string) => Rule | undefined;
  onClose: () => void;
}) {
  const qc = useQueryClient();
  const editing = rule !== null;
  const [f, setF] = useState<RuleForm>(() => (rule ? fromRule(rule) : emptyForm(metrics)));
  const [revision, setRevision] = useState(rule?.revision ?? 0);
  const [defaults, setDefaults] = useState({ title: rule?.defaultTitle ?? '', description: rule?.defaultDescription ?? '' });
  const [problem, setProblem] = useState<string | null>(null);
  const set = (patch: Partial<RuleForm>) => setF((x) => ({ ...x, ...patch }));
  const metric = metrics.find((m) => m.name === f.metric);
  const unit = unitOf(f.metric, metrics);
  // The APIs a filter can pick: those called in the last 7 days (spec §6.7).
  const endpoints = useQuery({ queryKey: ['alert-endpoints'], queryFn: () => client.get<ApiEndpoint[]>('/alert-endpoints'), enabled: !editing });
  const apiChoices = endpointChoices(endpoints.data, f.flowId, f.endpoint);
  // Before a rule exists, the default templates are those of any rule on the same metric.
  const dflt = editing ? defaults : { title: sameMetric(f.metric)?.defaultTitle ?? '', description: sameMetric(f.metric)?.defaultDescription ?? '' };
  const save = useMutation({
    mutationFn: () => (editing ? client.put<Rule>(`/alert-rules/${rule!.id}`, updateBody(f, revision)) : client.post<Rule>('/alert-rules', createBody(f))),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['alert-rules'] });
      onClose();
    },
  });
  const reset = useMutation({
    mutationFn: () => client.post<Rule>(`/alert-rules/${rule!.id}/reset-template`),
    onSuccess: (r) => {
      setRevision(r.revision);
      setDefaults({ title: r.defaultTitle, description: r.defaultDescription });
      set({ title: '', description: '' });
      void qc.invalidateQueries({ queryKey: ['alert-rules'] });
    },
  });
  const resetTemplates = () => (editing ? reset.mutate() : set({ title: '', description: '' }));
  const submit = () => {
    const err = formError(f, metrics);
    setProblem(err);
    if (!err) save.mutate();
  };
  return (
    <FormDialog
      title={editing ? `Edit ${rule!.name}` : 'New alert rule'}
      label="Alert rule"
      onClose={onClose}
      onSubmit={submit}
      problem={problem}
      error={save.error}
      pending={save.isPending}
      submitLabel={editing ? 'Save the rule' : 'Create the rule'}
    >
      {!editing && (
        <label>
          Start from
          <select
            value={f.preset}
            onChange={(e) => {
              const p = presets.find((x) => x.key === e.target.value);
              setF(p ? fromPreset(p, f) : { ...f, preset: '' });
            }}
          >
            <option value="">Custom rule (choose the metric)</option>
            {presets.map((p) => (
              <option key={p.key} value={p.key}>
                {p.name}
                {p.default ? ' (default preset)' : ''} — {p.description}
              </option>
            ))}
          </select>
        </label>
      )}
      {editing && <p className="notice">The platform, metric, scope and API filter of a rule cannot change; make a new rule for another one.</p>}
      <div className="form-grid">
        <label className="wide">
          Name <span className="req">*</span>
          <input required value={f.name} maxLength={120} onChange={(e) => set({ name: e.target.value })} />
        </label>
        <label>
          Platform
          <select value={f.platform} disabled={editing} onChange={(e) => set({ platform: e.target.value })}>
            <option value="dataflow">Connect+ dataflows</option>
          </select>
        </label>
        <label>
          Scope
          <select
            value={f.flowId}
            disabled={editing}
            onChange={(e) => {
              const flowId = e.target.value;
              // An API the new scope never called is no longer a choice.
              set({ flowId, endpoint: endpointChoices(endpoints.data, flowId, '').some((x) => x.endpoint === f.endpoint) ? f.endpoint : '' });
            }}
          >
            <option value="">All dataflows of the organisation</option>
            {flows.map((x) => (
              <option key={x.id} value={x.id}>
                {x.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Metric
          <select
            value={f.metric}
            disabled={editing}
            onChange={(e) => {
              const m = metrics.find((x) => x.name === e.target.value);
              // Another metric is no longer the preset's rule; only call
              // metrics keep an API filter.
              set({ metric: e.target.value, preset: '', comparator: m?.comparator ?? f.comparator, endpoint: m?.perEndpoint ? f.endpoint : '' });
            }}
          >
            {metrics.map((m) => (
              <option key={m.name} value={m.name}>
                {m.label}
              </option>
            ))}
          </select>
        </label>
        {metric && <p className="hint wide">{metric.description}</p>}
        <label className="wide">
          Filter by API <span className="hint">(optional: the calls of one endpoint, for metrics measured from API calls)</span>
          <select value={f.endpoint} disabled={editing || !metric?.perEndpoint} onChange={(e) => set({ endpoint: e.target.value })}>
            <option value="">Every API</option>
            {apiChoices.map((x) => (
              <option key={x.endpoint} value={x.endpoint}>
                {x.endpoint}
                {x.calls ? ` (${x.calls} calls in 7 days)` : ''}
              </option>
            ))}
          </select>
          {!editing && metric?.perEndpoint && endpoints.data && apiChoices.length === 0 && (
            <span className="hint">No API was called in the last 7 days{f.flowId ? ' by this dataflow' : ''}: run the dataflow once to make its APIs appear.</span>
          )}
        </label>
        <ErrorBox error={endpoints.error} />
        <label>
          Comparator
          <select value={f.comparator} onChange={(e) => set({ comparator: e.target.value })}>
            {COMPARATORS.map((c) => (
              <option key={c} value={c}>
                {c}
              </option>
            ))}
          </select>
        </label>
        <label>
          Warning threshold {unit && <span className="hint">({unit})</span>}
          <input type="number" step="any" inputMode="decimal" value={f.warning} onChange={(e) => set({ warning: e.target.value })} />
        </label>
        <label>
          Critical threshold {unit && <span className="hint">({unit})</span>}
          <input type="number" step="any" inputMode="decimal" value={f.critical} onChange={(e) => set({ critical: e.target.value })} />
        </label>
        <label>
          Window (minutes)
          <input type="number" min={1} step={1} value={f.windowMin} onChange={(e) => set({ windowMin: e.target.value })} />
        </label>
        <label>
          Minimum volume <span className="hint">(records or calls)</span>
          <input type="number" min={0} step={1} value={f.minVolume} placeholder="1" onChange={(e) => set({ minVolume: e.target.value })} />
        </label>
        <label>
          Re-notify every (minutes, 0: never)
          <input type="number" min={0} step={1} value={f.renotifyMin} onChange={(e) => set({ renotifyMin: e.target.value })} />
        </label>
        <label>
          Auto-close after clear for (minutes)
          <input type="number" min={0} step={1} value={f.autoCloseMin} onChange={(e) => set({ autoCloseMin: e.target.value })} />
        </label>
      </div>
      <fieldset>
        <legend>Notification</legend>
        <label className="template-field">
          Title template
          <input value={f.title} placeholder={dflt.title || 'the default title'} onChange={(e) => set({ title: e.target.value })} />
        </label>
        <label className="template-field">
          Description template
          <textarea value={f.description} placeholder={dflt.description || 'the default description'} onChange={(e) => set({ description: e.target.value })} />
        </label>
        <div className="row">
          <span className="hint">
            Empty uses the default template. Placeholders: <code>{PLACEHOLDERS}</code>
          </span>
          <span className="spacer" />
          <button type="button" onClick={resetTemplates} disabled={reset.isPending}>
            Reset to default
          </button>
        </div>
        <ErrorBox error={reset.error} />
        <div className="check-list" role="group" aria-label="Channels">
          <span>Channels</span>
          {channels.length === 0 && <span className="hint">No channel yet (an administrator adds them below the rules).</span>}
          {channels.map((c) => (
            <label className="inline" key={c.id}>
              <input
                type="checkbox"
                checked={f.channels.includes(c.id)}
                onChange={(e) => set({ channels: e.target.checked ? [...f.channels, c.id] : f.channels.filter((x) => x !== c.id) })}
              />
              {c.name} <span className="hint">({c.kind}{c.allAlerts ? ', gets every alert anyway' : ''})</span>
            </label>
          ))}
        </div>
      </fieldset>
      <label className="inline">
        <input type="checkbox" checked={f.enabled} onChange={(e) => set({ enabled: e.target.checked })} /> Enabled
      </label>
    </FormDialog>
  );
}

function channelTarget(c: Channel): string {
  if (c.kind === 'email') return (c.settings.to ?? []).join(', ') + (c.settings.smtpHost ? ` via ${c.settings.smtpHost}:${c.settings.smtpPort}` : ' via the server relay');
  if (c.kind === 'slack') return 'Slack incoming webhook';
  return c.settings.url ?? '';
}

function ChannelsSection() {
  const isAdmin = useCan('admin');
  const qc = useQueryClient();
  const channels = useQuery({ queryKey: ['alert-channels'], queryFn: () => client.get<Channel[]>('/alert-channels') });
  const [dialog, setDialog] = useState<{ ch: Channel | null } | null>(null);
  const [results, setResults] = useState<Record<string, Notification>>({});
  const test = useMutation({
    mutationFn: (c: Channel) => client.post<Notification>(`/alert-channels/${c.id}/test`),
    onSuccess: (n, c) => setResults((r) => ({ ...r, [c.id]: n })),
  });
  const del = useMutation({
    mutationFn: (c: Channel) => client.del(`/alert-channels/${c.id}`),
    onSuccess: () => void qc.invalidateQueries({ queryKey: ['alert-channels'] }),
  });
  return (
    <section aria-labelledby="channels-h">
      <div className="row">
        <h2 id="channels-h">Channels</h2>
        <span className="spacer" />
        {isAdmin && (
          <button type="button" onClick={() => setDialog({ ch: null })}>
            New channel
          </button>
        )}
      </div>
      <p className="hint">Secrets (SMTP password, Slack webhook URL, webhook signing key) are secret Extension Configurations, named here and never shown.</p>
      <ErrorBox error={channels.error} />
      <ErrorBox error={test.error} title="Test failed" />
      <ErrorBox error={del.error} title="Delete failed" />
      {channels.data && channels.data.length === 0 && <p className="hint">No channel yet.</p>}
      {channels.data && channels.data.length > 0 && (
        <DataTable
          label="Channels"
          rows={channels.data}
          rowKey={(c) => c.id}
          rowAttrs={(c) => ({ 'data-channel': c.name })}
          columns={[
            { key: 'name', header: 'Channel', cell: (c) => c.name },
            { key: 'kind', header: 'Kind', cell: (c) => c.kind },
            { key: 'to', header: 'Sends to', cell: (c) => <code>{channelTarget(c)}</code> },
            { key: 'secret', header: 'Secret', cell: (c) => (c.secretConfig ? <code>{c.secretConfig}</code> : '—') },
            { key: 'all', header: 'All alerts', cell: (c) => (c.allAlerts ? 'yes' : 'no') },
            {
              key: 'actions',
              header: 'Actions',
              cell: (c) => (
                <>
                  <div className="row">
                    <button type="button" disabled={!isAdmin || test.isPending} onClick={() => test.mutate(c)} aria-label={`Send test on ${c.name}`}>
                      Send test
                    </button>
                    <button type="button" disabled={!isAdmin} onClick={() => setDialog({ ch: c })} aria-label={`Edit ${c.name}`}>
                      Edit
                    </button>
                    <button type="button" className="danger" disabled={!isAdmin || del.isPending} onClick={() => del.mutate(c)} aria-label={`Delete ${c.name}`}>
                      Delete
                    </button>
                  </div>
                  {results[c.id] && (
                    <div className={'test-result ' + (results[c.id].ok ? 'success' : 'error-box')} role="status">
                      {results[c.id].ok ? `Delivered (${results[c.id].attempts} attempt(s)).` : `Not delivered: ${results[c.id].error ?? 'unknown error'}`}
                    </div>
                  )}
                </>
              ),
            },
          ]}
        />
      )}
      {dialog && <ChannelDialog ch={dialog.ch} onClose={() => setDialog(null)} />}
    </section>
  );
}

function ChannelDialog({ ch, onClose }: { ch: Channel | null; onClose: () => void }) {
  const qc = useQueryClient();
  const configs = useQuery({ queryKey: ['configs'], queryFn: () => client.get<ConfigView[]>('/configs') });
  const [kind, setKind] = useState<ChannelKind>(ch?.kind ?? 'email');
  const [name, setName] = useState(ch?.name ?? '');
  const [allAlerts, setAllAlerts] = useState(ch?.allAlerts ?? false);
  const [secret, setSecret] = useState(ch?.secretConfig ?? '');
  const [to, setTo] = useState((ch?.settings.to ?? []).join(', '));
  const [ownRelay, setOwnRelay] = useState(!!ch?.settings.smtpHost);
  const [host, setHost] = useState(ch?.settings.smtpHost ?? '');
  const [port, setPort] = useState(String(ch?.settings.smtpPort || 587));
  const [tls, setTls] = useState(ch?.settings.tls || 'starttls');
  const [username, setUsername] = useState(ch?.settings.username ?? '');
  const [from, setFrom] = useState(ch?.settings.from ?? '');
  const [url, setUrl] = useState(ch?.settings.url ?? '');
  const secrets = (configs.data ?? []).filter((c) => c.isSecret);
  const body = (): ChannelInput => ({
    name,
    kind,
    allAlerts,
    secretConfig: kind === 'email' && !ownRelay ? '' : secret,
    revision: ch?.revision,
    settings:
      kind === 'email'
        ? { to: splitList(to), from: from || undefined, ...(ownRelay ? { smtpHost: host, smtpPort: Number(port), tls, username: username || undefined } : {}) }
        : kind === 'webhook'
          ? { url }
          : {},
  });
  const save = useMutation({
    mutationFn: () => (ch ? client.put<Channel>(`/alert-channels/${ch.id}`, body()) : client.post<Channel>('/alert-channels', body())),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['alert-channels'] });
      onClose();
    },
  });
  const secretWhat = kind === 'slack' ? 'the Slack incoming webhook URL' : kind === 'webhook' ? 'the signing key (HMAC-SHA256)' : 'the SMTP password';
  const needSecret = kind !== 'email';
  return (
    <FormDialog
      title={ch ? `Edit ${ch.name}` : 'New channel'}
      label="Channel"
      onClose={onClose}
      onSubmit={() => save.mutate()}
      error={save.error}
      pending={save.isPending}
      submitLabel={ch ? 'Save the channel' : 'Create the channel'}
    >
      <div className="form-grid">
        <label>
          Kind
          <select value={kind} disabled={!!ch} onChange={(e) => setKind(e.target.value as ChannelKind)}>
            <option value="email">Email</option>
            <option value="slack">Slack</option>
            <option value="webhook">Webhook</option>
          </select>
        </label>
        <label>
          Name <span className="req">*</span>
          <input required value={name} maxLength={120} onChange={(e) => setName(e.target.value)} />
        </label>
        {kind === 'email' && (
          <>
            <label className="wide">
              Recipients <span className="req">*</span> <span className="hint">(comma-separated)</span>
              <input required value={to} onChange={(e) => setTo(e.target.value)} placeholder="ops@example.com, lead@example.com" />
            </label>
            <label>
              From
              <input type="email" value={from} onChange={(e) => setFrom(e.target.value)} placeholder="alerts@example.com" />
            </label>
            <label className="inline wide">
              <input type="checkbox" checked={ownRelay} onChange={(e) => setOwnRelay(e.target.checked)} /> Use its own SMTP server (else the server's relay)
            </label>
            {ownRelay && (
              <>
                <label>
                  SMTP host
                  <input required value={host} onChange={(e) => setHost(e.target.value)} />
                </label>
                <label>
                  SMTP port
                  <input type="number" min={1} max={65535} required value={port} onChange={(e) => setPort(e.target.value)} />
                </label>
                <label>
                  TLS
                  <select value={tls} onChange={(e) => setTls(e.target.value)}>
                    <option value="starttls">STARTTLS (required)</option>
                    <option value="tls">Implicit TLS (port 465)</option>
                    <option value="none">None (a relay on this host)</option>
                  </select>
                </label>
                <label>
                  Username
                  <input value={username} autoComplete="off" onChange={(e) => setUsername(e.target.value)} />
                </label>
              </>
            )}
          </>
        )}
        {kind === 'webhook' && (
          <label className="wide">
            URL <span className="req">*</span>
            <input type="url" required value={url} onChange={(e) => setUrl(e.target.value)} placeholder="https://hooks.example.com/connectplus" />
          </label>
        )}
        {(kind !== 'email' || ownRelay) && (
          <label className="wide">
            Secret: {secretWhat} {needSecret && <span className="req">*</span>}
            <select required={needSecret} value={secret} onChange={(e) => setSecret(e.target.value)}>
              <option value="">{needSecret ? 'Choose a secret Extension Configuration…' : 'None (no SMTP authentication)'}</option>
              {secrets.map((c) => (
                <option key={c.name} value={c.name}>
                  {c.name}
                </option>
              ))}
              {secret && !secrets.some((c) => c.name === secret) && <option value={secret}>{secret} (missing)</option>}
            </select>
            <span className="hint">
              A secret Extension Configuration holds it (encrypted, write-only). <Link to="/configs">Request a new one</Link>; another administrator approves it.
            </span>
          </label>
        )}
        <label className="inline wide">
          <input type="checkbox" checked={allAlerts} onChange={(e) => setAllAlerts(e.target.checked)} /> Send every alert of the organisation here (the default rules
          included)
        </label>
      </div>
      <ErrorBox error={configs.error} />
    </FormDialog>
  );
}

