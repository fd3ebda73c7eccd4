/**
 * Time-series charts with uPlot: x in epoch seconds, one or more series, and optional vertical
 * markers (regression alerts) drawn over the plot. The container gets data-points = the number of
 * non-null values drawn, so a page (and its tests) can tell an empty chart from a drawn one.
 */
import uPlot from 'uplot';
import { h } from './dom.js';

export interface Series {
  label: string;
  values: (number | null)[];
  color: string;
  /** Draw points only (no line): scattered per-build values. */
  points?: boolean;
}

export interface Marker {
  x: number;
  label: string;
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2'];

export function color(i: number): string {
  return COLORS[i % COLORS.length]!;
}

function xRange(xs: number[], pad: number): [number, number] {
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  if (lo === hi) return [lo - pad, hi + pad];
  const margin = (hi - lo) * 0.03;
  return [lo - margin, hi + margin];
}

export function chart(o: { title: string; x: number[]; series: Series[]; yLabel: string; markers?: Marker[]; yFormat?: (v: number) => string; xPad?: number }): HTMLElement {
  const el = h('div', { class: 'chart', 'data-title': o.title });
  const points = o.series.reduce((n, s) => n + s.values.filter((v) => v !== null && v !== undefined).length, 0);
  el.dataset.points = String(points);
  if (o.x.length === 0 || points === 0) {
    el.appendChild(h('p', { class: 'empty' }, `${o.title}: no data yet.`));
    return el;
  }
  const markers = o.markers ?? [];
  const opts: uPlot.Options = {
    title: o.title,
    width: 760,
    height: 260,
    scales: {
      // A fixed range: uPlot's own for one point (or all at one time) spans years.
      x: { time: true, auto: false, range: xRange(o.x, o.xPad ?? 3600) },
      y: { range: (_u, min, max) => [Math.min(0, min), max > 0 ? max * 1.1 : 1] },
    },
    axes: [{}, { label: o.yLabel, values: o.yFormat ? (_u, vals) => vals.map((v) => o.yFormat!(v)) : undefined, size: 60 }],
    series: [
      {},
      ...o.series.map((s) => ({
        label: s.label,
        stroke: s.color,
        width: s.points ? 0 : 2,
        spanGaps: true,
        points: { show: true, size: s.points ? 6 : 4, fill: s.color },
      })),
    ],
    hooks: {
      draw: [
        (u: uPlot) => {
          if (markers.length === 0) return;
          const ctx = u.ctx;
          ctx.save();
          ctx.strokeStyle = '#d62728';
          ctx.fillStyle = '#d62728';
          ctx.lineWidth = 2 * devicePixelRatio;
          ctx.setLineDash([6 * devicePixelRatio, 4 * devicePixelRatio]);
          ctx.font = `${11 * devicePixelRatio}px sans-serif`;
          for (const m of markers) {
            const x = u.valToPos(m.x, 'x', true);
            ctx.beginPath();
            ctx.moveTo(x, u.bbox.top);
            ctx.lineTo(x, u.bbox.top + u.bbox.height);
            ctx.stroke();
            ctx.fillText(m.label, x + 4 * devicePixelRatio, u.bbox.top + 12 * devicePixelRatio);
          }
          ctx.restore();
        },
      ],
    },
  };
  const data = [o.x, ...o.series.map((s) => s.values)] as uPlot.AlignedData;
  // uPlot measures its container: draw once it is in the document.
  requestAnimationFrame(() => {
    new uPlot(opts, data, el);
    el.dataset.drawn = 'true';
  });
  if (markers.length) el.dataset.markers = String(markers.length);
  return el;
}
