import { useId, type ComponentProps } from "react";

import { describedBy, FieldMessages } from "@/components/FieldMessages";
import { Label } from "@/components/ui/label";
import { cn } from "@/lib/utils";

interface SelectFieldProps extends ComponentProps<"select"> {
  label: string;
  options: readonly (string | { value: string; label: string })[];
  hint?: string;
  error?: string;
}

export const selectClass =
  "border-input dark:bg-input/30 focus-visible:ring-ring/50 h-9 rounded-md border bg-transparent px-3 text-sm outline-none focus-visible:ring-[3px] aria-invalid:border-destructive";

/** A labelled native select: accessible and keyboard-friendly without extra code. */
export function SelectField({ label, options, hint, error, id, className, ...props }: SelectFieldProps) {
  const generated = useId();
  const selectId = id ?? generated;
  return (
    <div className="grid gap-2">
      <Label htmlFor={selectId}>{label}</Label>
      <select
        id={selectId}
        className={cn(selectClass, className)}
        aria-describedby={describedBy(selectId, hint, error)}
        aria-invalid={error ? true : undefined}
        {...props}
      >
        {options.map((option) => {
          const { value, label: text } = typeof option === "string" ? { value: option, label: option } : option;
          return (
            <option key={value} value={value}>
              {text}
            </option>
          );
        })}
      </select>
      <FieldMessages id={selectId} hint={hint} error={error} />
    </div>
  );
}
