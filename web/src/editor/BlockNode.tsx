import { memo, createContext, useContext } from 'react';
import { Handle, Position, type NodeProps, type Node } from '@xyflow/react';
import type { Catalogue } from './catalogue';
import type { BlockRow } from '../api/obs';
import { BlockCountsLine } from '../obs/CanvasCounts';
import type { Mark } from '../pages/sideBySide';
import { IN_HANDLE, kindWord, outputHandles, type BlockData } from './model';

export interface NodeExtras {
  cat: Catalogue;
  problems: Map<string, string[]>;
  usedHandles: Map<string, string[]>;
  /** counts: per block name, the Performance tab's counts to overlay (issue 17). */
  counts?: Map<string, BlockRow>;
  /** marks: per block name, how it differs from the version compared with (?diff=N). */
  marks?: Map<string, Mark>;
  renamedFrom?: Map<string, string>;
}

export const NodeCtx = createContext<NodeExtras>({ cat: new Map(), problems: new Map(), usedHandles: new Map() });

function BlockNodeImpl({ id, data, selected }: NodeProps<Node<BlockData>>) {
  const { cat, problems, usedHandles, counts, marks, renamedFrom } = useContext(NodeCtx);
  const mark = marks?.get(data.name);
  const spec = cat.get(data.type);
  const probs = problems.get(id) ?? [];
  const outs = outputHandles(spec, usedHandles.get(id));
  const cls = ['block-node', spec ? 'cat-' + spec.category.toLowerCase().replace(/\W+/g, '-') : 'unknown', selected ? 'selected' : '', probs.length ? 'has-problem' : '', data.disabled ? 'disabled' : '', mark ? 'diff-' + mark : '']
    .filter(Boolean)
    .join(' ');
  return (
    <div className={cls} data-block={data.name} data-testid={'block-' + data.name}>
      {spec?.class !== 'source' && (
        <Handle type="target" position={Position.Left} id={IN_HANDLE} className={'port port-' + (spec?.input ?? 'any')} title={spec ? 'takes ' + kindWord(spec.input) : 'input'} />
      )}
      <div className="block-head">
        <span className="block-label">{spec?.label ?? data.type}</span>
        {probs.length > 0 && (
          <span className="problem-count" title={probs.join('\n')} aria-label={`${probs.length} problem${probs.length > 1 ? 's' : ''}`}>
            {probs.length}
          </span>
        )}
      </div>
      <div className="block-name">
        {data.name}
        {mark && (
          <span className={'diff-badge diff-' + mark} title={mark === 'renamed' ? `renamed from ${renamedFrom?.get(data.name) ?? ''}` : undefined}>
            {mark}
          </span>
        )}
      </div>
      <div className="block-kinds hint">
        {spec ? (
          <>
            {spec.class === 'source' ? 'source' : kindWord(spec.input)} → {kindWord(spec.output)}
          </>
        ) : (
          'unknown block type ' + data.type
        )}
        {data.disabled && ' · disabled'}
      </div>
      {probs.length > 0 && <div className="block-problem">{probs[0]}</div>}
      {counts && <BlockCountsLine row={counts.get(data.name)} />}
      <div className="ports-out">
        {outs.map((h, i) => (
          <Handle
            key={h}
            type="source"
            position={Position.Right}
            id={h}
            className={'port port-' + h + ' port-' + (spec ? (h === 'failure' || h === 'filtered' ? spec.input : spec.output) : 'any')}
            style={{ top: `${((i + 1) * 100) / (outs.length + 1)}%` }}
            title={h}
          >
            <span className="port-label">{h === 'success' ? '' : h}</span>
          </Handle>
        ))}
      </div>
    </div>
  );
}

export const BlockNode = memo(BlockNodeImpl);
