import { useId, type ComponentProps } from "react";

import { Label } from "@/components/ui/label";
import { cn } from "@/lib/utils";

interface SelectFieldProps extends ComponentProps<"select"> {
  label: string;
  options: readonly (string | { value: string; label: string })[];
}

export const selectClass =
  "border-input dark:bg-input/30 focus-visible:ring-ring/50 h-9 rounded-md border bg-transparent px-3 text-sm outline-none focus-visible:ring-[3px]";

/** A labelled native select: accessible and keyboard-friendly without extra code. */
export function SelectField({ label, options, id, className, ...props }: SelectFieldProps) {
  const generated = useId();
  const selectId = id ?? generated;
  return (
    <div className="grid gap-2">
      <Label htmlFor={selectId}>{label}</Label>
      <select id={selectId} className={cn(selectClass, className)} {...props}>
        {options.map((option) => {
          const { value, label: text } = typeof option === "string" ? { value: option, label: option } : option;
          return (
            <option key={value} value={value}>
              {text}
            </option>
          );
        })}
      </select>
    </div>
  );
}
