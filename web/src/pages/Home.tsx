import { SystemSnapshot } from '../obs/Snapshot';
import { DataflowsPage } from './Dataflows';

/** HomePage is the System Snapshot (issue 17, spec §6.1) above the dataflow list. */
export function HomePage() {
  return (
    <>
      <SystemSnapshot />
      <DataflowsPage />
    </>
  );
}
