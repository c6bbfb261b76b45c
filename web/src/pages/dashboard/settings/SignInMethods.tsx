import { useQuery, useQueryClient } from "@tanstack/react-query";

import { client, reportError, unwrap } from "@/api/client";
import { useConfig, useMe } from "@/api/hooks";
import { Empty, Failed, Loading } from "@/components/States";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { dateTime } from "@/lib/format";
import { notify } from "@/lib/toast";

const IDENTITIES = ["identities"] as const;
const NAMES: Record<string, string> = { google: "Google", github: "GitHub", facebook: "Facebook", indeed: "Indeed" };

/** How this account can sign in: its password and each linked provider, with link and unlink. */
export function SignInMethods() {
  const { data: me } = useMe();
  const { data: config } = useConfig();
  const queryClient = useQueryClient();
  const linked = useQuery({ queryKey: IDENTITIES, queryFn: () => unwrap(client.GET("/api/auth/identities")) });
  const unlink = async (provider: string) => {
    try {
      await unwrap(client.DELETE("/api/auth/identities/{provider}", { params: { path: { provider } } }));
      notify.good(`${NAMES[provider] ?? provider} no longer signs you in.`);
      await queryClient.invalidateQueries({ queryKey: IDENTITIES });
    } catch (error) {
      reportError(error);
    }
  };
  const linkedProviders = new Set(linked.data?.data.map((identity) => identity.provider));
  const available = (config?.oauth_providers ?? []).filter((provider) => !linkedProviders.has(provider));
  return (
    <Card>
      <CardHeader>
        <CardTitle>Sign-in methods</CardTitle>
        <CardDescription>
          {me?.user.has_password ? "Your password, and" : "No password;"} the accounts below sign you in.
        </CardDescription>
      </CardHeader>
      <CardContent className="grid gap-4">
        {linked.isPending ? (
          <Loading label="Loading sign-in methods" rows={1} />
        ) : linked.isError ? (
          <Failed message="Could not load your sign-in methods." />
        ) : linked.data.data.length === 0 ? (
          <Empty title="No linked accounts." />
        ) : (
          <ul className="divide-y text-sm" aria-label="Linked accounts">
            {linked.data.data.map((identity) => (
              <li key={identity.provider} className="flex flex-wrap items-center justify-between gap-2 py-2">
                <span>
                  {NAMES[identity.provider] ?? identity.provider} · {identity.email}
                  <span className="text-muted-foreground block text-xs">linked {dateTime(identity.created_at)}</span>
                </span>
                <Button variant="outline" size="sm" onClick={() => void unlink(identity.provider)}>
                  Unlink
                </Button>
              </li>
            ))}
          </ul>
        )}
        {available.length > 0 && (
          <div className="flex flex-wrap gap-2">
            {available.map((provider) => (
              <Button key={provider} variant="outline" size="sm" asChild>
                <a href={`/api/auth/oauth/${encodeURIComponent(provider)}/authorize?next=/dashboard/settings`}>
                  Link {NAMES[provider] ?? provider}
                </a>
              </Button>
            ))}
          </div>
        )}
      </CardContent>
    </Card>
  );
}
