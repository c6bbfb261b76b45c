import { useSearchParams } from "react-router-dom";

import { useMe } from "@/api/hooks";
import { Failed, Loading } from "@/components/States";
import { Tabs, TabsContent, TabsList, TabsTrigger } from "@/components/ui/tabs";

import { Incidents } from "./admin/Incidents";
import { Models } from "./admin/Models";
import { Organisations } from "./admin/Organisations";
import { Servers } from "./admin/Servers";
import { Users } from "./admin/Users";
import { useTitle } from "@/lib/title";

const SECTIONS = [
  ["orgs", "Organisations", Organisations],
  ["users", "Users", Users],
  ["models", "Models", Models],
  ["servers", "Servers", Servers],
  ["incidents", "Incidents", Incidents],
] as const;

/** The operator area: for platform administrators only (the API enforces it too). */
export function Admin() {
  useTitle("Operator");
  const { data: me, isPending } = useMe();
  // The section is in the address (?section=users), so it survives a reload and can be linked.
  const [params, setParams] = useSearchParams();
  const requested = params.get("section");
  const section = SECTIONS.find(([value]) => value === requested)?.[0] ?? "orgs";
  if (isPending) return <Loading label="Loading your account" />;
  if (!me?.user.is_admin) return <Failed message="The operator area is for platform administrators." />;
  return (
    <div className="grid gap-6">
      <h1 className="text-3xl font-bold tracking-tight">Operator</h1>
      <Tabs value={section} onValueChange={(value) => setParams({ section: value }, { replace: true })}>
        <TabsList aria-label="Operator sections" className="w-full sm:w-fit">
          {SECTIONS.map(([value, label]) => (
            <TabsTrigger key={value} value={value}>
              {label}
            </TabsTrigger>
          ))}
        </TabsList>
        {SECTIONS.map(([value, , Section]) => (
          <TabsContent key={value} value={value} className="mt-4">
            <Section />
          </TabsContent>
        ))}
      </Tabs>
    </div>
  );
}
