import { useId, type ComponentProps } from "react";

import { describedBy, FieldMessages } from "@/components/FieldMessages";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";

interface FieldProps extends ComponentProps<"input"> {
  label: string;
  hint?: string;
  /** The server's word on this field, shown under it and read with it. */
  error?: string;
}

/** A labelled input; the label, hint and error are wired to it for screen readers. */
export function Field({ label, hint, error, id, ...props }: FieldProps) {
  const generated = useId();
  const inputId = id ?? generated;
  return (
    <div className="grid gap-2">
      <Label htmlFor={inputId}>{label}</Label>
      <Input
        id={inputId}
        aria-describedby={describedBy(inputId, hint, error)}
        aria-invalid={error ? true : undefined}
        {...props}
      />
      <FieldMessages id={inputId} hint={hint} error={error} />
    </div>
  );
}
