import { useMe } from "@/api/hooks";
import { Failed, Loading } from "@/components/States";
import { Tabs, TabsContent, TabsList, TabsTrigger } from "@/components/ui/tabs";

import { Incidents } from "./admin/Incidents";
import { Organisations } from "./admin/Organisations";

/** The operator area: for platform administrators only (the API enforces it too). */
export function Admin() {
  const { data: me, isPending } = useMe();
  if (isPending) return <Loading label="Loading your account" />;
  if (!me?.user.is_admin) return <Failed message="The operator area is for platform administrators." />;
  return (
    <div className="grid gap-6">
      <h1 className="text-3xl font-bold tracking-tight">Operator</h1>
      <Tabs defaultValue="orgs">
        <TabsList aria-label="Operator sections">
          <TabsTrigger value="orgs">Organisations</TabsTrigger>
          <TabsTrigger value="incidents">Incidents</TabsTrigger>
        </TabsList>
        <TabsContent value="orgs" className="mt-4">
          <Organisations />
        </TabsContent>
        <TabsContent value="incidents" className="mt-4">
          <Incidents />
        </TabsContent>
      </Tabs>
    </div>
  );
}
