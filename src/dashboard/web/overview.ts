// The Overview page: counters, two uPlot charts and the top jails, redrawn from each live event.
/// <reference lib="dom" />
import type uPlotType from 'uplot';
import type { OverviewReport } from '../overview.js';
import { byId, el, formatCount, liveEvents, wireLogout } from './common.js';

/** uPlot is loaded by its own script tag (served locally) and sets this global. */
const UPlot = (globalThis as unknown as { uPlot: typeof uPlotType }).uPlot;

wireLogout();

/** Tick steps of the count axes: 1, 2, 5, 10, 20, 50, … */
const INTEGER_STEPS = Array.from({ length: 24 }, (_, i) => [1, 2, 5][i % 3] ?? 1).map(
  (step, i) => step * 10 ** Math.floor(i / 3),
);

/** Bars for the hourly and daily counts (uPlot's bar path builder). */
const barPaths = UPlot.paths.bars?.({ size: [0.7, 60] });

/** `barSeconds`: draw bars that wide (an hour, a day), the x range widened by half a bar each side. */
function chart(id: string, label: string, stroke: string, barSeconds = 0): uPlotType {
  const target = byId(id);
  const paths = barSeconds > 0 ? barPaths : undefined;
  return new UPlot(
    {
      width: target.clientWidth || 560,
      height: 220,
      series: [
        {},
        {
          label,
          stroke,
          fill: `${stroke}33`,
          width: 2,
          ...(paths !== undefined ? { paths, points: { show: false } } : {}),
        },
      ],
      ...(paths !== undefined
        ? {
            scales: {
              x: {
                time: true,
                range: (_u: uPlotType, min: number, max: number): [number, number] => [
                  min - barSeconds / 2,
                  max + barSeconds / 2,
                ],
              },
            },
          }
        : {}),
      // Counts: whole-number ticks only.
      axes: [{}, { size: 50, incrs: INTEGER_STEPS }],
      legend: { show: false },
    },
    [[], []],
    target,
  );
}

const bansChart = chart('bans-chart', 'bans', '#b4232a');
const failuresChart = chart('failures-chart', 'failures', '#2f6fb3');
const hoursChart = chart('hours-chart', 'bans', '#b4232a', 3600);
const daysChart = chart('days-chart', 'bans', '#7a3fa0', 86_400);

function render(o: OverviewReport): void {
  byId('active-bans').textContent = formatCount(o.activeBans);
  byId('bans-hour').textContent = formatCount(o.bansLastHour);
  byId('failures-minute').textContent = formatCount(o.failuresPerMinute);
  byId('silent-senders').textContent = formatCount(o.silentSenders.length);
  const names = byId('silent-names');
  names.hidden = o.silentSenders.length === 0;
  names.textContent = `Silent (no logs for ingest.silentAfter): ${o.silentSenders
    .map((s) => (s.name === '' ? s.address : `${s.name} (${s.address})`))
    .join(', ')}`;
  const xs = o.bansPerMinute.map((_, i) => (o.seriesStart + i * 60_000) / 1000);
  bansChart.setData([xs, [...o.bansPerMinute]]);
  failuresChart.setData([xs, [...o.failuresSeries]]);
  hoursChart.setData([
    o.bansPerHour.map((_, i) => (o.hoursStart + i * 3600_000) / 1000),
    [...o.bansPerHour],
  ]);
  daysChart.setData([
    o.bansPerDay.map((_, i) => (o.daysStart + i * 86_400_000) / 1000),
    [...o.bansPerDay],
  ]);
  fillTable(
    'top-jails',
    o.topJails.map((j) => [j.jail, formatCount(j.bans)]),
  );
  fillTable(
    'top-hosts',
    o.topHosts.map((h) => [h.name, formatCount(h.bans)]),
  );
  fillTable(
    'top-networks',
    o.topNetworks.map((n) => [n.name, formatCount(n.bans)]),
  );
  byId('hosts-counted').textContent =
    o.hostsCounted === o.activeBans
      ? ''
      : `Hosts of ${formatCount(o.hostsCounted)} of the ${formatCount(o.activeBans)} active bans (the newest).`;
}

function fillTable(id: string, rows: readonly (readonly string[])[]): void {
  const body = byId(id).querySelector('tbody');
  if (body === null) return;
  body.replaceChildren(...(rows.length === 0 ? [rowOf(['no active bans', ''])] : rows.map(rowOf)));
}

function rowOf(cells: readonly string[]): HTMLTableRowElement {
  const tr = el('tr');
  for (const c of cells) tr.append(el('td', c));
  return tr;
}

liveEvents<OverviewReport>(render);
