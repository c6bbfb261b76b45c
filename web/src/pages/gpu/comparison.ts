import { dollarsToNanos } from "@/lib/format";

/** Hours in an average month (365 × 24 / 12): what an always-on deployment runs. */
export const HOURS_PER_MONTH = 730;

export interface Volume {
  inputMillions: number;
  outputMillions: number;
}

export interface TokenPrices {
  id: string;
  input: string; // USD per 1M tokens, as the catalog gives it
  output: string;
}

export interface Comparison {
  gpuMonthlyNanos: number;
  gpuPerMillionNanos: number | null; // what a million tokens cost on the deployment at this volume
  tokens: { id: string; monthlyNanos: number; breakEvenMillions: number | null }[];
}

/** A deployment running all month against the token API at the same monthly volume. The
break-even is the volume (same input/output mix) from which the deployment is cheaper. */
export function compare(pricePerHourNanos: number, volume: Volume, models: TokenPrices[]): Comparison {
  const gpuMonthlyNanos = pricePerHourNanos * HOURS_PER_MONTH;
  const total = volume.inputMillions + volume.outputMillions;
  const outputShare = total > 0 ? volume.outputMillions / total : 0;
  return {
    gpuMonthlyNanos,
    gpuPerMillionNanos: total > 0 ? Math.round(gpuMonthlyNanos / total) : null,
    tokens: models.map((model) => {
      const input = dollarsToNanos(model.input);
      const output = dollarsToNanos(model.output);
      const blended = (1 - outputShare) * input + outputShare * output;
      return {
        id: model.id,
        monthlyNanos: Math.round(volume.inputMillions * input + volume.outputMillions * output),
        breakEvenMillions: blended > 0 ? gpuMonthlyNanos / blended : null,
      };
    }),
  };
}
