// Time-series charts drawn by uPlot. This module is only imported by lazy
// chunks (the Performance tab), so uPlot never weighs on the initial JS.
import { useEffect, useRef, useState } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { isolated, percentTop } from './series';

export interface ChartSeries {
  label: string;
  values: (number | null)[];
  /** colour: a CSS custom property (var name, e.g. "--chart-1") read from the theme. */
  color: string;
  dash?: boolean;
}

/** useColorScheme changes when the OS switches between light and dark, so charts repaint with the theme's colours. */
function useColorScheme(): string {
  const get = () => (typeof window !== 'undefined' && window.matchMedia?.('(prefers-color-scheme: dark)').matches ? 'dark' : 'light');
  const [scheme, setScheme] = useState(get);
  useEffect(() => {
    const mq = window.matchMedia?.('(prefers-color-scheme: dark)');
    if (!mq) return;
    const on = () => setScheme(get());
    mq.addEventListener('change', on);
    return () => mq.removeEventListener('change', on);
  }, []);
  return scheme;
}

/** INT_INCRS: tick steps of count axes (never a fraction of a record). */
const INT_INCRS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6, 2e6, 5e6, 1e7, 1e8, 1e9];

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';
}

/** TimeChart draws series over time (xs in Unix seconds) with a data table
 * as its accessible alternative (the canvas itself is hidden from assistive technology). */
export function TimeChart({
  title,
  xs,
  series,
  fmt,
  integer = false,
  percent = false,
  height = 220,
}: {
  title: string;
  xs: number[];
  series: ChartSeries[];
  fmt: (v: number | null) => string;
  /** integer: the values are counts, so the y axis ticks whole numbers only. */
  integer?: boolean;
  /** percent: the values are percentages, so the y axis stops at 100 % (uPlot's padding would show 125 %). */
  percent?: boolean;
  height?: number;
}) {
  const box = useRef<HTMLDivElement>(null);
  const scheme = useColorScheme();
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const text = cssVar('--muted');
    const grid = cssVar('--chart-grid');
    const axis = (extra: Partial<uPlot.Axis> = {}): uPlot.Axis => ({ stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 }, ...extra });
    const opts: uPlot.Options = {
      width: Math.max(el.clientWidth, 280),
      height,
      series: [
        { label: 'Time' },
        ...series.map((s) => ({
          label: s.label,
          stroke: cssVar(s.color),
          width: 2,
          dash: s.dash ? [6, 4] : undefined,
          // A value between gaps (or a lone point) draws no line: show it as a dot.
          points: { show: xs.length < 3 || isolated(s.values), size: 6 },
          value: (_u: uPlot, v: number | null) => fmt(v),
        })),
      ],
      axes: [axis(), axis({ size: 70, values: (_u, vals) => vals.map((v) => fmt(v)), ...(integer ? { incrs: INT_INCRS } : {}) })],
      scales: { x: { time: true }, ...(percent ? { y: { range: (_u: uPlot, _min: number | null, max: number | null): uPlot.Range.MinMax => [0, percentTop(max)] } } : {}) },
      cursor: { drag: { x: false, y: false } },
    };
    const data: uPlot.AlignedData = [xs, ...series.map((s) => s.values)];
    const u = new uPlot(opts, data, el);
    const ro = new ResizeObserver(() => u.setSize({ width: Math.max(el.clientWidth, 280), height }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
    };
  }, [xs, series, fmt, integer, percent, height, scheme]);
  return (
    <figure className="card chart-card" aria-label={title}>
      <h3>{title}</h3>
      <div className="chart-box" ref={box} aria-hidden="true" />
      <details>
        <summary>Data table</summary>
        <div className="table-scroll">
          <table className="grid compact" aria-label={title + ' data'}>
            <thead>
              <tr>
                <th scope="col">Time</th>
                {series.map((s) => (
                  <th scope="col" className="num" key={s.label}>
                    {s.label}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {xs.map((x, i) => (
                <tr key={x}>
                  <td>{new Date(x * 1000).toLocaleString()}</td>
                  {series.map((s) => (
                    <td className="num" key={s.label}>
                      {fmt(s.values[i])}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  );
}
