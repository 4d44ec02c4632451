declare module "asciichart" {
  export interface PlotConfig {
    height?: number;
    offset?: number;
    padding?: string;
    min?: number;
    max?: number;
    format?: (x: number, i: number) => string;
    colors?: string[];
  }
  export function plot(series: number[] | number[][], cfg?: PlotConfig): string;
}
