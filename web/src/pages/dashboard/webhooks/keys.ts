export const webhooksKey = (orgId: string) => ["orgs", orgId, "webhooks"] as const;
