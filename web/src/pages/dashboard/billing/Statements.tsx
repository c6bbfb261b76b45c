import { useState } from "react";

import { SelectField } from "@/components/SelectField";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";

import { useOrgId } from "../useOrg";

const MONTHS_BACK = 12;

/** The last twelve months, newest first, as YYYY-MM (UTC). */
export function recentMonths(now: Date, count = MONTHS_BACK): string[] {
  return Array.from({ length: count }, (_, back) => {
    const month = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - back, 1));
    return month.toISOString().slice(0, 7);
  });
}

/** A month's statement (opening balance, usage by model, payments, closing balance). */
export function Statements() {
  const orgId = useOrgId();
  const [months] = useState(() => recentMonths(new Date()));
  const [month, setMonth] = useState(months[0]);
  const base = `/api/orgs/${orgId}/billing/statements/${month}`;
  return (
    <Card>
      <CardHeader>
        <CardTitle>Monthly statements</CardTitle>
        <CardDescription>Opening balance, usage by model, payments and grants, closing balance.</CardDescription>
      </CardHeader>
      <CardContent className="flex flex-wrap items-end gap-2">
        <SelectField label="Month" value={month} onChange={(event) => setMonth(event.target.value)} options={months} />
        <Button variant="outline" asChild>
          <a href={`${base}.pdf`} download>
            Statement (PDF)
          </a>
        </Button>
        <Button variant="ghost" asChild>
          <a href={`${base}.csv`} download>
            CSV
          </a>
        </Button>
      </CardContent>
    </Card>
  );
}
