import { AlertTriangle, Inbox } from "lucide-react";
import type { ReactNode } from "react";

import { Skeleton } from "@/components/ui/skeleton";

export function Loading({ label = "Loading", rows = 3 }: { label?: string; rows?: number }) {
  return (
    <div role="status" aria-label={label} className="grid gap-3">
      {Array.from({ length: rows }, (_, i) => (
        <Skeleton key={i} className="h-12 w-full" />
      ))}
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="text-muted-foreground flex flex-col items-center gap-2 rounded-lg border border-dashed p-8 text-center">
      <Inbox aria-hidden className="size-6" />
      <p className="text-foreground font-medium">{title}</p>
      {children}
    </div>
  );
}

export function Failed({ message }: { message: string }) {
  return (
    <div role="alert" className="border-bad/40 text-bad-strong flex items-center gap-2 rounded-lg border p-4 text-sm">
      <AlertTriangle aria-hidden className="size-4" />
      {message}
    </div>
  );
}
