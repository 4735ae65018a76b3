import { useQuery } from '@tanstack/react-query';
import { client } from '../api/client';
import type { Dataflow, Page } from '../api/types';
import { Breadcrumbs, ErrorBox, Spinner } from '../ui/common';

export function DataflowsPage() {
  const q = useQuery({ queryKey: ['dataflows'], queryFn: () => client.get<Page<Dataflow>>('/dataflows') });
  return (
    <div>
      <Breadcrumbs items={[{ label: 'Dataflows' }]} />
      <h1>Dataflows</h1>
      {q.isLoading && <Spinner />}
      <ErrorBox error={q.error} />
      <ul>
        {q.data?.items.map((f) => (
          <li key={f.id}>{f.name}</li>
        ))}
      </ul>
    </div>
  );
}
