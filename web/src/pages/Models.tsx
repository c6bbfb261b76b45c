import { useModels } from "@/api/hooks";
import { Failed, Loading } from "@/components/States";
import { Card, CardContent } from "@/components/ui/card";
import { useTitle } from "@/lib/title";
import { cn } from "@/lib/utils";

import { COLUMNS } from "./models/modelTable";

export function Models() {
  useTitle("Models");
  const { data, isPending, isError } = useModels();
  return (
    <div className="grid gap-6">
      <div className="grid gap-2">
        <h1 className="text-3xl font-bold tracking-tight">Models</h1>
        <p className="text-muted-foreground">
          Prices are per million tokens, billed exactly. Status and latency come from the health checks behind the{" "}
          <a href="/status" className="underline underline-offset-4">
            status page
          </a>
          .
        </p>
      </div>
      {isPending ? (
        <Loading label="Loading models" />
      ) : isError ? (
        <Failed message="Could not load models." />
      ) : (
        <Card>
          <CardContent className="pt-6">
            <div className="overflow-x-auto" tabIndex={0} role="region" aria-label="Models table">
              <table className="w-full text-sm">
                <caption className="sr-only">Every model with its context, capabilities, prices and health</caption>
                <thead className="text-muted-foreground text-left">
                  <tr>
                    {COLUMNS.map((column) => (
                      <th key={column.header} className={cn("py-2 pr-4 font-medium", column.numeric && "text-right")}>
                        {column.header}
                      </th>
                    ))}
                  </tr>
                </thead>
                <tbody className="divide-y">
                  {data.map((model) => (
                    <tr key={model.id} data-testid="model-row">
                      {COLUMNS.map((column) => (
                        <td
                          key={column.header}
                          className={cn("py-3 pr-4 align-top", column.numeric && "text-right whitespace-nowrap")}
                        >
                          {column.cell(model)}
                        </td>
                      ))}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </CardContent>
        </Card>
      )}
    </div>
  );
}
