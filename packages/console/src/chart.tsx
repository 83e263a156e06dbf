/** A live time-series chart (uPlot: canvas, built for streaming data, ~50 KB); redrawn in place as points arrive. */
import uPlot from 'uplot';
import { useEffect, useRef } from 'preact/hooks';

export interface ChartProps {
  readonly title: string;
  readonly unit: string;
  readonly series: readonly string[];
  /** Column data: times (epoch seconds), then one array per series (null: no point). */
  readonly data: readonly (readonly (number | null)[])[];
}

const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea'];

function widthOf(element: HTMLElement): number {
  return Math.max(element.clientWidth - 16, 240);
}

export function Chart({ title, unit, series, data }: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  useEffect(() => {
    const element = box.current as HTMLDivElement;
    plot.current = new uPlot({
      width: widthOf(element), height: 180,
      series: [{}, ...series.map((label, i) => ({ label, stroke: COLORS[i % COLORS.length] as string, width: 2, spanGaps: false }))],
      axes: [{}, { label: unit, size: 60 }],
      legend: { live: false },
    }, data as uPlot.AlignedData, element);
    const resize = () => plot.current?.setSize({ width: widthOf(element), height: 180 });
    addEventListener('resize', resize);
    return () => { removeEventListener('resize', resize); plot.current?.destroy(); };
  }, []);
  useEffect(() => { plot.current?.setData(data as uPlot.AlignedData); }, [data]);
  return (
    <figure class="card chart" aria-label={title}>
      <figcaption>{title}</figcaption>
      <div ref={box} />
    </figure>
  );
}
