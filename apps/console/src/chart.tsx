import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

/** One line of a chart: a value per x (null where the bucket has none). */
export interface ChartSeries {
  label: string;
  values: Array<number | null>;
}

// Distinguishable on white, in the order groups are drawn (the largest first).
const COLORS = ['#2563eb', '#16a34a', '#dc2626', '#9333ea', '#ea580c', '#0891b2', '#ca8a04', '#64748b'];

// Tick steps of a count axis: 1, 2, 5, 10, 20, 50… (never 0.5 of a request).
const INTEGER_STEPS = Array.from({ length: 30 }, (_, index) => [1, 2, 5][index % 3]! * 10 ** Math.floor(index / 3));

export function colorOf(index: number): string {
  return COLORS[index % COLORS.length] ?? '#64748b';
}

/**
 * A time chart drawn by uPlot: `x` in Unix seconds, one line per series, the values' format on the axis and in the
 * legend. Redrawn when its data changes, resized with its container.
 */
export function TimeChart(props: {
  title: string;
  x: number[];
  series: ChartSeries[];
  format: (value: number) => string;
  /** Counts: ticks on whole numbers only. */
  integer?: boolean;
  height?: number;
}) {
  const container = useRef<HTMLDivElement>(null);
  const { title, x, series, format } = props;
  const height = props.height ?? 200;
  const integer = props.integer === true;

  useEffect(() => {
    const element = container.current;
    if (element === null) return undefined;
    const options: uPlot.Options = {
      width: Math.max(element.clientWidth, 200),
      height,
      cursor: { drag: { x: false, y: false } },
      legend: { show: true, live: true },
      // From zero, and 0..1 rather than uPlot's 0..100 when every value is zero.
      scales: { x: { time: true }, y: { range: (_plot, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
      axes: [
        { stroke: '#64748b', grid: { stroke: '#e2e8f0' } },
        {
          stroke: '#64748b',
          grid: { stroke: '#e2e8f0' },
          size: 70,
          ...(integer ? { incrs: INTEGER_STEPS } : {}),
          values: (_plot, ticks) => ticks.map((tick) => format(tick)),
        },
      ],
      series: [
        {},
        ...series.map((line, index) => ({
          label: line.label,
          stroke: colorOf(index),
          width: 2,
          ...(series.length === 1 ? { fill: `${colorOf(index)}22` } : {}),
          points: { show: x.length <= 48 },
          value: (_plot: uPlot, value: number | null) => (value === null ? '—' : format(value)),
        })),
      ],
    };
    const plot = new uPlot(options, [x, ...series.map((line) => line.values)], element);
    const observer = new ResizeObserver(() => plot.setSize({ width: Math.max(element.clientWidth, 200), height }));
    observer.observe(element);
    return () => {
      observer.disconnect();
      plot.destroy();
    };
  }, [x, series, format, height, integer]);

  return (
    <figure class="chart" data-chart={title}>
      <figcaption>{title}</figcaption>
      <div ref={container} />
    </figure>
  );
}
