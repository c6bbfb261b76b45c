import type { ReactNode } from "react";

import { cn } from "@/lib/utils";

type Column = { name: string; numeric?: boolean };

/** A table that scrolls sideways on a narrow screen: its box is a labelled, focusable region so
it can be scrolled from the keyboard, and its caption is for screen readers. Numeric columns are
right-aligned; `children` are the body rows. */
export function ScrollTable({
  label,
  caption,
  columns,
  children,
}: {
  label: string;
  caption: ReactNode;
  columns: Column[];
  children: ReactNode;
}) {
  return (
    <div className="overflow-x-auto" tabIndex={0} role="region" aria-label={label}>
      <table className="w-full text-sm">
        <caption className="sr-only">{caption}</caption>
        <thead className="text-muted-foreground text-left">
          <tr>
            {columns.map((column, i) => (
              <th
                key={column.name}
                className={cn("py-2 font-medium", i < columns.length - 1 && "pr-4", column.numeric && "text-right")}
              >
                {column.name}
              </th>
            ))}
          </tr>
        </thead>
        <tbody className="divide-y">{children}</tbody>
      </table>
    </div>
  );
}
