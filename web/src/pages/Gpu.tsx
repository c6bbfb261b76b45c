import { Cpu, HardDrive, Search } from "lucide-react";
import { useId, useState } from "react";
import { Link } from "react-router-dom";

import { CATEGORY_LABELS, useCatalog, useCategories, type CatalogEntry, type Category, gpuLabel } from "@/api/compute";
import { currentOrganization, useMe, useOrganizations } from "@/api/hooks";
import { useModal } from "@/components/modals/ModalContext";
import { Empty, Failed, Loading } from "@/components/States";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardFooter, CardHeader, CardTitle } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { usd } from "@/lib/format";
import { useTitle } from "@/lib/title";
import { cn } from "@/lib/utils";

import { CostComparison } from "./gpu/CostComparison";
import { DeployDialog } from "./gpu/DeployDialog";

const DEPLOY_ROLES = new Set(["owner", "admin", "developer"]);

/** Why an entry cannot be deployed here, in words, where a button would fail. */
function notDeployableReason(entry: CatalogEntry): string {
  if (entry.provider === "runpod") return "Needs RunPod: this platform has no RunPod account configured.";
  return `Needs the ${entry.provider} provider, which is not configured here.`;
}

function matches(entry: CatalogEntry, query: string): boolean {
  const q = query.trim().toLowerCase();
  if (!q) return true;
  return [entry.name, entry.slug, entry.description, entry.gpu_type].some((text) => text.toLowerCase().includes(q));
}

function CatalogCard({ entry, onDeploy }: { entry: CatalogEntry; onDeploy: (entry: CatalogEntry) => void }) {
  const titleId = useId();
  return (
    <Card role="article" aria-labelledby={titleId} data-testid="catalog-card" className="flex flex-col">
      <CardHeader>
        <div className="flex items-start justify-between gap-2">
          <CardTitle id={titleId} className="text-lg">
            {entry.name}
          </CardTitle>
          <Badge variant="secondary">{CATEGORY_LABELS[entry.category]}</Badge>
        </div>
        <CardDescription>{entry.description}</CardDescription>
      </CardHeader>
      <CardContent className="grid flex-1 gap-3">
        <p>
          <span className="text-3xl font-bold tracking-tight">{usd(entry.price_nanos_per_hour)}</span>
          <span className="text-muted-foreground">/hr</span>
        </p>
        <ul className="text-muted-foreground grid gap-1 text-sm">
          <li className="flex items-center gap-2">
            <Cpu aria-hidden className="size-4" />
            {gpuLabel(entry)}
          </li>
          {entry.storage_gb > 0 && (
            <li className="flex items-center gap-2">
              <HardDrive aria-hidden className="size-4" />
              {entry.storage_gb} GB storage included
            </li>
          )}
          <li>OpenAI-compatible API with a key of its own</li>
        </ul>
        <p className="text-muted-foreground text-xs">Billed per second, minimum 1 minute.</p>
      </CardContent>
      <CardFooter>
        {entry.deployable ? (
          <Button className="w-full" onClick={() => onDeploy(entry)} aria-label={`Deploy ${entry.name}`}>
            Deploy
          </Button>
        ) : (
          <p className="text-muted-foreground text-sm" data-testid="not-deployable">
            {notDeployableReason(entry)}
          </p>
        )}
      </CardFooter>
    </Card>
  );
}

function CategoryFilter({ value, onChange }: { value: Category | "all"; onChange: (value: Category | "all") => void }) {
  const categories = useCategories();
  const options: [Category | "all", string][] = [
    ["all", "All"],
    ...(categories.data ?? []).map((c): [Category, string] => [c.id, `${CATEGORY_LABELS[c.id]} (${c.count})`]),
  ];
  return (
    <div role="radiogroup" aria-label="Category" className="flex flex-wrap gap-2">
      {options.map(([id, label]) => (
        <Button
          key={id}
          role="radio"
          aria-checked={value === id}
          size="sm"
          variant={value === id ? "default" : "outline"}
          onClick={() => onChange(id)}
        >
          {label}
        </Button>
      ))}
    </div>
  );
}

/** The public GPU catalog: anyone may browse; deploying needs a sign-in and a role that may. */
export function Gpu() {
  useTitle("GPU Cloud");
  const searchId = useId();
  const catalog = useCatalog();
  const { data: me } = useMe();
  const orgs = useOrganizations(Boolean(me));
  const org = currentOrganization(orgs.data);
  const { open } = useModal();
  const [category, setCategory] = useState<Category | "all">("all");
  const [query, setQuery] = useState("");
  const [deploying, setDeploying] = useState<CatalogEntry | null>(null);
  const onDeploy = (entry: CatalogEntry) => {
    if (!me || !org) {
      open({ kind: "signin" });
      return;
    }
    setDeploying(entry);
  };
  const canDeploy = !org || DEPLOY_ROLES.has(org.role);
  const shown = (catalog.data ?? []).filter(
    (e) => (category === "all" || e.category === category) && matches(e, query),
  );
  return (
    <div className="grid gap-6">
      <div className="grid gap-2">
        <h1 className="text-3xl font-bold tracking-tight">GPU Cloud</h1>
        <p className="text-muted-foreground">
          Deploy a model in one click and pay per GPU hour, not per token. Every deployment is an OpenAI-compatible
          endpoint, billed per second with a one-minute minimum.
          {me && (
            <>
              {" "}
              <Link to="/dashboard/deployments" className="underline underline-offset-4">
                Your deployments
              </Link>
            </>
          )}
        </p>
      </div>
      <div className="grid gap-3 md:grid-cols-[1fr_auto] md:items-end">
        <CategoryFilter value={category} onChange={setCategory} />
        <div className="grid gap-2">
          <Label htmlFor={searchId}>Search models</Label>
          <div className="relative">
            <Search aria-hidden className="text-muted-foreground absolute top-2.5 left-2.5 size-4" />
            <Input
              id={searchId}
              type="search"
              className="pl-8 md:w-64"
              value={query}
              onChange={(event) => setQuery(event.target.value)}
              placeholder="Llama, Whisper, A100…"
            />
          </div>
        </div>
      </div>
      {!canDeploy && (
        <p role="note" className="text-muted-foreground text-sm">
          Your role in this organisation may look but not deploy; ask an owner, admin or developer.
        </p>
      )}
      {catalog.isPending ? (
        <Loading label="Loading the catalog" />
      ) : catalog.isError ? (
        <Failed message="Could not load the catalog." />
      ) : shown.length === 0 ? (
        <Empty title="No model matches.">
          <p>Try another category or search.</p>
        </Empty>
      ) : (
        <div className={cn("grid gap-4 sm:grid-cols-2 lg:grid-cols-3")} aria-label="Catalog" role="list">
          {shown.map((entry) => (
            <div role="listitem" key={entry.slug} className="grid">
              <CatalogCard entry={entry} onDeploy={canDeploy ? onDeploy : () => undefined} />
            </div>
          ))}
        </div>
      )}
      {catalog.data && <CostComparison entries={catalog.data} />}
      {deploying && org && <DeployDialog entry={deploying} orgId={org.id} onClose={() => setDeploying(null)} />}
    </div>
  );
}
