export const billingKey = (orgId: string) => ["orgs", orgId, "billing"] as const;
