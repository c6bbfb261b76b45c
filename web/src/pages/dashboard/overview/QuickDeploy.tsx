import { ArrowRight } from "lucide-react";
import { useState } from "react";
import { Link } from "react-router-dom";

import { useCatalog, type CatalogEntry } from "@/api/compute";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { usd } from "@/lib/format";
import { DeployDialog } from "@/pages/gpu/DeployDialog";

import { useCanManage } from "../deployments/actions";
import { useOrgId } from "../useOrg";

const SHOWN = 4;

/** A few catalog models this platform can run, each a click from the deploy dialog. */
export function QuickDeploy() {
  const orgId = useOrgId();
  const canDeploy = useCanManage();
  const catalog = useCatalog();
  const [deploying, setDeploying] = useState<CatalogEntry | null>(null);
  if (!canDeploy) return null;
  const popular = (catalog.data ?? []).filter((entry) => entry.deployable).slice(0, SHOWN);
  return (
    <Card>
      <CardHeader>
        <CardTitle>Quick deploy</CardTitle>
        <CardDescription>Popular models, billed per second while ready.</CardDescription>
      </CardHeader>
      <CardContent className="flex flex-wrap items-center gap-2" role="group" aria-label="Popular models">
        {popular.map((entry) => (
          <Button key={entry.slug} variant="outline" onClick={() => setDeploying(entry)}>
            {entry.name}
            <span className="text-muted-foreground text-xs">{usd(entry.price_nanos_per_hour)}/hr</span>
          </Button>
        ))}
        <Button variant="link" asChild>
          <Link to="/gpu">
            View all <ArrowRight aria-hidden />
          </Link>
        </Button>
      </CardContent>
      {deploying && <DeployDialog entry={deploying} orgId={orgId} onClose={() => setDeploying(null)} />}
    </Card>
  );
}
