// The Cluster panel (issue 23): the servers sharing the runtime's work, the
// elected leader, the depth of each job queue and the jobs each node runs —
// GET /api/v1/cluster, refreshed every few seconds. One server shows itself.
import { useQuery } from '@tanstack/react-query';
import { client } from '../api/client';
import type { ClusterStatus } from '../api/types';
import { Breadcrumbs, ErrorBox, fmtTime, Spinner } from '../ui/common';

/** queueLabel names a River queue as the panel shows it. */
export function queueLabel(name: string): string {
  switch (name) {
    case 'files':
      return 'Files';
    case 'polls':
      return 'Polls';
    case 'maintenance':
      return 'Maintenance';
  }
  return name;
}

/** ClusterPanel shows one answer of GET /api/v1/cluster. */
export function ClusterPanel({ status }: { status: ClusterStatus }) {
  const nodes = status.nodes ?? [];
  const queues = status.queues ?? [];
  const alive = nodes.filter((n) => n.alive).length;
  const local = status.mode !== 'cluster';
  return (
    <div className="stack">
      <dl className="facts" aria-label="Cluster summary">
        <dt>Mode</dt>
        <dd>{local ? 'One server (no cluster)' : 'Cluster on PostgreSQL'}</dd>
        <dt>Leader</dt>
        <dd>{status.leader || 'none elected yet'}</dd>
        <dt>Nodes alive</dt>
        <dd>
          {alive} of {nodes.length}
        </dd>
        {!local && status.leaseSeconds ? (
          <>
            <dt>Node lease</dt>
            <dd>{status.leaseSeconds} s — a node silent this long is dead and its jobs go to the others</dd>
          </>
        ) : null}
        <dt>Answered by</dt>
        <dd>{status.node}</dd>
      </dl>
      <h2>Nodes</h2>
      <table className="grid" aria-label="Nodes">
        <thead>
          <tr>
            <th scope="col">Node</th>
            <th scope="col">Address</th>
            <th scope="col">State</th>
            <th scope="col" className="num">
              Jobs running
            </th>
            <th scope="col">Started</th>
            <th scope="col">Last heartbeat</th>
          </tr>
        </thead>
        <tbody>
          {nodes.map((n) => (
            <tr key={n.name}>
              <td>
                {/* A flex row with a gap: a bare space left the badge touching the name. */}
                <span className="name-badges">
                  {n.name}
                  {n.leader && (
                    <>
                      {' '}
                      <span className="badge state-active">leader</span>
                    </>
                  )}
                </span>
              </td>
              <td>{n.addr || '—'}</td>
              <td>
                <span className={'badge ' + (n.alive ? 'state-active' : 'state-failed')}>{n.alive ? 'Alive' : 'Not answering'}</span>
              </td>
              <td className="num">{n.runningJobs}</td>
              <td>{fmtTime(n.startedAt)}</td>
              <td>{fmtTime(n.seenAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Queues</h2>
      {queues.length === 0 ? (
        <p className="hint">One server runs its work in process: there are no job queues.</p>
      ) : (
        <table className="grid" aria-label="Queues">
          <thead>
            <tr>
              <th scope="col">Queue</th>
              <th scope="col" className="num">
                Waiting
              </th>
              <th scope="col" className="num">
                Running
              </th>
              <th scope="col" className="num">
                Scheduled
              </th>
            </tr>
          </thead>
          <tbody>
            {queues.map((q) => (
              <tr key={q.name}>
                <td>{queueLabel(q.name)}</td>
                <td className="num">{q.available}</td>
                <td className="num">{q.running}</td>
                <td className="num">{q.scheduled}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

export default function ClusterPage() {
  const st = useQuery({ queryKey: ['cluster'], queryFn: () => client.get<ClusterStatus>('/cluster'), refetchInterval: 3000 });
  return (
    <div>
      <Breadcrumbs items={[{ label: 'Cluster' }]} />
      <h1>Cluster</h1>
      <p className="hint">The servers sharing this installation's work: which node leads (fires schedules), how many jobs wait in each queue and what each node runs.</p>
      <ErrorBox error={st.error} />
      {st.isLoading && <Spinner />}
      {st.data && <ClusterPanel status={st.data} />}
    </div>
  );
}
